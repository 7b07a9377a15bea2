//! Resolving a service's `cache:` and the cache faults (`cache_flush`, `cache_down`).

use super::cache_spec::{CachePolicySpec, CacheSpec, KeysSpec};
use super::error::{Result, ScenarioError, err};
use super::fault_spec::{AddSpec, FaultKind, FaultSpec};
use super::validate_dist::dist;
use crate::engine::SimTime;
use crate::model::fault::{Schedule, Target};
use crate::model::sim::{CacheConfig, Popularity};
use crate::model::{Dist, Model};
use crate::policy::cache::{Eviction, MAX_KEYS};

/// Largest Zipf exponent: above it nearly every request asks for the first key.
pub const MAX_ZIPF_S: f64 = 10.0;

/// Most keys of a `policy: ttl` cache, which may hold every key: a 24-byte slot each.
pub const MAX_TTL_KEYS: u32 = 1_000_000;

/// Resolves `services.<name>.cache` (`key`).
pub fn cache(c: &CacheSpec, key: &str) -> Result<CacheConfig> {
    let keys = match c.keys {
        KeysSpec::Zipf { n, s } => {
            if !s.is_finite() || !(0.0..=MAX_ZIPF_S).contains(&s) {
                return err(
                    format!("{key}.keys.zipf.s"),
                    format!("the Zipf exponent must be in 0..{MAX_ZIPF_S}, not {s}"),
                );
            }
            Popularity::Zipf { n: key_count(n, &format!("{key}.keys.zipf.n"))?, s }
        }
        KeysSpec::Uniform { n } => Popularity::Uniform { n: key_count(n, &format!("{key}.keys.uniform.n"))? },
    };
    let n = keys.keys();
    let ttl = match c.ttl {
        Some(t) if t.time() == SimTime::ZERO => return err(format!("{key}.ttl"), "a ttl must be longer than 0"),
        t => t.map(|t| t.time()),
    };
    let (eviction, capacity) = match (c.policy, c.capacity) {
        (CachePolicySpec::Ttl, Some(_)) => {
            return Err(ScenarioError::at_key(
                format!("{key}.capacity"),
                "a `policy: ttl` cache is bounded by expiry only",
            )
            .with_help("remove `capacity`, or use `policy: lru` with a `ttl`"));
        }
        (CachePolicySpec::Ttl, None) if ttl.is_none() => {
            return err(format!("{key}.ttl"), "a `policy: ttl` cache needs a `ttl`, e.g. `ttl: 5m`");
        }
        (CachePolicySpec::Ttl, None) if n > MAX_TTL_KEYS => {
            return Err(ScenarioError::at_key(
                format!("{key}.keys"),
                format!("{n} keys; a `policy: ttl` cache takes at most {MAX_TTL_KEYS}"),
            )
            .with_help("it may hold every key; use `policy: lru` with a `capacity` and a `ttl` for more keys"));
        }
        (CachePolicySpec::Ttl, None) => (Eviction::Ttl, n),
        (_, None) => {
            return err(format!("{key}.capacity"), "give the cache a `capacity` (entries), e.g. `capacity: 1000`");
        }
        (_, Some(0)) => return err(format!("{key}.capacity"), "a cache holds at least 1 entry"),
        (_, Some(cap)) if cap > n => {
            return Err(ScenarioError::at_key(
                format!("{key}.capacity"),
                format!("{cap} entries, but there are only {n} keys"),
            )
            .with_help(format!("a capacity of {n} already holds every key")));
        }
        (p, Some(cap)) => (if p == CachePolicySpec::Lfu { Eviction::Lfu } else { Eviction::Lru }, cap),
    };
    let hit_time = match &c.hit_time {
        None => Dist::Constant(SimTime::from_millis(1)),
        Some(AddSpec::Fixed(d)) => Dist::Constant(d.time()),
        Some(AddSpec::Dist(d)) => dist(d, &format!("{key}.hit_time"))?,
    };
    Ok(CacheConfig { keys, capacity, eviction, ttl, warm: c.warm, coalesce: c.coalesce, hit_time })
}

/// A number of keys: at least 1, at most [`MAX_KEYS`].
fn key_count(n: u32, key: &str) -> Result<u32> {
    match n {
        0 => err(key, "a cache needs at least 1 key"),
        n if n > MAX_KEYS => Err(ScenarioError::at_key(key, format!("{n} keys; at most {MAX_KEYS}")).with_help(
            "the cache keeps a slot index per key; model the hottest keys and fold the long tail into fewer",
        )),
        n => Ok(n),
    }
}

/// A `cache_flush` is an instant: `at` only, as a window of no length.
pub fn flush_schedule(f: &FaultSpec, warmup: SimTime, key: &str) -> Result<Schedule> {
    match (f.at, f.duration, f.mtbf, f.mttr) {
        (Some(at), None, None, None) => Ok(Schedule::Window { start: warmup + at.time(), end: warmup + at.time() }),
        _ => err(key, "a cache flush is an instant: give `at` only, e.g. `at: 300s`"),
    }
}

/// A cache fault targets a whole service that has a cache.
pub fn check_target(f: &FaultSpec, target: &Target, model: &Model, key: &str) -> Result<()> {
    let kind = if f.kind == FaultKind::CacheFlush { "cache_flush" } else { "cache_down" };
    let Target::Instances(list) = target else { return Ok(()) };
    let s = list[0].0;
    let svc = &model.services[s];
    if f.target.contains('#') || f.target.starts_with("zone:") || list.len() != svc.instances as usize {
        return err(format!("{key}.target"), format!("a {kind} fault targets a whole service (its one cache)"));
    }
    if svc.cache.is_none() {
        let cached: Vec<&str> = model.services.iter().filter(|s| s.cache.is_some()).map(|s| s.name.as_str()).collect();
        let e = ScenarioError::at_key(format!("{key}.target"), format!("`{}` has no `cache:`", svc.name));
        return Err(if cached.is_empty() {
            e.with_help("declare `cache:` on the service")
        } else {
            e.with_help(format!("services with a cache: {}", cached.join(", ")))
        });
    }
    Ok(())
}
