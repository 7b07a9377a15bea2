//! Resolving `slos:` and `alerting:`: targets by name, objectives in (0, 1), the keys
//! each kind takes, and the alert rules scaled to simulated time.

use super::error::{Result, ScenarioError, err, suggest};
use super::slo_spec::{AlertRuleSpec, AlertingSpec, BlastRadiusSpec, GoodOutcome, Objective, SloKindSpec, SloSpec};
use super::units::Duration;
use crate::engine::SimTime;
use crate::metrics::Outcome;
use crate::model::{AlertRule, Alerting, BlastRadius, Model, Slo, SloKind, SloTarget};

/// Most SLOs in one scenario.
pub const MAX_SLOS: usize = 1_000;
/// Most alert rules.
pub const MAX_ALERT_RULES: usize = 100;
/// The default SLO period: 30 days.
pub const DEFAULT_PERIOD: SimTime = SimTime(30 * 86_400 * 1_000_000_000);

/// The SRE workbook's paging pairs (table 5-8): 2% of a 30-day budget in 1 hour, 5% in 6
/// hours, each confirmed by a window a twelfth as long.
pub fn default_rules() -> Vec<AlertRule> {
    let h = |x: u64| SimTime(x * 3_600_000_000_000);
    let m = |x: u64| SimTime(x * 60_000_000_000);
    vec![
        AlertRule { severity: "page".into(), burn_rate: 14.4, long: h(1), short: m(5) },
        AlertRule { severity: "page".into(), burn_rate: 6.0, long: h(6), short: m(30) },
    ]
}

/// Resolves `specs` against `model` (whose services and workloads are built).
pub fn slos(specs: &[SloSpec], model: &Model) -> Result<Vec<Slo>> {
    if specs.len() > MAX_SLOS {
        return err("slos", format!("{} SLOs; at most {MAX_SLOS}", specs.len()));
    }
    let mut out: Vec<Slo> = Vec::with_capacity(specs.len());
    // Distinct latency thresholds per target, in order of first use.
    let mut thresholds: Vec<(SloTarget, SimTime)> = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let key = format!("slos.{i}");
        if s.name.trim().is_empty() {
            return err(format!("{key}.name"), "the SLO name is empty");
        }
        if specs[..i].iter().any(|o| o.name == s.name) {
            return err(format!("{key}.name"), format!("a second SLO is called `{}`; names must be unique", s.name));
        }
        let target = target(s, model, &key)?;
        let objective = s.objective.0;
        if !(objective > 0.0 && objective < 1.0) {
            let e = ScenarioError::at_key(
                format!("{key}.objective"),
                format!("objective {objective} is outside (0, 1): it is the share of requests that must be good"),
            );
            return Err(if objective > 1.0 && objective < 100.0 {
                e.with_help(format!("write it as a percentage: {objective}%"))
            } else if objective == 1.0 {
                e.with_help("100% leaves no error budget; write e.g. 99.9% or 0.999")
            } else {
                e.with_help("write e.g. 99.9% or 0.999")
            });
        }
        let kind = match s.kind {
            SloKindSpec::Availability => {
                if s.threshold.is_some() {
                    return err(format!("{key}.threshold"), "`threshold` belongs to latency SLOs")
                        .map_err(|e| e.with_help("use `kind: latency` to count answers slower than a threshold"));
                }
                let good = match &s.good {
                    None => vec![GoodOutcome::Ok, GoodOutcome::Degraded],
                    Some(g) if !g.contains(&GoodOutcome::Ok) => {
                        return err(format!("{key}.good"), "`good` must include `ok`")
                            .map_err(|e| e.with_help("write good: [ok] or good: [ok, degraded]"));
                    }
                    Some(g) => g.clone(),
                };
                let mut mask = [false; 6];
                mask[Outcome::Ok as usize] = true;
                mask[Outcome::Degraded as usize] = good.contains(&GoodOutcome::Degraded);
                SloKind::Availability { good: mask }
            }
            SloKindSpec::Latency => {
                if s.good.is_some() {
                    return err(format!("{key}.good"), "`good` belongs to availability SLOs").map_err(|e| {
                        e.with_help("a latency SLO counts served (ok or degraded) requests answered within `threshold`")
                    });
                }
                let Some(threshold) = s.threshold else {
                    return err(key, "a latency SLO needs a `threshold`").map_err(|e| {
                        e.with_help("e.g. threshold: 300ms, objective: 99% (99% of requests within 300 ms)")
                    });
                };
                if threshold.time() == SimTime::ZERO {
                    return err(format!("{key}.threshold"), "a threshold of 0 makes every request slow");
                }
                let t = threshold.time();
                let index = match thresholds.iter().filter(|(x, _)| *x == target).position(|&(_, u)| u == t) {
                    Some(j) => j,
                    None => {
                        thresholds.push((target, t));
                        thresholds.iter().filter(|(x, _)| *x == target).count() - 1
                    }
                };
                SloKind::Latency { threshold: t, index }
            }
        };
        let period = s.period.map_or(DEFAULT_PERIOD, Duration::time);
        if period == SimTime::ZERO {
            return err(format!("{key}.period"), "the SLO period must be longer than 0 (e.g. period: 30d)");
        }
        out.push(Slo { name: s.name.clone(), target, kind, objective, period });
    }
    Ok(out)
}

fn target(s: &SloSpec, model: &Model, key: &str) -> Result<SloTarget> {
    let workloads: Vec<&str> = model.workloads.iter().map(|w| w.name.as_str()).collect();
    let services: Vec<&str> = model.services.iter().map(|s| s.name.as_str()).collect();
    match (&s.workload, &s.service) {
        (Some(w), None) => match workloads.iter().position(|x| x == w) {
            Some(i) => Ok(SloTarget::Workload(i)),
            None => {
                let e = ScenarioError::at_key(format!("{key}.workload"), format!("there is no workload `{w}`"));
                Err(if services.contains(&w.as_str()) {
                    e.with_help(format!("`{w}` is a service; write `service: {w}` for an SLO on it"))
                } else if let Some(near) = suggest(w, workloads.iter().copied()) {
                    e.with_help(format!("did you mean `{near}`?"))
                } else if workloads.is_empty() {
                    e.with_help("the scenario has no workloads")
                } else {
                    e.with_help(format!("workloads are: {}", workloads.join(", ")))
                })
            }
        },
        (None, Some(name)) => match services.iter().position(|x| x == name) {
            Some(i) => Ok(SloTarget::Service(i)),
            None => {
                let e = ScenarioError::at_key(format!("{key}.service"), format!("there is no service `{name}`"));
                Err(if workloads.contains(&name.as_str()) {
                    e.with_help(format!("`{name}` is a workload; write `workload: {name}` for an SLO on it"))
                } else if let Some(near) = suggest(name, services.iter().copied()) {
                    e.with_help(format!("did you mean `{near}`?"))
                } else {
                    e.with_help(format!("services are: {}", services.join(", ")))
                })
            }
        },
        (Some(_), Some(_)) => err(key, "an SLO is on a `workload` or on a `service`, not both"),
        (None, None) => err(key, "an SLO needs a `workload` (what users see) or a `service` (a dependency)")
            .map_err(|e| e.with_help("e.g. workload: users")),
    }
}

/// Resolves `blast_radius:`: on by default when the scenario has faults.
pub fn blast_radius(spec: Option<&BlastRadiusSpec>, has_faults: bool) -> Result<Option<BlastRadius>> {
    let on = spec.is_none_or(|b| b.enabled) && has_faults;
    let mut b = BlastRadius::default();
    for (key, given, into) in [
        ("blast_radius.sli_threshold", spec.and_then(|b| b.sli_threshold), &mut b.sli_threshold),
        ("blast_radius.recovery_tolerance", spec.and_then(|b| b.recovery_tolerance), &mut b.recovery_tolerance),
    ] {
        if let Some(Objective(x)) = given {
            if !(x > 0.0 && x < 1.0) {
                return err(key, format!("expected a share above 0 and below 100%, like `1%` (got {x})"));
            }
            *into = x;
        }
    }
    Ok(on.then_some(b))
}

/// Resolves `alerting:`; the default time scale makes the longest long window span the
/// measured `duration`.
pub fn alerting(spec: Option<&AlertingSpec>, duration: SimTime) -> Result<Alerting> {
    let rules = match spec.and_then(|a| a.rules.as_ref()) {
        None => default_rules(),
        Some(list) => {
            if list.is_empty() {
                return err("alerting.rules", "give at least one rule, or omit `rules` for the workbook's pairs");
            }
            if list.len() > MAX_ALERT_RULES {
                return err("alerting.rules", format!("{} rules; at most {MAX_ALERT_RULES}", list.len()));
            }
            list.iter().enumerate().map(|(i, r)| rule(r, &format!("alerting.rules.{i}"))).collect::<Result<_>>()?
        }
    };
    let longest = rules.iter().map(|r| r.long).max().unwrap_or(SimTime::ZERO);
    match spec.and_then(|a| a.time_scale) {
        Some(x) if !(x.is_finite() && x > 0.0) => err(
            "alerting.time_scale",
            format!(
                "time_scale must be a finite number above 0 (got {x}); 60 makes a simulated minute stand for an hour"
            ),
        ),
        Some(x) => Ok(Alerting { time_scale: x, rules }),
        None => Ok(Alerting { time_scale: longest.as_secs_f64() / duration.as_secs_f64().max(1e-9), rules }),
    }
}

fn rule(r: &AlertRuleSpec, key: &str) -> Result<AlertRule> {
    if !(r.burn_rate.is_finite() && r.burn_rate > 0.0) {
        return err(
            format!("{key}.burn_rate"),
            format!("burn_rate must be a finite number above 0 (got {})", r.burn_rate),
        )
        .map_err(|e| e.with_help("the workbook pages at 14.4 (1h/5m) and 6 (6h/30m)"));
    }
    if r.short.time() == SimTime::ZERO {
        return err(format!("{key}.short"), "the short window must be longer than 0");
    }
    if r.short >= r.long {
        return err(format!("{key}.short"), "the short window must be shorter than the long one").map_err(|e| {
            e.with_help("the workbook uses a short window a twelfth of the long one, e.g. long: 1h, short: 5m")
        });
    }
    Ok(AlertRule {
        severity: r.severity.as_str().into(),
        burn_rate: r.burn_rate,
        long: r.long.time(),
        short: r.short.time(),
    })
}
