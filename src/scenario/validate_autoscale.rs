//! Resolving a service's `autoscale:` block: exactly one target, bounds that make sense,
//! and Kubernetes' defaults for what is left out (15s sync period, tolerance 0.1,
//! `min: 1`, the behavior `SetDefaults_HorizontalPodAutoscalerBehavior` fills in), with
//! the limits the Kubernetes API validation puts on behavior (`ValidateHPABehavior`:
//! windows up to an hour, policy periods up to 30 minutes, at least one policy).

use super::autoscale_spec::{AutoscaleSpec, PolicyKindSpec, ScalingRulesSpec, SelectPolicySpec};
use super::error::{Result, err};
use super::spec::ServiceSpec;
use super::validate_service::MAX_INSTANCES;
use crate::engine::SimTime;
use crate::policy::autoscale::{
    Autoscale, ColdStart, HpaConfig, Metric, PolicyKind, ScalingPolicy, ScalingRules, SelectPolicy,
};

/// Longest stabilization window (Kubernetes' `MaxStabilizationWindowSeconds`, 1h).
const MAX_WINDOW: SimTime = SimTime::from_secs(3600);
/// Longest policy period (Kubernetes' `MaxPeriodSeconds`, 30 min).
const MAX_PERIOD: SimTime = SimTime::from_secs(1800);
/// How long a pod on an unreachable or not-ready node stays bound to it before it is
/// evicted: the `tolerationSeconds` (300) the `DefaultTolerationSeconds` admission
/// plugin adds for the `node.kubernetes.io/not-ready` and `node.kubernetes.io/unreachable`
/// taints (its flags `--default-not-ready-toleration-seconds` and
/// `--default-unreachable-toleration-seconds`).
const DEFAULT_EVICTION: SimTime = SimTime::from_secs(300);
/// Largest cold-start slowdown: beyond it the instance is not warming, it is broken.
const MAX_COLD_FACTOR: f64 = 100.0;

/// The autoscaling of service `s` (at `key`), if it has one.
pub fn autoscale(s: &ServiceSpec, key: &str) -> Result<Option<Autoscale>> {
    let Some(a) = &s.autoscale else { return Ok(None) };
    let key = format!("{key}.autoscale");
    let (metric, target) = target(a, &key)?;
    let min = a.min.unwrap_or(1);
    if min == 0 {
        return err(format!("{key}.min"), "min must be at least 1")
            .map_err(|e| e.with_help("the HPA does not scale to zero; give min: 1 or more"));
    }
    if a.max < min || a.max > MAX_INSTANCES {
        return err(
            format!("{key}.max"),
            format!("max must be between min ({min}) and {MAX_INSTANCES} (got {})", a.max),
        );
    }
    let tolerance = a.tolerance.unwrap_or(0.1);
    if !(0.0..1.0).contains(&tolerance) {
        return err(format!("{key}.tolerance"), format!("tolerance {tolerance} is outside 0..1"))
            .map_err(|e| e.with_help("a share of the target, e.g. 0.1 for 10%"));
    }
    let interval = a.interval.map_or(SimTime::from_secs(15), |d| d.time());
    if interval == SimTime::ZERO {
        return err(format!("{key}.interval"), "the interval must be longer than 0")
            .map_err(|e| e.with_help("e.g. 15s"));
    }
    if s.failover.is_some() {
        return err(key, "autoscaling and failover do not go together: failover keeps a fixed set of instances")
            .map_err(|e| e.with_help("remove `failover` or `autoscale`"));
    }
    let behavior = a.behavior.clone().unwrap_or_default();
    let up = rules(behavior.scale_up.as_ref(), ScalingRules::default_up(), &format!("{key}.behavior.scale_up"))?;
    let down =
        rules(behavior.scale_down.as_ref(), ScalingRules::default_down(), &format!("{key}.behavior.scale_down"))?;
    Ok(Some(Autoscale {
        hpa: HpaConfig { min, max: a.max, tolerance, up, down },
        metric,
        target,
        interval,
        startup: a.startup.map_or(SimTime::from_secs(30), |d| d.time()),
        cold_start: cold_start(a, &key)?,
        initial: s.instances.clamp(min, a.max),
        eviction_timeout: a.eviction_timeout.map_or(DEFAULT_EVICTION, |d| d.time()),
    }))
}

/// The one target given, checked.
fn target(a: &AutoscaleSpec, key: &str) -> Result<(Metric, f64)> {
    let given: Vec<(Metric, f64, &str)> = [
        (Metric::Utilization, a.target_utilization, "target_utilization"),
        (Metric::InFlight, a.target_in_flight, "target_in_flight"),
        (Metric::Queue, a.target_queue, "target_queue"),
    ]
    .into_iter()
    .filter_map(|(m, v, k)| v.map(|v| (m, v, k)))
    .collect();
    let [(metric, value, name)] = given[..] else {
        return err(key, "give exactly one of target_utilization, target_in_flight and target_queue")
            .map_err(|e| e.with_help("e.g. target_utilization: 0.5 (busy workers / workers)"));
    };
    let max = if metric == Metric::Utilization { 1.0 } else { 1e9 };
    if !(value > 0.0 && value <= max) {
        return err(format!("{key}.{name}"), format!("{name} must be above 0 and at most {max} (got {value})"));
    }
    Ok((metric, value))
}

/// One direction's rules: the default with the keys given replaced.
fn rules(spec: Option<&ScalingRulesSpec>, default: ScalingRules, key: &str) -> Result<ScalingRules> {
    let Some(r) = spec else { return Ok(default) };
    let window = r.stabilization_window.map_or(default.window, |d| d.time());
    if window > MAX_WINDOW {
        return err(format!("{key}.stabilization_window"), "the stabilization window is at most 1h");
    }
    let select = match r.select_policy {
        None | Some(SelectPolicySpec::Max) => SelectPolicy::Max,
        Some(SelectPolicySpec::Min) => SelectPolicy::Min,
        Some(SelectPolicySpec::Disabled) => SelectPolicy::Disabled,
    };
    let policies = match &r.policies {
        None => default.policies,
        Some(ps) => {
            if ps.is_empty() {
                return err(format!("{key}.policies"), "give at least one policy")
                    .map_err(|e| e.with_help("or `select_policy: disabled` to forbid scaling this way"));
            }
            let mut out = Vec::with_capacity(ps.len());
            for (i, p) in ps.iter().enumerate() {
                let pkey = format!("{key}.policies.{i}");
                if p.value == 0 {
                    return err(format!("{pkey}.value"), "a policy's value must be above 0");
                }
                let period = p.period.time();
                if period == SimTime::ZERO || period > MAX_PERIOD {
                    return err(format!("{pkey}.period"), "a policy's period must be above 0 and at most 30m");
                }
                let kind = match p.kind {
                    PolicyKindSpec::Percent => PolicyKind::Percent,
                    PolicyKindSpec::Pods => PolicyKind::Pods,
                };
                out.push(ScalingPolicy { kind, value: p.value, period });
            }
            out
        }
    };
    Ok(ScalingRules { window, policies, select })
}

/// The cold start, checked.
fn cold_start(a: &AutoscaleSpec, key: &str) -> Result<Option<ColdStart>> {
    let Some(c) = &a.cold_start else { return Ok(None) };
    if !(1.0..=MAX_COLD_FACTOR).contains(&c.factor) {
        return err(
            format!("{key}.cold_start.factor"),
            format!("the factor must be between 1 and {MAX_COLD_FACTOR} (got {})", c.factor),
        )
        .map_err(|e| e.with_help("e.g. factor: 3 for service three times slower when the instance starts"));
    }
    if c.duration.time() == SimTime::ZERO {
        return err(format!("{key}.cold_start.duration"), "the warm-up must last longer than 0");
    }
    Ok(Some(ColdStart { factor: c.factor, duration: c.duration.time() }))
}
