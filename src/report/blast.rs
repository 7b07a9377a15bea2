//! The blast radius of each fault: the run compared with a counterfactual run of the same
//! scenario without that fault, on the same random streams.
//!
//! Replication `r` of the counterfactual draws the same arrivals and service times as
//! replication `r` of the run until the fault first changes what happens, so the two are
//! compared pairwise: every difference below is a mean over replications of per-pair
//! differences, with a paired 95% interval. A request is *bad* when it failed (error,
//! timeout, rejected, short-circuited) or succeeded *slowly*: slower than the latency
//! SLO's threshold on that workload or service, or else than the counterfactual's p99,
//! at the resolution of the per-window latency buckets (6.25%).
//!
//! For a scheduled fault, the damage is counted from the window where the fault starts to
//! the window where the system has recovered: the first window after the fault's end
//! from which, to the end of the run, no workload or service has an extra bad share
//! above `recovery_tolerance` (beyond its paired 95% interval). A fault whose damage never
//! ends that way, with at least two windows left after it, is reported `metastable`.
//! A fault on a random schedule is judged over the whole run, without a recovery time.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::statistic::{Statistic, t975};
use super::summary::ReplicationSummary;
use crate::metrics::Outcome;
use crate::metrics::buckets::{self, Sparse};
use crate::model::fault::{Schedule, Target};
use crate::model::{BlastRadius, Model, SloTarget};

/// What one fault did, against the run without it.
#[derive(Clone, Debug, Serialize)]
pub struct BlastRadiusReport {
    /// The fault's name.
    pub fault: String,
    /// Its kind.
    pub kind: &'static str,
    /// Its target as written.
    pub target: String,
    /// Scheduled window, seconds from the end of the warm-up (null for random onsets).
    pub window_s: Option<[f64; 2]>,
    /// The period the damage is counted over, seconds from the end of the warm-up.
    pub impact_s: [f64; 2],
    /// Per workload.
    pub workloads: BTreeMap<String, Damage>,
    /// Per service.
    pub services: BTreeMap<String, Damage>,
    /// Workloads whose bad share rose beyond the threshold.
    pub affected_workloads: Vec<String>,
    /// Services whose bad share rose beyond the threshold.
    pub affected_services: Vec<String>,
    /// The services the fault acts on (every service with an instance in a targeted zone;
    /// both ends of a targeted edge; the entry service of a targeted workload).
    pub scope: Vec<String>,
    /// Affected services outside the scope.
    pub spread_to: Vec<String>,
    /// No service outside the scope was affected.
    pub contained: bool,
    /// Whether the system recovered after the fault ended; null when it cannot be judged
    /// (random schedule, or the fault ends less than two windows before the run does).
    pub recovered: Option<bool>,
    /// Seconds from the fault's end to the start of the first recovered window (0 when
    /// the damage ended with the fault).
    pub time_to_recover_s: Option<f64>,
    /// The fault ended and the system never recovered before the end of the run.
    pub metastable: bool,
    /// Replications that, judged alone, never recovered (null when recovery is not
    /// judged). Between 0 and all, the outcome is a matter of luck: a metastable failure
    /// some runs fall into and others escape.
    pub replications_not_recovered: Option<u32>,
    /// The paired bad requests of the workloads above the counterfactual, per window
    /// (mean over replications), for the charts.
    pub extra_bad_per_window: BTreeMap<String, Vec<f64>>,
}

/// The extra damage on one workload or service over the impact period.
#[derive(Clone, Debug, Serialize)]
pub struct Damage {
    /// Requests finished in the counterfactual over the period.
    pub requests: Statistic,
    /// Extra failed requests (the run minus the counterfactual).
    pub extra_failed: Statistic,
    /// Extra successful requests slower than the slow threshold.
    pub extra_slowed: Statistic,
    /// Extra degraded answers (served, with something missing: not counted as bad).
    pub extra_degraded: Statistic,
    /// The slow threshold used, seconds (the upper edge of its bucket); null when the
    /// counterfactual answered nothing.
    pub slow_threshold_s: Option<f64>,
    /// Bad share in the counterfactual: pooled counts ([`Statistic::proportion`]).
    pub bad_fraction_baseline: Statistic,
    /// Bad share with the fault: pooled counts ([`Statistic::proportion`]).
    pub bad_fraction: Statistic,
    /// The rise of the bad share: the mean over replications of each pair's difference of
    /// shares, with the paired t interval (so not exactly `bad_fraction −
    /// bad_fraction_baseline`, which pool the counts).
    pub sli_change: Statistic,
    /// The rise is above the threshold and (with replications) its interval is above 0.
    pub affected: bool,
}

/// One workload or service: its outcome and latency windows in one replication.
#[derive(Clone)]
struct Windows {
    outcomes: Vec<[f64; 6]>,
    latency: Vec<Sparse>,
}

impl Windows {
    /// Requests and bad requests in window `i` with slow bucket cutoff `cut`.
    fn counts(&self, i: usize, cut: Option<usize>) -> (f64, f64, f64) {
        let o = &self.outcomes[i];
        let failed: f64 = o[Outcome::Error as usize..].iter().sum();
        let slowed = match (cut, self.latency.get(i)) {
            (Some(b), Some(h)) => h.iter().filter(|&&(k, _)| usize::from(k) > b).map(|&(_, c)| f64::from(c)).sum(),
            _ => 0.0,
        };
        (o.iter().sum(), failed, slowed)
    }
}

/// A workload or service as the analysis sees it.
struct Series<'a> {
    name: &'a str,
    is_workload: bool,
    run: Vec<Windows>,
    base: Vec<Windows>,
    /// Bucket above which a success is slow.
    cut: Option<usize>,
}

fn workload_windows(r: &ReplicationSummary, w: usize) -> Windows {
    Windows { outcomes: r.workloads[w].outcome_windows(), latency: r.workloads[w].latency_windows() }
}

fn service_windows(r: &ReplicationSummary, s: usize) -> Windows {
    Windows { outcomes: r.services[s].windows.outcomes(), latency: r.services[s].windows.latency() }
}

/// The slow cutoff: the first latency SLO's threshold on `target`, or else the bucket of
/// the counterfactual's pooled p99.
fn slow_cut(model: &Model, target: SloTarget, base: &[Windows]) -> Option<usize> {
    if let Some(&t) = model.slow_thresholds(target).first() {
        return Some(buckets::bucket(t));
    }
    let mut pooled = vec![0u64; buckets::BUCKETS];
    base.iter().flat_map(|w| &w.latency).for_each(|h| buckets::merge(&mut pooled, h));
    let n: u64 = pooled.iter().sum();
    if n == 0 {
        return None;
    }
    let rank = (0.99 * n as f64).ceil() as u64;
    let mut seen = 0;
    pooled.iter().position(|&c| {
        seen += c;
        seen >= rank
    })
}

/// The services a fault acts on.
fn scope(model: &Model, target: &Target) -> BTreeSet<usize> {
    match target {
        Target::Instances(list) => list.iter().map(|&(s, _)| s).collect(),
        Target::Edge(e) => [model.edges[*e].from, model.edges[*e].to].into_iter().collect(),
        Target::Workload(w) => [model.workloads[*w].target].into_iter().collect(),
    }
}

/// The blast radius of every fault of `model` with a counterfactual in `bases` (the
/// summaries of `model.without_fault(f)`, in fault order); empty when the analysis is off.
pub(super) fn blast_radii(
    model: &Model,
    run: &[ReplicationSummary],
    bases: &[Vec<ReplicationSummary>],
) -> Vec<BlastRadiusReport> {
    let Some(config) = model.blast_radius else { return Vec::new() };
    bases.iter().enumerate().map(|(f, base)| blast_radius(model, &config, f, run, base)).collect()
}

/// Blast radius of fault `f`: `run` are the replications of `model`, `base` those of
/// `model.without_fault(f)`, both in replication order.
pub fn blast_radius(
    model: &Model,
    config: &BlastRadius,
    f: usize,
    run: &[ReplicationSummary],
    base: &[ReplicationSummary],
) -> BlastRadiusReport {
    let fault = &model.faults[f];
    let (window, duration) = (model.window.as_secs_f64(), model.duration.as_secs_f64());
    let warmup = model.warmup.as_secs_f64();
    let scheduled = match fault.schedule {
        Schedule::Window { start, end } => {
            let clamp = |t: f64| (t - warmup).clamp(0.0, duration);
            Some([clamp(start.as_secs_f64()), clamp(end.as_secs_f64())])
        }
        Schedule::Random { .. } => None,
    };
    let series = all_series(model, run, base);
    let rec = Recovery::of(model, &series, scheduled, config.recovery_tolerance, run.len());
    let impact = rec.impact.clone();
    let Damages { workloads, services, extra_bad_per_window } =
        Damages::of(&series, impact.clone(), config.sli_threshold, rec.n);
    let affected = |m: &BTreeMap<String, Damage>| -> Vec<String> {
        m.iter().filter(|(_, d)| d.affected).map(|(k, _)| k.clone()).collect()
    };
    let in_scope = scope(model, &fault.target);
    let scope: Vec<String> = in_scope.iter().map(|&s| model.services[s].name.clone()).collect();
    let affected_services = affected(&services);
    let affected_workloads = affected(&workloads);
    let spread_to: Vec<String> = affected_services.iter().filter(|s| !scope.contains(s)).cloned().collect();
    let time_to_recover_s = match (scheduled, rec.recovered) {
        (Some([_, end]), Some(true)) => Some((rec.from as f64 * window - end).max(0.0)),
        _ => None,
    };
    BlastRadiusReport {
        fault: fault.name.clone(),
        kind: fault.kind,
        target: fault.target_text.clone(),
        window_s: scheduled,
        impact_s: [impact.start as f64 * window, (impact.end as f64 * window).min(duration)],
        workloads,
        affected_workloads,
        services,
        affected_services,
        contained: spread_to.is_empty(),
        spread_to,
        scope,
        recovered: rec.recovered,
        time_to_recover_s,
        metastable: rec.recovered == Some(false),
        replications_not_recovered: rec.stuck,
        extra_bad_per_window,
    }
}

/// Every workload, then every service, as the analysis sees them.
fn all_series<'a>(model: &'a Model, run: &'a [ReplicationSummary], base: &'a [ReplicationSummary]) -> Vec<Series<'a>> {
    let mut series: Vec<Series> = Vec::new();
    for (w, wl) in model.workloads.iter().enumerate() {
        let b: Vec<_> = base.iter().map(|r| workload_windows(r, w)).collect();
        let cut = slow_cut(model, SloTarget::Workload(w), &b);
        let run = run.iter().map(|r| workload_windows(r, w)).collect();
        series.push(Series { name: &wl.name, is_workload: true, run, base: b, cut });
    }
    for (s, svc) in model.services.iter().enumerate() {
        let b: Vec<_> = base.iter().map(|r| service_windows(r, s)).collect();
        let cut = slow_cut(model, SloTarget::Service(s), &b);
        let run = run.iter().map(|r| service_windows(r, s)).collect();
        series.push(Series { name: &svc.name, is_workload: false, run, base: b, cut });
    }
    series
}

/// When the damage starts and ends, and whether the system recovered.
struct Recovery {
    /// Windows in the run.
    n: usize,
    /// The windows the damage is counted over.
    impact: std::ops::Range<usize>,
    /// Recovered after the fault; `None` when it cannot be judged.
    recovered: Option<bool>,
    /// The first window from which every later one is within tolerance (`n`: none).
    from: usize,
    /// Replications that did not recover on their own.
    stuck: Option<u32>,
}

impl Recovery {
    /// The recovery from a fault `scheduled` over `[start, end]` (seconds from the end of
    /// the warm-up; `None` for random onsets, judged over the whole run), with `reps`
    /// replications and windows within `tol` of the counterfactual counted as recovered.
    fn of(model: &Model, series: &[Series], scheduled: Option<[f64; 2]>, tol: f64, reps: usize) -> Self {
        let (window, duration) = (model.window.as_secs_f64(), model.duration.as_secs_f64());
        let n = model.windows();
        let window_of = |t: f64| ((t / window) as usize).min(n.saturating_sub(1));
        // The window holding the fault's last instant (an end on a boundary closes the one before).
        let last_window_of = |t: f64| ((t / window).ceil() as usize).saturating_sub(1).min(n.saturating_sub(1));
        // The first window after `last` from which every later one passes `ok` (n: none).
        let recovered_after = |last: usize, ok: &dyn Fn(usize) -> bool| {
            let mut from = n;
            while from > last && ok(from - 1) {
                from -= 1;
            }
            from
        };
        let Some([start, end]) = scheduled.filter(|_| n > 0) else {
            return Recovery { n, impact: 0..n, recovered: None, from: n, stuck: None };
        };
        let last_fault_window = last_window_of(end).max(window_of(start));
        let from = recovered_after(last_fault_window, &|i| series.iter().all(|s| window_within(s, i, tol, None)));
        let judged = end < duration && duration - end >= 2.0 * window;
        let recovered = if from < n { Some(true) } else { judged.then_some(false) };
        // Each replication on its own: a bimodal outcome (some stuck, some not) shows here.
        let stuck = (0..reps)
            .filter(|&r| {
                let ok = |i: usize| series.iter().all(|s| window_within(s, i, tol, Some(r)));
                judged && recovered_after(last_fault_window, &ok) == n
            })
            .count() as u32;
        let first = window_of(start);
        let stop = from.max(last_fault_window + 1).min(n);
        Recovery { n, impact: first..stop.max(first), recovered, from, stuck: judged.then_some(stuck) }
    }
}

/// The damage tables of a fault, by name.
#[derive(Default)]
struct Damages {
    workloads: BTreeMap<String, Damage>,
    services: BTreeMap<String, Damage>,
    /// Each workload's extra bad requests per window (mean over replications).
    extra_bad_per_window: BTreeMap<String, Vec<f64>>,
}

impl Damages {
    /// The damage of every series over the windows `impact` (of `n`).
    fn of(series: &[Series], impact: std::ops::Range<usize>, threshold: f64, n: usize) -> Self {
        let mut out = Damages::default();
        for s in series {
            let d = damage(s, impact.clone(), threshold);
            if s.is_workload {
                out.extra_bad_per_window.insert(s.name.to_string(), extra_bad(s, n));
                out.workloads.insert(s.name.to_string(), d);
            } else {
                out.services.insert(s.name.to_string(), d);
            }
        }
        out
    }
}

/// Extra bad requests of `s` in each of the `n` windows, mean over replications.
fn extra_bad(s: &Series, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let pairs = s.run.iter().zip(&s.base);
            let sum: f64 = pairs
                .map(|(a, b)| {
                    let (_, fa, sa) = a.counts(i, s.cut);
                    let (_, fb, sb) = b.counts(i, s.cut);
                    fa + sa - fb - sb
                })
                .sum();
            sum / s.run.len().max(1) as f64
        })
        .collect()
}

/// Window `i` of `s` has no extra bad share beyond `tol`: the paired mean minus its 95%
/// half-width (with two or more replications) is at most `tol`; with `only`, that
/// replication's own share is.
fn window_within(s: &Series, i: usize, tol: f64, only: Option<usize>) -> bool {
    let x: Vec<f64> = s
        .run
        .iter()
        .zip(&s.base)
        .enumerate()
        .filter(|&(r, _)| only.is_none_or(|o| o == r))
        .map(|(_, (a, b))| {
            let (_, fa, sa) = a.counts(i, s.cut);
            let (nb, fb, sb) = b.counts(i, s.cut);
            (fa + sa - fb - sb) / nb.max(1.0)
        })
        .collect();
    let k = x.len();
    if k == 0 {
        return true;
    }
    let mean = x.iter().sum::<f64>() / k as f64;
    if k < 2 {
        return mean <= tol;
    }
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1) as f64;
    mean - t975(k - 1) * (var / k as f64).sqrt() <= tol
}

/// The damage of `s` over the windows `impact`.
fn damage(s: &Series, impact: std::ops::Range<usize>, threshold: f64) -> Damage {
    let per_rep: Vec<[f64; 8]> = s
        .run
        .iter()
        .zip(&s.base)
        .map(|(a, b)| {
            let mut t = [0.0; 8];
            for i in impact.clone() {
                t[6] += a.outcomes[i][Outcome::Degraded as usize];
                t[7] += b.outcomes[i][Outcome::Degraded as usize];
                let (na, fa, sa) = a.counts(i, s.cut);
                let (nb, fb, sb) = b.counts(i, s.cut);
                t[0] += na;
                t[1] += fa;
                t[2] += sa;
                t[3] += nb;
                t[4] += fb;
                t[5] += sb;
            }
            t
        })
        .collect();
    let signed = |f: &dyn Fn(&[f64; 8]) -> f64| Statistic::of_signed(per_rep.iter().map(|t| Some(f(t))));
    let share = |bad: f64, n: f64| if n > 0.0 { bad / n } else { 0.0 };
    let sli_change = signed(&|t| share(t[1] + t[2], t[0]) - share(t[4] + t[5], t[3]));
    let affected = sli_change.mean.is_some_and(|m| m > threshold) && sli_change.ci95.is_none_or(|[lo, _]| lo > 0.0);
    Damage {
        requests: Statistic::of_counts(per_rep.iter().map(|t| t[3])),
        extra_failed: signed(&|t| t[1] - t[4]),
        extra_slowed: signed(&|t| t[2] - t[5]),
        extra_degraded: signed(&|t| t[6] - t[7]),
        slow_threshold_s: s.cut.map(|b| buckets::lower_ns(b + 1) as f64 / 1e9),
        bad_fraction_baseline: Statistic::proportion(per_rep.iter().map(|t| (t[4] + t[5], t[3]))),
        bad_fraction: Statistic::proportion(per_rep.iter().map(|t| (t[1] + t[2], t[0]))),
        sli_change,
        affected,
    }
}
