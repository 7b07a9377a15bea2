//! Resolving a service's server-side policies: worker pools by request class, rate
//! limit, load shedding, adaptive concurrency limit and degradation levels.

use super::error::{Result, ScenarioError, err, suggest};
use super::policy_spec::{ConcurrencyLimitSpec, DegradationSpec, LimitSpec, ShedSpec, ThresholdSpec};
use super::spec::ServiceSpec;
use super::validate_policy::token_bucket;
use crate::engine::SimTime;
use crate::model::{ConcurrencyConfig, Dist, Pool};
use crate::policy::concurrency::{AimdConfig, Gradient2Config, VegasConfig};
use crate::policy::degradation::{Degradation, DegradationConfig, LevelSpec, Thresholds};
use crate::policy::rate_limit::TokenBucketConfig;
use crate::policy::shed::ShedConfig;

/// Most workers per instance.
pub const MAX_SERVERS: u32 = 1_000_000;
/// Largest finite capacity per instance.
pub const MAX_CAPACITY: u32 = 1_000_000_000;

/// The request classes named anywhere (workloads and pools), `default` first.
pub fn classes<'a>(workloads: impl Iterator<Item = Option<&'a str>>, services: &[&ServiceSpec]) -> Vec<String> {
    let mut names: Vec<String> = workloads.flatten().map(str::to_owned).collect();
    for s in services {
        for p in s.pools.iter().flat_map(|p| p.values()) {
            names.extend(p.classes.iter().flatten().cloned());
        }
    }
    names.sort();
    names.dedup();
    names.retain(|n| n != "default");
    names.insert(0, "default".into());
    names
}

/// The token bucket in front of service `s` (all instances), if it has one: the burst
/// defaults to one second of the rate.
pub fn rate_limit(s: &ServiceSpec, key: &str) -> Result<Option<TokenBucketConfig>> {
    let Some(r) = &s.rate_limit else { return Ok(None) };
    if r.waits() {
        return err(format!("{key}.rate_limit"), "a service's rate limit is a token bucket")
            .map_err(|e| e.with_help("limit_for_period, limit_refresh_period and timeout_duration go on a call"));
    }
    token_bucket(r, &format!("{key}.rate_limit"), "request").map(Some)
}

/// The pools of service `s` (one `default` pool from `servers`/`capacity` when none are
/// declared) and, per class, the pool that serves it.
pub fn pools(s: &ServiceSpec, classes: &[String], key: &str) -> Result<(Vec<Pool>, Vec<Option<u16>>)> {
    let Some(specs) = &s.pools else {
        return Ok((
            vec![Pool { name: "default".into(), servers: s.servers, capacity: s.capacity, borrow: false }],
            vec![Some(0); classes.len()],
        ));
    };
    if specs.is_empty() || specs.len() > 64 {
        return err(format!("{key}.pools"), "give between 1 and 64 pools");
    }
    if s.servers != 1 || s.capacity.is_some() {
        return err(
            format!("{key}.pools"),
            "with pools, set `servers` and `capacity` on each pool, not on the service",
        );
    }
    let mut pools = Vec::with_capacity(specs.len());
    let mut of_class: Vec<Option<u16>> = vec![None; classes.len()];
    let mut catch_all = None;
    for (i, (name, p)) in specs.iter().enumerate() {
        let pkey = format!("{key}.pools.{name}");
        if p.servers == 0 || p.servers > MAX_SERVERS {
            return err(format!("{pkey}.servers"), format!("servers must be between 1 and {MAX_SERVERS}"));
        }
        if let Some(k) = p.capacity
            && (k < p.servers || k > MAX_CAPACITY)
        {
            return err(
                format!("{pkey}.capacity"),
                format!("capacity {k} must be between servers ({}) and {MAX_CAPACITY}", p.servers),
            );
        }
        match &p.classes {
            None => {
                if let Some(other) = catch_all.replace(name.clone()) {
                    return err(
                        format!("{pkey}.classes"),
                        format!("pools `{other}` and `{name}` both take every other class; give one of them `classes`"),
                    );
                }
            }
            Some(list) => {
                for c in list {
                    let id = classes.iter().position(|x| x == c).unwrap_or(0);
                    if of_class[id].is_some() {
                        return err(format!("{pkey}.classes"), format!("class `{c}` is assigned to two pools"));
                    }
                    of_class[id] = Some(i as u16);
                }
            }
        }
        pools.push(Pool { name: name.clone(), servers: p.servers, capacity: p.capacity, borrow: p.borrow });
    }
    if let Some(name) = catch_all {
        let i = specs.keys().position(|k| *k == name).unwrap_or(0) as u16;
        of_class.iter_mut().filter(|p| p.is_none()).for_each(|p| *p = Some(i));
    }
    Ok((pools, of_class))
}

/// Checks that every workload's class exists somewhere a pool would take it; unknown
/// class names in pools are flagged with a suggestion.
pub fn check_class_name(name: &str, known: &[String], key: &str) -> Result<()> {
    if known.iter().any(|k| k == name) {
        return Ok(());
    }
    let e = ScenarioError::at_key(key, format!("no workload has class `{name}`"));
    Err(match suggest(name, known.iter().map(String::as_str)) {
        Some(s) => e.with_help(format!("did you mean `{s}`?")),
        None => e,
    })
}

/// The shedding rule of a service with mean service time `service_time`.
pub fn shed(spec: &ShedSpec, service_time: &Dist, servers: u32, key: &str) -> Result<ShedConfig> {
    Ok(match spec {
        ShedSpec::QueueLength { max, .. } => ShedConfig::QueueLength { max: *max },
        ShedSpec::QueueTime { max_wait, .. } => {
            let Some(mean) = service_time.mean_secs() else {
                return err(format!("{key}.queue_time"), "queue-time shedding needs a service time with a known mean")
                    .map_err(|e| {
                        e.with_help("use exponential, constant, uniform or empirical, or shed by queue_length")
                    });
            };
            ShedConfig::QueueTime { max_wait: max_wait.time(), mean_service: SimTime::from_secs_f64(mean), servers }
        }
        ShedSpec::Codel { target, interval } => {
            let target = target.map_or(SimTime::from_millis(5), |t| t.time());
            let interval = interval.map_or(SimTime::from_millis(100), |t| t.time());
            if interval == SimTime::ZERO {
                return err(format!("{key}.codel.interval"), "the interval must be longer than 0");
            }
            ShedConfig::Codel { target, interval }
        }
    })
}

fn limits(l: &LimitSpec, key: &str, initial: u32, min: u32, max: u32) -> Result<(u32, u32, u32)> {
    let (initial, min, max) = (l.initial.unwrap_or(initial), l.min.unwrap_or(min), l.max.unwrap_or(max));
    if min == 0 || min > max || initial < min || initial > max {
        return err(key, format!("need 1 <= min ({min}) <= initial ({initial}) <= max ({max})"));
    }
    Ok((initial, min, max))
}

/// The adaptive concurrency limit.
pub fn concurrency(spec: &ConcurrencyLimitSpec, key: &str) -> Result<ConcurrencyConfig> {
    Ok(match spec {
        ConcurrencyLimitSpec::Aimd(l) => {
            let d = AimdConfig::default();
            let (initial, min, max) = limits(l, &format!("{key}.aimd"), d.initial, d.min, d.max)?;
            let backoff_ratio = l.backoff_ratio.unwrap_or(d.backoff_ratio);
            if !(0.5..1.0).contains(&backoff_ratio) {
                return err(format!("{key}.aimd.backoff_ratio"), "backoff_ratio must be in [0.5, 1)");
            }
            ConcurrencyConfig::Aimd(AimdConfig {
                initial,
                min,
                max,
                backoff_ratio,
                timeout: l.timeout.map_or(d.timeout, |t| t.time()),
            })
        }
        ConcurrencyLimitSpec::Gradient(l) => {
            let d = Gradient2Config::default();
            let (initial, min, max) = limits(l, &format!("{key}.gradient"), d.initial, d.min, d.max)?;
            let smoothing = l.smoothing.unwrap_or(d.smoothing);
            if !(0.0..=1.0).contains(&smoothing) {
                return err(format!("{key}.gradient.smoothing"), "smoothing must be in [0, 1]");
            }
            let rtt_tolerance = l.rtt_tolerance.unwrap_or(d.rtt_tolerance);
            if !rtt_tolerance.is_finite() || rtt_tolerance < 1.0 {
                return err(format!("{key}.gradient.rtt_tolerance"), "rtt_tolerance must be at least 1");
            }
            ConcurrencyConfig::Gradient(Gradient2Config { initial, min, max, smoothing, rtt_tolerance, ..d })
        }
        ConcurrencyLimitSpec::Vegas(l) => ConcurrencyConfig::Vegas(vegas(l, &format!("{key}.vegas"))?),
    })
}

/// Vegas has no minimum (its floor is 1) and no timeout; its thresholds are functions of
/// the limit unless fixed.
fn vegas(l: &LimitSpec, key: &str) -> Result<VegasConfig> {
    let d = VegasConfig::default();
    let other = [
        ("min", l.min.is_some()),
        ("backoff_ratio", l.backoff_ratio.is_some()),
        ("timeout", l.timeout.is_some()),
        ("rtt_tolerance", l.rtt_tolerance.is_some()),
    ];
    if let Some((k, _)) = other.iter().find(|(_, set)| *set) {
        return err(format!("{key}.{k}"), "Vegas has no such key (its lowest limit is 1)")
            .map_err(|e| e.with_help("Vegas keys: initial, max, smoothing, alpha, beta, probe_multiplier"));
    }
    let (initial, _, max) = limits(l, key, d.initial, 1, d.max)?;
    let smoothing = l.smoothing.unwrap_or(d.smoothing);
    if !(smoothing > 0.0 && smoothing <= 1.0) {
        return err(format!("{key}.smoothing"), "smoothing must be in (0, 1] (1 = none, the library default)");
    }
    if let (Some(a), Some(b)) = (l.alpha, l.beta)
        && a > b
    {
        return err(format!("{key}.alpha"), format!("alpha ({a}) must not exceed beta ({b})"));
    }
    let probe_multiplier = l.probe_multiplier.unwrap_or(d.probe_multiplier);
    if probe_multiplier == 0 {
        return err(format!("{key}.probe_multiplier"), "probe_multiplier must be at least 1 (default 30)");
    }
    Ok(VegasConfig { initial, max, smoothing, alpha: l.alpha, beta: l.beta, probe_multiplier, ..d })
}

fn thresholds(t: Option<&ThresholdSpec>) -> Thresholds {
    t.map_or(Thresholds::default(), |t| Thresholds {
        error_rate: t.error_rate,
        p99: t.p99.map(|d| d.time()),
        utilization: t.utilization,
    })
}

/// Degradation levels and their evaluation interval.
pub fn degradation(spec: &DegradationSpec, key: &str) -> Result<(DegradationConfig, SimTime)> {
    let mut cfg = DegradationConfig::default();
    if let Some(d) = spec.min_dwell {
        cfg.min_dwell = d.time();
    }
    if let Some(levels) = &spec.levels {
        if levels.len() < 2 || levels.len() > 16 {
            return err(format!("{key}.levels"), "give between 2 and 16 levels, the first being full service");
        }
        cfg.levels = levels
            .iter()
            .enumerate()
            .map(|(i, l)| LevelSpec {
                name: l.name.clone(),
                value: l.value,
                disable_optional: l.disable_optional.unwrap_or(i > 0),
                enter: thresholds(l.enter.as_ref()),
                exit: thresholds(l.exit.as_ref()),
            })
            .collect();
    }
    let interval = spec.interval.map_or(SimTime::from_secs(5), |t| t.time());
    if interval == SimTime::ZERO {
        return err(format!("{key}.interval"), "the evaluation interval must be longer than 0");
    }
    Degradation::new(cfg.clone()).map_err(|e| ScenarioError::at_key(format!("{key}.levels"), e.to_string()))?;
    Ok((cfg, interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vegas_of(json: &str) -> Result<ConcurrencyConfig> {
        let spec: ConcurrencyLimitSpec = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        concurrency(&spec, "c")
    }

    #[test]
    fn vegas_takes_the_library_defaults_and_refuses_other_algorithms_keys() {
        let Ok(ConcurrencyConfig::Vegas(v)) = vegas_of(r#"{ "vegas": {} }"#) else { panic!("not Vegas") };
        assert_eq!((v.initial, v.max, v.smoothing, v.probe_multiplier), (20, 1000, 1.0, 30));
        assert_eq!((v.alpha, v.beta), (None, None));
        let Ok(ConcurrencyConfig::Vegas(f)) = vegas_of(r#"{ "vegas": { "alpha": 2, "beta": 4, "max": 50 } }"#) else {
            panic!("not Vegas")
        };
        assert_eq!((f.alpha, f.beta, f.max), (Some(2), Some(4), 50));
        let key = |json| vegas_of(json).map_or_else(|e| e.key, |c| panic!("accepted {c:?}"));
        assert_eq!(key(r#"{ "vegas": { "min": 5 } }"#), "c.vegas.min");
        assert_eq!(key(r#"{ "vegas": { "alpha": 5, "beta": 4 } }"#), "c.vegas.alpha");
        assert_eq!(key(r#"{ "vegas": { "smoothing": 0 } }"#), "c.vegas.smoothing");
        assert_eq!(key(r#"{ "vegas": { "initial": 2000 } }"#), "c.vegas");
    }
}
