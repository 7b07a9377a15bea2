//! Retries: which failures to try again, how long to wait, and how many retries an
//! edge may spend.
//!
//! **Why retries are dangerous.** A retry is the outermost policy on a call edge
//! (retry → breaker → limiter → timeout → bulkhead → call), so each attempt is a full
//! new call. Retries multiply through layers: if each of five services in a chain makes
//! up to 3 attempts, a failure at the bottom turns one user request into up to
//! 3^5 = 243 calls on the failing service, exactly when it can least take them. Retries
//! also keep an overloaded service overloaded after the trigger is gone (a metastable
//! failure), because the retries themselves are the excess load.
//!
//! **Why budgets.** A per-request attempt limit does not bound the total; a budget
//! shared by the edge does: with Finagle's or Envoy's 20%, a dead callee sees at most
//! about 1.2× its normal load from each layer instead of 3×. See [`TokenBudget`] and
//! [`ConcurrencyBudget`].
//!
//! **Why jitter.** Clients that failed together (one outage, one timeout) retry
//! together if they all wait the same `d`, and the retries arrive as a new spike.
//! Randomising the sleep spreads them out; Brooker's comparison ("Exponential Backoff
//! And Jitter", AWS Architecture Blog, 2015) found full jitter does the least total work.
//!
//! **Shape.** Everything here is a small clock-free state machine: the engine passes
//! `now` and a random stream, and nothing allocates after construction.
//! [`RetryConfig`] is the static policy (with presets for Envoy, Finagle, gRPC, the AWS
//! SDKs and resilience4j); [`RetryState`] is the per-request memory and answers each
//! attempt's outcome with a [`RetryDecision`]; [`Budget`] is shared by an edge;
//! [`HedgeConfig`] and [`LatencyWindow`] drive hedged requests.

mod adaptive;
mod backoff;
mod budget;
mod hedge;
mod hosts;
mod quota;
mod rotating;
mod throttle;
mod tps;

pub use adaptive::{AdaptiveConfig, Admit, ClientRateLimiter, CubicCalculator, RateBucket, RateClocker};
pub use backoff::{Backoff, BackoffState, Jitter, next_delay};
pub use budget::{Budget, BudgetConfig, ConcurrencyBudget, TOKEN_BUCKETS, TokenBudget};
pub use hedge::{EXTRA_LOAD_TTL, HedgeConfig, HedgeDelay, LatencyWindow};
pub use hosts::{AttemptedHosts, AvoidPrevious, Pushback, REMEMBERED_HOSTS};
pub use quota::{QuotaConfig, RetryQuota};
pub use rotating::RotatingHistogram;
pub use throttle::RetryThrottle;
pub use tps::{TPS_SLOTS, TpsBudget, TpsConfig};

use crate::engine::{SimTime, Stream};
use crate::metrics::Outcome;

/// Which failed outcomes are retried.
///
/// The default follows the seeds' decision matrix (S1:107-116) mapped to resim's
/// outcomes: `error` (5xx) yes, `timeout` yes, `rejected` (429, shed, bulkhead full) yes,
/// `short_circuited` no: the matrix does not list it, and retrying against an open
/// breaker on the same edge only burns attempts (S1:118-142 checks the breaker first).
/// `Ok` and `Degraded` are never retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryOn {
    /// Retry a failed downstream call (5xx).
    pub error: bool,
    /// Retry an attempt the caller stopped waiting for.
    pub timeout: bool,
    /// Retry a refusal: rate limited, shed, bulkhead or queue full.
    pub rejected: bool,
    /// Retry a refusal by an open circuit breaker.
    pub short_circuited: bool,
}

impl Default for RetryOn {
    fn default() -> Self {
        Self { error: true, timeout: true, rejected: true, short_circuited: false }
    }
}

impl RetryOn {
    /// Retry nothing.
    pub const NONE: RetryOn = RetryOn { error: false, timeout: false, rejected: false, short_circuited: false };
    /// Retry every failure, open-breaker refusals included.
    pub const ALL: RetryOn = RetryOn { error: true, timeout: true, rejected: true, short_circuited: true };

    /// True when an attempt that ended in `o` may be retried.
    pub fn retries(&self, o: Outcome) -> bool {
        match o {
            Outcome::Ok | Outcome::Degraded => false,
            Outcome::Error => self.error,
            Outcome::Timeout => self.timeout,
            Outcome::Rejected => self.rejected,
            Outcome::ShortCircuited => self.short_circuited,
        }
    }
}

/// Maximum total attempts (first one included) by the outcome of the latest attempt:
/// the "max attempts" column of the seeds' decision matrix, as an option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptLimits {
    /// After an error.
    pub error: u32,
    /// After a timeout.
    pub timeout: u32,
    /// After a rejection.
    pub rejected: u32,
    /// After a short-circuit.
    pub short_circuited: u32,
}

impl AttemptLimits {
    /// The seeds' matrix (S1:107-116): network timeout 5, 5xx 3, rate limited (429) 10;
    /// short-circuits are not in the matrix and get 1 (no retry). The matrix's
    /// "connection reset: 3" has no outcome of its own in resim; resets surface as
    /// errors, which also get 3. The matrix's per-row backoff kinds are not modelled:
    /// one [`Backoff`] serves all outcomes.
    pub const fn seeds_matrix() -> Self {
        Self { error: 3, timeout: 5, rejected: 10, short_circuited: 1 }
    }

    /// The limit after an attempt that ended in `o` (1 for successes).
    pub fn get(&self, o: Outcome) -> u32 {
        match o {
            Outcome::Ok | Outcome::Degraded => 1,
            Outcome::Error => self.error,
            Outcome::Timeout => self.timeout,
            Outcome::Rejected => self.rejected,
            Outcome::ShortCircuited => self.short_circuited,
        }
    }
}

/// A retry policy for one call edge.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryConfig {
    /// Total attempts including the first (1 = no retries).
    pub max_attempts: u32,
    /// When set, replaces `max_attempts` with a limit per outcome of the latest attempt.
    pub per_outcome: Option<AttemptLimits>,
    /// The un-jittered ladder.
    pub backoff: Backoff,
    /// How each rung becomes a sleep.
    pub jitter: Jitter,
    /// Which outcomes are retried.
    pub retry_on: RetryOn,
    /// The edge's shared retry budget, if any.
    pub budget: Option<BudgetConfig>,
    /// Send retries (and hedges) to other hosts than earlier attempts (Envoy's
    /// `previous_hosts` predicate); `None`, the default of every preset, lets the
    /// balancer pick as for a first attempt.
    pub previous_hosts: Option<AvoidPrevious>,
}

impl Default for RetryConfig {
    /// The seeds' `RetryPolicy` (S2:314-376): 3 attempts, 0.1 s × 2 capped at 10 s, full
    /// jitter; the default [`RetryOn`]; no budget (the seeds have none; the presets do).
    fn default() -> Self {
        Self {
            max_attempts: 3,
            per_outcome: None,
            backoff: Backoff::Exponential {
                base: SimTime::from_millis(100),
                multiplier: 2.0,
                cap: SimTime::from_secs(10),
            },
            jitter: Jitter::Full,
            retry_on: RetryOn::default(),
            budget: None,
            previous_hosts: None,
        }
    }
}

impl RetryConfig {
    /// Envoy's route retry policy with its documented defaults.
    ///
    /// - `num_retries` defaults to 1, so 2 attempts.
    /// - `retry_back_off`: `base_interval` 25 ms, `max_interval` 10 × base = 250 ms,
    ///   "fully jittered exponential": `U(0, min(base·2^(k−1), max))`, as in
    ///   `JitteredExponentialBackOffStrategy` (current source). The router docs still
    ///   describe an older ladder, `U(0, (2^k − 1)·base)` (0–24, 0–74, 0–174 ms); the
    ///   two agree on the first retry.
    /// - `retry_on` has no default in Envoy (no `retry_on`, no retries); this takes the
    ///   common `5xx,reset,connect-failure`, which in resim covers `error` (a 5xx, a
    ///   reset or refused connection), `timeout` (a per-try timeout, which Envoy retries
    ///   under `5xx`, not `reset`: `retry_state_impl.cc`) and `rejected` (an upstream 503).
    /// - Budget: `retry_budget` with its defaults, 20% of active requests, at least 3
    ///   ([`BudgetConfig::envoy`]). Without a `retry_budget` Envoy still caps concurrent
    ///   retries per cluster with the circuit-breaker default `max_retries: 3`, which is
    ///   `Concurrency { percent: 0.0, min_concurrency: 3 }`.
    pub fn envoy() -> Self {
        Self {
            max_attempts: 2,
            per_outcome: None,
            backoff: Backoff::Exponential {
                base: SimTime::from_millis(25),
                multiplier: 2.0,
                cap: SimTime::from_millis(250),
            },
            jitter: Jitter::Full,
            retry_on: RetryOn { error: true, timeout: true, rejected: true, short_circuited: false },
            budget: Some(BudgetConfig::envoy()),
            previous_hosts: None,
        }
    }

    /// Finagle's automatic requeues with its default budget.
    ///
    /// - Budget: `RetryBudget()` = ttl 10 s, 10 retries/s minimum, 20% of requests
    ///   ([`BudgetConfig::finagle`]).
    /// - Backoff: none. Finagle's default requeue backoff is `Backoff.constant(0)`
    ///   (`Retries.Budget.emptyBackoffSchedule`); resim keeps it, so requeues are
    ///   immediate and only the budget holds them back.
    /// - Retried outcomes: only `rejected`. Finagle requeues only failures known to be
    ///   safe (the request was never written, or the server NACKed it); application
    ///   errors and timeouts need a user `RetryPolicy`, whose default is `Never`.
    /// - Attempts: Finagle has no fixed count; a request may requeue up to 20% of the
    ///   budget's current balance (`MaxRequeuesPerReq = 0.2`). With the default reserve
    ///   of 100 that is 20 requeues, hence 21 attempts; the shared budget is the limit
    ///   that binds under load. This is an approximation.
    pub fn finagle() -> Self {
        Self {
            max_attempts: 21,
            per_outcome: None,
            backoff: Backoff::None,
            jitter: Jitter::None,
            retry_on: RetryOn { error: false, timeout: false, rejected: true, short_circuited: false },
            budget: Some(BudgetConfig::finagle()),
            previous_hosts: None,
        }
    }

    /// A gRPC `retryPolicy` (gRFC A6).
    ///
    /// gRPC has no default retry policy (retries need a service config), so this uses
    /// the values of A6's example: `maxAttempts` 4 (gRPC treats values above 5 as 5),
    /// `initialBackoff` 0.1 s, `maxBackoff` 1 s, `backoffMultiplier` 2, sleeping
    /// `random(0, min(initialBackoff·backoffMultiplier^(n−1), maxBackoff))` before retry
    /// `n`; `retryableStatusCodes: [UNAVAILABLE]`, which resim reads as `rejected` only
    /// (set `error` too if crashed instances should count as UNAVAILABLE). No budget:
    /// gRPC's retry throttling ([`BudgetConfig::Throttling`]) exists only when the
    /// service config sets `retryThrottling`.
    pub fn grpc() -> Self {
        Self {
            max_attempts: 4,
            per_outcome: None,
            backoff: Backoff::Exponential {
                base: SimTime::from_millis(100),
                multiplier: 2.0,
                cap: SimTime::from_secs(1),
            },
            jitter: Jitter::Full,
            retry_on: RetryOn { error: false, timeout: false, rejected: true, short_circuited: false },
            budget: None,
            previous_hosts: None,
        }
    }

    /// The AWS SDKs' `standard` retry mode.
    ///
    /// - 3 attempts (AWS SDKs and Tools Reference Guide, "Retry behavior").
    /// - Sleep `min(b·r^(k−1), 20 s)` before retry `k`, `b = U(0, 1)` s, `r = 2`: full
    ///   jitter on 1 s × 2 capped at 20 s. This is botocore's and the .NET SDK's
    ///   `StandardRetryPolicy`; other SDKs may use a smaller base (the Java SDK v2 is
    ///   said to use 100 ms, not checked here).
    /// - Retried: transient errors (5xx, timeouts, connection failures) and throttling,
    ///   so `error`, `timeout` and `rejected`.
    /// - The standard mode's retry quota ([`QuotaConfig::standard`]: 500 units, 5 per
    ///   retry, 10 per timeout retry, refunded on success).
    pub fn aws_sdk() -> Self {
        Self {
            max_attempts: 3,
            per_outcome: None,
            backoff: Backoff::Exponential { base: SimTime::from_secs(1), multiplier: 2.0, cap: SimTime::from_secs(20) },
            jitter: Jitter::Full,
            retry_on: RetryOn { error: true, timeout: true, rejected: true, short_circuited: false },
            budget: Some(BudgetConfig::Quota(QuotaConfig::standard())),
            previous_hosts: None,
        }
    }

    /// Polly v8's `RetryStrategyOptions` defaults: `MaxRetryAttempts` 3 (4 attempts),
    /// `Delay` 2 s, `BackoffType.Constant`, `UseJitter` false, every exception handled.
    pub fn polly() -> Self {
        Self {
            max_attempts: 4,
            per_outcome: None,
            backoff: Backoff::Fixed { delay: SimTime::from_secs(2) },
            jitter: Jitter::None,
            retry_on: RetryOn::ALL,
            budget: None,
            previous_hosts: None,
        }
    }

    /// resilience4j's `RetryConfig.ofDefaults()`: `maxAttempts` 3, `waitDuration` 500 ms
    /// fixed, no randomisation, no budget. Its default retries every exception,
    /// `CallNotPermittedException` (an open breaker) included, so this retries all
    /// failures, `short_circuited` too; override `retry_on` to stop that.
    pub fn resilience4j() -> Self {
        Self {
            max_attempts: 3,
            per_outcome: None,
            backoff: Backoff::Fixed { delay: SimTime::from_millis(500) },
            jitter: Jitter::None,
            retry_on: RetryOn::ALL,
            budget: None,
            previous_hosts: None,
        }
    }

    /// tower 0.5.3's `retry` middleware with its budget, as the testbed deploys it.
    ///
    /// tower's `Retry` has no attempt limit, backoff or retry rule of its own: its
    /// `Policy::retry` decides each one. The testbed's policy, and this preset, do what
    /// tower's budget docs show (`src/retry/budget/mod.rs` lines 42-65), plus a count:
    /// - Budget: `TpsBudget::default()`, ttl 10 s, 10 retries/s, 20% (`TpsConfig`'s
    ///   default); a success deposits, a retry withdraws, an overdrawn budget ends the
    ///   call with its failure.
    /// - Attempts: 3, the first included; override with `max_attempts`. tower has no
    ///   default, and without a count only the budget would stop a request.
    /// - Backoff: none, the example's `future::ready(())`: the retry goes at once.
    ///   tower's `ExponentialBackoff` is opt-in: `ExponentialBackoffMaker::new(min, max,
    ///   jitter)` is [`Backoff::Exponential`] from `min`, ×2, capped at `max`, with
    ///   [`Jitter::Additive`] of ratio `jitter` (its `Default`: 50 ms, no cap, 0.99).
    /// - Retried: `error`, `timeout` and `rejected` (a 5xx, a `tower::timeout` elapsed,
    ///   a `load_shed` overload); an open breaker's refusal is not retried.
    pub fn tower() -> Self {
        Self {
            max_attempts: 3,
            per_outcome: None,
            backoff: Backoff::None,
            jitter: Jitter::None,
            retry_on: RetryOn::default(),
            budget: Some(BudgetConfig::Tps(TpsConfig::default())),
            previous_hosts: None,
        }
    }

    /// Total attempts allowed when the latest attempt ended in `o`.
    pub fn max_attempts_for(&self, o: Outcome) -> u32 {
        self.per_outcome.map_or(self.max_attempts, |l| l.get(o))
    }

    /// True when, after `attempts_made` attempts, the latest ending in `o`, another
    /// attempt is allowed by the policy (the budget is asked separately).
    pub fn should_retry(&self, attempts_made: u32, o: Outcome) -> bool {
        self.retry_on.retries(o) && attempts_made < self.max_attempts_for(o)
    }

    /// P(a request succeeds) when each attempt succeeds independently with
    /// `p_success` and every failure is retried: `1 − (1−p)^max_attempts`.
    pub fn success_probability(&self, p_success: f64) -> f64 {
        1.0 - (1.0 - p_success).powf(f64::from(self.max_attempts.max(1)))
    }

    /// Expected attempts per request under the same assumptions:
    /// `Σ_{k=0}^{n−1} (1−p)^k`.
    pub fn expected_attempts(&self, p_success: f64) -> f64 {
        (0..self.max_attempts.max(1)).map(|k| (1.0 - p_success).powf(f64::from(k))).sum()
    }

    /// Expected total backoff per request in seconds under the same assumptions:
    /// retry `k` happens with probability `(1−p)^k` and sleeps `delay(k)` times the
    /// jitter's mean factor. `None` for decorrelated jitter (path dependent).
    pub fn expected_backoff_secs(&self, p_success: f64) -> Option<f64> {
        let factor = self.jitter.mean_factor()?;
        let q = 1.0 - p_success;
        Some(
            (1..self.max_attempts.max(1))
                .map(|k| q.powf(f64::from(k)) * self.backoff.delay(k).as_secs_f64() * factor)
                .sum(),
        )
    }
}

/// Why a request stopped retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GiveUpReason {
    /// The outcome is not retryable under the policy.
    NotRetryable,
    /// No attempts left.
    AttemptsExhausted,
    /// The edge's retry budget refused.
    BudgetExhausted,
    /// The server's pushback said not to retry (gRFC A6).
    PushedBack,
}

/// What to do after an attempt ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// The attempt succeeded: the request is done.
    Done,
    /// Start attempt number `attempt` (2 = the first retry) after sleeping `delay`.
    Retry {
        /// The attempt about to be made, counting the first as 1.
        attempt: u32,
        /// Backoff before it.
        delay: SimTime,
    },
    /// Stop; the request ends with the latest attempt's outcome.
    GiveUp(GiveUpReason),
}

/// Per-request retry memory: attempts started so far, the backoff state, the hosts
/// the attempts went to and the latest server pushback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryState {
    attempts: u32,
    backoff: BackoffState,
    /// Quota units the latest granted retry cost (0: none, or a budget without costs).
    retry_cost: u32,
    /// Where the attempts went, for [`RetryConfig::previous_hosts`].
    hosts: AttemptedHosts,
    /// What the server said when it refused the latest attempt, read (and cleared) by
    /// the next [`RetryState::on_outcome`]: the least sleep before the retry, `MAX` for
    /// "do not retry". Zero is no pushback: the sleep is at least zero anyway. One
    /// `SimTime` instead of an `Option<Pushback>` keeps every call slot 8 bytes smaller.
    pushback: SimTime,
}

impl Default for RetryState {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryState {
    /// The state of a request whose first attempt has just started.
    pub fn new() -> Self {
        Self {
            attempts: 1,
            backoff: BackoffState::new(),
            retry_cost: 0,
            hosts: AttemptedHosts::EMPTY,
            pushback: SimTime::ZERO,
        }
    }

    /// The hosts this request's attempts were sent to.
    pub fn attempted_hosts(&self) -> &AttemptedHosts {
        &self.hosts
    }

    /// An attempt or a hedge of this request was sent to `host`.
    pub fn host_attempted(&mut self, host: u32) {
        self.hosts.record(host);
    }

    /// The server refused the current attempt with a pushback, for the next decision.
    pub fn pushed_back(&mut self, p: Pushback) {
        self.pushback = match p {
            Pushback::After(x) => x.min(SimTime(u64::MAX - 1)),
            Pushback::Never => SimTime::MAX,
        };
    }

    /// Attempts started so far, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// What the latest granted retry cost the AWS retry quota; `None` before any retry
    /// (or with a budget without costs). A success refunds it ([`Budget::on_success`]).
    pub fn last_retry_cost(&self) -> Option<u32> {
        (self.retry_cost > 0).then_some(self.retry_cost)
    }

    /// Decides what follows an attempt that ended in `outcome` at `now`.
    ///
    /// In order: success → [`RetryDecision::Done`]; not retryable → give up; the
    /// budget counts the failure ([`Budget::on_retryable_failure`]: gRPC's throttle takes
    /// its token here, even for the last attempt); no attempts left → give up; then the
    /// `budget` (if any) is asked, with the edge's `active_requests`; only then is the
    /// sleep drawn from `rng`. When a concurrency budget grants a retry, the engine must
    /// call [`Budget::on_retry_end`] when that retry attempt ends.
    ///
    /// A server pushback ([`RetryState::pushed_back`]) on the attempt applies after the
    /// attempt limit (A6: no retry beyond `maxAttempts` whatever the server says) and
    /// the throttle: `Never` gives up before the budget is asked; `After(x)` makes the
    /// sleep at least `x`. gRPC sleeps exactly `x` instead of its backoff (and restarts
    /// the ladder afterwards); resim keeps the larger of the two, as "the caller's retry
    /// waits at least X", so a pushback never shortens a backoff.
    pub fn on_outcome(
        &mut self,
        cfg: &RetryConfig,
        outcome: Outcome,
        budget: Option<&mut Budget>,
        now: SimTime,
        active_requests: u32,
        rng: &mut Stream,
    ) -> RetryDecision {
        let pushback = std::mem::replace(&mut self.pushback, SimTime::ZERO);
        if outcome.is_success() {
            return RetryDecision::Done;
        }
        if !cfg.retry_on.retries(outcome) {
            return RetryDecision::GiveUp(GiveUpReason::NotRetryable);
        }
        let mut budget = budget;
        let throttled = budget.as_mut().is_some_and(|b| !b.on_retryable_failure());
        if self.attempts >= cfg.max_attempts_for(outcome) {
            return RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted);
        }
        if throttled {
            return RetryDecision::GiveUp(GiveUpReason::BudgetExhausted);
        }
        if pushback == SimTime::MAX {
            return RetryDecision::GiveUp(GiveUpReason::PushedBack);
        }
        if let Some(b) = budget {
            match b.try_retry(now, active_requests, outcome) {
                Some(cost) => self.retry_cost = cost,
                None => return RetryDecision::GiveUp(GiveUpReason::BudgetExhausted),
            }
        }
        let delay = next_delay(&cfg.backoff, &cfg.jitter, self.attempts, &mut self.backoff, rng).max(pushback);
        self.attempts += 1;
        RetryDecision::Retry { attempt: self.attempts, delay }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    /// Tolerance for closed-form sums (exact arithmetic up to float rounding).
    const EXACT: f64 = 1e-12;

    fn stream() -> Stream {
        RngStreams::new(42, 0).stream("test")
    }

    fn s2_policy(max_attempts: u32, initial: f64, base: f64) -> RetryConfig {
        RetryConfig {
            max_attempts,
            backoff: Backoff::Exponential {
                base: SimTime::from_secs_f64(initial),
                multiplier: base,
                cap: SimTime::from_secs(10),
            },
            ..RetryConfig::default()
        }
    }

    #[test]
    fn retryable_matrix() {
        let on = RetryOn::default();
        let expect = [
            (Outcome::Ok, false),
            (Outcome::Degraded, false),
            (Outcome::Error, true),
            (Outcome::Timeout, true),
            (Outcome::Rejected, true),
            (Outcome::ShortCircuited, false),
        ];
        for (o, r) in expect {
            assert_eq!(on.retries(o), r, "{o:?}");
            assert!(!RetryOn::NONE.retries(o));
            assert_eq!(RetryOn::ALL.retries(o), !o.is_success());
        }
        let m = AttemptLimits::seeds_matrix();
        let cfg = RetryConfig { per_outcome: Some(m), ..RetryConfig::default() };
        assert_eq!(cfg.max_attempts_for(Outcome::Timeout), 5);
        assert_eq!(cfg.max_attempts_for(Outcome::Error), 3);
        assert_eq!(cfg.max_attempts_for(Outcome::Rejected), 10);
        assert_eq!(cfg.max_attempts_for(Outcome::ShortCircuited), 1);
        assert!(cfg.should_retry(4, Outcome::Timeout) && !cfg.should_retry(5, Outcome::Timeout));
        assert!(cfg.should_retry(2, Outcome::Error) && !cfg.should_retry(3, Outcome::Error));
        assert!(cfg.should_retry(9, Outcome::Rejected));
        assert!(!cfg.should_retry(1, Outcome::ShortCircuited) && !cfg.should_retry(1, Outcome::Ok));
    }

    #[test]
    fn s2_success_and_attempts_vectors() {
        // Vectors 44 and 45, p = 0.3.
        let one = s2_policy(1, 0.1, 2.0);
        let three = s2_policy(3, 0.1, 2.0);
        let five = s2_policy(5, 0.05, 1.5);
        assert!((one.success_probability(0.3) - 0.3).abs() < EXACT);
        assert!((three.success_probability(0.3) - 0.657).abs() < EXACT);
        assert!((five.success_probability(0.3) - 0.83193).abs() < EXACT);
        assert!((one.expected_attempts(0.3) - 1.0).abs() < EXACT);
        assert!((three.expected_attempts(0.3) - 2.19).abs() < EXACT);
        assert!((five.expected_attempts(0.3) - 2.7731).abs() < EXACT);
    }

    #[test]
    fn s2_expected_backoff_is_analytic_from_delay() {
        // Vector 46, full jitter: E = Σ_k 0.7^k · delay(k) / 2.
        let fixed = s2_policy(3, 0.5, 1.0);
        let exponential = s2_policy(3, 0.1, 2.0);
        let aggressive = s2_policy(5, 0.05, 1.5);
        let no_retry = s2_policy(1, 0.1, 2.0);
        let e = |c: &RetryConfig| c.expected_backoff_secs(0.3).unwrap_or(f64::NAN);
        assert!((e(&fixed) - 0.2975).abs() < EXACT, "{}", e(&fixed));
        assert!((e(&exponential) - 0.084).abs() < EXACT, "{}", e(&exponential));
        // 0.7·0.025 + 0.49·0.0375 + 0.343·0.05625 + 0.2401·0.084375 = 0.07542...
        assert!((e(&aggressive) - 0.0754).abs() < 1e-4, "{}", e(&aggressive));
        assert_eq!(e(&no_retry), 0.0);
        // Without jitter, twice as much: 0.595, 0.168, 0.1509.
        let plain = |c: RetryConfig| RetryConfig { jitter: Jitter::None, ..c }.expected_backoff_secs(0.3);
        assert!(plain(fixed).is_some_and(|x| (x - 0.595).abs() < EXACT));
        assert!(plain(exponential).is_some_and(|x| (x - 0.168).abs() < EXACT));
        assert!(plain(aggressive).is_some_and(|x| (x - 0.1509).abs() < 1e-4));
        let decorrelated = RetryConfig { jitter: Jitter::Decorrelated, ..exponential };
        assert_eq!(decorrelated.expected_backoff_secs(0.3), None);
    }

    #[test]
    fn state_walks_attempts_and_stops() {
        let cfg = RetryConfig { jitter: Jitter::None, ..RetryConfig::default() };
        let mut rng = stream();
        let mut st = RetryState::new();
        let d1 = st.on_outcome(&cfg, Outcome::Error, None, SimTime::ZERO, 0, &mut rng);
        assert_eq!(d1, RetryDecision::Retry { attempt: 2, delay: SimTime::from_millis(100) });
        let d2 = st.on_outcome(&cfg, Outcome::Timeout, None, SimTime::ZERO, 0, &mut rng);
        assert_eq!(d2, RetryDecision::Retry { attempt: 3, delay: SimTime::from_millis(200) });
        let d3 = st.on_outcome(&cfg, Outcome::Error, None, SimTime::ZERO, 0, &mut rng);
        assert_eq!(d3, RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted));
        assert_eq!(st.attempts(), 3);

        let mut st = RetryState::new();
        assert_eq!(st.on_outcome(&cfg, Outcome::Degraded, None, SimTime::ZERO, 0, &mut rng), RetryDecision::Done);
        let short = st.on_outcome(&cfg, Outcome::ShortCircuited, None, SimTime::ZERO, 0, &mut rng);
        assert_eq!(short, RetryDecision::GiveUp(GiveUpReason::NotRetryable));
    }

    #[test]
    fn state_consults_the_budget() {
        let cfg = RetryConfig::envoy();
        let mut budget = Budget::new(&BudgetConfig::Concurrency { percent: 0.2, min_concurrency: 1 });
        let mut rng = stream();
        let (mut a, mut b) = (RetryState::new(), RetryState::new());
        let first = a.on_outcome(&cfg, Outcome::Error, Some(&mut budget), SimTime::ZERO, 2, &mut rng);
        assert!(matches!(first, RetryDecision::Retry { attempt: 2, delay } if delay <= SimTime::from_millis(25)));
        let second = b.on_outcome(&cfg, Outcome::Error, Some(&mut budget), SimTime::ZERO, 2, &mut rng);
        assert_eq!(second, RetryDecision::GiveUp(GiveUpReason::BudgetExhausted));
        budget.on_retry_end();
        let again = b.on_outcome(&cfg, Outcome::Error, Some(&mut budget), SimTime::ZERO, 2, &mut rng);
        assert!(matches!(again, RetryDecision::Retry { attempt: 2, .. }));
    }

    #[test]
    fn presets_match_their_sources() {
        let envoy = RetryConfig::envoy();
        assert_eq!(envoy.max_attempts, 2);
        assert_eq!(
            (1..=5).map(|k| envoy.backoff.delay(k)).collect::<Vec<_>>(),
            [25, 50, 100, 200, 250].map(SimTime::from_millis)
        );
        assert_eq!(envoy.budget, Some(BudgetConfig::Concurrency { percent: 0.2, min_concurrency: 3 }));

        let finagle = RetryConfig::finagle();
        assert_eq!(finagle.backoff.delay(3), SimTime::ZERO);
        assert_eq!(
            finagle.budget,
            Some(BudgetConfig::Ratio { ratio: 0.2, min_per_s: 10.0, ttl: SimTime::from_secs(10) })
        );
        assert!(finagle.retry_on.retries(Outcome::Rejected) && !finagle.retry_on.retries(Outcome::Error));

        let grpc = RetryConfig::grpc();
        assert_eq!(grpc.max_attempts, 4);
        assert_eq!(
            (1..=5).map(|k| grpc.backoff.delay(k)).collect::<Vec<_>>(),
            [100, 200, 400, 800, 1000].map(SimTime::from_millis)
        );

        let aws = RetryConfig::aws_sdk();
        assert_eq!(aws.max_attempts, 3);
        assert_eq!(aws.budget, Some(BudgetConfig::Quota(QuotaConfig::standard())));
        assert_eq!(aws.backoff.delay(1), SimTime::from_secs(1));
        assert_eq!(aws.backoff.delay(6), SimTime::from_secs(20));

        let r4j = RetryConfig::resilience4j();
        assert_eq!((r4j.max_attempts, r4j.backoff.delay(2), r4j.jitter), (3, SimTime::from_millis(500), Jitter::None));
        assert!(r4j.retry_on.retries(Outcome::ShortCircuited));
    }

    #[test]
    fn a_pushback_makes_the_next_sleep_at_least_its_delay_or_stops_retries() {
        let ms = SimTime::from_millis;
        let fixed = |d| RetryConfig {
            backoff: Backoff::Fixed { delay: ms(d) },
            jitter: Jitter::None,
            ..RetryConfig::default()
        };
        let mut rng = stream();
        // Backoff 100 ms, pushback 1 s: the retry waits the pushback.
        let mut st = RetryState::new();
        st.pushed_back(Pushback::After(ms(1000)));
        let d = st.on_outcome(&fixed(100), Outcome::Rejected, None, SimTime::ZERO, 1, &mut rng);
        assert_eq!(d, RetryDecision::Retry { attempt: 2, delay: ms(1000) });
        // Read once: the next failure without pushback sleeps the plain backoff.
        let d = st.on_outcome(&fixed(100), Outcome::Rejected, None, SimTime::ZERO, 1, &mut rng);
        assert_eq!(d, RetryDecision::Retry { attempt: 3, delay: ms(100) });
        // Backoff 2 s, pushback 1 s: "at least" keeps the longer backoff.
        let mut st = RetryState::new();
        st.pushed_back(Pushback::After(ms(1000)));
        let d = st.on_outcome(&fixed(2000), Outcome::Rejected, None, SimTime::ZERO, 1, &mut rng);
        assert_eq!(d, RetryDecision::Retry { attempt: 2, delay: ms(2000) });
        // "Do not retry": no retry, and the budget is not asked (its balance is untouched).
        let cfg = RetryConfig { budget: Some(BudgetConfig::Quota(QuotaConfig::standard())), ..fixed(100) };
        let mut budget = Budget::new(&BudgetConfig::Quota(QuotaConfig::standard()));
        let before = budget.clone();
        let mut st = RetryState::new();
        st.pushed_back(Pushback::Never);
        let d = st.on_outcome(&cfg, Outcome::Rejected, Some(&mut budget), SimTime::ZERO, 1, &mut rng);
        assert_eq!(d, RetryDecision::GiveUp(GiveUpReason::PushedBack));
        assert_eq!(budget, before);
        // A6: attempts exhausted, no retry whatever the server says.
        let mut st = RetryState::new();
        st.pushed_back(Pushback::After(ms(1)));
        let once = RetryConfig { max_attempts: 1, ..fixed(100) };
        let d = st.on_outcome(&once, Outcome::Rejected, None, SimTime::ZERO, 1, &mut rng);
        assert_eq!(d, RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted));
    }
}
