//! Resolving the chaos schedule: fault targets, schedules and each kind's keys.

use super::error::{Result, ScenarioError, err, suggest};
use super::fault_spec::{AddSpec, FaultKind, FaultSpec, OnsetSpec, PartialAs, PartitionMode};
use super::validate_dist::dist;
use crate::engine::SimTime;
use crate::model::fault::{Effect, Fault, Schedule, Target};
use crate::model::{Arrivals, Dist, Factor, Model};

/// Most faults in one scenario.
pub const MAX_FAULTS: usize = 10_000;

fn kind_name(k: FaultKind) -> &'static str {
    match k {
        FaultKind::Latency => "latency",
        FaultKind::Error => "error",
        FaultKind::Crash => "crash",
        FaultKind::Partition => "partition",
        FaultKind::Capacity => "capacity",
        FaultKind::Partial => "partial",
        FaultKind::ZoneOutage => "zone_outage",
        FaultKind::Spike => "spike",
        FaultKind::Ramp => "ramp",
        FaultKind::CacheFlush => "cache_flush",
        FaultKind::CacheDown => "cache_down",
    }
}

/// Resolves `specs` against `model` (whose services, edges and workloads are built),
/// folding load faults into the workloads' rate profiles.
pub fn faults(specs: &[FaultSpec], model: &mut Model) -> Result<Vec<Fault>> {
    if specs.len() > MAX_FAULTS {
        return err("faults", format!("{} faults; at most {MAX_FAULTS}", specs.len()));
    }
    let mut out = Vec::with_capacity(specs.len());
    for (i, f) in specs.iter().enumerate() {
        let key = format!("faults.{i}");
        let kind = kind_name(f.kind);
        let name = f.name.clone().unwrap_or_else(|| format!("{kind}-{i}"));
        if specs[..i]
            .iter()
            .enumerate()
            .any(|(j, o)| o.name.clone().unwrap_or_else(|| format!("{}-{j}", kind_name(o.kind))) == name)
        {
            return err(format!("{key}.name"), format!("a second fault is called `{name}`"));
        }
        check_keys(f, &key)?;
        let schedule = schedule(f, model.warmup, &key)?;
        let target = target(f, model, &key)?;
        if matches!(f.kind, FaultKind::CacheFlush | FaultKind::CacheDown) {
            super::validate_cache::check_target(f, &target, model, &key)?;
        }
        let mut effect = effect(f, &key)?;
        if !f.enabled {
            continue;
        }
        if let (Target::Workload(w), Schedule::Window { start, end }, Effect::Load(load)) =
            (&target, &schedule, &mut effect)
        {
            let Arrivals::Poisson(profile) = &mut model.workloads[*w].arrivals else {
                return err(format!("{key}.target"), "spike and ramp act on Poisson workloads, not closed ones");
            };
            let from = if f.kind == FaultKind::Ramp { 1.0 } else { load.to };
            *load = Factor { start: *start, end: *end, from, to: load.to };
            profile.add_factor(*load);
        }
        out.push(Fault { name, kind, target_text: f.target.clone(), target, effect, schedule });
    }
    Ok(out)
}

/// Keys that only some kinds take.
fn check_keys(f: &FaultSpec, key: &str) -> Result<()> {
    let k = f.kind;
    let allowed = |name: &str| -> bool {
        match name {
            "add" | "multiply" => k == FaultKind::Latency,
            "probability" => matches!(k, FaultKind::Error | FaultKind::Partial),
            "servers" => k == FaultKind::Capacity,
            "factor" => matches!(k, FaultKind::Capacity | FaultKind::Spike | FaultKind::Ramp),
            "mode" => k == FaultKind::Partition,
            "as" | "value" => k == FaultKind::Partial,
            "cold_start" => matches!(k, FaultKind::Crash | FaultKind::ZoneOutage),
            _ => true,
        }
    };
    let present = [
        ("add", f.add.is_some()),
        ("multiply", f.multiply.is_some()),
        ("probability", f.probability.is_some()),
        ("servers", f.servers.is_some()),
        ("factor", f.factor.is_some()),
        ("mode", f.mode.is_some()),
        ("as", f.counts_as.is_some()),
        ("value", f.value.is_some()),
        ("cold_start", f.cold_start.is_some()),
    ];
    for (name, there) in present {
        if there && !allowed(name) {
            return err(format!("{key}.{name}"), format!("`{name}` does not apply to a {} fault", kind_name(k)));
        }
    }
    Ok(())
}

fn mean_dist(mean: SimTime, onset: OnsetSpec, key: &str) -> Result<Dist> {
    let m = mean.as_secs_f64();
    if m <= 0.0 {
        return err(key, "must be longer than 0");
    }
    match onset {
        OnsetSpec::Exponential => Ok(Dist::Exponential(m)),
        OnsetSpec::Weibull { shape } => {
            if !shape.is_finite() || shape <= 0.0 {
                return err(key, "the Weibull shape must be above 0");
            }
            let scale = m / statrs::function::gamma::gamma(1.0 + 1.0 / shape);
            crate::model::Law::weibull(scale, shape)
                .map(Dist::Weibull)
                .map_err(|e| ScenarioError::at_key(key, format!("invalid Weibull: {e}")))
        }
    }
}

fn schedule(f: &FaultSpec, warmup: SimTime, key: &str) -> Result<Schedule> {
    if f.kind == FaultKind::CacheFlush {
        return super::validate_cache::flush_schedule(f, warmup, key);
    }
    match (f.at, f.duration, f.mtbf, f.mttr) {
        (Some(at), Some(d), None, None) => {
            if d.time() == SimTime::ZERO {
                return err(format!("{key}.for"), "a fault must last longer than 0");
            }
            let start = warmup + at.time();
            Ok(Schedule::Window { start, end: start + d.time() })
        }
        (None, None, Some(up), Some(down)) => {
            if matches!(f.kind, FaultKind::Spike | FaultKind::Ramp) {
                return err(key, "spike and ramp need `at` and `for` (random onsets act on instances and edges)");
            }
            let onset = f.onset.unwrap_or_default();
            Ok(Schedule::Random {
                up: mean_dist(up.time(), onset, &format!("{key}.mtbf"))?,
                down: mean_dist(down.time(), onset, &format!("{key}.mttr"))?,
            })
        }
        (Some(_), None, None, None) => err(format!("{key}.for"), "give the fault a duration, e.g. `for: 2m`"),
        _ => err(key, "give `at` and `for` (a window), or `mtbf` and `mttr` (random onsets), not a mix"),
    }
}

fn target(f: &FaultSpec, model: &Model, key: &str) -> Result<Target> {
    let tkey = format!("{key}.target");
    let t = f.target.trim();
    let service_names = || model.services.iter().map(|s| s.name.as_str());
    let unknown_service = |name: &str| {
        let e = ScenarioError::at_key(tkey.clone(), format!("there is no service `{name}`"));
        match suggest(name, service_names()) {
            Some(s) => e.with_help(format!("did you mean `{s}`?")),
            None => e,
        }
    };
    match f.kind {
        FaultKind::Spike | FaultKind::Ramp => {
            return match model.workloads.iter().position(|w| w.name == t) {
                Some(w) => Ok(Target::Workload(w)),
                None => {
                    let e = ScenarioError::at_key(
                        tkey,
                        format!("{} faults target a workload; there is none called `{t}`", kind_name(f.kind)),
                    );
                    Err(match suggest(t, model.workloads.iter().map(|w| w.name.as_str())) {
                        Some(s) => e.with_help(format!("did you mean `{s}`?")),
                        None => e,
                    })
                }
            };
        }
        FaultKind::Partition => {
            let Some((a, b)) = t.split_once("->") else {
                return err(tkey, "a partition targets a call edge, e.g. `api->payments`");
            };
            let (a, b) = (a.trim(), b.trim());
            let ia = model.service_id(a).ok_or_else(|| unknown_service(a))?;
            let ib = model.service_id(b).ok_or_else(|| unknown_service(b))?;
            return match model.edges.iter().position(|e| e.from == ia && e.to == ib) {
                Some(e) => Ok(Target::Edge(e)),
                None => err(tkey, format!("`{a}` makes no calls to `{b}`")),
            };
        }
        _ => {}
    }
    if let Some(zone) = t.strip_prefix("zone:") {
        let mut list = Vec::new();
        for (s, svc) in model.services.iter().enumerate() {
            for i in 0..svc.instances {
                if svc.zones.get(i as usize).is_some_and(|z| z == zone) {
                    list.push((s, i));
                }
            }
        }
        if list.is_empty() {
            let mut zones: Vec<&str> = model.services.iter().flat_map(|s| s.zones.iter().map(String::as_str)).collect();
            zones.sort();
            zones.dedup();
            return err(tkey, format!("no instance is in zone `{zone}`")).map_err(|e| {
                e.with_help(if zones.is_empty() {
                    "declare `zones: [a, b]` on services".into()
                } else {
                    format!("zones are: {}", zones.join(", "))
                })
            });
        }
        return Ok(Target::Instances(list));
    }
    if f.kind == FaultKind::ZoneOutage {
        return err(tkey, "a zone outage targets a zone, e.g. `zone:a`");
    }
    if t.contains("->") {
        return err(
            tkey,
            format!(
                "only partitions target call edges; a {} fault targets a service, an instance or a zone",
                kind_name(f.kind)
            ),
        );
    }
    let (name, instance) = match t.split_once('#') {
        Some((n, i)) => (
            n,
            Some(
                i.parse::<u32>()
                    .map_err(|_| ScenarioError::at_key(tkey.clone(), format!("`{i}` is not an instance number")))?,
            ),
        ),
        None => (t, None),
    };
    let s = model.service_id(name).ok_or_else(|| unknown_service(name))?;
    let n = model.services[s].instances;
    match instance {
        Some(i) if i >= n => err(tkey, format!("`{name}` has instances 0..{}; there is no #{i}", n - 1)),
        Some(i) => Ok(Target::Instances(vec![(s, i)])),
        None => Ok(Target::Instances((0..n).map(|i| (s, i)).collect())),
    }
}

fn probability(v: Option<f64>, key: &str) -> Result<f64> {
    match v {
        Some(p) if (0.0..=1.0).contains(&p) => Ok(p),
        Some(p) => err(key, format!("{p} is outside 0..1")),
        None => err(key, "give a `probability`, e.g. 0.5"),
    }
}

fn effect(f: &FaultSpec, key: &str) -> Result<Effect> {
    Ok(match f.kind {
        FaultKind::Latency => {
            let add = match &f.add {
                None => None,
                Some(AddSpec::Fixed(d)) => Some(Dist::Constant(d.time())),
                Some(AddSpec::Dist(d)) => Some(dist(d, &format!("{key}.add"))?),
            };
            let multiply = f.multiply.unwrap_or(1.0);
            if !multiply.is_finite() || multiply <= 0.0 {
                return err(format!("{key}.multiply"), "the multiplier must be above 0");
            }
            if add.is_none() && f.multiply.is_none() {
                return err(key, "a latency fault needs `add` (e.g. 300ms) or `multiply` (e.g. 3)");
            }
            Effect::Latency { add, multiply }
        }
        FaultKind::Error => Effect::Error(probability(f.probability, &format!("{key}.probability"))?),
        FaultKind::Partial => {
            let p = probability(f.probability, &format!("{key}.probability"))?;
            let degraded = match f.counts_as.unwrap_or_default() {
                PartialAs::Error => {
                    if f.value.is_some() {
                        return err(format!("{key}.value"), "`value` applies to partial faults counted `as: degraded`");
                    }
                    None
                }
                PartialAs::Degraded => Some(probability(Some(f.value.unwrap_or(0.5)), &format!("{key}.value"))?),
            };
            Effect::Partial { p, degraded }
        }
        FaultKind::Crash | FaultKind::ZoneOutage => match &f.cold_start {
            None => Effect::Crash { cold_factor: 1.0, cold_for: SimTime::ZERO },
            Some(c) => {
                if !c.factor.is_finite() || c.factor < 1.0 {
                    return err(
                        format!("{key}.cold_start.factor"),
                        "a cold start is at least as slow as a warm one (factor >= 1)",
                    );
                }
                Effect::Crash { cold_factor: c.factor, cold_for: c.duration.time() }
            }
        },
        FaultKind::Capacity => {
            if f.servers.is_none() && f.factor.is_none() {
                return err(key, "a capacity fault needs `servers` (workers left) or `factor` (share left)");
            }
            if let Some(x) = f.factor
                && !(0.0..=1.0).contains(&x)
            {
                return err(format!("{key}.factor"), "the share of workers left must be in 0..1");
            }
            Effect::Capacity { servers: f.servers, factor: f.factor }
        }
        FaultKind::Partition => Effect::Partition { refuse: f.mode.unwrap_or_default() == PartitionMode::Refuse },
        FaultKind::CacheFlush => Effect::CacheFlush,
        FaultKind::CacheDown => Effect::CacheDown,
        FaultKind::Spike | FaultKind::Ramp => {
            let factor = f.factor.unwrap_or(2.0);
            if !(0.0..=1000.0).contains(&factor) {
                return err(format!("{key}.factor"), "the rate multiplier must be between 0 and 1000");
            }
            // The window is filled in once the schedule is known.
            Effect::Load(Factor { start: SimTime::ZERO, end: SimTime::ZERO, from: 1.0, to: factor })
        }
    })
}

/// Resolves a service's health check, outlier ejection and failover.
pub fn recovery(
    s: &super::spec::ServiceSpec,
    key: &str,
) -> Result<(
    Option<crate::policy::health_check::HealthCheck>,
    Option<crate::policy::outlier::OutlierEjection>,
    Option<crate::policy::failover::Failover>,
)> {
    use super::fault_spec::FailoverSpec;
    let positive = |d: Option<super::units::Duration>, default: SimTime, k: &str| -> Result<SimTime> {
        let t = d.map_or(default, |d| d.time());
        if t == SimTime::ZERO { err(format!("{key}.{k}"), "must be longer than 0") } else { Ok(t) }
    };
    let count = |v: Option<u32>, default: u32, k: &str| -> Result<u32> {
        match v.unwrap_or(default) {
            0 => err(format!("{key}.{k}"), "must be at least 1"),
            n => Ok(n),
        }
    };
    let health = match &s.health_check {
        None => None,
        Some(h) => Some(crate::policy::health_check::HealthCheck {
            interval: positive(h.interval, SimTime::from_secs(30), "health_check.interval")?,
            timeout: h.timeout.map_or(SimTime::from_secs(5), |t| t.time()),
            unhealthy: count(h.unhealthy_threshold, 3, "health_check.unhealthy_threshold")?,
            healthy: count(h.healthy_threshold, 2, "health_check.healthy_threshold")?,
        }),
    };
    let outlier = match &s.outlier_ejection {
        None => None,
        Some(o) => Some(super::validate_outlier::outlier(o, &format!("{key}.outlier_ejection"))?),
    };
    let failover = match &s.failover {
        None => None,
        Some(FailoverSpec::ActivePassive(h) | FailoverSpec::ActiveActive(h)) => {
            if s.instances < 2 {
                return err(format!("{key}.failover"), "failover needs at least 2 instances");
            }
            let active_passive = matches!(s.failover, Some(FailoverSpec::ActivePassive(_)));
            Some(crate::policy::failover::Failover {
                active_passive,
                heartbeat: positive(h.heartbeat, SimTime::from_secs(5), "failover.heartbeat")?,
                missed: count(h.missed, 3, "failover.missed")?,
                shift_back: h.shift_back.map_or(SimTime::from_secs(60), |t| t.time()),
            })
        }
    };
    Ok((health, outlier, failover))
}
