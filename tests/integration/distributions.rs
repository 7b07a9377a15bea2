//! Every service-time distribution the scenario format accepts, in every parameterisation,
//! sampled through the public loading path (YAML -> `load_str` -> the model's
//! `service_time`) and held to the closed forms of its mean and variance.
//!
//! Method. [`SAMPLES`] draws from one seeded stream per case. The sample mean must lie
//! within [`Z`] standard errors `σ/√n` of the closed-form mean (σ from the closed form too),
//! and the sample variance within [`Z`] standard errors `√((m4 − s⁴)/n)` of the closed-form
//! variance, where m4 is the sample fourth central moment (the large-sample variance of the
//! sample variance, e.g. Casella & Berger, *Statistical Inference*, ex. 5.8). Each law's
//! parameters are chosen so that its fourth moment is finite (Pareto shape > 4, lognormal
//! σ² well under 1), which that standard error needs. A constant is checked exactly.

use std::path::Path;

use rand::SeedableRng;
use resim::engine::{Stream, stream_seed};
use resim::scenario::{load_file, load_str};
use statrs::function::gamma::gamma;

/// Draws per case: the standard error of a mean is 0.1% of σ.
const SAMPLES: usize = 1_000_000;
/// Standard errors a sample moment may be off (two-sided 6e-5 per check, ~1.5e-3 over the
/// ~26 checks here). What it still lets through: a bias of the mean below 4σ/√n = 0.4% of
/// σ (0.4% of the mean for an exponential), and of the variance below 4√((μ4 − σ⁴)/n),
/// about 1% of the variance for an exponential (μ4 = 9σ⁴).
const Z: f64 = 4.0;
/// The standard normal's 0.99 quantile, which turns a lognormal's `median`/`p99` into σ.
const Z99: f64 = 2.326_347_874_040_841;

/// The service time of a one-service scenario whose `service_time` is `dist` (YAML).
fn scenario_yaml(dist: &str) -> String {
    format!(
        "name: d\nduration: 1s\nservices:\n  s: {{ service_time: {dist} }}\n\
         workloads:\n  - {{ name: w, target: s, arrivals: {{ poisson: {{ rate: 1/s }} }} }}\n"
    )
}

/// Draws [`SAMPLES`] service times of the scenario `yaml`, in seconds.
fn draws(yaml: &str, file: Option<&Path>) -> Vec<f64> {
    let scenario = match file {
        Some(path) => load_file(path, &[]),
        None => load_str(yaml, Path::new("dist.yaml"), &[]),
    }
    .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let dist = &scenario.model.services[0].service_time;
    let mut rng = Stream::seed_from_u64(stream_seed(2026, 0, yaml));
    (0..SAMPLES).map(|_| dist.sample(&mut rng).as_secs_f64()).collect()
}

/// Sample mean, variance and fourth central moment.
fn moments(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let central = |p: i32| xs.iter().map(|x| (x - mean).powi(p)).sum::<f64>() / n;
    (mean, central(2) * n / (n - 1.0), central(4))
}

/// Checks the sample mean and variance of `dist` (YAML) against `mean` and `var`.
fn check(what: &str, dist: &str, mean: f64, var: f64) {
    check_draws(what, &draws(&scenario_yaml(dist), None), mean, var);
}

fn check_draws(what: &str, xs: &[f64], mean: f64, var: f64) {
    let n = xs.len() as f64;
    let (m, s2, m4) = moments(xs);
    let se_mean = (var / n).sqrt();
    let se_var = ((m4 - s2 * s2).max(0.0) / n).sqrt();
    let (z_mean, z_var) = ((m - mean) / se_mean, (s2 - var) / se_var);
    println!("{what:<28} mean {m:.6e} vs {mean:.6e} (z {z_mean:+.2}), variance {s2:.6e} vs {var:.6e} (z {z_var:+.2})");
    assert!(z_mean.abs() <= Z, "{what}: mean {m} vs closed form {mean}, z = {z_mean:.2}");
    assert!(z_var.abs() <= Z, "{what}: variance {s2} vs closed form {var}, z = {z_var:.2}");
}

#[test]
fn exponential_by_mean() {
    check("exponential", "{ exponential: { mean: 20ms } }", 0.02, 0.02f64.powi(2));
}

#[test]
fn constant_is_exact() {
    let xs = draws(&scenario_yaml("{ constant: { value: 7ms } }"), None);
    assert!(xs.iter().all(|&x| x == 0.007), "a constant varied");
}

#[test]
fn uniform_by_min_and_max() {
    check("uniform", "{ uniform: { min: 5ms, max: 25ms } }", 0.015, 0.02f64.powi(2) / 12.0);
}

#[test]
fn lognormal_by_mean_and_sd() {
    check("lognormal mean/sd", "{ lognormal: { mean: 10ms, sd: 5ms } }", 0.01, 0.005f64.powi(2));
}

#[test]
fn lognormal_by_median_and_p99() {
    // mu = ln(median), sigma = ln(p99 / median) / z_0.99.
    let (mu, sigma) = (0.004f64.ln(), (0.012f64 / 0.004).ln() / Z99);
    let s2 = sigma * sigma;
    let mean = (mu + s2 / 2.0).exp();
    let var = (s2.exp() - 1.0) * (2.0 * mu + s2).exp();
    check("lognormal median/p99", "{ lognormal: { median: 4ms, p99: 12ms } }", mean, var);
}

#[test]
fn gamma_by_shape_and_mean() {
    // Scale = mean / shape, so the variance is mean² / shape; below and above shape 1.
    for shape in [0.5, 3.0] {
        let dist = format!("{{ gamma: {{ shape: {shape}, mean: 30ms }} }}");
        check(&format!("gamma shape {shape}"), &dist, 0.03, 0.03f64.powi(2) / shape);
    }
}

#[test]
fn erlang_by_phases_and_mean() {
    check("erlang k 4", "{ erlang: { k: 4, mean: 40ms } }", 0.04, 0.04f64.powi(2) / 4.0);
}

#[test]
fn weibull_by_shape_and_scale() {
    // Mean λΓ(1 + 1/k), variance λ²(Γ(1 + 2/k) − Γ(1 + 1/k)²); a heavy (k < 1) and a light tail.
    for shape in [0.7, 2.0] {
        let g1 = gamma(1.0 + 1.0 / shape);
        let g2 = gamma(1.0 + 2.0 / shape);
        let scale = 0.01;
        let dist = format!("{{ weibull: {{ shape: {shape}, scale: 10ms }} }}");
        check(&format!("weibull shape {shape}"), &dist, scale * g1, scale * scale * (g2 - g1 * g1));
    }
}

#[test]
fn pareto_by_shape_and_scale() {
    // Mean α·x_m/(α − 1), variance x_m²·α/((α − 1)²(α − 2)); α > 4 keeps the fourth moment
    // finite, which the variance's standard error needs.
    let (alpha, xm) = (5.0f64, 0.002f64);
    let mean = alpha * xm / (alpha - 1.0);
    let var = xm * xm * alpha / ((alpha - 1.0).powi(2) * (alpha - 2.0));
    check("pareto shape 5", "{ pareto: { shape: 5, scale: 2ms } }", mean, var);
}

/// The population mean and variance of resampling `xs` uniformly.
fn population(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    (mean, xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n)
}

#[test]
fn empirical_inline_samples() {
    let (mean, var) = population(&[0.001, 0.002, 0.002, 0.010, 0.050]);
    check("empirical samples", "{ empirical: { samples: [1ms, 2ms, 2ms, 10ms, 50ms] } }", mean, var);
}

#[test]
fn empirical_samples_file_with_a_unit() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("times.txt"), "# measured\n1.5\n3\n\n12ms\n0.25\n").expect("write samples");
    let yaml = scenario_yaml("{ empirical: { file: times.txt, unit: ms } }");
    let file = dir.path().join("s.yaml");
    std::fs::write(&file, &yaml).expect("write scenario");
    let (mean, var) = population(&[0.0015, 0.003, 0.012, 0.000_25]);
    check_draws("empirical file", &draws(&yaml, Some(&file)), mean, var);
}

#[test]
fn mixture_of_two_laws() {
    // Weights normalised (3:1); mean Σ w·m, variance Σ w·(v + m²) − mean².
    let (w1, m1, v1) = (0.75, 0.005, 0.005f64.powi(2));
    let (w2, m2, v2) = (0.25, 0.1, 0.0);
    let mean = w1 * m1 + w2 * m2;
    let var = w1 * (v1 + m1 * m1) + w2 * (v2 + m2 * m2) - mean * mean;
    let dist = "{ mixture: [ { weight: 3, dist: { exponential: { mean: 5ms } } }, \
                { weight: 1, dist: { constant: { value: 100ms } } } ] }";
    check("mixture 3:1", dist, mean, var);
}
