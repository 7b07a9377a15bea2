//! Tail percentiles pooled across replications (issue 22): the report's p99 and p99.9 are
//! the quantiles of the merged histograms, with the order-statistic interval on the
//! pooled sample (src/report/percentiles.rs), so short runs no longer report the mean of
//! per-replication sample quantiles, which sits below the true quantile when each
//! replication sees few samples in the tail.
//!
//! The study is the issue's: M/M/1 at ρ = 0.5, 10 replications of 400 s, repeated over
//! [`RUNS`] independent seeds. The rates are λ = 5/s and μ = 10/s, so a replication sees
//! about 2000 requests, 2 of them above p99.9, which is where the mean of per-replication
//! quantiles goes wrong (the 7.8% low). The sojourn time of M/M/1 is exponential
//! with rate μ − λ (Kleinrock, Queueing Systems Vol. 1, §3.2), so its q-quantile is
//! −ln(1 − q)/(μ − λ): 0.921 s for p99, 1.382 s for p99.9.
//!
//! Both point estimates are within 2% on average and both intervals cover in at least 90%
//! of runs (measured: p99 95.5%, p99.9 93.0%; the sectioning interval over the
//! replications' own quantiles covered p99.9 in 76%). p99.9 has 20 samples above it in a
//! run, fewer once their clustering is counted, so the report lists it in `sparse_tail`.

use resim::report::{QUANTILES, Statistic};
use resim::{RunOptions, run_with_summaries};

use crate::common::scenario;

/// Independent runs of the study (seeds 1..=RUNS).
const RUNS: u64 = 200;
/// Arrival rate λ, per second.
const LAMBDA: f64 = 5.0;
/// Service rate μ, per second (mean service time 100 ms).
const MU: f64 = 10.0;
/// The bound on the bias of the mean over runs of the point estimate. A run's
/// pooled p99.9 rests on about 20 samples above it, so it varies by about 1/√20 of
/// 1/ln(1000), near 3.5% (more with the queue's autocorrelation); the mean of 200 runs
/// then has a standard error near 0.3%, and the histogram's 3 significant digits add at
/// most 0.1%, so a bias of 2% stands out.
const BIAS_TOL: f64 = 0.02;
/// Least share of runs whose 95% interval covers the truth (p99): the lower end of the
/// binomial band of 95% over 200 runs is about 92%; the issue asks for at least 90%.
const MIN_COVERAGE: f64 = 0.90;

/// For runs of the study, the report's statistic of each of `quantiles` and the old one
/// (the mean and Student-t interval of the replications' own quantiles), and whether the
/// report listed it as a sparse tail.
struct Estimates {
    pooled: Vec<Statistic>,
    old: Vec<Statistic>,
    sparse: Vec<bool>,
}

/// Runs the study with seeds 1..=RUNS and collects the service's `quantiles` (indices
/// into [`QUANTILES`]).
fn study(quantiles: &[usize]) -> Vec<Estimates> {
    let mut out: Vec<Estimates> =
        quantiles.iter().map(|_| Estimates { pooled: Vec::new(), old: Vec::new(), sparse: Vec::new() }).collect();
    for seed in 1..=RUNS {
        let yaml = format!(
            "name: pooled-quantiles\nseed: {seed}\nwarmup: 10s\nduration: 400s\nreplications: 10\n\
             services:\n  s: {{ servers: 1, service_time: {{ exponential: {{ mean: {}ms }} }} }}\n\
             workloads:\n  - {{ name: users, target: s, arrivals: {{ poisson: {{ rate: {LAMBDA}/s }} }} }}\n",
            1e3 / MU
        );
        let (reps, report) = run_with_summaries(&scenario(&yaml).model, &RunOptions::default());
        let l = &report.services["s"].latency_s;
        let all = [l.p50, l.p90, l.p95, l.p99, l.p999];
        for (e, &k) in out.iter_mut().zip(quantiles) {
            e.pooled.push(all[k]);
            e.sparse.push(l.sparse_tail.contains(&QUANTILES[k].0));
            e.old.push(Statistic::of(
                reps.iter().map(|r| r.services[0].latency_hist.quantiles_secs([QUANTILES[k].1])[0]),
            ));
        }
    }
    out
}

/// Mean relative error over the runs, and the share of runs whose interval covers `truth`.
fn bias_and_coverage(stats: &[Statistic], truth: f64) -> (f64, f64) {
    let mean = stats.iter().map(Statistic::value).sum::<f64>() / stats.len() as f64;
    let covered = stats.iter().filter(|s| s.covers(truth)).count();
    (mean / truth - 1.0, covered as f64 / stats.len() as f64)
}

#[test]
fn mm1_tail_percentiles_are_unbiased_and_covered() {
    let (p99, p999) = (3, 4);
    for (k, e) in [p99, p999].into_iter().zip(study(&[p99, p999])) {
        let (key, q) = QUANTILES[k];
        let truth = -f64::ln(1.0 - q) / (MU - LAMBDA);
        let (bias, coverage) = bias_and_coverage(&e.pooled, truth);
        let (old_bias, old_coverage) = bias_and_coverage(&e.old, truth);
        let flagged = e.sparse.iter().filter(|&&s| s).count();
        println!(
            "{key}: pooled {:+.2}% covering {:.1}%; mean of replications {:+.2}% covering {:.1}%; sparse tail in {flagged} runs",
            bias * 100.0,
            coverage * 100.0,
            old_bias * 100.0,
            old_coverage * 100.0
        );
        assert!(bias.abs() < BIAS_TOL, "{key}: mean relative error {bias:+.4}");
        assert!(e.pooled.iter().all(|s| s.n == 10));
        assert!(coverage >= MIN_COVERAGE, "{key}: coverage {coverage:.3}");
        if k == p99 {
            // 200 samples above it: flagged only where they cluster by 20 or more.
            assert!(flagged <= RUNS as usize / 10, "{key}: flagged in {flagged} runs");
        } else {
            // 20 samples above it, in runs: flagged whenever they cluster by 2 or more.
            assert!(flagged >= RUNS as usize / 2, "{key}: flagged in only {flagged} runs");
            // What the pooled estimate replaced fails the bias bound, so the test tells
            // the two apart.
            assert!(old_bias < -BIAS_TOL, "{key}: old mean relative error {old_bias:+.4}");
        }
    }
}
