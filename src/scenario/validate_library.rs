//! Resolving the keys of the presets that follow a Rust crate rather than resilience4j:
//! tower's retry budget, hedge and rate limit (`preset: tower`, tower 0.5.3) and failsafe's circuit
//! breaker (`preset: failsafe`, failsafe 1.3.0). Each refuses, by name, the keys its
//! library has no counterpart for, and takes the library's own defaults and ranges.

use super::error::{Result, err};
use super::library_spec::{ConsecutiveFailuresSpec, FailsafeBackoffSpec, SuccessRateSpec};
use super::policy_spec::{BreakerSpec, BudgetSpec, HedgeSpec, RateLimitSpec};
use super::units::Duration;
use super::validate_policy::outcome;
use crate::engine::SimTime;
use crate::metrics::Outcome;
use crate::policy::breaker::{
    BreakerConfig, Classifier, ConsecutiveFailuresConfig, FailsafeBackoff, FailsafeConfig, SuccessRateConfig,
};
use crate::policy::retry::{BudgetConfig, HedgeConfig, HedgeDelay, TpsConfig};
use crate::policy::tower_rate::TowerRateConfig;

/// The first key of `keys` that is set, to be refused.
fn first_set<'a>(keys: &[(&'a str, bool)]) -> Option<&'a str> {
    keys.iter().find(|(_, set)| *set).map(|(k, _)| *k)
}

/// tower's `TpsBudget::new(ttl, min_per_sec, retry_percent)` from `budget`'s Finagle
/// keys (`ttl`, `min_per_s`, `ratio`), with tower's default for each one omitted and the
/// ranges `TpsBudget::new` asserts.
pub(super) fn tower_budget(b: &BudgetSpec, key: &str) -> Result<BudgetConfig> {
    if let Some(k) = first_set(&[
        ("percent_of_active", b.percent_of_active.is_some()),
        ("min_concurrency", b.min_concurrency.is_some()),
    ]) {
        return err(format!("{key}.{k}"), format!("tower's TpsBudget has no `{k}` (an Envoy key)"))
            .map_err(|e| e.with_help("tower takes `ratio` (retry_percent), `min_per_s` (min_per_sec) and `ttl`"));
    }
    let d = TpsConfig::default();
    let ttl = b.ttl.map_or(d.ttl, Duration::time);
    if !(SimTime::from_secs(1)..=SimTime::from_secs(60)).contains(&ttl) {
        return err(format!("{key}.ttl"), "tower's TpsBudget takes a ttl from 1s to 60s (default 10s)");
    }
    let retry_percent = match b.ratio {
        None => d.retry_percent,
        Some(r) if (0.0..=1000.0).contains(&r) => r as f32,
        Some(r) => return err(format!("{key}.ratio"), format!("{r} is outside tower's [0, 1000] (default 0.2)")),
    };
    let min_per_sec = match b.min_per_s {
        None => d.min_per_sec,
        Some(m) if m >= 0.0 && m.fract() == 0.0 && m < f64::from(i32::MAX) => m as u32,
        Some(m) => {
            return err(format!("{key}.min_per_s"), format!("tower counts whole retries per second (a u32), not {m}"));
        }
    };
    Ok(BudgetConfig::Tps(TpsConfig { ttl, min_per_sec, retry_percent }))
}

/// tower's `Hedge::new(service, policy, min_data_points, latency_percentile, period)`:
/// tower has no default for any of the three, so each is required. `cancel` is kept as
/// written: tower drops the losing future, and whether the callee then stops working is
/// up to the server, not tower.
pub(super) fn tower_hedge(h: &HedgeSpec, key: &str) -> Result<HedgeConfig> {
    let foreign = [
        ("delay", h.delay.is_some()),
        ("max_extra_load", h.max_extra_load.is_some()),
        ("non_fatal_status_codes", h.non_fatal_status_codes.is_some()),
        ("hedge_on_per_try_timeout", h.hedge_on_per_try_timeout.is_some()),
    ];
    if let Some(k) = first_set(&foreign) {
        return err(format!("{key}.{k}"), format!("tower's hedge has no `{k}`"))
            .map_err(|e| e.with_help("it waits for `percentile` of the previous `period`'s latencies; drop the key"));
    }
    if !matches!((h.max, h.max_attempts), (None | Some(1), None) | (None, Some(2))) {
        return err(format!("{key}.max"), "tower's hedge sends at most one backup per request (max: 1)");
    }
    let missing = |k: &str| {
        err(format!("{key}.{k}"), format!("tower's Hedge::new has no default `{k}`: give it"))
            .map_err(|e| e.with_help("e.g. percentile: 0.9, min_data_points: 10, period: 10s"))
    };
    let Some(p) = h.percentile else { return missing("percentile") };
    if !(0.0..=1.0).contains(&p) {
        return err(format!("{key}.percentile"), format!("{p} is not a quantile in [0, 1], e.g. 0.9"));
    }
    let Some(min_data_points) = h.min_data_points else { return missing("min_data_points") };
    let Some(period) = h.period.map(Duration::time) else { return missing("period") };
    if period == SimTime::ZERO {
        return err(format!("{key}.period"), "a period of 0 never keeps a latency; tower's histograms need one > 0");
    }
    Ok(HedgeConfig {
        delay: HedgeDelay::Tower { quantile: p as f32, min_data_points, period },
        max_hedges: 1,
        cancel_losers: h.cancel,
        max_extra_load: None,
        // tower's `Select` returns the first completion, an error as well as a response.
        non_fatal: Some([false; Outcome::ALL.len()]),
        on_per_try_timeout: false,
    })
}

/// tower's `Rate::new(num, per)` for a `RateLimit` under `load_shed`: both required (tower
/// has no default), both positive (`Rate::new` asserts it). The token bucket's and
/// resilience4j's keys are refused: tower's limiter has a fixed window and never waits
/// here.
pub(super) fn tower_rate(r: &RateLimitSpec, key: &str) -> Result<TowerRateConfig> {
    let foreign = [
        ("rate", r.rate.is_some()),
        ("burst", r.burst.is_some()),
        ("limit_for_period", r.limit_for_period.is_some()),
        ("limit_refresh_period", r.limit_refresh_period.is_some()),
        ("timeout_duration", r.timeout_duration.is_some()),
    ];
    if let Some(k) = first_set(&foreign) {
        return err(format!("{key}.{k}"), format!("tower's RateLimit has no `{k}`"))
            .map_err(|e| e.with_help("it admits `num` calls per window of `per`, e.g. num: 10, per: 100ms"));
    }
    let missing = |k: &str| {
        err(format!("{key}.{k}"), format!("tower's Rate::new has no default `{k}`: give it"))
            .map_err(|e| e.with_help("e.g. num: 10, per: 100ms"))
    };
    let Some(num) = r.num else { return missing("num") };
    let Some(per) = r.per.map(Duration::time) else { return missing("per") };
    if num == 0 {
        return err(format!("{key}.num"), "tower's Rate::new asserts num > 0 (0 would refuse every call)");
    }
    if per == SimTime::ZERO {
        return err(format!("{key}.per"), "tower's Rate::new asserts per > 0");
    }
    Ok(TowerRateConfig { num, per })
}

/// failsafe's breaker: `Config::new()`, or the failure policies given, each omitted key
/// taking failsafe's default.
pub(super) fn failsafe_breaker(b: &BreakerSpec, key: &str) -> Result<BreakerConfig> {
    let kinds = [
        ("consecutive", b.consecutive.is_some()),
        ("count_window", b.count_window.is_some()),
        ("time_window", b.time_window.is_some()),
    ];
    if let Some(k) = first_set(&kinds) {
        return err(format!("{key}.{k}"), format!("failsafe has no `{k}` breaker"))
            .map_err(|e| e.with_help("failsafe's policies are `consecutive_failures` and `success_rate`"));
    }
    if b.success_rate.is_none() && b.consecutive_failures.is_none() {
        return Ok(BreakerConfig::Failsafe(FailsafeConfig::default()));
    }
    let success_rate = b.success_rate.as_ref().map(|s| success_rate(s, &format!("{key}.success_rate"))).transpose()?;
    let consecutive = b
        .consecutive_failures
        .as_ref()
        .map(|c| consecutive_failures(c, &format!("{key}.consecutive_failures")))
        .transpose()?;
    Ok(BreakerConfig::Failsafe(FailsafeConfig { success_rate, consecutive }))
}

fn success_rate(s: &SuccessRateSpec, key: &str) -> Result<SuccessRateConfig> {
    let d = SuccessRateConfig::DEFAULT;
    let required_success_rate = s.required_success_rate.unwrap_or(d.required_success_rate);
    if !(0.0..=1.0).contains(&required_success_rate) {
        return err(
            format!("{key}.required_success_rate"),
            format!("{required_success_rate} is outside [0, 1] (failsafe panics on it)"),
        );
    }
    Ok(SuccessRateConfig {
        required_success_rate,
        min_request_threshold: s.min_request_threshold.unwrap_or(d.min_request_threshold),
        window: s
            .window
            .map_or(Ok(d.window), |w| whole_secs(w.time(), &format!("{key}.window")).map(SimTime::from_secs))?,
        backoff: s.backoff.as_ref().map_or(Ok(d.backoff), |b| backoff(b, &format!("{key}.backoff")))?,
    })
}

fn consecutive_failures(c: &ConsecutiveFailuresSpec, key: &str) -> Result<ConsecutiveFailuresConfig> {
    let d = ConsecutiveFailuresConfig::DEFAULT;
    let failures = c.failures.unwrap_or(d.failures);
    if failures == 0 {
        return err(format!("{key}.failures"), "0 failures would open on every failure's count of 1; give 1 or more");
    }
    Ok(ConsecutiveFailuresConfig {
        failures,
        backoff: c.backoff.as_ref().map_or(Ok(d.backoff), |b| backoff(b, &format!("{key}.backoff")))?,
    })
}

/// `t` in whole seconds, at least 1: failsafe reads these durations with `as_secs()`.
fn whole_secs(t: SimTime, key: &str) -> Result<u64> {
    if !t.0.is_multiple_of(SimTime::NANOS_PER_SEC) || t < SimTime::from_secs(1) {
        return err(key, "failsafe counts this in whole seconds, at least 1s (it reads Duration::as_secs)");
    }
    Ok(t.0 / SimTime::NANOS_PER_SEC)
}

fn backoff(b: &FailsafeBackoffSpec, key: &str) -> Result<FailsafeBackoff> {
    let (start, max) = match b {
        FailsafeBackoffSpec::Constant { delay } => return Ok(FailsafeBackoff::Constant(delay.time())),
        FailsafeBackoffSpec::Exponential { start, max }
        | FailsafeBackoffSpec::EqualJittered { start, max }
        | FailsafeBackoffSpec::FullJittered { start, max } => (start, max),
    };
    let start_secs = whole_secs(start.time(), &format!("{key}.start"))?;
    let max_secs = whole_secs(max.time(), &format!("{key}.max"))?;
    if max_secs < start_secs {
        return err(format!("{key}.max"), "max is below start (failsafe panics on it)");
    }
    Ok(match b {
        FailsafeBackoffSpec::Exponential { .. } => FailsafeBackoff::Exponential { start_secs, max_secs },
        FailsafeBackoffSpec::EqualJittered { .. } => FailsafeBackoff::EqualJittered { start_secs, max_secs },
        _ => FailsafeBackoff::FullJittered { start_secs, max_secs },
    })
}

/// What failsafe's breaker counts: `CircuitBreaker::call` every failed outcome,
/// `call_with(predicate, ..)` the outcomes in `record_exceptions` (any other failure is
/// an `on_success`, as failsafe does when the predicate says no). failsafe ignores
/// nothing, so `failure_on` and `ignore_exceptions` are refused.
pub(super) fn failsafe_outcomes(b: &BreakerSpec, key: &str) -> Result<Classifier> {
    if let Some(k) =
        first_set(&[("failure_on", b.failure_on.is_some()), ("ignore_exceptions", b.ignore_exceptions.is_some())])
    {
        return err(format!("{key}.{k}"), format!("failsafe cannot ignore an outcome, so it has no `{k}`")).map_err(
            |e| e.with_help("list the failures in `record_exceptions`; every other outcome counts as a success"),
        );
    }
    let record = b.record_exceptions.as_ref().map(|v| v.iter().map(|&k| outcome(k)).collect::<Vec<_>>());
    Ok(Classifier::resilience4j(record.as_deref(), &[]))
}

#[cfg(test)]
mod tests {
    use super::super::policy_spec::RetrySpec;
    use super::super::validate_policy::{call_policy, edge_policy};
    use super::*;
    use crate::policy::breaker::Verdict;
    use crate::policy::retry::RetryConfig;

    fn call(json: &str) -> super::super::spec::CallSpec {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    /// The key an error names, or a panic with what was accepted.
    fn key_of<T: std::fmt::Debug>(r: Result<T>) -> String {
        r.map_or_else(|e| e.key, |ok| panic!("accepted: {ok:?}"))
    }

    #[test]
    fn tower_retry_preset_resolves_and_takes_single_overrides() {
        let c = call(r#"{ "to": "b", "retry": { "preset": "tower" } }"#);
        let cfg = call_policy(&c, "c").ok().and_then(|p| p.retry);
        assert_eq!(cfg, Some(RetryConfig::tower()));
        assert_eq!(edge_policy(&c, "c").ok().and_then(|p| p.budget), Some(BudgetConfig::Tps(TpsConfig::default())));
        let c = call(r#"{ "to": "b", "retry": { "preset": "tower", "max_attempts": 5, "budget": { "ratio": 0.5 } } }"#);
        let want = TpsConfig { retry_percent: 0.5, ..TpsConfig::default() };
        let retry = call_policy(&c, "c").ok().and_then(|p| p.retry);
        assert_eq!(retry.map(|r| (r.max_attempts, r.budget)), Some((5, Some(BudgetConfig::Tps(want)))));
    }

    #[test]
    fn tower_budget_refuses_what_tps_budget_asserts() {
        let budget = |json: &str| {
            let r: RetrySpec = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
            tower_budget(r.budget.as_ref().unwrap_or_else(|| panic!("no budget")), "b")
        };
        assert_eq!(key_of(budget(r#"{ "budget": { "ttl": "61s" } }"#)), "b.ttl");
        assert_eq!(key_of(budget(r#"{ "budget": { "ttl": "500ms" } }"#)), "b.ttl");
        assert_eq!(key_of(budget(r#"{ "budget": { "ratio": 1001 } }"#)), "b.ratio");
        assert_eq!(key_of(budget(r#"{ "budget": { "min_per_s": 2.5 } }"#)), "b.min_per_s");
        assert_eq!(key_of(budget(r#"{ "budget": { "percent_of_active": 0.2 } }"#)), "b.percent_of_active");
        let ok = budget(r#"{ "budget": { "ttl": "60s", "min_per_s": 0, "ratio": 1000 } }"#).ok();
        assert_eq!(
            ok,
            Some(BudgetConfig::Tps(TpsConfig { ttl: SimTime::from_secs(60), min_per_sec: 0, retry_percent: 1000.0 }))
        );
    }

    fn hedge(json: &str) -> Result<HedgeConfig> {
        let spec: HedgeSpec = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        tower_hedge(&spec, "h")
    }

    #[test]
    fn tower_hedge_needs_its_three_keys_and_refuses_foreign_ones() {
        let full = r#"{ "preset": "tower", "percentile": 0.9, "min_data_points": 10, "period": "10s" }"#;
        let h = hedge(full).ok();
        let want = HedgeDelay::Tower { quantile: 0.9, min_data_points: 10, period: SimTime::from_secs(10) };
        assert_eq!(h.map(|h| (h.delay, h.max_hedges, h.non_fatal)), Some((want, 1, Some([false; 6]))));
        assert_eq!(key_of(hedge(r#"{ "preset": "tower", "min_data_points": 10, "period": "10s" }"#)), "h.percentile");
        assert_eq!(key_of(hedge(r#"{ "preset": "tower", "percentile": 0.9, "period": "10s" }"#)), "h.min_data_points");
        assert_eq!(key_of(hedge(r#"{ "preset": "tower", "percentile": 0.9, "min_data_points": 1 }"#)), "h.period");
        let with = |extra: &str| hedge(&full.replace('}', &format!(", {extra} }}")));
        assert_eq!(key_of(with(r#""delay": "5ms""#)), "h.delay");
        assert_eq!(key_of(with(r#""max": 2"#)), "h.max");
        assert_eq!(key_of(with(r#""max_extra_load": 0.05"#)), "h.max_extra_load");
        assert!(with(r#""max_attempts": 2"#).is_ok() && with(r#""cancel": true"#).is_ok_and(|h| h.cancel_losers));
    }

    fn limiter(json: &str) -> Result<Option<crate::policy::rate_limit::LimiterConfig>> {
        edge_policy(&call(&format!(r#"{{ "to": "b", "rate_limit": {json} }}"#)), "c").map(|p| p.rate_limit)
    }

    #[test]
    fn tower_rate_limit_needs_num_and_per_and_refuses_foreign_keys() {
        use crate::policy::rate_limit::LimiterConfig;
        let ok = limiter(r#"{ "preset": "tower", "num": 10, "per": "100ms" }"#).ok().flatten();
        let want = TowerRateConfig { num: 10, per: SimTime::from_millis(100) };
        assert_eq!(ok, Some(LimiterConfig::Tower(want)));
        let key = |json: &str| key_of(limiter(json));
        assert_eq!(key(r#"{ "preset": "tower", "per": "1s" }"#), "c.rate_limit.num");
        assert_eq!(key(r#"{ "preset": "tower", "num": 1 }"#), "c.rate_limit.per");
        assert_eq!(key(r#"{ "preset": "tower", "num": 0, "per": "1s" }"#), "c.rate_limit.num");
        assert_eq!(key(r#"{ "preset": "tower", "num": 1, "per": "0s" }"#), "c.rate_limit.per");
        assert_eq!(key(r#"{ "preset": "tower", "num": 1, "per": "1s", "burst": 5 }"#), "c.rate_limit.burst");
        let r4j = r#"{ "preset": "tower", "num": 1, "per": "1s", "timeout_duration": "0s" }"#;
        assert_eq!(key(r4j), "c.rate_limit.timeout_duration");
        assert_eq!(key(r#"{ "num": 1, "per": "1s" }"#), "c.rate_limit");
        assert_eq!(key(r#"{ "preset": "resilience4j", "limit_for_period": 1 }"#), "c.rate_limit.preset");
    }

    fn breaker(json: &str) -> Result<(BreakerConfig, Classifier)> {
        let c = call(&format!(r#"{{ "to": "b", "breaker": {json} }}"#));
        edge_policy(&c, "c").map(|p| (p.breaker.unwrap_or_default(), p.breaker_outcomes))
    }

    #[test]
    fn failsafe_breaker_preset_and_its_policies() {
        let (cfg, outcomes) = breaker(r#"{ "preset": "failsafe" }"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg, BreakerConfig::Failsafe(FailsafeConfig::default()));
        // `CircuitBreaker::call`: every failure counts, nothing is ignored.
        assert_eq!(outcomes.verdict(Outcome::Rejected), Verdict::Failure);
        assert_eq!(outcomes.verdict(Outcome::ShortCircuited), Verdict::Failure);
        // One policy given: that policy alone, its omitted keys at failsafe's defaults.
        let only = breaker(r#"{ "preset": "failsafe", "consecutive_failures": { "failures": 3 } }"#);
        let want = FailsafeConfig {
            success_rate: None,
            consecutive: Some(ConsecutiveFailuresConfig { failures: 3, ..ConsecutiveFailuresConfig::DEFAULT }),
        };
        assert_eq!(only.ok().map(|b| b.0), Some(BreakerConfig::Failsafe(want)));
        let both = r#"{ "preset": "failsafe", "success_rate": { "window": "10s",
            "backoff": { "full_jittered": { "start": "1s", "max": "60s" } } }, "consecutive_failures": {} }"#;
        let Ok((BreakerConfig::Failsafe(f), _)) = breaker(both) else { panic!("{both}") };
        let rate = f.success_rate.map(|r| (r.window, r.backoff, r.required_success_rate));
        let jitter = FailsafeBackoff::FullJittered { start_secs: 1, max_secs: 60 };
        assert_eq!(rate, Some((SimTime::from_secs(10), jitter, 0.8)));
        assert_eq!(f.consecutive, Some(ConsecutiveFailuresConfig::DEFAULT));
        // `record_exceptions` is failsafe's predicate: other failures are successes.
        let pred = breaker(r#"{ "preset": "failsafe", "record_exceptions": ["error"] }"#);
        assert_eq!(pred.ok().map(|b| b.1.verdict(Outcome::Timeout)), Some(Verdict::Success));
    }

    #[test]
    fn failsafe_breaker_refuses_what_it_cannot_express() {
        let key = |json: &str| breaker(json).map_or_else(|e| e.key, |ok| panic!("accepted: {ok:?}"));
        assert_eq!(key(r#"{ "preset": "failsafe", "count_window": {} }"#), "c.breaker.count_window");
        assert_eq!(key(r#"{ "preset": "failsafe", "failure_on": ["error"] }"#), "c.breaker.failure_on");
        assert_eq!(
            key(r#"{ "preset": "failsafe", "ignore_exceptions": ["rejected"] }"#),
            "c.breaker.ignore_exceptions"
        );
        assert_eq!(key(r#"{ "consecutive_failures": {} }"#), "c.breaker");
        let window = r#"{ "preset": "failsafe", "success_rate": { "window": "1500ms" } }"#;
        assert_eq!(key(window), "c.breaker.success_rate.window");
        let rate = r#"{ "preset": "failsafe", "success_rate": { "required_success_rate": 1.5 } }"#;
        assert_eq!(key(rate), "c.breaker.success_rate.required_success_rate");
        let inverted = r#"{ "preset": "failsafe", "consecutive_failures":
            { "backoff": { "exponential": { "start": "10s", "max": "5s" } } } }"#;
        assert_eq!(key(inverted), "c.breaker.consecutive_failures.backoff.max");
        let retry = call(r#"{ "to": "b", "retry": { "preset": "failsafe" } }"#);
        assert_eq!(key_of(call_policy(&retry, "c")), "c.retry.preset");
        let hedge_preset = call(r#"{ "to": "b", "hedge": { "preset": "failsafe", "delay": "5ms" } }"#);
        assert_eq!(key_of(call_policy(&hedge_preset, "c")), "c.hedge.preset");
        let tower_breaker = r#"{ "preset": "tower" }"#;
        assert_eq!(key(tower_breaker), "c.breaker.preset");
    }
}
