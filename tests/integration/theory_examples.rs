//! `resim theory` on the examples: no station it labels exact is contradicted by the
//! committed simulation report of that example (`reports/<name>/report.json`, kept
//! current by `reports_fresh`).
//!
//! Method. For every example and every station [`Prediction::is_exact`] holds for, the
//! predicted throughput, L, W, utilisation and blocking must each lie inside the
//! report's interval for that metric. The checks are many (m of them), so a family of
//! plain 95% intervals would miss somewhere by chance far more often than 5% of the
//! time; each interval is therefore widened to the Bonferroni level 1 − 0.05/m, which
//! keeps the chance that ANY check of the test fails by chance at most 5%. The report's
//! interval is Student's t over its `n` replications, mean ± t(0.975, n − 1)·s/√n, so
//! the standard error is its half-width over t(0.975, n − 1) and the widened interval
//! is mean ± t(1 − 0.025/m, n − 1)·s/√n. (An interval that is not symmetric, such as a
//! score interval for a proportion, is widened from its longer side: conservative.) A
//! metric whose interval is a point (every replication measured the same value, e.g. no
//! blocking at unbounded capacity) must equal the prediction to 1e-9.

use std::fs;
use std::path::Path;

use resim::scenario::load_file;
use resim::theory::{Prediction, predict};
use serde_json::Value;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// The family-wise error rate of the whole test.
const FAMILY_ALPHA: f64 = 0.05;

/// One comparison of a prediction with a reported statistic.
struct Check {
    what: String,
    theory: f64,
    mean: f64,
    ci95: Option<[f64; 2]>,
    n: f64,
}

/// Student's t quantile at `p` with `df` degrees of freedom.
fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).expect("df > 0").inverse_cdf(p)
}

/// The report's statistic `key` of `service` as (mean, ci95, n).
fn statistic(report: &Value, service: &str, key: &str) -> (f64, Option<[f64; 2]>, f64) {
    let s = &report["services"][service][key];
    let mean = s["mean"].as_f64().unwrap_or_else(|| panic!("{service}.{key}.mean"));
    let ci = s["ci95"].as_array().map(|a| [a[0].as_f64().unwrap_or(f64::NAN), a[1].as_f64().unwrap_or(f64::NAN)]);
    (mean, ci, s["n"].as_f64().unwrap_or(0.0))
}

/// The checks of one example: five metrics per exact station.
fn checks_of(name: &str, predictions: &[Prediction], report: &Value) -> Vec<Check> {
    let mut out = Vec::new();
    for p in predictions.iter().filter(|p| p.is_exact()) {
        let t = p.values.expect("exact predictions have values");
        let metrics = [
            ("throughput_per_s", t.throughput),
            ("mean_in_system", t.mean_in_system),
            ("mean_sojourn_s", t.mean_sojourn),
            ("utilization", t.utilization),
            ("blocking_probability", t.blocking),
        ];
        for (key, theory) in metrics {
            let (mean, ci95, n) = statistic(report, &p.service, key);
            out.push(Check { what: format!("{name}: {} {key} ({})", p.service, p.note), theory, mean, ci95, n });
        }
    }
    out
}

/// Why `c` fails at family size `m`, if it does.
fn failure(c: &Check, m: usize) -> Option<String> {
    let Some([lo, hi]) = c.ci95 else {
        return Some(format!("{}: no interval (n = {})", c.what, c.n));
    };
    let half95 = (hi - c.mean).max(c.mean - lo);
    if half95 == 0.0 {
        return ((c.mean - c.theory).abs() > 1e-9)
            .then(|| format!("{}: every replication {} but theory {}", c.what, c.mean, c.theory));
    }
    let df = c.n - 1.0;
    let half = half95 / t_quantile(0.975, df) * t_quantile(1.0 - FAMILY_ALPHA / 2.0 / m as f64, df);
    ((c.theory - c.mean).abs() > half).then(|| {
        format!(
            "{}: theory {:.6} outside {:.6} ± {:.6} (Bonferroni over {m} checks, n = {})",
            c.what, c.theory, c.mean, half, c.n
        )
    })
}

#[test]
fn no_station_labelled_exact_is_contradicted_by_its_example_report() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = fs::read_dir(root.join("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut checks = Vec::new();
    for file in &files {
        let name = file.file_stem().and_then(|s| s.to_str()).expect("file name");
        let scenario = load_file(file, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = fs::read_to_string(root.join("reports").join(name).join("report.json"))
            .unwrap_or_else(|e| panic!("reports/{name}/report.json: {e}"));
        let report: Value = serde_json::from_str(&text).expect("report.json is JSON");
        checks.extend(checks_of(name, &predict(&scenario.model), &report));
    }
    // mmck-basic's entry station is the examples' plain M/M/c/K: it must stay covered.
    assert!(
        checks.iter().any(|c| c.what.starts_with("mmck-basic: api ")),
        "mmck-basic's api is no longer predicted exactly"
    );
    let m = checks.len();
    for c in &checks {
        println!("{}: theory {:.6}, reported {:.6} {:?}", c.what, c.theory, c.mean, c.ci95);
    }
    let failures: Vec<String> = checks.iter().filter_map(|c| failure(c, m)).collect();
    assert!(failures.is_empty(), "{} of {m} checks contradict theory:\n{}", failures.len(), failures.join("\n"));
}
