//! The coverage study: do the report's 95% intervals cover the truth 95% of the time?
//!
//! Method. Three models whose steady state is known in closed form — an M/M/1 at ρ = 0.5,
//! an M/M/2/10 at ρ = 0.9 (once with a hand-set warm-up of 20 s, once with
//! `warmup: auto`) and a 3-node open Jackson network with feedback — each run [`RUNS`]
//! times with a different `seed`, each run a short report of [`REPLICATIONS`]
//! replications of 200 s (400 s for the M/M/1 and the network). For every reported interval that has a
//! closed-form truth, the test counts the runs whose interval covers it: L
//! (`mean_in_system`), W (`mean_sojourn_s`), `blocking_probability`, `utilization`,
//! `throughput_per_s` and the latency p99, whose truth is the sojourn-time quantile of
//! [`mmck_sojourn`] (in the Jackson network, each node's per-visit sojourn is that of an
//! M/M/c at its total arrival rate, by Jackson's theorem and the arrival theorem).
//! Structural zeros (blocking at an unbounded station) are left out: an interval [0, 0]
//! covers 0 whatever the engine does.
//!
//! Acceptance. A correct 95% interval covers in Binomial([`RUNS`], 0.95) runs. One
//! deterministic test checks many intervals, so a band per interval at 95% would fail
//! somewhere by chance whenever an unrelated change moves the random streams; the band is
//! Bonferroni-adjusted so that all of them together hold with probability
//! [`FAMILY_CONFIDENCE`] (each interval at 1 − (1 − 0.999)/m two-sided, m intervals).
//!
//! Run `cargo test --release --test integration coverage -- --nocapture` to print every
//! coverage.

use std::fmt::Write as _;

use rayon::prelude::*;
use resim::report::{ServiceReport, Statistic};
use resim::run::mser::resolve_warmup;
use resim::theory::{JacksonNode, jackson, mmck, mmck_sojourn};
use resim::{RunOptions, run};
use statrs::distribution::{Binomial, DiscreteCDF};

use crate::common::scenario;

/// Independent runs per model (seeds 1..=RUNS): the Bonferroni band is then about
/// ±3.3 points around 95%.
const RUNS: u64 = 800;
/// Replications per run (the interval is Student's t with 4 degrees of freedom).
const REPLICATIONS: u32 = 5;
/// Probability that every interval's coverage falls in its band when every interval is
/// a correct 95% interval.
const FAMILY_CONFIDENCE: f64 = 0.999;
/// The nominal coverage of the report's intervals.
const NOMINAL: f64 = 0.95;

/// One reported interval and its truth.
struct Target {
    /// The service the metric belongs to.
    service: &'static str,
    /// The metric's short name.
    metric: &'static str,
    /// The closed-form value.
    truth: f64,
    /// The interval in a service report.
    pick: fn(&ServiceReport) -> &Statistic,
}

/// A model of the study: its scenario for a seed and its targets.
struct Model {
    /// The name printed.
    name: &'static str,
    /// The scenario of one run, by seed.
    yaml: fn(u64) -> String,
    /// Its intervals with a closed form.
    targets: Vec<Target>,
}

/// The station targets of service `service` from its M/M/c/K theory (blocking only when
/// `capacity` is finite).
fn station_targets(service: &'static str, lambda: f64, mu: f64, servers: u32, capacity: Option<u32>) -> Vec<Target> {
    let t = mmck(lambda, mu, servers, capacity).expect("valid station");
    let p99 = mmck_sojourn(lambda, mu, servers, capacity).expect("valid station").quantile(0.99);
    let mut targets = vec![
        Target { service, metric: "L", truth: t.mean_in_system, pick: |s| &s.mean_in_system },
        Target { service, metric: "W", truth: t.mean_sojourn, pick: |s| &s.mean_sojourn_s },
        Target { service, metric: "utilization", truth: t.utilization, pick: |s| &s.utilization },
        Target { service, metric: "throughput", truth: t.throughput, pick: |s| &s.throughput_per_s },
        Target { service, metric: "p99", truth: p99, pick: |s| &s.latency_s.p99 },
    ];
    if capacity.is_some() {
        targets.push(Target { service, metric: "blocking", truth: t.blocking, pick: |s| &s.blocking_probability });
    }
    targets
}

/// The header of every run: seed, 20 s (or auto) warm-up, `duration` measured. Long
/// time-series windows: the study reads none, and short ones cost time per run.
fn header(name: &str, seed: u64, warmup: &str, duration: &str) -> String {
    format!(
        "name: {name}\nseed: {seed}\nwarmup: {warmup}\nduration: {duration}\nwindow: 100s\n\
         replications: {REPLICATIONS}\n"
    )
}

/// M/M/2/10 at ρ = 0.9: μ = 1/s per worker, λ = 1.8/s.
fn mm2k10(seed: u64, warmup: &str) -> String {
    format!(
        "{}services:\n  s: {{ servers: 2, capacity: 10, service_time: {{ exponential: {{ mean: 1s }} }} }}\n\
         workloads:\n  - {{ name: u, target: s, arrivals: {{ poisson: {{ rate: 1.8/s }} }} }}\n",
        header("mm2k10", seed, warmup, "200s")
    )
}

/// A node of the Jackson network: name, workers, mean service s, external rate /s and
/// routes (index of the next node, probability).
type Node = (&'static str, u32, f64, f64, &'static [(usize, f64)]);

/// The Jackson network: a (c = 2, 1 s) fed at 1/s from outside, b (c = 1, 0.5 s) and
/// c (c = 1, 0.8 s), with feedback from b and c to a: ρ = 0.57, 0.29, 0.28.
const JACKSON: [Node; 3] =
    [("a", 2, 1.0, 1.0, &[(1, 0.5), (2, 0.3)]), ("b", 1, 0.5, 0.0, &[(0, 0.2)]), ("c", 1, 0.8, 0.0, &[(0, 0.1)])];

/// The Jackson network's scenario for `seed`.
fn jackson_yaml(seed: u64) -> String {
    let mut yaml = format!("{}services:\n", header("jackson", seed, "20s", "400s"));
    for (name, servers, mean, _, routes) in JACKSON {
        let routes: Vec<String> =
            routes.iter().map(|&(to, p)| format!("{{ to: {}, probability: {p} }}", JACKSON[to].0)).collect();
        let _ = writeln!(
            yaml,
            "  {name}: {{ servers: {servers}, service_time: {{ exponential: {{ mean: {mean}s }} }}, routes: [{}] }}",
            routes.join(", ")
        );
    }
    yaml + "workloads:\n  - { name: u, target: a, arrivals: { poisson: { rate: 1/s } } }\n"
}

/// Every node's targets: an M/M/c at its total arrival rate from the traffic equations.
fn jackson_targets() -> Vec<Target> {
    let nodes: Vec<JacksonNode> = JACKSON
        .iter()
        .map(|&(_, servers, mean, external_rate, _)| JacksonNode { external_rate, mu: 1.0 / mean, servers })
        .collect();
    let routing: Vec<Vec<f64>> = JACKSON
        .iter()
        .map(|(_, _, _, _, routes)| {
            let mut row = vec![0.0; JACKSON.len()];
            routes.iter().for_each(|&(to, p)| row[to] += p);
            row
        })
        .collect();
    let theory = jackson(&nodes, &routing).expect("stable network");
    JACKSON
        .iter()
        .zip(&theory.nodes)
        .flat_map(|(&(name, servers, mean, _, _), node)| {
            station_targets(name, node.arrival_rate, 1.0 / mean, servers, None)
        })
        .collect()
}

/// What one model's runs measured.
struct Study {
    /// Runs whose interval covered, per target.
    covered: Vec<u64>,
    /// The warm-up of each run, seconds.
    warmups: Vec<f64>,
    /// The mean of the first target (L of the first station) over all runs.
    first_mean: f64,
}

/// Runs `model` for seeds 1..=[`RUNS`] (in parallel; counted in seed order).
fn study(model: &Model) -> Study {
    let runs: Vec<(Vec<bool>, f64, f64)> = (1..=RUNS)
        .into_par_iter()
        .map(|seed| {
            let (resolved, _) = resolve_warmup(&scenario(&(model.yaml)(seed))).expect("warm-up");
            let report = run(&resolved.model, &RunOptions::default());
            let covers = model.targets.iter().map(|t| (t.pick)(&report.services[t.service]).covers(t.truth)).collect();
            let first = (model.targets[0].pick)(&report.services[model.targets[0].service]).value();
            (covers, report.warmup_s, first)
        })
        .collect();
    let mut covered = vec![0; model.targets.len()];
    for (covers, _, _) in &runs {
        covered.iter_mut().zip(covers).for_each(|(c, &hit)| *c += u64::from(hit));
    }
    let first_mean = runs.iter().map(|r| r.2).sum::<f64>() / runs.len() as f64;
    Study { covered, warmups: runs.iter().map(|r| r.1).collect(), first_mean }
}

/// The two-sided band of covering runs out of [`RUNS`] that a correct 95% interval falls
/// in with probability `1 − alpha`: the alpha/2 and 1 − alpha/2 binomial quantiles.
fn band(alpha: f64) -> (u64, u64) {
    let b = Binomial::new(NOMINAL, RUNS).expect("valid binomial");
    let lo = (0..=RUNS).find(|&k| b.cdf(k) > alpha / 2.0).unwrap_or(0);
    let hi = (0..=RUNS).find(|&k| b.sf(k) <= alpha / 2.0).unwrap_or(RUNS);
    (lo, hi)
}

#[test]
fn every_interval_with_a_closed_form_covers_95_percent() {
    let models = [
        Model {
            name: "M/M/1 rho 0.5",
            yaml: |seed| {
                format!(
                    "{}services:\n  s: {{ servers: 1, service_time: {{ exponential: {{ mean: 100ms }} }} }}\n\
                     workloads:\n  - {{ name: u, target: s, arrivals: {{ poisson: {{ rate: 5/s }} }} }}\n",
                    header("mm1", seed, "20s", "400s")
                )
            },
            targets: station_targets("s", 5.0, 10.0, 1, None),
        },
        Model { name: "M/M/2/10 rho 0.9, warm-up 20 s", yaml: |seed| mm2k10(seed, "20s"), targets: mm2k10_targets() },
        Model { name: "M/M/2/10 rho 0.9, warm-up auto", yaml: |seed| mm2k10(seed, "auto"), targets: mm2k10_targets() },
        Model { name: "Jackson network, 3 nodes, feedback", yaml: jackson_yaml, targets: jackson_targets() },
    ];
    let studies: Vec<Study> = models.iter().map(study).collect();
    let intervals: usize = models.iter().map(|m| m.targets.len()).sum();
    let (lo, hi) = band((1.0 - FAMILY_CONFIDENCE) / intervals as f64);
    println!(
        "coverage over {RUNS} runs of {REPLICATIONS} replications; band for {intervals} intervals at family-wise \
         {FAMILY_CONFIDENCE}: {lo}..={hi}"
    );
    let mut failures = Vec::new();
    for (model, study) in models.iter().zip(&studies) {
        for (t, &covered) in model.targets.iter().zip(&study.covered) {
            let ok = (lo..=hi).contains(&covered);
            println!(
                "{:<36} {:<2} {:<12} truth {:<10.6} covered {:5.1}%{}",
                model.name,
                t.service,
                t.metric,
                t.truth,
                100.0 * covered as f64 / RUNS as f64,
                if ok { "" } else { "  OUTSIDE THE BAND" }
            );
            if !ok {
                failures.push(format!("{} {} {}: {covered} of {RUNS}", model.name, t.service, t.metric));
            }
        }
        let zero = study.warmups.iter().filter(|&&w| w == 0.0).count();
        let mean = study.warmups.iter().sum::<f64>() / study.warmups.len() as f64;
        let truth = model.targets[0].truth;
        println!(
            "{:<36} warm-up mean {mean:.2} s, {zero} of {RUNS} runs 0 s; mean L {:.4} vs {truth:.4} ({:+.2}%)",
            model.name,
            study.first_mean,
            100.0 * (study.first_mean / truth - 1.0)
        );
    }
    assert!(failures.is_empty(), "coverage outside the band {lo}..={hi} of {RUNS}: {failures:?}");
}

/// M/M/2/10 at ρ = 0.9 (μ = 1/s).
fn mm2k10_targets() -> Vec<Target> {
    station_targets("s", 1.8, 1.0, 2, Some(10))
}

/// 100 workers with 10 s service times at load 0.9, starting empty: close to an M/M/∞,
/// whose mean number inside climbs as a·(1 − e^{−t/10}) (time constant 10 s).
fn slow_start(seed: u64) -> String {
    format!(
        "name: slow-start\nseed: {seed}\nduration: 600s\nwarmup: auto\nservices:\n  \
         q: {{ servers: 100, service_time: {{ exponential: {{ mean: 10s }} }} }}\n\
         workloads:\n  - {{ name: w, target: q, arrivals: {{ poisson: {{ rate: 9/s }} }} }}\n"
    )
}

/// The shortest warm-up that leaves L over the 600 s measured within 0.5% of its
/// steady state: the deficit a·e^{−w/10} decays with the 10 s time constant and is
/// averaged over 600 s, so it needs (10/600)·e^{−w/10} ≤ 0.005, w ≥ 10·ln(10/3) ≈ 12 s.
const SLOW_START_TRUTH_S: f64 = 12.0;
/// The longest warm-up accepted: 15% of the measured run (MSER-5 picks a point where the
/// transient is below the noise of a batch, a few time constants; more wastes the run).
const SLOW_START_MAX_S: f64 = 90.0;

#[test]
fn warmup_auto_finds_a_known_transient_for_every_seed() {
    let found: Vec<(f64, bool)> = (1..=20u64)
        .into_par_iter()
        .map(|seed| {
            let (_, choice) = resolve_warmup(&scenario(&slow_start(seed))).expect("warm-up");
            let choice = choice.expect("auto warm-up resolved");
            (choice.warmup.as_secs_f64(), choice.warning.is_some())
        })
        .collect();
    println!("warm-ups chosen for seeds 1..=20: {found:?}");
    for (seed, &(w, warned)) in (1..).zip(&found) {
        assert!((SLOW_START_TRUTH_S..=SLOW_START_MAX_S).contains(&w), "seed {seed}: warm-up {w} s");
        assert!(!warned, "seed {seed}: a 600 s run of 30 time constants warned");
    }
}

#[test]
fn warmup_auto_warns_when_the_run_is_too_short() {
    // 20 s of an M/M/1 at 0.5/s: about 10 requests per pilot, far from 10 batches of 30.
    let short = scenario(
        "name: short\nduration: 20s\nwarmup: auto\nservices:\n  s: { servers: 1, service_time: { exponential: \
         { mean: 1s } } }\nworkloads:\n  - { name: u, target: s, arrivals: { poisson: { rate: 0.5/s } } }\n",
    );
    let (_, choice) = resolve_warmup(&short).expect("warm-up");
    let warning = choice.expect("auto warm-up resolved").warning.expect("warned");
    assert!(warning.to_string().contains("too short"), "{warning}");
    // The pilots run in parallel; the choice does not depend on the thread count.
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| resolve_warmup(&scenario(&slow_start(7))).expect("warm-up").1)
    };
    assert_eq!(on(1), on(2));
}
