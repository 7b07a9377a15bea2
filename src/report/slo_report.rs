//! The `slos[]` section of the report: each SLO's indicator, verdict, error budget, burn
//! rate and multi-window alerts, built from the replications' [`SloSummary`]s with the
//! arithmetic of [`super::slo`].
//!
//! Budgets are request-based and per replication: `(1 − objective) × valid requests`,
//! consumed by the bad ones. Statistics are `{mean, ci95, n}` over replications; the
//! SLI and the budget fractions are shares of requests, so they pool the replications'
//! counts (`Statistic::proportion`, scaled for the fractions). The burn-rate series pools
//! every replication's window counts; alerts are evaluated on each replication's windows,
//! and listed for replication 0: each rule alone (`alert_rules`, `alerts`), and each
//! severity's rules ORed into the one alert `resim export prometheus-rules` writes
//! (`severity_alerts`), both as Prometheus evaluates the exported expressions.

use serde::Serialize;

use super::Statistic;
use super::slo::{
    WindowRule, alert_name, burn_rate, evaluate_alerts, period_budget_fraction, request_budget, severities,
    time_budget_s, time_to_exhaustion, windows_for,
};
use super::summary::{ReplicationSummary, SloSummary};
use crate::engine::format::format_duration;
use crate::metrics::{LogEntry, Outcome};
use crate::model::fault::{Schedule, Target};
use crate::model::{AlertRule, Model, Slo, SloKind, SloTarget};

/// One SLO's verdict and error budget.
#[derive(Clone, Debug, Serialize)]
pub struct SloReport {
    /// Name.
    pub name: String,
    /// The workload whose requests count (null for a service SLO).
    pub workload: Option<String>,
    /// The service whose requests count (null for a workload SLO).
    pub service: Option<String>,
    /// `availability` or `latency`.
    pub kind: &'static str,
    /// Share of valid requests that must be good.
    pub objective: f64,
    /// Availability: the outcomes that count as good.
    pub good: Option<Vec<&'static str>>,
    /// Latency: the slowest good answer, seconds.
    pub threshold_s: Option<f64>,
    /// Valid requests per replication (availability: finished; latency: served).
    pub valid: Statistic,
    /// The indicator: good / valid, the counts pooled over replications
    /// ([`Statistic::proportion`]).
    pub sli: Statistic,
    /// The pooled SLI reaches the objective (equivalently, the consumed budget fraction is
    /// at most 1). True when there was no valid request at all.
    pub met: bool,
    /// Replications whose own SLI missed the objective.
    pub replications_breached: u32,
    /// Error budget: (1 − objective) × valid requests.
    pub budget_total: Statistic,
    /// Bad requests: valid ones that were not good.
    pub budget_consumed: Statistic,
    /// Budget left (negative when overspent).
    pub budget_remaining: Statistic,
    /// Consumed / total over the pooled counts (the bad share over the allowed one); also
    /// the run's average burn rate.
    pub budget_consumed_fraction: Statistic,
    /// Highest burn rate of a single report window.
    pub burn_rate_peak: Statistic,
    /// The SLO period the run is compared with, seconds.
    pub period_s: f64,
    /// Time-based budget of the period: (1 − objective) × period, seconds.
    pub period_budget_s: f64,
    /// The run's bad requests as time at full outage: bad / valid × duration, seconds.
    pub downtime_equivalent_s: Statistic,
    /// Share of a whole period's budget this run's incident uses (the rest of the period
    /// clean): average burn rate × duration / period.
    pub period_budget_fraction: Statistic,
    /// How long a fresh period budget would last at this run's mean burn rate, seconds
    /// (null when nothing was bad).
    pub time_to_exhaustion_s: Option<f64>,
    /// Burn rate window by window, over the window counts of all replications.
    pub burn_rate_series: BurnRateSeries,
    /// The alert rules as evaluated for this SLO.
    pub alert_rules: Vec<AlertRuleReport>,
    /// Replication 0's alerts of each rule alone, in firing order.
    pub alerts: Vec<AlertReport>,
    /// One alert per severity, ORing that severity's rules, as the exported Prometheus
    /// rules (Sloth's page and ticket alerts) fire it: page first, then ticket.
    pub severity_alerts: Vec<SeverityAlertReport>,
}

/// The alert of one severity: the rules of that severity ORed, as Sloth writes them.
#[derive(Clone, Debug, Serialize)]
pub struct SeverityAlertReport {
    /// `page` or `ticket`.
    pub severity: String,
    /// The alert's name in the exported rules.
    pub alert: String,
    /// The rules ORed, as indices into `alert_rules`.
    pub rules: Vec<usize>,
    /// Times the alert fired per replication.
    pub firings: Statistic,
    /// Per replication, the detection delay of the first firing that had a fault before
    /// it (as for a rule).
    pub detection_delay_s: Statistic,
    /// Replication 0's firings, in order; `rule` is the first rule whose expression held.
    pub alerts: Vec<AlertReport>,
}

/// A burn rate per report window.
#[derive(Clone, Debug, Serialize)]
pub struct BurnRateSeries {
    /// Window length, seconds.
    pub window_s: f64,
    /// Burn rate per window; null for a window without valid requests.
    pub values: Vec<Option<f64>>,
    /// Share of the run's error budget left at the end of each window (the burn-down,
    /// pooled over replications; negative once overspent).
    pub budget_remaining: Vec<f64>,
}

/// The pooled budget left after each window: 1 − bad so far / ((1 − objective) × valid).
fn burn_down(sums: &[&SloSummary], objective: f64) -> Vec<f64> {
    let budget = request_budget(objective, sums.iter().map(|s| s.valid).sum());
    let windows = sums.first().map_or(0, |s| s.bad_windows.len());
    let mut bad = 0.0;
    (0..windows)
        .map(|k| {
            bad += sums.iter().map(|s| s.bad_windows[k]).sum::<f64>();
            if budget > 0.0 { 1.0 - bad / budget } else { 1.0 }
        })
        .collect()
}

/// A multi-window, multi-burn-rate rule scaled to the run.
#[derive(Clone, Debug, Serialize)]
pub struct AlertRuleReport {
    /// `page` or `ticket`.
    pub severity: String,
    /// Factor both windows' burn rates must exceed.
    pub burn_rate: f64,
    /// Long window in workbook time, as written (e.g. `1h`).
    pub long: String,
    /// Short window in workbook time (e.g. `5m`).
    pub short: String,
    /// Workbook time per simulated time.
    pub time_scale: f64,
    /// Long window as simulated, seconds: `long / time_scale` rounded to whole report windows.
    pub long_window_s: f64,
    /// Short window as simulated, seconds (at least one report window).
    pub short_window_s: f64,
    /// Times the rule fired per replication.
    pub firings: Statistic,
    /// Per replication, the detection delay of the first firing that had a fault before
    /// it (as in [`AlertReport::detection_delay_s`]; replications other than 0 know only
    /// scheduled faults, since random onsets are logged for replication 0 alone).
    pub detection_delay_s: Statistic,
}

/// One firing of an alert in replication 0.
#[derive(Clone, Debug, Serialize)]
pub struct AlertReport {
    /// `page` or `ticket`.
    pub severity: String,
    /// The rule's factor.
    pub burn_rate: f64,
    /// The rule's long window as simulated, seconds.
    pub long_window_s: f64,
    /// The rule's short window as simulated, seconds.
    pub short_window_s: f64,
    /// The rule that fired it, an index into `alert_rules`.
    pub rule: usize,
    /// When it fired: the end of the first window where both windows' error ratios
    /// exceeded the threshold (factor × (1 − objective)), seconds from the end of the
    /// warm-up.
    pub fired_at_s: f64,
    /// When it resolved: the end of the first window after where either window's ratio
    /// was not above the threshold (for a severity alert: no rule held); null if it was
    /// still firing at the end.
    pub reset_at_s: Option<f64>,
    /// `fired_at_s` minus the start of the fault blamed for it: the last fault to start at
    /// or before the firing among those that can touch the SLO's requests (a service
    /// they visit, an edge leaving one, a workload sharing those services), else among
    /// all faults; null when no fault had started.
    pub detection_delay_s: Option<f64>,
    /// That fault's name.
    pub fault: Option<String>,
    /// Long-window burn rate when it fired.
    pub long_burn_rate: f64,
    /// Short-window burn rate when it fired.
    pub short_burn_rate: f64,
}

/// Fault starts of one replication, seconds from the end of the warm-up, in time order:
/// replication 0's log (every fault), or the scheduled windows for the others.
fn fault_starts(model: &Model, rep: &ReplicationSummary, index: usize) -> Vec<(f64, usize)> {
    let w = model.warmup;
    let mut out: Vec<(f64, usize)> = if index == 0 {
        rep.log
            .iter()
            .filter_map(|&(t, e)| match e {
                LogEntry::Fault(f, true) => Some(((t - w).as_secs_f64(), f as usize)),
                _ => None,
            })
            .collect()
    } else {
        model
            .faults
            .iter()
            .enumerate()
            .filter_map(|(f, fault)| match fault.schedule {
                Schedule::Window { start, .. } if start >= w && start <= model.end() => {
                    Some(((start - w).as_secs_f64(), f))
                }
                _ => None,
            })
            .collect()
    };
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// Services a request starting at `from` can visit: its calls and routes, transitively.
fn reachable(model: &Model, from: usize, seen: &mut [bool]) {
    let mut stack = vec![from];
    while let Some(s) = stack.pop() {
        if std::mem::replace(&mut seen[s], true) {
            continue;
        }
        let svc = &model.services[s];
        stack.extend(svc.steps.iter().flat_map(|st| st.calls.iter().map(|c| c.to)));
        stack.extend(svc.routes.iter().map(|r| r.to));
    }
}

/// Per fault, whether it can touch the requests `slo` counts: it targets a service they
/// visit (or an edge leaving one), or a workload sending requests to one of them.
fn relevant_faults(model: &Model, slo: &Slo) -> Vec<bool> {
    let n = model.services.len();
    let mut seen = vec![false; n];
    match slo.target {
        SloTarget::Workload(w) => reachable(model, model.workloads[w].target, &mut seen),
        SloTarget::Service(s) => reachable(model, s, &mut seen),
    }
    model
        .faults
        .iter()
        .map(|f| match &f.target {
            Target::Instances(list) => list.iter().any(|&(s, _)| seen[s]),
            Target::Edge(e) => seen[model.edges[*e].from],
            Target::Workload(w) => {
                let mut theirs = vec![false; n];
                reachable(model, model.workloads[*w].target, &mut theirs);
                theirs.iter().zip(&seen).any(|(&a, &b)| a && b)
            }
        })
        .collect()
}

/// The fault blamed for an alert at `t`: the last relevant fault to start at or before
/// `t` (the first of those starting together), or the last of any fault when no relevant
/// one had started.
fn cause(starts: &[(f64, usize)], relevant: &[bool], t: f64) -> Option<(f64, usize)> {
    let last = |only_relevant: bool| {
        let before = starts.iter().filter(|&&(s, f)| s <= t && (!only_relevant || relevant[f]));
        let latest = before.clone().map(|&(s, _)| s).fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))?;
        before.filter(|&&(s, _)| s == latest).min_by_key(|&&(_, f)| f).copied()
    };
    last(true).or_else(|| last(false))
}

/// Builds the report of every SLO of `model`.
pub fn slo_reports(model: &Model, reps: &[ReplicationSummary]) -> Vec<SloReport> {
    model.slos.iter().enumerate().map(|(i, slo)| slo_report(model, reps, i, slo)).collect()
}

/// A rule's windows in whole report windows: `long / time_scale` and `short /
/// time_scale`, rounded (at least one).
fn window_rule(model: &Model, rule: &AlertRule) -> WindowRule {
    let (window_s, scale) = (model.window.as_secs_f64(), model.alerting.time_scale);
    WindowRule {
        factor: rule.burn_rate,
        long: windows_for(rule.long.as_secs_f64() / scale, window_s),
        short: windows_for(rule.short.as_secs_f64() / scale, window_s),
    }
}

/// What evaluating one alert on every replication gives: firings and detection delays per
/// replication, and replication 0's firings.
struct Evaluated {
    firings: Statistic,
    detection_delay_s: Statistic,
    alerts: Vec<AlertReport>,
}

/// The alert ORing `rules` (indices into the model's rules) evaluated on every
/// replication of an SLO: how often it fired and how long after the fault that caused it.
fn evaluate(
    model: &Model,
    reps: &[ReplicationSummary],
    sums: &[&SloSummary],
    objective: f64,
    rules: &[usize],
    relevant: &[bool],
) -> Evaluated {
    let window_s = model.window.as_secs_f64();
    let duration_s = model.duration.as_secs_f64();
    let end_of = |k: usize| (((k + 1) as f64) * window_s).min(duration_s);
    let wrs: Vec<WindowRule> = rules.iter().map(|&i| window_rule(model, &model.alerting.rules[i])).collect();
    let mut firings = Vec::with_capacity(reps.len());
    let mut delays = Vec::with_capacity(reps.len());
    let mut alerts = Vec::new();
    for (r, (rep, s)) in reps.iter().zip(sums).enumerate() {
        let fired = evaluate_alerts(&s.valid_windows, &s.bad_windows, objective, &wrs);
        let starts = fault_starts(model, rep, r);
        let cause = |t: f64| cause(&starts, relevant, t);
        firings.push(fired.len() as f64);
        delays.push(fired.iter().find_map(|f| {
            let t = end_of(f.fired);
            cause(t).map(|(start, _)| t - start)
        }));
        if r != 0 {
            continue;
        }
        for f in &fired {
            let (t, c, rule) = (end_of(f.fired), cause(end_of(f.fired)), &model.alerting.rules[rules[f.rule]]);
            alerts.push(AlertReport {
                severity: rule.severity.clone(),
                burn_rate: rule.burn_rate,
                long_window_s: wrs[f.rule].long as f64 * window_s,
                short_window_s: wrs[f.rule].short as f64 * window_s,
                rule: rules[f.rule],
                fired_at_s: t,
                reset_at_s: f.reset.map(end_of),
                detection_delay_s: c.map(|(start, _)| t - start),
                fault: c.map(|(_, g)| model.faults[g].name.clone()),
                long_burn_rate: f.long_burn_rate,
                short_burn_rate: f.short_burn_rate,
            });
        }
    }
    Evaluated { firings: Statistic::of_counts(firings), detection_delay_s: Statistic::of(delays), alerts }
}

/// One alert rule alone, scaled to the run; its replication-0 firings go into `alerts`.
fn rule_report(
    model: &Model,
    reps: &[ReplicationSummary],
    sums: &[&SloSummary],
    objective: f64,
    index: usize,
    relevant: &[bool],
    alerts: &mut Vec<AlertReport>,
) -> AlertRuleReport {
    let rule = &model.alerting.rules[index];
    let window_s = model.window.as_secs_f64();
    let wr = window_rule(model, rule);
    let e = evaluate(model, reps, sums, objective, &[index], relevant);
    alerts.extend(e.alerts);
    AlertRuleReport {
        severity: rule.severity.clone(),
        burn_rate: rule.burn_rate,
        long: format_duration(rule.long),
        short: format_duration(rule.short),
        time_scale: model.alerting.time_scale,
        long_window_s: wr.long as f64 * window_s,
        short_window_s: wr.short as f64 * window_s,
        firings: e.firings,
        detection_delay_s: e.detection_delay_s,
    }
}

/// Each severity's alert for `slo`.
fn severity_reports(
    model: &Model,
    reps: &[ReplicationSummary],
    sums: &[&SloSummary],
    slo: &Slo,
    relevant: &[bool],
) -> Vec<SeverityAlertReport> {
    severities(&model.alerting.rules)
        .into_iter()
        .map(|(severity, rules)| {
            let e = evaluate(model, reps, sums, slo.objective, &rules, relevant);
            SeverityAlertReport {
                severity: severity.into(),
                alert: alert_name(&slo.name),
                rules,
                firings: e.firings,
                detection_delay_s: e.detection_delay_s,
                alerts: e.alerts,
            }
        })
        .collect()
}

fn slo_report(model: &Model, reps: &[ReplicationSummary], i: usize, slo: &Slo) -> SloReport {
    let sums: Vec<&SloSummary> = reps.iter().map(|r| &r.slos[i]).collect();
    let stat = |f: &dyn Fn(&SloSummary) -> Option<f64>| Statistic::of(sums.iter().map(|s| f(s)));
    let o = slo.objective;
    let duration_s = model.duration.as_secs_f64();
    let window_s = model.window.as_secs_f64();
    let period_s = slo.period.as_secs_f64();
    let defined = |s: &SloSummary| s.valid > 0.0;
    // Shares of requests pool the counts (see `Statistic::proportion`); the budget
    // fractions are the bad share scaled.
    let sli = Statistic::proportion(sums.iter().map(|s| (s.valid - s.bad, s.valid)));
    let bad_share = Statistic::proportion(sums.iter().map(|s| (s.bad, s.valid)));
    let consumed_fraction = bad_share.scaled(burn_rate(1.0, 1.0, o));
    let met = sli.mean.is_none_or(|m| m >= o);
    let replications_breached = sums.iter().filter(|s| defined(s) && (s.valid - s.bad) / s.valid < o).count() as u32;
    let windows = sums.first().map_or(0, |s| s.valid_windows.len());
    let pooled = |k: usize| {
        let v: f64 = sums.iter().map(|s| s.valid_windows[k]).sum();
        let b: f64 = sums.iter().map(|s| s.bad_windows[k]).sum();
        (v > 0.0).then(|| burn_rate(b, v, o))
    };
    let peak = |s: &SloSummary| {
        s.valid_windows
            .iter()
            .zip(&s.bad_windows)
            .map(|(&v, &b)| burn_rate(b, v, o))
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
    };
    let mut alerts = Vec::new();
    let relevant = relevant_faults(model, slo);
    let alert_rules = (0..model.alerting.rules.len())
        .map(|rule| rule_report(model, reps, &sums, o, rule, &relevant, &mut alerts))
        .collect();
    let severity_alerts = severity_reports(model, reps, &sums, slo, &relevant);
    alerts.sort_by(|a, b| a.fired_at_s.total_cmp(&b.fired_at_s));
    let (workload, service) = match slo.target {
        SloTarget::Workload(w) => (Some(model.workloads[w].name.clone()), None),
        SloTarget::Service(s) => (None, Some(model.services[s].name.clone())),
    };
    SloReport {
        name: slo.name.clone(),
        workload,
        service,
        kind: match slo.kind {
            SloKind::Availability { .. } => "availability",
            SloKind::Latency { .. } => "latency",
        },
        objective: o,
        good: match slo.kind {
            SloKind::Availability { good } => {
                Some(Outcome::ALL.iter().filter(|&&x| good[x as usize]).map(|x| x.key()).collect())
            }
            SloKind::Latency { .. } => None,
        },
        threshold_s: match slo.kind {
            SloKind::Latency { threshold, .. } => Some(threshold.as_secs_f64()),
            SloKind::Availability { .. } => None,
        },
        valid: Statistic::of_counts(sums.iter().map(|s| s.valid)),
        sli,
        met,
        replications_breached,
        budget_total: stat(&|s| Some(request_budget(o, s.valid))),
        budget_consumed: Statistic::of_counts(sums.iter().map(|s| s.bad)),
        budget_remaining: Statistic::of_signed(sums.iter().map(|s| Some(request_budget(o, s.valid) - s.bad))),
        budget_consumed_fraction: consumed_fraction,
        burn_rate_peak: stat(&peak),
        period_s,
        period_budget_s: time_budget_s(o, period_s),
        downtime_equivalent_s: bad_share.scaled(duration_s),
        period_budget_fraction: consumed_fraction.scaled(period_budget_fraction(1.0, duration_s, period_s)),
        time_to_exhaustion_s: consumed_fraction.mean.and_then(|b| time_to_exhaustion(period_s, b)),
        burn_rate_series: BurnRateSeries {
            window_s,
            values: (0..windows).map(pooled).collect(),
            budget_remaining: burn_down(&sums, o),
        },
        alert_rules,
        alerts,
        severity_alerts,
    }
}
