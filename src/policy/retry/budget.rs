//! Retry budgets: a cap on retries shared by all requests on one edge.
//!
//! A per-request attempt limit cannot stop a retry storm: when the callee is down, every
//! request uses all its attempts and the load multiplies by `max_attempts`. A budget
//! bounds retries by the traffic itself, so that a failing callee sees at most
//! `1 + ratio` times its normal load, whatever each request would like to do. Two
//! styles, after the two systems that made budgets common:
//!
//! - [`TokenBudget`], Finagle's `RetryBudget(ttl, minRetriesPerSec, percentCanRetry)`:
//!   each request deposits `ratio` of a token, each retry withdraws one, both expire
//!   after `ttl`, plus a floor of `min_per_s · ttl` tokens for quiet clients.
//! - [`ConcurrencyBudget`], Envoy's `retry_budget`: retries in flight may not exceed
//!   `max(min_retry_concurrency, budget_percent · active requests)`.
//!
//! Two more limits are not budgets of traffic but balances of outcomes, and share the
//! [`Budget`] interface because the engine asks them at the same moment:
//!
//! - [`RetryThrottle`], gRPC's `retryThrottling`: failures take a token, successes give
//!   back a fraction, no retries while half the tokens are gone.
//! - [`RetryQuota`], the AWS SDKs' retry quota: retries cost 5 (timeouts 10) of 500
//!   units, successes refund.
//!
//! And tower's [`TpsBudget`], Finagle's budget in integer tokens over a drifting window,
//! into which successes (not requests) deposit.

use super::quota::{QuotaConfig, RetryQuota};
use super::throttle::RetryThrottle;
use super::tps::{TpsBudget, TpsConfig};
use crate::engine::SimTime;
use crate::metrics::Outcome;

/// Slack for float comparisons of budgets that are sums of `ratio`-sized deposits
/// (0.1 · 3 is not exactly 0.3).
const EPS: f64 = 1e-9;

/// Which retry budget an edge uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BudgetConfig {
    /// Finagle style ([`TokenBudget`]).
    Ratio {
        /// Retries allowed per request (0.2 = 20%, Finagle's `percentCanRetry`).
        ratio: f64,
        /// Retries per second allowed on top, for clients with little traffic.
        min_per_s: f64,
        /// How long deposits and withdrawals count.
        ttl: SimTime,
    },
    /// Envoy style ([`ConcurrencyBudget`]).
    Concurrency {
        /// Retries in flight per active request, as a fraction (0.2 = Envoy's
        /// `budget_percent: 20`).
        percent: f64,
        /// Retries in flight always allowed (Envoy's `min_retry_concurrency`).
        min_concurrency: u32,
    },
    /// gRPC style ([`RetryThrottle`]).
    Throttling {
        /// Tokens at start and at most (A6's `maxTokens`, in (0, 1000]).
        max_tokens: f64,
        /// Tokens given back per success (A6's `tokenRatio`, three decimals).
        token_ratio: f64,
    },
    /// AWS SDK style ([`RetryQuota`]).
    Quota(QuotaConfig),
    /// tower style ([`TpsBudget`]).
    Tps(TpsConfig),
}

impl BudgetConfig {
    /// Finagle's default budget: 20% of requests, plus 10 retries/s, over 10 s
    /// (`RetryBudget()`; "Retry Budgets", Finagle blog, 2016-02-08).
    pub fn finagle() -> Self {
        BudgetConfig::Ratio { ratio: 0.2, min_per_s: 10.0, ttl: SimTime::from_secs(10) }
    }

    /// Envoy's `retry_budget` defaults: `budget_percent` 20%, `min_retry_concurrency` 3
    /// (envoy.config.cluster.v3.CircuitBreakers.Thresholds.RetryBudget).
    pub fn envoy() -> Self {
        BudgetConfig::Concurrency { percent: 0.2, min_concurrency: 3 }
    }
}

/// Number of buckets a [`TokenBudget`] splits its `ttl` into.
pub const TOKEN_BUCKETS: usize = 10;

/// Finagle-style retry budget over a sliding window of `ttl`.
///
/// `balance = ratio·deposits + min_per_s·ttl − withdrawals`, both counts taken over the
/// window. The window is [`TOKEN_BUCKETS`] buckets of `ttl / TOKEN_BUCKETS` each, so an
/// event is forgotten between `0.9·ttl` and `ttl` after it happened (Finagle's and
/// tower's budgets are approximate in the same way). Memory is fixed; `now` must not
/// decrease between calls.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenBudget {
    ratio: f64,
    reserve: f64,
    width: u64,
    /// The epoch (`now / width`) of the latest write; bucket `e % TOKEN_BUCKETS` holds
    /// epoch `e` for the `TOKEN_BUCKETS` epochs up to it.
    head: u64,
    deposits: [u32; TOKEN_BUCKETS],
    withdrawals: [u32; TOKEN_BUCKETS],
}

impl TokenBudget {
    /// A budget allowing `ratio` retries per request plus `min_per_s` retries per second,
    /// both over a window of `ttl`. Negative or NaN rates count as zero.
    pub fn new(ratio: f64, min_per_s: f64, ttl: SimTime) -> Self {
        let nonneg = |x: f64| if x > 0.0 { x } else { 0.0 };
        Self {
            ratio: nonneg(ratio),
            reserve: nonneg(min_per_s) * ttl.as_secs_f64(),
            width: (ttl.0 / TOKEN_BUCKETS as u64).max(1),
            head: 0,
            deposits: [0; TOKEN_BUCKETS],
            withdrawals: [0; TOKEN_BUCKETS],
        }
    }

    /// Records one request (call it once per logical request, not per attempt).
    pub fn deposit(&mut self, now: SimTime) {
        let i = self.advance(now);
        self.deposits[i] = self.deposits[i].saturating_add(1);
    }

    /// Takes one retry token if the balance allows it (balance ≥ 1).
    pub fn try_withdraw(&mut self, now: SimTime) -> bool {
        if self.balance(now) + EPS < 1.0 {
            return false;
        }
        let i = self.advance(now);
        self.withdrawals[i] = self.withdrawals[i].saturating_add(1);
        true
    }

    /// Retries available now (may be fractional, and negative after a burst of
    /// withdrawals once deposits expire).
    pub fn balance(&self, now: SimTime) -> f64 {
        let n = TOKEN_BUCKETS as u64;
        let epoch = (now.0 / self.width).max(self.head);
        let (mut d, mut w) = (0u64, 0u64);
        for i in 0..TOKEN_BUCKETS {
            // The epoch bucket `i` last held: the latest e ≤ head with e % n == i.
            let back = (self.head % n + n - i as u64) % n;
            let live = self.head.checked_sub(back).is_some_and(|e| epoch - e < n);
            if live {
                d += u64::from(self.deposits[i]);
                w += u64::from(self.withdrawals[i]);
            }
        }
        self.ratio * d as f64 + self.reserve - w as f64
    }

    /// Moves the head to `now`, emptying the buckets of epochs that fell out of the
    /// window, and returns the bucket for `now`.
    fn advance(&mut self, now: SimTime) -> usize {
        let n = TOKEN_BUCKETS as u64;
        let epoch = now.0 / self.width;
        if epoch > self.head {
            for step in 1..=(epoch - self.head).min(n) {
                let i = ((self.head + step) % n) as usize;
                self.deposits[i] = 0;
                self.withdrawals[i] = 0;
            }
            self.head = epoch;
        }
        (self.head % n) as usize
    }
}

/// Envoy-style retry budget: a cap on retries in flight that scales with load.
///
/// The caller passes the edge's active requests (Envoy counts active plus pending
/// upstream requests, retries included). Acquire when a retry is scheduled and
/// [`release`](Self::release) when it is over. Envoy's resource manager holds the slot
/// from scheduling; when exactly it lets go is not something the docs state, and resim
/// releases when the retried attempt ends (the conservative reading).
#[derive(Clone, Debug, PartialEq)]
pub struct ConcurrencyBudget {
    percent: f64,
    min_concurrency: u32,
    in_flight: u32,
}

impl ConcurrencyBudget {
    /// A budget of `percent` (a fraction: 0.2 = 20%) of active requests, never below
    /// `min_concurrency`.
    pub fn new(percent: f64, min_concurrency: u32) -> Self {
        Self { percent: if percent > 0.0 { percent } else { 0.0 }, min_concurrency, in_flight: 0 }
    }

    /// The retries that may be in flight with `active_requests` active.
    pub fn limit(&self, active_requests: u32) -> u32 {
        // `as` saturates: a huge product gives u32::MAX.
        let scaled = (self.percent * f64::from(active_requests) + EPS).floor() as u32;
        scaled.max(self.min_concurrency)
    }

    /// Starts one retry if the budget allows it.
    pub fn try_acquire(&mut self, active_requests: u32) -> bool {
        if self.in_flight < self.limit(active_requests) {
            self.in_flight += 1;
            true
        } else {
            false
        }
    }

    /// Ends one retry started by [`try_acquire`](Self::try_acquire).
    pub fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Retries in flight now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }
}

/// A live budget of any style, built from a [`BudgetConfig`], with one interface for
/// the engine.
#[derive(Clone, Debug, PartialEq)]
pub enum Budget {
    /// Finagle style.
    Token(TokenBudget),
    /// Envoy style.
    Concurrency(ConcurrencyBudget),
    /// gRPC style.
    Throttle(RetryThrottle),
    /// AWS SDK style.
    Quota(RetryQuota),
    /// tower style.
    Tps(TpsBudget),
}

impl Budget {
    /// A fresh budget for `config`.
    pub fn new(config: &BudgetConfig) -> Self {
        match *config {
            BudgetConfig::Ratio { ratio, min_per_s, ttl } => Budget::Token(TokenBudget::new(ratio, min_per_s, ttl)),
            BudgetConfig::Concurrency { percent, min_concurrency } => {
                Budget::Concurrency(ConcurrencyBudget::new(percent, min_concurrency))
            }
            BudgetConfig::Throttling { max_tokens, token_ratio } => {
                Budget::Throttle(RetryThrottle::new(max_tokens, token_ratio))
            }
            BudgetConfig::Quota(q) => Budget::Quota(RetryQuota::new(q)),
            // Edges' budgets are built when the run starts.
            BudgetConfig::Tps(t) => Budget::Tps(TpsBudget::new(t, SimTime::ZERO)),
        }
    }

    /// A new logical request started on the edge (a Finagle deposit; tower's budget
    /// deposits on success instead).
    pub fn on_request(&mut self, now: SimTime) {
        if let Budget::Token(t) = self {
            t.deposit(now);
        }
    }

    /// An attempt failed with an outcome the policy retries, before the attempt limit is
    /// looked at. The gRPC throttle counts the failure here (grpc-java counts it before
    /// `maxAttempts`, so the last attempt's failure counts too) and answers whether a
    /// retry may still go; the other styles answer true and count nothing.
    pub fn on_retryable_failure(&mut self) -> bool {
        match self {
            Budget::Throttle(t) => t.on_failure(),
            _ => true,
        }
    }

    /// Asks for one retry after an attempt that ended in `outcome`: `None` when refused,
    /// otherwise the quota units it cost (0 for the styles without costs).
    /// `active_requests` is only read by the concurrency style; the throttle has already
    /// answered in [`on_retryable_failure`](Self::on_retryable_failure).
    pub fn try_retry(&mut self, now: SimTime, active_requests: u32, outcome: Outcome) -> Option<u32> {
        match self {
            Budget::Token(t) => t.try_withdraw(now).then_some(0),
            Budget::Concurrency(c) => c.try_acquire(active_requests).then_some(0),
            Budget::Throttle(_) => Some(0),
            Budget::Quota(q) => q.acquire_retry(outcome),
            Budget::Tps(t) => t.withdraw(now).then_some(0),
        }
    }

    /// A call's attempt succeeded: the throttle gets `tokenRatio` back, the quota the
    /// `last_retry_cost` of the retry that led here (`None`: the first attempt, which
    /// refunds the no-retry increment). Use [`Budget::on_success_at`] when tower's
    /// budget may be among them: it deposits at the time of the success.
    pub fn on_success(&mut self, last_retry_cost: Option<u32>) {
        match self {
            Budget::Throttle(t) => t.on_success(),
            Budget::Quota(q) => q.on_success(last_retry_cost),
            Budget::Token(_) | Budget::Concurrency(_) | Budget::Tps(_) => {}
        }
    }

    /// [`Budget::on_success`] at `now`, where tower's budget takes its deposit (the
    /// success of tower's budget docs' example policy).
    pub fn on_success_at(&mut self, now: SimTime, last_retry_cost: Option<u32>) {
        match self {
            Budget::Tps(t) => t.deposit(now),
            other => other.on_success(last_retry_cost),
        }
    }

    /// May a hedge be sent now? Finagle's `BackupRequestFilter` withdraws a backup from
    /// the client's retry budget as well as its own (`canIssueBackup`), so a token budget
    /// pays for it; gRPC's throttle refuses while at or below its threshold (A6: hedged
    /// RPCs are throttled like retries); Envoy's concurrency budget, the AWS quota and
    /// tower's budget (tower's `Hedge` asks only its own policy) do not see hedges.
    pub fn try_hedge(&mut self, now: SimTime) -> bool {
        match self {
            Budget::Token(t) => t.try_withdraw(now),
            Budget::Throttle(t) => t.is_above_threshold(),
            Budget::Concurrency(_) | Budget::Quota(_) | Budget::Tps(_) => true,
        }
    }

    /// A retry granted by [`try_retry`](Self::try_retry) ended (no-op for tokens).
    pub fn on_retry_end(&mut self) {
        if let Budget::Concurrency(c) = self {
            c.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> SimTime {
        SimTime::from_secs_f64(s)
    }

    fn drain(b: &mut TokenBudget, now: SimTime) -> u32 {
        let mut n = 0;
        while b.try_withdraw(now) {
            n += 1;
            assert!(n <= 100_000, "budget never ran out");
        }
        n
    }

    #[test]
    fn token_budget_reserve_then_ratio_then_forgets() {
        let mut b = TokenBudget::new(0.2, 10.0, secs(10.0));
        // No traffic: the reserve, 10/s × 10 s = 100 retries.
        assert_eq!(b.balance(SimTime::ZERO), 100.0);
        assert_eq!(drain(&mut b, SimTime::ZERO), 100);
        assert!(b.balance(SimTime::ZERO) < 1.0);
        // Then 20% of deposits: 100 requests buy 20 retries; 4 more buy nothing yet.
        for _ in 0..100 {
            b.deposit(secs(1.0));
        }
        assert_eq!(drain(&mut b, secs(1.0)), 20);
        for _ in 0..4 {
            b.deposit(secs(2.0));
        }
        assert!(!b.try_withdraw(secs(2.0)));
        b.deposit(secs(2.0));
        assert!(b.try_withdraw(secs(2.0)), "five deposits of 0.2 make one token");
        // Still remembered just before the window ends...
        assert!(b.balance(secs(9.99)) < 1.0);
        // ...forgotten after ttl: the withdrawals at t = 0 expire first,
        assert!(b.balance(secs(10.0)) >= 99.0);
        // and after another ttl everything has expired: back to the bare reserve.
        assert_eq!(b.balance(secs(13.0)), 100.0);
        assert_eq!(drain(&mut b, secs(13.0)), 100);
    }

    #[test]
    fn token_budget_steady_state_is_ratio_of_traffic() {
        // 100 requests/s for a minute, each wanting 1 retry: the reserve plus 20%.
        let mut b = TokenBudget::new(0.2, 10.0, secs(10.0));
        let mut granted = 0u32;
        for ms in 0..60_000u64 {
            let now = SimTime::from_millis(ms);
            if ms % 10 == 0 {
                b.deposit(now);
                granted += u32::from(b.try_withdraw(now));
            }
        }
        // 6000 requests; each granted retry needs the reserve (100 per 10 s) or 5
        // deposits: about 6000 · min(1, 0.2 + 10/100) = 1800 over the minute.
        assert!((1700..=1900).contains(&granted), "granted {granted}");
    }

    #[test]
    fn token_budget_with_zero_rates_never_retries() {
        let mut b = TokenBudget::new(0.0, 0.0, secs(10.0));
        b.deposit(SimTime::ZERO);
        assert!(!b.try_withdraw(SimTime::ZERO));
        let mut nan = TokenBudget::new(f64::NAN, -5.0, SimTime::ZERO);
        assert!(!nan.try_withdraw(SimTime::ZERO));
    }

    #[test]
    fn concurrency_budget_min_and_percent() {
        let mut c = ConcurrencyBudget::new(0.2, 3);
        // Nothing active: the floor of 3.
        assert_eq!(c.limit(0), 3);
        assert!((0..3).all(|_| c.try_acquire(0)));
        assert!(!c.try_acquire(0));
        // 100 active: 20 in flight.
        assert_eq!(c.limit(100), 20);
        assert!((0..17).all(|_| c.try_acquire(100)));
        assert_eq!(c.in_flight(), 20);
        assert!(!c.try_acquire(100));
        c.release();
        assert!(c.try_acquire(100));
        // 14 active: 20% is 2.8, floor 2, so the minimum 3 applies.
        assert_eq!(c.limit(14), 3);
        for _ in 0..100 {
            c.release();
        }
        assert_eq!(c.in_flight(), 0);
        assert_eq!(ConcurrencyBudget::new(2.0, 0).limit(u32::MAX), u32::MAX);
    }

    #[test]
    fn budget_enum_dispatches() {
        let (t0, e) = (SimTime::ZERO, Outcome::Error);
        let mut t = Budget::new(&BudgetConfig::finagle());
        t.on_request(t0);
        assert_eq!(t.try_retry(t0, 0, e), Some(0));
        t.on_retry_end();
        let mut c = Budget::new(&BudgetConfig::envoy());
        assert!((0..3).all(|_| c.try_retry(t0, 0, e).is_some()));
        assert_eq!(c.try_retry(t0, 0, e), None);
        c.on_retry_end();
        assert!(c.try_retry(t0, 0, e).is_some() && c.try_hedge(t0) && c.on_retryable_failure());
        let mut g = Budget::new(&BudgetConfig::Throttling { max_tokens: 2.0, token_ratio: 1.0 });
        assert!(!g.on_retryable_failure() && !g.try_hedge(t0));
        g.on_success(None);
        assert!(g.try_hedge(t0));
        let mut q = Budget::new(&BudgetConfig::Quota(QuotaConfig { capacity: 12, ..QuotaConfig::standard() }));
        assert_eq!(q.try_retry(t0, 0, Outcome::Timeout), Some(10));
        assert_eq!(q.try_retry(t0, 0, Outcome::Error), None);
        q.on_success_at(t0, Some(10));
        assert_eq!(q.try_retry(t0, 0, Outcome::Error), Some(5));
    }
}
