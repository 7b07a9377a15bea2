//! resilience4j's properties, module by module, and the resim keys they become: what
//! each property means is resilience4j's (`CircuitBreakerConfig`, `RetryConfig`,
//! `BulkheadConfig`, `RateLimiterConfig`, `TimeLimiterConfig`, `IntervalFunction`), and
//! a property no layer sets takes the default those classes declare, written out with
//! the constant's name.

use serde_json::Value;

use super::resilience4j::{Props, key_error, uniform, value_error};
use super::resilience4j_exceptions as exceptions;
use super::units;
use super::{Cursor, Imported, Origin, Target};
use crate::engine::SimTime;
use crate::scenario::ScenarioError;

/// A resilience4j module, as its Spring Boot prefix names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `resilience4j.circuitbreaker`.
    CircuitBreaker,
    /// `resilience4j.retry`.
    Retry,
    /// `resilience4j.bulkhead` (the semaphore bulkhead).
    Bulkhead,
    /// `resilience4j.thread-pool-bulkhead`.
    ThreadPoolBulkhead,
    /// `resilience4j.ratelimiter`.
    RateLimiter,
    /// `resilience4j.timelimiter`.
    TimeLimiter,
}

/// What the reader does with a property.
pub enum Role {
    /// Read and mapped to a resim key.
    Read,
    /// Accepted and listed as not simulated, for this reason.
    Plumbing(&'static str),
    /// Refused: what it is, and what to do.
    Refused(&'static str, &'static str),
}

const METRICS: Role = Role::Plumbing("events and metrics of the Java process: nothing a call does");
const STACK: Role = Role::Plumbing("whether the exception carries a stack trace: nothing a call does");
const HEALTH: Role = Role::Plumbing("Spring Boot's health endpoint: nothing a call does");
const PREDICATE: Role = Role::Refused(
    "a Java class resim cannot run",
    "list exception classes (recordExceptions, ignoreExceptions, retryExceptions) instead",
);
const OPEN_BACKOFF: Role = Role::Refused(
    "a wait in OPEN that grows or varies: resim's breaker waits the same waitDurationInOpenState every time",
    "remove it (and its multiplier, maximum or factor) to simulate the fixed wait",
);

const CIRCUIT_BREAKER: &[(&str, Role)] = &[
    ("baseConfig", Role::Read),
    ("slidingWindowType", Role::Read),
    ("slidingWindowSize", Role::Read),
    ("minimumNumberOfCalls", Role::Read),
    ("failureRateThreshold", Role::Read),
    ("slowCallRateThreshold", Role::Read),
    ("slowCallDurationThreshold", Role::Read),
    ("permittedNumberOfCallsInHalfOpenState", Role::Read),
    ("maxWaitDurationInHalfOpenState", Role::Read),
    ("transitionToStateAfterWaitDuration", Role::Read),
    ("waitDurationInOpenState", Role::Read),
    ("automaticTransitionFromOpenToHalfOpenEnabled", Role::Read),
    ("initialState", Role::Read),
    ("recordExceptions", Role::Read),
    ("ignoreExceptions", Role::Read),
    ("enableExponentialBackoff", Role::Read),
    ("enableRandomizedWait", Role::Read),
    ("exponentialBackoffMultiplier", OPEN_BACKOFF),
    ("exponentialMaxWaitDurationInOpenState", OPEN_BACKOFF),
    ("randomizedWaitFactor", OPEN_BACKOFF),
    ("recordFailurePredicate", PREDICATE),
    ("recordResultPredicate", PREDICATE),
    ("ignoreExceptionPredicate", PREDICATE),
    ("registerHealthIndicator", HEALTH),
    ("allowHealthIndicatorToFail", HEALTH),
    ("eventConsumerBufferSize", METRICS),
    ("writableStackTraceEnabled", STACK),
    ("ignoreClassBindingExceptions", Role::Plumbing("how Spring binds the class names it cannot load")),
];

const RETRY: &[(&str, Role)] = &[
    ("baseConfig", Role::Read),
    ("maxAttempts", Role::Read),
    ("waitDuration", Role::Read),
    ("enableExponentialBackoff", Role::Read),
    ("exponentialBackoffMultiplier", Role::Read),
    ("exponentialMaxWaitDuration", Role::Read),
    ("enableRandomizedWait", Role::Read),
    ("randomizedWaitFactor", Role::Read),
    ("retryExceptions", Role::Read),
    ("ignoreExceptions", Role::Read),
    (
        "failAfterMaxAttempts",
        Role::Plumbing(
            "throws MaxRetriesExceededException when a retry on results runs out; resim retries on \
             outcomes, and the call ends with its last failure either way",
        ),
    ),
    ("retryExceptionPredicate", PREDICATE),
    ("resultPredicate", PREDICATE),
    ("consumeResultBeforeRetryAttempt", PREDICATE),
    ("intervalBiFunction", Role::Refused("a Java class resim cannot run", "use waitDuration and its backoff keys")),
    ("eventConsumerBufferSize", METRICS),
];

const BULKHEAD: &[(&str, Role)] = &[
    ("baseConfig", Role::Read),
    ("maxConcurrentCalls", Role::Read),
    ("maxWaitDuration", Role::Read),
    ("eventConsumerBufferSize", METRICS),
    ("writableStackTraceEnabled", STACK),
];

const RATE_LIMITER: &[(&str, Role)] = &[
    ("baseConfig", Role::Read),
    ("limitForPeriod", Role::Read),
    ("limitRefreshPeriod", Role::Read),
    ("timeoutDuration", Role::Read),
    ("subscribeForEvents", METRICS),
    ("eventConsumerBufferSize", METRICS),
    ("registerHealthIndicator", HEALTH),
    ("allowHealthIndicatorToFail", HEALTH),
    ("writableStackTraceEnabled", STACK),
];

const TIME_LIMITER: &[(&str, Role)] = &[
    ("baseConfig", Role::Read),
    ("timeoutDuration", Role::Read),
    (
        "cancelRunningFuture",
        Role::Plumbing(
            "resim lets a timed-out call run on at the callee either way: cancelling the Java future \
             interrupts the caller's thread and sends the callee nothing",
        ),
    ),
    ("eventConsumerBufferSize", METRICS),
];

impl Kind {
    /// Every module, in the order the reader looks for them.
    pub const ALL: [Kind; 6] = [
        Kind::CircuitBreaker,
        Kind::Retry,
        Kind::Bulkhead,
        Kind::ThreadPoolBulkhead,
        Kind::RateLimiter,
        Kind::TimeLimiter,
    ];

    /// The property prefix under `resilience4j`.
    pub fn key(self) -> &'static str {
        match self {
            Kind::CircuitBreaker => "circuitbreaker",
            Kind::Retry => "retry",
            Kind::Bulkhead => "bulkhead",
            Kind::ThreadPoolBulkhead => "thread-pool-bulkhead",
            Kind::RateLimiter => "ratelimiter",
            Kind::TimeLimiter => "timelimiter",
        }
    }

    /// The module's Spring aspect order property and its default
    /// (`Ordered.LOWEST_PRECEDENCE - k` in `RetryConfigurationProperties` and siblings).
    pub fn aspect(self) -> Option<(&'static str, i64)> {
        let lowest = i64::from(i32::MAX);
        match self {
            Kind::Retry => Some(("retryAspectOrder", lowest - 5)),
            Kind::CircuitBreaker => Some(("circuitBreakerAspectOrder", lowest - 4)),
            Kind::RateLimiter => Some(("rateLimiterAspectOrder", lowest - 3)),
            Kind::TimeLimiter => Some(("timeLimiterAspectOrder", lowest - 2)),
            Kind::Bulkhead => Some(("bulkheadAspectOrder", lowest - 1)),
            Kind::ThreadPoolBulkhead => None,
        }
    }

    /// The properties of one config or instance, by Java field name.
    pub fn fields(self) -> &'static [(&'static str, Role)] {
        match self {
            Kind::CircuitBreaker => CIRCUIT_BREAKER,
            Kind::Retry => RETRY,
            Kind::Bulkhead => BULKHEAD,
            Kind::ThreadPoolBulkhead => &[],
            Kind::RateLimiter => RATE_LIMITER,
            Kind::TimeLimiter => TIME_LIMITER,
        }
    }

    /// Refuses a module resim does not simulate.
    pub fn refuse_section(self, at: &Cursor) -> Result<(), ScenarioError> {
        if self != Kind::ThreadPoolBulkhead {
            return Ok(());
        }
        Err(key_error(
            at,
            "resim has no thread-pool bulkhead: its calls queue in front of a pool of threads up to \
             queueCapacity, without a time limit, and resim's bulkhead bounds the wait by time",
            "use the semaphore bulkhead (`resilience4j.bulkhead`: maxConcurrentCalls as the pool's \
             maxThreadPoolSize, maxWaitDuration for the wait), or set `bulkhead` in the scenario",
        ))
    }
}

/// Writes one instance's policy: every property its layers set, and resilience4j's
/// default for each they leave out.
struct Emit<'c, 'a> {
    chain: &'c [&'c Props<'a>],
    target: &'c Target,
    out: &'c mut Imported,
}

/// Reads one property's value as the resim key takes it.
type Reader = fn(&Cursor) -> Result<Value, ScenarioError>;

/// The help line of a value of the wrong type.
const NUMBER_HELP: &str = "write a number, as Spring binds it (e.g. 100 or 50.0)";

impl<'a> Emit<'_, 'a> {
    /// The property from the highest layer that sets it.
    fn pick(&self, java: &str) -> Option<Cursor<'a>> {
        self.chain.iter().rev().find_map(|p| p.get(java).cloned())
    }

    /// The origin of a default: the instance, with the property's name and its source.
    fn default_origin(&self, java: &str, cite: &str) -> Origin {
        let inst = self.chain.last().expect("an instance is its chain's last layer");
        Origin::default_in(&inst.at.origin(), java, format!("resilience4j's default: {cite}"))
    }

    fn set(&mut self, key: &str, value: impl Into<Value>, origin: Origin) {
        self.out.set(self.target, key, value, origin);
    }

    /// `key` from property `java` read by `read`, or `default` (cited by `cite`).
    fn field(&mut self, java: &str, key: &str, default: Value, cite: &str, read: Reader) -> Result<(), ScenarioError> {
        match self.pick(java) {
            Some(at) => {
                let v = read(&at)?;
                self.set(key, v, at.origin());
            }
            None => {
                let o = self.default_origin(java, cite);
                self.set(key, default, o);
            }
        }
        Ok(())
    }

    /// `scope: instance` under `policy`: resilience4j lives in each caller's JVM.
    fn per_instance(&mut self, policy: &str) {
        let inst = self.chain.last().expect("an instance is its chain's last layer");
        let o = inst.at.origin().noted("resilience4j keeps its state in each JVM: one per caller instance");
        self.set(&format!("{policy}.scope"), "instance", o);
    }
}

fn whole(at: &Cursor) -> Result<Value, ScenarioError> {
    at.u32().map(Value::from).map_err(|mut e| {
        e.help = Some("write a whole number, as Spring binds an Integer (e.g. 100)".into());
        e
    })
}

fn number(at: &Cursor) -> Result<Value, ScenarioError> {
    at.f64().map(Value::from).map_err(|mut e| {
        e.help = Some(NUMBER_HELP.into());
        e
    })
}

fn flag(at: &Cursor) -> Result<Value, ScenarioError> {
    at.bool().map(Value::from).map_err(|mut e| {
        e.help = Some("write true or false".into());
        e
    })
}

fn duration(at: &Cursor) -> Result<Value, ScenarioError> {
    units::spring(at).map(units::resim)
}

/// An enum value in Spring's lenient form, as the uniform name of one of `values`.
fn enum_value(at: &Cursor, values: &[&'static str]) -> Result<&'static str, ScenarioError> {
    let text = at.str().unwrap_or_default();
    values.iter().copied().find(|v| uniform(v) == uniform(text)).ok_or_else(|| {
        value_error(at, format!("`{}` is not one of {}", at.node().describe(), values.join(", ")), "write one of them")
    })
}

/// The outcomes a list of exception classes (a YAML list or comma-separated text) covers.
fn classes(at: &Cursor) -> Result<Vec<&'static str>, ScenarioError> {
    let mut names: Vec<(String, Cursor)> = Vec::new();
    match at.items() {
        Ok(items) => {
            for item in items {
                names.push((item.str()?.to_owned(), item));
            }
        }
        Err(_) => {
            let text = at.str().map_err(|_| {
                value_error(
                    at,
                    "expected a list of exception classes",
                    "write a YAML list of fully qualified class names",
                )
            })?;
            names.extend(text.split(',').filter(|s| !s.trim().is_empty()).map(|s| (s.trim().to_owned(), at.clone())));
        }
    }
    let mut set = [false; 4];
    for (name, item) in names {
        let Some(outcomes) = exceptions::outcomes(&name) else {
            let help = match exceptions::nearest(&name) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "resim knows which outcomes these classes (and their subclasses) stand for: {}; \
                     name the nearest superclass among them, or remove a class no simulated call throws",
                    exceptions::known()
                ),
            };
            return Err(value_error(&item, format!("resim does not know the exception class `{name}`"), help));
        };
        for o in outcomes {
            set[exceptions::ALL.iter().position(|a| *a == o).unwrap_or(0)] = true;
        }
    }
    Ok(exceptions::ALL.iter().zip(set).filter(|(_, on)| *on).map(|(o, _)| *o).collect())
}

fn list(v: &[&str]) -> Value {
    Value::from(v.iter().map(|s| Value::from(*s)).collect::<Vec<_>>())
}

/// Writes the policy `chain` (resilience4j's defaults first, the instance last)
/// configures on `target`.
pub fn emit(kind: Kind, chain: &[&Props], target: &Target, out: &mut Imported) -> Result<(), ScenarioError> {
    let mut e = Emit { chain, target, out };
    match kind {
        Kind::CircuitBreaker => circuit_breaker(&mut e),
        Kind::Retry => retry(&mut e),
        Kind::Bulkhead => bulkhead(&mut e),
        Kind::RateLimiter => rate_limiter(&mut e),
        Kind::TimeLimiter => e.field(
            "timeoutDuration",
            "timeout",
            "1s".into(),
            "TimeLimiterConfig timeoutDuration = Duration.ofSeconds(1)",
            duration,
        ),
        Kind::ThreadPoolBulkhead => Ok(()),
    }
}

const CB: &str = "CircuitBreakerConfig.";

fn circuit_breaker(e: &mut Emit) -> Result<(), ScenarioError> {
    // A layer that switches either on builds its own interval function, which the layers
    // above keep unless they set waitDurationInOpenState themselves: refuse it anywhere.
    let set: Vec<(&str, Cursor)> = ["enableExponentialBackoff", "enableRandomizedWait"]
        .into_iter()
        .flat_map(|java| e.chain.iter().filter_map(move |p| p.get(java).map(|at| (java, at.clone()))))
        .collect();
    for (java, at) in set {
        if at.bool()? {
            let Role::Refused(why, help) = OPEN_BACKOFF else { unreachable!("OPEN_BACKOFF is refused") };
            return Err(value_error(&at, format!("`{java}: true`: {why}"), help));
        }
        let origin = at.origin();
        if !e.out.ignored.iter().any(|i| i.origin == origin) {
            let reason = "false: the fixed waitDurationInOpenState, as resim's breaker waits".to_owned();
            e.out.ignored.push(super::Ignored { origin, reason });
        }
    }
    let window = match e.pick("slidingWindowType") {
        Some(at) => enum_value(&at, &["COUNT_BASED", "TIME_BASED"])?,
        None => "COUNT_BASED",
    };
    let w = if window == "COUNT_BASED" { "breaker.count_window" } else { "breaker.time_window" };
    let fields: [(&str, &str, Value, &str, Reader); 10] = [
        ("slidingWindowSize", "size", 100.into(), "DEFAULT_SLIDING_WINDOW_SIZE = 100", whole),
        ("minimumNumberOfCalls", "minimum_calls", 100.into(), "DEFAULT_MINIMUM_NUMBER_OF_CALLS = 100", whole),
        ("failureRateThreshold", "failure_rate", 50.into(), "DEFAULT_FAILURE_RATE_THRESHOLD = 50", number),
        ("slowCallRateThreshold", "slow_call_rate", 100.into(), "DEFAULT_SLOW_CALL_RATE_THRESHOLD = 100", number),
        (
            "slowCallDurationThreshold",
            "slow_call_duration",
            "60s".into(),
            "DEFAULT_SLOW_CALL_DURATION_THRESHOLD = 60 s",
            duration,
        ),
        (
            "permittedNumberOfCallsInHalfOpenState",
            "half_open_calls",
            10.into(),
            "DEFAULT_PERMITTED_CALLS_IN_HALF_OPEN_STATE = 10",
            whole,
        ),
        ("waitDurationInOpenState", "open_for", "60s".into(), "DEFAULT_WAIT_DURATION_IN_OPEN_STATE = 60 s", duration),
        (
            "automaticTransitionFromOpenToHalfOpenEnabled",
            "automatic_transition",
            false.into(),
            "automaticTransitionFromOpenToHalfOpenEnabled = false",
            flag,
        ),
        (
            "maxWaitDurationInHalfOpenState",
            "max_wait_in_half_open",
            "0s".into(),
            "DEFAULT_WAIT_DURATION_IN_HALF_OPEN_STATE = 0 (until the trial calls end)",
            duration,
        ),
        (
            "transitionToStateAfterWaitDuration",
            "after_max_wait",
            "open".into(),
            "DEFAULT_TRANSITION_TO_STATE_AFTER_WAIT_DURATION = OPEN",
            after_max_wait,
        ),
    ];
    for (java, key, default, cite, read) in fields {
        e.field(java, &format!("{w}.{key}"), default, &format!("{CB}{cite}"), read)?;
    }
    e.field(
        "initialState",
        "breaker.initial_state",
        "closed".into(),
        &format!("{CB}initialState = State.CLOSED"),
        initial_state,
    )?;
    let all = list(&exceptions::ALL);
    let record = format!("{CB}DEFAULT_RECORD_EXCEPTION_PREDICATE: every exception is a failure");
    e.field("recordExceptions", "breaker.record_exceptions", all, &record, |at| Ok(list(&classes(at)?)))?;
    let ignore = format!("{CB}DEFAULT_IGNORE_EXCEPTION_PREDICATE: no exception is ignored");
    e.field("ignoreExceptions", "breaker.ignore_exceptions", list(&[]), &ignore, |at| Ok(list(&classes(at)?)))?;
    e.per_instance("breaker");
    Ok(())
}

fn after_max_wait(at: &Cursor) -> Result<Value, ScenarioError> {
    let state = enum_value(at, &["OPEN", "CLOSED", "HALF_OPEN", "DISABLED", "FORCED_OPEN", "METRICS_ONLY"])?;
    match state {
        "OPEN" | "CLOSED" => Ok(state.to_ascii_lowercase().into()),
        _ => Err(value_error(
            at,
            format!("resilience4j moves on to OPEN or CLOSED only, not {state}"),
            "write OPEN or CLOSED",
        )),
    }
}

fn initial_state(at: &Cursor) -> Result<Value, ScenarioError> {
    let state = enum_value(at, &["CLOSED", "DISABLED", "FORCED_OPEN", "METRICS_ONLY", "OPEN", "HALF_OPEN"])?;
    if matches!(state, "OPEN" | "HALF_OPEN") {
        return Err(value_error(
            at,
            format!("resim's breaker cannot start {state}: it starts CLOSED, DISABLED, FORCED_OPEN or METRICS_ONLY"),
            "start it FORCED_OPEN to refuse every call, or CLOSED",
        ));
    }
    Ok(state.to_ascii_lowercase().into())
}

const RC: &str = "RetryConfig.";
const IF: &str = "IntervalFunction.";

fn retry(e: &mut Emit) -> Result<(), ScenarioError> {
    e.field("maxAttempts", "retry.max_attempts", 3.into(), &format!("{RC}DEFAULT_MAX_ATTEMPTS = 3"), whole)?;
    backoff(e)?;
    let every = format!("{RC}DEFAULT_RECORD_FAILURE_PREDICATE: every exception, CallNotPermittedException included");
    let (retried, origin) = match e.pick("retryExceptions") {
        Some(at) => (classes(&at)?, at.origin()),
        None => (exceptions::ALL.to_vec(), e.default_origin("retryExceptions", &every)),
    };
    let (ignored, origin) = match e.pick("ignoreExceptions") {
        Some(at) => (classes(&at)?, origin.noted(format!("less the ignoreExceptions at line {}", at.origin().line))),
        None => (Vec::new(), origin),
    };
    let on: Vec<&str> = retried.into_iter().filter(|o| !ignored.contains(o)).collect();
    e.set("retry.retry_on", list(&on), origin);
    Ok(())
}

/// The wait before each retry. The highest layer that sets `waitDuration` builds the
/// interval function (`configureRetryIntervalFunction`), with the exponential and
/// randomized switches, the multiplier and the maximum it has or inherits from its bases
/// (`ConfigUtils.mergePropertiesIfAny`), and its own `randomizedWaitFactor` (not merged).
fn backoff(e: &mut Emit) -> Result<(), ScenarioError> {
    let Some(top) = e.chain.iter().rposition(|p| p.get("waitDuration").is_some()) else {
        let o = e.default_origin("waitDuration", &format!("{RC}DEFAULT_WAIT_DURATION = 500 ms, fixed"));
        e.set("retry.backoff.fixed.delay", "500ms", o.clone());
        e.set("retry.jitter", "none", o);
        return Ok(());
    };
    let layer = e.chain[top];
    let wait_at = layer.get("waitDuration").expect("the layer sets waitDuration").clone();
    let wait = units::spring(&wait_at)?;
    let merged = |java: &str| e.chain[..=top].iter().rev().find_map(|p| p.get(java).cloned());
    let on = |c: Option<Cursor>| c.map(|c| c.bool()).transpose().map(|b| b == Some(true));
    let exponential = on(merged("enableExponentialBackoff"))?;
    let randomized = on(merged("enableRandomizedWait"))?;
    let (multiplier, cap) = (merged("exponentialBackoffMultiplier"), merged("exponentialMaxWaitDuration"));
    let factor = layer.get("randomizedWaitFactor").cloned();
    if exponential {
        e.set("retry.backoff.exponential.base", units::resim(wait), wait_at.origin());
        match multiplier {
            Some(at) => e.set("retry.backoff.exponential.multiplier", number(&at)?, at.origin()),
            None => {
                let o = e.default_origin("exponentialBackoffMultiplier", &format!("{IF}DEFAULT_MULTIPLIER = 1.5"));
                e.set("retry.backoff.exponential.multiplier", 1.5, o);
            }
        }
        match cap {
            Some(at) => e.set("retry.backoff.exponential.cap", duration(&at)?, at.origin()),
            None => {
                let o = e.default_origin(
                    "exponentialMaxWaitDuration",
                    "none: the wait grows without a cap (resim's ladder needs one: a year, never reached)",
                );
                e.set("retry.backoff.exponential.cap", units::resim(SimTime::from_secs(365 * 86_400)), o);
            }
        }
    } else {
        e.set("retry.backoff.fixed.delay", units::resim(wait), wait_at.origin());
    }
    if !randomized {
        let o = wait_at.origin().noted("enableRandomizedWait is false: the wait is not randomized");
        e.set("retry.jitter", "none", o);
        return Ok(());
    }
    let order = if exponential { "; resilience4j randomizes before it caps, resim after" } else { "" };
    match factor {
        Some(at) => {
            let v = number(&at)?;
            e.set(
                "retry.jitter.proportional.fraction",
                v,
                at.origin().noted(format!("uniform in [d(1-f), d(1+f)]{order}")),
            );
        }
        None => {
            let o = e.default_origin("randomizedWaitFactor", &format!("{IF}DEFAULT_RANDOMIZATION_FACTOR = 0.5{order}"));
            e.set("retry.jitter.proportional.fraction", 0.5, o);
        }
    }
    Ok(())
}

fn bulkhead(e: &mut Emit) -> Result<(), ScenarioError> {
    let cite = "BulkheadConfig.DEFAULT_MAX_CONCURRENT_CALLS = 25";
    e.field("maxConcurrentCalls", "bulkhead.max_concurrent", 25.into(), cite, whole)?;
    let cite = "BulkheadConfig.DEFAULT_MAX_WAIT_DURATION = 0 (refused at once)";
    e.field("maxWaitDuration", "bulkhead.max_wait", "0s".into(), cite, duration)?;
    let inst = e.chain.last().expect("an instance is its chain's last layer");
    let o = inst.at.origin().noted("SemaphoreBulkhead gives its permit back when the decorated call returns");
    e.set("bulkhead.release", "on_answer", o);
    e.per_instance("bulkhead");
    Ok(())
}

fn rate_limiter(e: &mut Emit) -> Result<(), ScenarioError> {
    let b = "RateLimiterConfig.Builder";
    e.field("limitForPeriod", "rate_limit.limit_for_period", 50.into(), &format!("{b} limitForPeriod = 50"), whole)?;
    let cite = format!("{b} limitRefreshPeriod = Duration.ofNanos(500)");
    e.field("limitRefreshPeriod", "rate_limit.limit_refresh_period", "500ns".into(), &cite, duration)?;
    let cite = format!("{b} timeoutDuration = Duration.ofSeconds(5)");
    e.field("timeoutDuration", "rate_limit.timeout_duration", "5s".into(), &cite, duration)?;
    e.per_instance("rate_limit");
    Ok(())
}
