//! Resolving the policy keys of a call into [`CallPolicy`] and [`EdgePolicy`]: presets
//! first, then the keys the user wrote, then range checks with messages that name the
//! key.

use super::error::{Result, err};
use super::policy_spec::{
    AdaptiveSpec, AfterMaxWait, BackoffSpec, BreakerSpec, BreakerStateSpec, BudgetSpec, FallbackSpec, HedgeSpec,
    JitterSpec, OutcomeKind, Preset, QuotaSpec, RateLimitSpec, ReleaseSpec, RetrySpec, ScopeSpec, ThrottlingSpec,
    WindowSpec,
};
use super::spec::CallSpec;
use super::units::Rate;
use super::validate_library::{failsafe_breaker, failsafe_outcomes, tower_budget, tower_hedge, tower_rate};
use crate::engine::SimTime;
use crate::metrics::Outcome;
use crate::model::{BulkheadRelease, CallPolicy, EdgePolicy, EdgeScopes, Fallback};
use crate::policy::breaker::{BreakerConfig, BreakerState, Classifier, ConsecutiveConfig, WindowConfig};
use crate::policy::bulkhead::BulkheadConfig;
use crate::policy::envoy_limits::Thresholds;
use crate::policy::rate_limit::{CycleLimiterConfig, LimiterConfig, TokenBucketConfig};
use crate::policy::retry::{
    AdaptiveConfig, AvoidPrevious, Backoff, BudgetConfig, HedgeConfig, HedgeDelay, Jitter, QuotaConfig, RetryConfig,
    RetryOn,
};

/// Most attempts a retry policy may make.
pub const MAX_ATTEMPTS: u32 = 100;
/// Most backup attempts per attempt.
pub const MAX_HEDGES: u32 = 3;
/// Most re-picks of the balancer for a retry (`host_selection_retry_max_attempts`).
pub const MAX_RESELECTS: u32 = 100;

fn fraction(key: &str, v: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&v) { Ok(v) } else { err(key, format!("{v} is outside 0..1")) }
}

/// The outcome a scenario's outcome kind names.
pub(super) fn outcome(kind: OutcomeKind) -> Outcome {
    match kind {
        OutcomeKind::Error => Outcome::Error,
        OutcomeKind::Timeout => Outcome::Timeout,
        OutcomeKind::Rejected => Outcome::Rejected,
        OutcomeKind::ShortCircuited => Outcome::ShortCircuited,
    }
}

/// The per-call policies of `c` at `key`.
pub fn call_policy(c: &CallSpec, key: &str) -> Result<CallPolicy> {
    let timeout = c.timeout.map(|t| t.time());
    if timeout == Some(SimTime::ZERO) {
        return err(format!("{key}.timeout"), "a timeout of 0 fails every call; omit it for no timeout");
    }
    let overall_timeout = c.overall_timeout.map(|t| t.time());
    if overall_timeout == Some(SimTime::ZERO) {
        return err(format!("{key}.overall_timeout"), "an overall timeout of 0 fails every call; omit it for none");
    }
    let retry = c.retry.as_ref().map(|r| retry(r, &format!("{key}.retry"))).transpose()?;
    let fallback = match &c.fallback {
        None => None,
        Some(FallbackSpec::Cache(v) | FallbackSpec::Default(v)) => Some(Fallback {
            value: fraction(&format!("{key}.fallback.value"), v.value.unwrap_or(0.5))?,
            latency: v.latency.map_or(SimTime::ZERO, |l| l.time()),
        }),
    };
    let hedge = c.hedge.as_ref().map(|h| hedge(h, &format!("{key}.hedge"))).transpose()?;
    Ok(CallPolicy {
        timeout,
        overall_timeout,
        deadline_fraction: fraction(&format!("{key}.deadline_fraction"), c.deadline_fraction.unwrap_or(0.8))?,
        retry,
        fallback,
        hedge,
        degraded_value: fraction(&format!("{key}.degraded_value"), c.degraded_value.unwrap_or(0.5))?,
    })
}

fn hedge(h: &HedgeSpec, key: &str) -> Result<HedgeConfig> {
    match h.preset {
        Some(Preset::Tower) => return tower_hedge(h, key),
        Some(p) => {
            return err(format!("{key}.preset"), format!("{p:?} has no hedge preset"))
                .map_err(|e| e.with_help("only `tower` has one; the other systems' hedges are plain keys"));
        }
        None if h.min_data_points.is_some() || h.period.is_some() => {
            return err(key, "`min_data_points` and `period` are tower's: add `preset: tower`");
        }
        None => {}
    }
    let max_extra_load = h.max_extra_load.map(|m| extra_load(m, &format!("{key}.max_extra_load"))).transpose()?;
    let delay = match (h.delay, h.percentile, max_extra_load) {
        (Some(d), None, _) => HedgeDelay::Fixed(d.time()),
        (None, Some(p), _) if p > 0.0 && p < 1.0 => HedgeDelay::Percentile(p * 100.0),
        (None, Some(p), _) => {
            return err(format!("{key}.percentile"), format!("{p} is not a quantile in (0, 1), e.g. 0.95"));
        }
        // Finagle's BackupRequestFilter: hedge at the 1 − maxExtraLoad quantile.
        (None, None, Some(m)) if m > 0.0 => HedgeDelay::Percentile((1.0 - m) * 100.0),
        (None, None, Some(_)) => {
            return err(format!("{key}.max_extra_load"), "a max_extra_load of 0 never hedges; omit `hedge`");
        }
        _ => {
            return err(key, "give `delay` (e.g. 50ms), `percentile` (e.g. 0.95) or `max_extra_load` (e.g. 0.05)")
                .map_err(|e| e.with_help("`delay` and `percentile` exclude each other"));
        }
    };
    let max_hedges = match (h.max, h.max_attempts) {
        (Some(_), Some(_)) => {
            return err(
                format!("{key}.max_attempts"),
                "give `max` (backups) or `max_attempts` (all requests), not both",
            );
        }
        (_, Some(n)) if !(2..=MAX_HEDGES + 1).contains(&n) => {
            return err(
                format!("{key}.max_attempts"),
                format!("requests per attempt must be between 2 and {}", MAX_HEDGES + 1),
            );
        }
        (_, Some(n)) => n - 1,
        (m, None) => m.unwrap_or(1),
    };
    if max_hedges == 0 || max_hedges > MAX_HEDGES {
        return err(format!("{key}.max"), format!("backups per attempt must be between 1 and {MAX_HEDGES}"));
    }
    let non_fatal = h.non_fatal_status_codes.as_ref().map(|kinds| {
        let mut set = [false; 6];
        kinds.iter().for_each(|k| set[outcome(*k) as usize] = true);
        set
    });
    Ok(HedgeConfig {
        delay,
        max_hedges,
        cancel_losers: h.cancel,
        max_extra_load,
        non_fatal,
        on_per_try_timeout: h.hedge_on_per_try_timeout.unwrap_or(false),
    })
}

/// Finagle checks `0 <= maxExtraLoad < 1`.
fn extra_load(m: f64, key: &str) -> Result<f64> {
    if (0.0..1.0).contains(&m) { Ok(m) } else { err(key, format!("{m} is outside [0, 1) (0.05 = 5% extra load)")) }
}

fn retry(r: &RetrySpec, key: &str) -> Result<RetryConfig> {
    let mut cfg = match r.preset {
        None => RetryConfig::default(),
        Some(Preset::Envoy) => RetryConfig::envoy(),
        Some(Preset::Resilience4j) => RetryConfig::resilience4j(),
        Some(Preset::Finagle) => RetryConfig::finagle(),
        Some(Preset::Grpc) => RetryConfig::grpc(),
        Some(Preset::AwsSdk) => RetryConfig::aws_sdk(),
        Some(Preset::Polly) => RetryConfig::polly(),
        Some(Preset::Tower) => RetryConfig::tower(),
        Some(p @ (Preset::Hystrix | Preset::Failsafe)) => {
            return err(format!("{key}.preset"), format!("{p:?} has no retry policy (a circuit breaker only)"))
                .map_err(|e| {
                    e.with_help("use `resilience4j`, `polly`, `grpc`, `envoy`, `finagle`, `aws_sdk` or `tower`")
                });
        }
    };
    if let Some(n) = r.max_attempts {
        if n == 0 || n > MAX_ATTEMPTS {
            return err(
                format!("{key}.max_attempts"),
                format!("max_attempts counts the first attempt: 1..{MAX_ATTEMPTS}"),
            );
        }
        cfg.max_attempts = n;
        cfg.per_outcome = None;
    }
    if let Some(b) = &r.backoff {
        cfg.backoff = match b {
            BackoffSpec::None => Backoff::None,
            BackoffSpec::Fixed { delay } => Backoff::Fixed { delay: delay.time() },
            BackoffSpec::Linear { base, step } => Backoff::Linear { base: base.time(), step: step.time() },
            BackoffSpec::Exponential { base, multiplier, cap } => {
                if !multiplier.is_finite() || *multiplier < 1.0 {
                    return err(format!("{key}.backoff.exponential.multiplier"), "the multiplier must be at least 1");
                }
                if cap < base {
                    return err(format!("{key}.backoff.exponential.cap"), "cap is below base");
                }
                Backoff::Exponential { base: base.time(), multiplier: *multiplier, cap: cap.time() }
            }
        };
    }
    if let Some(j) = &r.jitter {
        cfg.jitter = match j {
            JitterSpec::None => Jitter::None,
            JitterSpec::Full => Jitter::Full,
            JitterSpec::Equal => Jitter::Equal,
            JitterSpec::Decorrelated => Jitter::Decorrelated,
            JitterSpec::Proportional { fraction: f } => {
                Jitter::Proportional { fraction: fraction(&format!("{key}.jitter.proportional.fraction"), *f)? }
            }
            // tower's `ExponentialBackoffMaker::new` refuses a negative, NaN or > 100 jitter.
            JitterSpec::Additive { ratio } if (0.0..=100.0).contains(ratio) => Jitter::Additive { ratio: *ratio },
            JitterSpec::Additive { ratio } => {
                return err(format!("{key}.jitter.additive.ratio"), format!("{ratio} is outside tower's [0, 100]"));
            }
        };
    }
    if let Some(on) = &r.retry_on {
        let mut set = RetryOn { error: false, timeout: false, rejected: false, short_circuited: false };
        for k in on {
            match k {
                OutcomeKind::Error => set.error = true,
                OutcomeKind::Timeout => set.timeout = true,
                OutcomeKind::Rejected => set.rejected = true,
                OutcomeKind::ShortCircuited => set.short_circuited = true,
            }
        }
        cfg.retry_on = set;
    }
    let limits = [r.budget.is_some(), r.throttling.is_some(), r.quota.is_some()];
    if limits.iter().filter(|&&l| l).count() > 1 {
        return err(key, "give one of `budget`, `throttling` (gRPC) and `quota` (AWS)");
    }
    if let Some(b) = &r.budget {
        let key = format!("{key}.budget");
        cfg.budget = Some(if r.preset == Some(Preset::Tower) { tower_budget(b, &key)? } else { budget(b, &key)? });
    }
    if let Some(t) = &r.throttling {
        cfg.budget = Some(throttling(t, &format!("{key}.throttling"))?);
    }
    if let Some(q) = &r.quota {
        cfg.budget = Some(quota(q, &format!("{key}.quota"))?);
    }
    cfg.previous_hosts = previous_hosts(r, key)?;
    Ok(cfg)
}

/// Envoy's `previous_hosts` predicate and `host_selection_retry_max_attempts`.
fn previous_hosts(r: &RetrySpec, key: &str) -> Result<Option<AvoidPrevious>> {
    match (r.previous_hosts, r.host_selection_retry_max_attempts) {
        (Some(true), n) => {
            let reselects = n.unwrap_or(AvoidPrevious::default().reselects);
            if reselects > MAX_RESELECTS {
                return err(
                    format!("{key}.host_selection_retry_max_attempts"),
                    format!("{reselects} is above {MAX_RESELECTS}; a few re-picks already avoid a bad instance"),
                );
            }
            Ok(Some(AvoidPrevious { reselects }))
        }
        (_, Some(_)) => err(
            format!("{key}.host_selection_retry_max_attempts"),
            "re-picks only happen with `previous_hosts: true`; add it or drop this key",
        ),
        _ => Ok(None),
    }
}

/// gRFC A6's validation of `retryThrottling`.
fn throttling(t: &ThrottlingSpec, key: &str) -> Result<BudgetConfig> {
    if !(t.max_tokens > 0.0 && t.max_tokens <= 1000.0) {
        return err(format!("{key}.max_tokens"), format!("{} is outside (0, 1000] (gRPC's example: 10)", t.max_tokens));
    }
    if !(t.token_ratio.is_finite() && t.token_ratio >= 0.001) {
        return err(
            format!("{key}.token_ratio"),
            format!("{} is not a ratio of at least 0.001 (three decimals; gRPC's example: 0.1)", t.token_ratio),
        );
    }
    Ok(BudgetConfig::Throttling { max_tokens: t.max_tokens, token_ratio: t.token_ratio })
}

fn quota(q: &QuotaSpec, key: &str) -> Result<BudgetConfig> {
    let d = QuotaConfig::standard();
    let cfg = QuotaConfig {
        capacity: q.capacity.unwrap_or(d.capacity),
        retry_cost: q.retry_cost.unwrap_or(d.retry_cost),
        timeout_cost: q.timeout_cost.unwrap_or(d.timeout_cost),
        throttling_cost: q.throttling_cost.unwrap_or(d.throttling_cost),
        no_retry_increment: q.no_retry_increment.unwrap_or(d.no_retry_increment),
    };
    if cfg.capacity == 0 {
        return err(format!("{key}.capacity"), "a quota of 0 never retries; omit `retry` for no retries");
    }
    Ok(BudgetConfig::Quota(cfg))
}

fn adaptive(a: &AdaptiveSpec, key: &str) -> Result<AdaptiveConfig> {
    let d = AdaptiveConfig::default();
    let open = |k: &str, v: Option<f64>, dv: f64| match v {
        None => Ok(dv),
        Some(x) if x > 0.0 && x < 1.0 => Ok(x),
        Some(x) => err(format!("{key}.{k}"), format!("{x} is outside (0, 1) (default {dv})")),
    };
    let positive = |k: &str, v: Option<f64>, dv: f64| match v {
        None => Ok(dv),
        Some(x) if x > 0.0 && x.is_finite() => Ok(x),
        Some(x) => err(format!("{key}.{k}"), format!("{x} must be above 0 (default {dv})")),
    };
    Ok(AdaptiveConfig {
        beta: open("beta", a.beta, d.beta)?,
        scale_constant: positive("scale_constant", a.scale_constant, d.scale_constant)?,
        smoothing: match a.smoothing {
            Some(1.0) => 1.0,
            s => open("smoothing", s, d.smoothing)?,
        },
        min_fill_rate: positive("min_rate", a.min_rate, d.min_fill_rate)?,
    })
}

fn budget(b: &BudgetSpec, key: &str) -> Result<BudgetConfig> {
    let finagle = b.ratio.is_some() || b.min_per_s.is_some() || b.ttl.is_some();
    let envoy = b.percent_of_active.is_some() || b.min_concurrency.is_some();
    match (finagle, envoy) {
        (true, false) => {
            let ratio = b.ratio.unwrap_or(0.2);
            if !ratio.is_finite() || ratio < 0.0 {
                return err(format!("{key}.ratio"), "the ratio must be >= 0 (0.2 = retries up to 20% of requests)");
            }
            let min_per_s = b.min_per_s.unwrap_or(10.0);
            if !min_per_s.is_finite() || min_per_s < 0.0 {
                return err(format!("{key}.min_per_s"), "min_per_s must be >= 0");
            }
            let ttl = b.ttl.map_or(SimTime::from_secs(10), |t| t.time());
            if ttl == SimTime::ZERO {
                return err(format!("{key}.ttl"), "ttl must be longer than 0");
            }
            Ok(BudgetConfig::Ratio { ratio, min_per_s, ttl })
        }
        (false, true) => {
            let percent = b.percent_of_active.unwrap_or(0.2);
            Ok(BudgetConfig::Concurrency {
                percent: fraction(&format!("{key}.percent_of_active"), percent)?,
                min_concurrency: b.min_concurrency.unwrap_or(3),
            })
        }
        (true, true) => {
            err(key, "mix of Finagle keys (ratio, min_per_s, ttl) and Envoy keys (percent_of_active, min_concurrency)")
        }
        (false, false) => err(key, "give `ratio` and `min_per_s` (Finagle) or `percent_of_active` (Envoy)"),
    }
}

fn window(spec: Option<&WindowSpec>, base: WindowConfig, key: &str) -> Result<WindowConfig> {
    let mut w = base;
    let Some(s) = spec else { return Ok(w) };
    let percent = |k: &str, v: f64| {
        if v > 0.0 && v <= 100.0 {
            Ok(v)
        } else {
            err(format!("{key}.{k}"), format!("{v} is not a percentage in (0, 100]"))
        }
    };
    if let Some(v) = s.size {
        if v == 0 || v > 1_000_000 {
            return err(format!("{key}.size"), "the window size must be between 1 and 1000000");
        }
        w.window_size = v;
    }
    if let Some(v) = s.failure_rate {
        w.failure_rate_threshold = percent("failure_rate", v)?;
    }
    if let Some(v) = s.slow_call_rate {
        w.slow_call_rate_threshold = percent("slow_call_rate", v)?;
    }
    if let Some(v) = s.slow_call_duration {
        w.slow_call_duration = v.time();
    }
    if let Some(v) = s.minimum_calls {
        w.minimum_number_of_calls = v.max(1);
    }
    if let Some(v) = s.half_open_calls {
        w.permitted_calls_in_half_open = v.max(1);
    }
    if let Some(v) = s.open_for {
        w.wait_in_open = v.time();
    }
    if let Some(v) = s.automatic_transition {
        w.automatic_transition = v;
    }
    if let Some(v) = s.max_wait_in_half_open {
        w.max_wait_in_half_open = v.time();
    }
    if let Some(v) = s.after_max_wait {
        w.close_after_max_wait = v == AfterMaxWait::Closed;
    }
    Ok(w)
}

fn breaker(b: &BreakerSpec, key: &str) -> Result<BreakerConfig> {
    let kinds = [b.consecutive.is_some(), b.count_window.is_some(), b.time_window.is_some()];
    if kinds.iter().filter(|&&k| k).count() > 1 {
        return err(key, "give one breaker kind: consecutive, count_window or time_window");
    }
    let failsafe_keys = b.success_rate.is_some() || b.consecutive_failures.is_some();
    let preset = match b.preset {
        Some(Preset::Failsafe) => return failsafe_breaker(b, key),
        _ if failsafe_keys => {
            return err(key, "`success_rate` and `consecutive_failures` are failsafe's: add `preset: failsafe`");
        }
        None => None,
        Some(Preset::Resilience4j) => Some(BreakerConfig::resilience4j()),
        Some(Preset::Hystrix) => Some(BreakerConfig::hystrix()),
        Some(Preset::Polly) => Some(BreakerConfig::polly()),
        Some(p) => {
            return err(format!("{key}.preset"), format!("{p:?} has no client-side circuit breaker"))
                .map_err(|e| e.with_help("Envoy and Finagle eject outliers instead; use `resilience4j` or a kind"));
        }
    };
    let base = match preset {
        Some(BreakerConfig::CountWindow(w) | BreakerConfig::TimeWindow(w)) => w,
        _ => WindowConfig::default(),
    };
    Ok(if let Some(c) = &b.consecutive {
        let d = ConsecutiveConfig::default();
        let failures = c.failures.unwrap_or(d.failures);
        let successes = c.successes.unwrap_or(d.successes);
        if failures == 0 || successes == 0 {
            return err(format!("{key}.consecutive"), "failures and successes must be at least 1");
        }
        BreakerConfig::Consecutive(ConsecutiveConfig {
            failures,
            successes,
            open_for: c.open_for.map_or(d.open_for, |t| t.time()),
            permitted_calls_in_half_open: c.half_open_calls,
            max_wait_in_half_open: c.max_wait_in_half_open.map_or(d.max_wait_in_half_open, |t| t.time()),
            close_after_max_wait: c.after_max_wait == Some(AfterMaxWait::Closed),
        })
    } else if b.time_window.is_some()
        || matches!(preset, Some(BreakerConfig::TimeWindow(_))) && b.count_window.is_none()
    {
        BreakerConfig::TimeWindow(window(b.time_window.as_ref(), base, &format!("{key}.time_window"))?)
    } else if b.count_window.is_some() || preset.is_some() {
        BreakerConfig::CountWindow(window(b.count_window.as_ref(), base, &format!("{key}.count_window"))?)
    } else {
        return err(key, "give a kind (consecutive, count_window, time_window) or `preset: resilience4j`");
    })
}

/// What the breaker at `key` records for each outcome: the `failure_on` rule, or
/// resilience4j's `record_exceptions` / `ignore_exceptions`, not both.
fn breaker_outcomes(b: &BreakerSpec, key: &str) -> Result<Classifier> {
    if b.preset == Some(Preset::Failsafe) {
        return failsafe_outcomes(b, key);
    }
    let kinds = |v: &[OutcomeKind]| v.iter().map(|k| outcome(*k)).collect::<Vec<_>>();
    let record = b.record_exceptions.as_deref().map(kinds);
    let ignore = b.ignore_exceptions.as_deref().map(kinds);
    match &b.failure_on {
        Some(_) if record.is_some() || ignore.is_some() => err(
            format!("{key}.failure_on"),
            "failure_on cannot be combined with record_exceptions or ignore_exceptions",
        )
        .map_err(|e| {
            e.with_help("failure_on ignores unlisted failures; record_exceptions counts them as successes: pick one")
        }),
        Some(on) => Ok(Classifier::failures_only(&kinds(on))),
        None if record.is_none() && ignore.is_none() => Ok(Classifier::default()),
        None => Ok(Classifier::resilience4j(record.as_deref(), ignore.as_deref().unwrap_or_default())),
    }
}

/// The token bucket of the `rate_limit` at `key`, which refuses every `what` at rate 0.
pub(super) fn token_bucket(r: &RateLimitSpec, key: &str, what: &str) -> Result<TokenBucketConfig> {
    // Reached with tower's keys only from a service, whose limiter is a token bucket.
    if r.preset.is_some() || r.num.is_some() || r.per.is_some() {
        return err(key, "a service's rate limit is a token bucket: `rate` and `burst`")
            .map_err(|e| e.with_help("`preset: tower` (tower's RateLimit) goes on a call"));
    }
    let Some(rate) = r.rate.map(Rate::per_sec) else {
        return err(format!("{key}.rate"), "a token bucket needs a rate, e.g. `rate: 100/s`");
    };
    if rate <= 0.0 {
        return err(format!("{key}.rate"), format!("a rate limit of 0 refuses every {what}"));
    }
    let burst = r.burst.unwrap_or_else(|| rate.ceil().clamp(1.0, f64::from(u32::MAX)) as u32).max(1);
    Ok(TokenBucketConfig::from_rate(rate, burst))
}

/// The limiter of a call's `rate_limit` at `key`: tower's (`preset: tower`),
/// resilience4j's (its keys given) or a token bucket.
fn edge_limiter(r: &RateLimitSpec, key: &str) -> Result<LimiterConfig> {
    Ok(match r.preset {
        Some(Preset::Tower) => LimiterConfig::Tower(tower_rate(r, key)?),
        Some(p) => {
            return err(format!("{key}.preset"), format!("{p:?} has no rate limit preset"))
                .map_err(|e| e.with_help("only `tower` has one; resilience4j's limiter is its own keys"));
        }
        None if r.num.is_some() || r.per.is_some() => {
            return err(key, "`num` and `per` are tower's: add `preset: tower`");
        }
        None if r.waits() => LimiterConfig::Cycle(cycle_limiter(r, key)?),
        None => LimiterConfig::TokenBucket(token_bucket(r, key, "call")?),
    })
}

/// resilience4j's `RateLimiter` at `key`, its defaults where a key is missing.
fn cycle_limiter(r: &RateLimitSpec, key: &str) -> Result<CycleLimiterConfig> {
    if r.rate.is_some() || r.burst.is_some() {
        return err(key, "give either rate and burst (a token bucket) or resilience4j's keys, not both").map_err(|e| {
            e.with_help("limit_for_period / limit_refresh_period / timeout_duration make callers wait for a permission")
        });
    }
    let d = CycleLimiterConfig::default();
    let cfg = CycleLimiterConfig {
        limit_for_period: r.limit_for_period.unwrap_or(d.limit_for_period),
        limit_refresh_period: r.limit_refresh_period.map_or(d.limit_refresh_period, |t| t.time()),
        timeout_duration: r.timeout_duration.map_or(d.timeout_duration, |t| t.time()),
    };
    // resilience4j's RateLimiterConfig refuses both: a limit below 1, a period below 1 ns.
    if cfg.limit_for_period == 0 {
        return err(format!("{key}.limit_for_period"), "a limit of 0 permissions per period refuses every call");
    }
    if cfg.limit_refresh_period == SimTime::ZERO {
        return err(format!("{key}.limit_refresh_period"), "the refresh period must be at least 1ns");
    }
    Ok(cfg)
}

/// The breaker state named in a scenario.
fn breaker_state(s: BreakerStateSpec) -> BreakerState {
    match s {
        BreakerStateSpec::Closed => BreakerState::Closed,
        BreakerStateSpec::Disabled => BreakerState::Disabled,
        BreakerStateSpec::ForcedOpen => BreakerState::ForcedOpen,
        BreakerStateSpec::MetricsOnly => BreakerState::MetricsOnly,
    }
}

/// Envoy's circuit-breaker thresholds of call `c`: those declared, Envoy's defaults for
/// omitted keys; Envoy's defaults too (`max_retries: 3`) when its retry has the `envoy`
/// preset, as Envoy applies them to every cluster.
fn thresholds(c: &CallSpec) -> Option<Thresholds> {
    let envoy_retry = c.retry.as_ref().is_some_and(|r| r.preset == Some(Preset::Envoy));
    let d = Thresholds::default();
    match &c.circuit_breakers {
        Some(t) => Some(Thresholds {
            max_pending_requests: t.max_pending_requests.unwrap_or(d.max_pending_requests),
            max_requests: t.max_requests.unwrap_or(d.max_requests),
            max_retries: t.max_retries.unwrap_or(d.max_retries),
        }),
        None => envoy_retry.then_some(d),
    }
}

/// The edge-level policies declared on call `c` at `key` (breaker, limiter, bulkhead,
/// retry budget).
pub fn edge_policy(c: &CallSpec, key: &str) -> Result<EdgePolicy> {
    let mut p = EdgePolicy::default();
    if let Some(b) = &c.breaker {
        let key = format!("{key}.breaker");
        p.breaker = Some(breaker(b, &key)?);
        p.breaker_outcomes = breaker_outcomes(b, &key)?;
        p.breaker_initial_state = b.initial_state.map_or(BreakerState::Closed, breaker_state);
    }
    if let Some(r) = &c.rate_limit {
        let key = format!("{key}.rate_limit");
        p.rate_limit = Some(edge_limiter(r, &key)?);
    }
    if let Some(b) = &c.bulkhead {
        if b.max_concurrent == 0 {
            return err(format!("{key}.bulkhead.max_concurrent"), "a bulkhead of 0 refuses every call");
        }
        p.bulkhead = Some(BulkheadConfig::new(b.max_concurrent, b.max_wait.map_or(SimTime::ZERO, |t| t.time())));
        p.bulkhead_release = match b.release {
            None | Some(ReleaseSpec::OnAnswer) => BulkheadRelease::OnAnswer,
            Some(ReleaseSpec::OnTimeout) => BulkheadRelease::OnTimeout,
        };
    }
    if let Some(r) = &c.retry {
        let key = format!("{key}.retry");
        p.budget = retry(r, &key)?.budget;
        p.adaptive = r.adaptive.as_ref().map(|a| adaptive(a, &format!("{key}.adaptive"))).transpose()?;
    }
    if let Some(h) = &c.hedge {
        let cfg = hedge(h, &format!("{key}.hedge"))?;
        p.track_latency = matches!(cfg.delay, HedgeDelay::Percentile(_) | HedgeDelay::Tower { .. });
        p.hedge_rotation = match cfg.delay {
            HedgeDelay::Tower { period, .. } => Some(period),
            _ => None,
        };
        p.max_extra_load = cfg.max_extra_load;
    }
    p.thresholds = thresholds(c);
    p.concurrency = c
        .concurrency_limit
        .as_ref()
        .map(|l| super::validate_server::concurrency(l, &format!("{key}.concurrency_limit")))
        .transpose()?;
    p.scope = EdgeScopes {
        breaker: ScopeSpec::of(c.breaker.as_ref().and_then(|b| b.scope)),
        rate_limit: ScopeSpec::of(c.rate_limit.as_ref().and_then(|r| r.scope)),
        bulkhead: ScopeSpec::of(c.bulkhead.as_ref().and_then(|b| b.scope)),
        budget: ScopeSpec::of(c.retry.as_ref().and_then(|r| r.budget.as_ref()).and_then(|b| b.scope)),
        hedge: ScopeSpec::of(c.hedge.as_ref().and_then(|h| h.scope)),
        concurrency: ScopeSpec::of(c.concurrency_limit.as_ref().and_then(|l| l.limit_spec().scope)),
    };
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_of(json: &str) -> Result<RetryConfig> {
        let spec: RetrySpec = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        retry(&spec, "r")
    }

    fn key_of<T: std::fmt::Debug>(r: Result<T>) -> String {
        r.map_or_else(|e| e.key, |ok| panic!("accepted: {ok:?}"))
    }

    #[test]
    fn throttling_and_quota_resolve_and_exclude_each_other_and_the_budget() {
        let t = retry_of(r#"{ "throttling": { "max_tokens": 10, "token_ratio": 0.1 } }"#);
        assert_eq!(
            t.ok().and_then(|c| c.budget),
            Some(BudgetConfig::Throttling { max_tokens: 10.0, token_ratio: 0.1 })
        );
        let q = retry_of(r#"{ "quota": { "timeout_cost": 20 } }"#);
        let want = QuotaConfig { timeout_cost: 20, ..QuotaConfig::standard() };
        assert_eq!(q.ok().and_then(|c| c.budget), Some(BudgetConfig::Quota(want)));
        let both = r#"{ "quota": {}, "throttling": { "max_tokens": 10, "token_ratio": 0.1 } }"#;
        assert_eq!(key_of(retry_of(both)), "r");
        assert_eq!(key_of(retry_of(r#"{ "quota": {}, "budget": { "ratio": 0.1 } }"#)), "r");
    }

    #[test]
    fn throttling_follows_a6_validation() {
        for bad in [0.0, 1000.5, f64::NAN] {
            let spec = RetrySpec {
                throttling: Some(ThrottlingSpec { max_tokens: bad, token_ratio: 0.1 }),
                ..RetrySpec::default()
            };
            assert_eq!(key_of(retry(&spec, "r")), "r.throttling.max_tokens");
        }
        let tiny = r#"{ "throttling": { "max_tokens": 10, "token_ratio": 0.0004 } }"#;
        assert_eq!(key_of(retry_of(tiny)), "r.throttling.token_ratio");
        assert_eq!(key_of(retry_of(r#"{ "quota": { "capacity": 0 } }"#)), "r.quota.capacity");
    }

    #[test]
    fn adaptive_defaults_and_ranges() {
        let spec: AdaptiveSpec = serde_json::from_str("{}").unwrap_or_default();
        assert_eq!(adaptive(&spec, "a").ok(), Some(AdaptiveConfig::default()));
        let bad = AdaptiveSpec { beta: Some(1.5), ..AdaptiveSpec::default() };
        assert_eq!(key_of(adaptive(&bad, "a")), "a.beta");
        let bad = AdaptiveSpec { min_rate: Some(0.0), ..AdaptiveSpec::default() };
        assert_eq!(key_of(adaptive(&bad, "a")), "a.min_rate");
    }

    fn hedge_of(json: &str) -> Result<HedgeConfig> {
        let spec: HedgeSpec = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        hedge(&spec, "h")
    }

    #[test]
    fn max_extra_load_alone_sets_finagles_percentile() {
        let h = hedge_of(r#"{ "max_extra_load": 0.05 }"#).ok();
        assert!(
            matches!(h, Some(HedgeConfig { delay: HedgeDelay::Percentile(p), max_extra_load: Some(0.05), .. })
                if (p - 95.0).abs() < 1e-9),
            "{h:?}"
        );
        let fixed = hedge_of(r#"{ "delay": "20ms", "max_extra_load": 0.01 }"#).ok();
        assert!(matches!(fixed, Some(HedgeConfig { delay: HedgeDelay::Fixed(_), .. })), "{fixed:?}");
        assert_eq!(key_of(hedge_of(r#"{ "max_extra_load": 0.0 }"#)), "h.max_extra_load");
        assert_eq!(key_of(hedge_of(r#"{ "percentile": 0.9, "max_extra_load": 1.0 }"#)), "h.max_extra_load");
        assert_eq!(key_of(hedge_of("{}")), "h");
    }
}
