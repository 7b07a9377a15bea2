//! Proportions from pooled counts, checked by repeated studies against M/M/1/K and
//! M/M/c/K closed forms (`resim::theory::mmck`).
//!
//! A study is R replications, as a report sees them; studies are independent, so one
//! run of `studies × R` replications, cut into consecutive groups of R, gives many
//! studies at once. Each test also computes what the report did before proportions were
//! pooled (Student's t over per-replication ratios), to show the check can tell the two
//! apart.

use resim::report::{ReplicationSummary, Statistic};
use resim::theory::mmck;

use crate::common::Sim;

/// Replications per study, as in the rare-blocking case.
const R: usize = 5;
/// Independent studies of the coverage check.
const STUDIES: usize = 200;
/// Coverage the issue asks of a 95% interval over 200 studies (the binomial band's lower
/// edge is about 91.5%).
const MIN_COVERAGE: f64 = 0.90;
/// Largest relative bias allowed of the pooled ratio.
const POOLED_BIAS_TOL: f64 = 0.005;
/// The mean of per-replication ratios on the same short runs is at least this much low
/// (the issue measured −1.5% to −2.9%): the check can see the bias it guards against.
const RATIO_MEAN_BIAS: f64 = -0.015;

/// One M/M/c/K station `s` fed by a Poisson workload, with one report window per run.
fn station(lambda: f64, mean_ms: u64, c: u32, k: u32, run: (&str, &str), replications: usize) -> String {
    let (warmup, duration) = run;
    format!(
        "name: proportions\nseed: 22\nwarmup: {warmup}\nduration: {duration}\nwindow: {duration}\n\
         replications: {replications}\nservices:\n  s: {{ servers: {c}, capacity: {k}, service_time: \
         {{ exponential: {{ mean: {mean_ms}ms }} }} }}\nworkloads:\n  - {{ name: users, target: s, arrivals: \
         {{ poisson: {{ rate: {lambda}/s }} }} }}\n"
    )
}

/// Each replication's (rejected, arrivals) at the station.
fn blocking_counts(reps: &[ReplicationSummary]) -> Vec<(f64, f64)> {
    reps.iter().map(|r| (r.services[0].rejected, r.services[0].arrivals)).collect()
}

/// What the report gave before: Student's t over per-replication ratios.
fn mean_of_ratios(counts: &[(f64, f64)]) -> Statistic {
    Statistic::of_signed(counts.iter().map(|&(x, n)| (n > 0.0).then(|| x / n)))
}

/// M/M/1/12 at ρ = 0.5 (λ = 5/s, μ = 10/s): blocking (1−ρ)ρ^12/(1−ρ^13) = 1.2209e-4, about
/// 0.6 rejections per 5 × 200 s study, so most studies see none.
#[test]
fn rare_blocking_is_covered_never_negative_never_zero_width() {
    let sim = Sim::run(&station(5.0, 100, 1, 12, ("20s", "200s"), STUDIES * R));
    let truth = mmck(5.0, 10.0, 1, Some(12)).expect("valid station").blocking;
    assert!((truth - 1.2209e-4).abs() < 1e-8, "closed form {truth}");
    let counts = blocking_counts(&sim.reps);
    let (mut covered, mut before, mut zero_width, mut negative) = (0, 0, 0, 0);
    for study in counts.chunks(R) {
        let s = Statistic::proportion(study.iter().copied());
        let [lo, hi] = s.ci95.expect("five replications give an interval");
        assert!(lo >= 0.0 && hi <= 1.0 && hi > lo, "interval {:?} of {study:?}", s.ci95);
        covered += usize::from(s.covers(truth));
        let old = mean_of_ratios(study);
        before += usize::from(old.covers(truth));
        zero_width += usize::from(old.ci95 == Some([0.0, 0.0]));
        negative += usize::from(old.ci95.is_some_and(|[lo, _]| lo < 0.0));
    }
    let coverage = covered as f64 / STUDIES as f64;
    println!(
        "rare blocking {truth:.4e}: pooled covers {covered}/{STUDIES}; mean of ratios {before}/{STUDIES}, \
         [0, 0] in {zero_width}, negative in {negative}"
    );
    assert!(coverage >= MIN_COVERAGE, "covered in {covered} of {STUDIES} studies");
    // The report's own statistic is the same pooled proportion over all its replications.
    let report = sim.service("s").blocking_probability;
    let all = Statistic::proportion(counts.iter().copied());
    assert_eq!(report, all);
    assert!(report.covers(truth), "{report:?} over {} replications", STUDIES * R);
}

/// M/M/2/4 at λ = 30/s, μ = 10/s, 2 s runs after a 1 s warm-up (about 60 arrivals each):
/// the ratio of pooled counts is unbiased; the mean of ratios is low by ~2%. With 10,000
/// replications the pooled estimate's relative standard error is below 0.2%.
#[test]
fn pooled_blocking_is_unbiased_on_short_runs() {
    const REPS: usize = 10_000;
    let sim = Sim::run(&station(30.0, 100, 2, 4, ("1s", "2s"), REPS));
    let truth = mmck(30.0, 10.0, 2, Some(4)).expect("valid station").blocking;
    let counts = blocking_counts(&sim.reps);
    let pooled = Statistic::proportion(counts.iter().copied());
    let ratios = mean_of_ratios(&counts);
    let bias = |s: &Statistic| s.value() / truth - 1.0;
    println!(
        "blocking {truth:.5}: pooled {:+.3}%, mean of ratios {:+.3}%",
        bias(&pooled) * 100.0,
        bias(&ratios) * 100.0
    );
    let se = pooled.half_width().expect("an interval") / 1.96 / truth;
    assert!(se < POOLED_BIAS_TOL / 2.0, "relative standard error {se} too wide to judge the bias");
    assert!(bias(&pooled).abs() < POOLED_BIAS_TOL, "pooled {pooled:?} against {truth}");
    assert!(bias(&ratios) < RATIO_MEAN_BIAS, "mean of ratios {ratios:?} against {truth}");
    assert_eq!(sim.service("s").blocking_probability, pooled);
}

/// Statistics whose value is a difference, which may be negative.
const SIGNED: [&str; 2] = ["sli_change", "budget_remaining"];
/// Statistics that are shares of counted requests.
const SHARES: [&str; 5] = ["availability", "blocking_probability", "sli", "bad_fraction", "bad_fraction_baseline"];

/// Every `{mean, ci95, n}` under `v` (`key` its name): a lower bound below 0 only for a
/// difference, and a share's interval inside [0, 1] and wider than a point.
fn check_bounds(key: &str, v: &serde_json::Value, seen: &mut usize) {
    if let (Some(ci), true) = (v.get("ci95").and_then(|c| c.as_array()), v.get("mean").is_some()) {
        let (lo, hi) = (ci[0].as_f64().expect("lo"), ci[1].as_f64().expect("hi"));
        assert!(lo <= hi, "{key}: {v}");
        if !(key.starts_with("extra_") || SIGNED.contains(&key)) {
            assert!(lo >= 0.0, "{key} cannot be negative: {v}");
        }
        if SHARES.contains(&key) {
            assert!(hi <= 1.0 && hi > lo, "{key} is a share: {v}");
        }
        *seen += 1;
        return;
    }
    match v {
        serde_json::Value::Object(m) => m.iter().for_each(|(k, x)| check_bounds(k, x, seen)),
        serde_json::Value::Array(a) => a.iter().for_each(|x| check_bounds(key, x, seen)),
        _ => {}
    }
}

/// Two examples with faults, SLOs and a blast radius, shortened: no statistic of a
/// quantity that cannot be negative has a negative bound, no share leaves [0, 1].
#[test]
fn no_report_interval_leaves_the_quantitys_range() {
    for (name, sets) in
        [("retry-storm.yaml", ["duration=4m", "warmup=30s"]), ("cells.yaml", ["duration=3m", "warmup=30s"])]
    {
        let report = crate::common::example(name, &sets).report;
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("report JSON");
        let mut seen = 0;
        check_bounds("", &json, &mut seen);
        assert!(seen > 50, "{name}: only {seen} statistics");
    }
}
