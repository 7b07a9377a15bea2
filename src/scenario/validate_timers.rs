//! Periodic timers below a floor: each tick is an event, so a fault that fails every
//! nanosecond, or a health check probing every nanosecond, turns a day of simulated time
//! into 10^14 events and never finishes.
//!
//! The floor is [`DEFAULT_MIN_TIMER`] unless the scenario lowers it with
//! `limits: { min_timer: ... }`; every periodic timer a scenario can set is checked
//! here, named by its key: fault `mtbf` and `mttr` (the mean times between onsets and
//! repairs), health-check, degradation and outlier-ejection `interval`, failover
//! `heartbeat`, and the report `window`. One-shot times (timeouts, backoffs, ejection
//! and break durations) are bounded by the requests that start them and are not timers.

use super::error::{Result, err};
use super::spec::{ScenarioSpec, ServiceSpec};
use super::units::Duration;
use crate::engine::SimTime;
use crate::engine::format::format_duration as fmt_duration;

/// The shortest periodic timer accepted unless `limits.min_timer` lowers it.
pub const DEFAULT_MIN_TIMER: SimTime = SimTime(1_000_000);

/// Refuses any periodic timer of `spec` shorter than its floor.
pub fn check_timers(spec: &ScenarioSpec) -> Result<()> {
    let floor = spec.limits.as_ref().and_then(|l| l.min_timer).map_or(DEFAULT_MIN_TIMER, Duration::time);
    if floor == SimTime::ZERO {
        return err("limits.min_timer", "the timer floor must be above 0")
            .map_err(|e| e.with_help("e.g. min_timer: 1us"));
    }
    let mut timers: Vec<(String, Option<Duration>)> = vec![("window".into(), spec.window)];
    for (i, f) in spec.faults.iter().enumerate() {
        timers.push((format!("faults.{i}.mtbf"), f.mtbf));
        timers.push((format!("faults.{i}.mttr"), f.mttr));
    }
    for (name, s) in &spec.services {
        timers.extend(service_timers(name, s));
    }
    for (key, t) in timers {
        if let Some(t) = t.map(Duration::time)
            && t < floor
        {
            return err(
                key,
                format!(
                    "a periodic timer of {} is below the floor of {}: every tick is an event, and the run would not finish",
                    fmt_duration(t),
                    fmt_duration(floor)
                ),
            )
            .map_err(|e| e.with_help("make it longer, or lower the floor with `limits: { min_timer: 1us }`"));
        }
    }
    Ok(())
}

/// The periodic timers of service `name`, by key.
fn service_timers(name: &str, s: &ServiceSpec) -> Vec<(String, Option<Duration>)> {
    use super::fault_spec::FailoverSpec;
    let key = |k: &str| format!("services.{name}.{k}");
    let heartbeat = s.failover.as_ref().map(|f| match f {
        FailoverSpec::ActivePassive(h) => ("failover.active_passive.heartbeat", h.heartbeat),
        FailoverSpec::ActiveActive(h) => ("failover.active_active.heartbeat", h.heartbeat),
    });
    vec![
        (key("health_check.interval"), s.health_check.as_ref().and_then(|h| h.interval)),
        (key("degradation.interval"), s.degradation.as_ref().and_then(|d| d.interval)),
        (key("outlier_ejection.interval"), s.outlier_ejection.as_ref().and_then(|o| o.interval)),
        heartbeat.map_or((key("failover"), None), |(k, t)| (key(k), t)),
    ]
}
