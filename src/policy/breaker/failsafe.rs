//! failsafe's circuit breaker (failsafe 1.3.0), its failure policies and backoffs, in
//! simulated time, for `preset: failsafe`.
//!
//! failsafe's state machine (`src/state_machine.rs`) differs from resilience4j's:
//! - **OPEN** lasts a *backoff* the failure policy returns when it trips (line 209), not
//!   a fixed wait, and ends lazily: the first call strictly after it (`now > until`,
//!   line 141) moves it to HALF_OPEN and passes.
//! - **HALF_OPEN** admits every call (line 139). The first success closes it (line 188);
//!   the first failure reopens it for the policy's next backoff, or for the same length
//!   again when the policy does not trip (lines 214-223).
//! - Results arriving while OPEN: a failure is dropped, a success is still recorded by
//!   the policy (lines 192, 224).
//! - Closing calls the policy's `revived` (line 93), which resets its history and
//!   restarts its backoff ladder.
//!
//! The policies (`src/failure_policy.rs`): [`ConsecutiveFailures`] trips at the n-th
//! failure in a row and keeps tripping while failures go on (so a half-open failure
//! takes the next rung); [`SuccessRate`] keeps an exponential moving average of
//! successes (1) and failures (0) with mean lifetime `window` (`src/ema.rs`) and trips on
//! a failure once `window` has passed since it was created or revived, the average is
//! below `required_success_rate` and a five-slice windowed counter
//! (`src/windowed_adder.rs`) holds at least `min_request_threshold` requests. With both
//! (`Config::new()`'s `or_else`), both see every result and the longer backoff wins.
//! Times are whole milliseconds, as failsafe reads them.
//!
//! Jitter draws from the breaker's own named stream (set by the engine), not from
//! failsafe's `thread_rng`; the distribution is failsafe's (a uniform whole number of
//! seconds), the sequence is resim's.

use rand::SeedableRng;

use crate::engine::{SimTime, Stream, index};

/// Milliseconds per second (failsafe's `MILLIS_PER_SECOND`).
const MILLIS_PER_SEC: u64 = 1_000;
/// failsafe's backoffs stop doubling after this many openings (`MAX_RETRIES`).
const MAX_RETRIES: u32 = 30;
/// Slices of the success-rate policy's request counter (`WindowedAdder::new(window, 5)`).
const SLICES: u8 = 5;
/// Most slices a [`WindowedAdder`] takes (failsafe asserts `slices <= 10`).
const MAX_SLICES: usize = 10;

/// How long the k-th opening in a row lasts (failsafe's `backoff` module).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailsafeBackoff {
    /// `constant(delay)`.
    Constant(SimTime),
    /// `exponential(start, max)`: `min(max, start·2^k)` whole seconds.
    Exponential {
        /// First opening, whole seconds (≥ 1).
        start_secs: u64,
        /// Longest opening, whole seconds.
        max_secs: u64,
    },
    /// `equal_jittered(start, max)`: `e/2 + U{0..=e/2}` for `e = min(max, start·2^k)`.
    EqualJittered {
        /// First rung, whole seconds (≥ 1).
        start_secs: u64,
        /// Highest rung, whole seconds.
        max_secs: u64,
    },
    /// `full_jittered(start, max)`: `U{0..=e}` for `e = min(max, start·2^k)`.
    FullJittered {
        /// First rung, whole seconds (≥ 1).
        start_secs: u64,
        /// Highest rung, whole seconds.
        max_secs: u64,
    },
}

impl FailsafeBackoff {
    /// `Config::new()`'s backoff: `equal_jittered(10 s, 300 s)`.
    pub const DEFAULT: FailsafeBackoff = FailsafeBackoff::EqualJittered { start_secs: 10, max_secs: 300 };
}

/// A backoff iterator: the ladder and how far down it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffIter {
    kind: FailsafeBackoff,
    attempt: u32,
}

impl BackoffIter {
    /// The ladder at its first rung.
    pub fn new(kind: FailsafeBackoff) -> Self {
        Self { kind, attempt: 0 }
    }

    /// The next opening's length (failsafe's `Iterator::next`), drawing jitter from `rng`.
    pub fn next(&mut self, rng: &mut Stream) -> SimTime {
        let (start, max) = match self.kind {
            FailsafeBackoff::Constant(d) => return d,
            FailsafeBackoff::Exponential { start_secs, max_secs }
            | FailsafeBackoff::EqualJittered { start_secs, max_secs }
            | FailsafeBackoff::FullJittered { start_secs, max_secs } => (start_secs, max_secs),
        };
        // `exponential_backoff_seconds`: ((1 << attempt) * start).min(max).
        let e = (1u64 << self.attempt).saturating_mul(start).min(max);
        let secs = match self.kind {
            FailsafeBackoff::EqualJittered { .. } => e / 2 + uniform(rng, e / 2),
            FailsafeBackoff::FullJittered { .. } => uniform(rng, e),
            _ => e,
        };
        if self.attempt < MAX_RETRIES {
            self.attempt += 1;
        }
        SimTime::from_secs(secs)
    }
}

/// A uniform whole number in `0..=hi` (failsafe's `gen_range(0, hi + 1)`).
fn uniform(rng: &mut Stream, hi: u64) -> u64 {
    index(rng, usize::try_from(hi.saturating_add(1)).unwrap_or(usize::MAX)) as u64
}

/// `consecutive_failures(num_failures, backoff)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsecutiveFailuresConfig {
    /// Failures in a row that trip it.
    pub failures: u32,
    /// Opening lengths.
    pub backoff: FailsafeBackoff,
}

impl ConsecutiveFailuresConfig {
    /// `ConsecutiveFailures::default()`: 5 failures, `equal_jittered(10 s, 300 s)`.
    pub const DEFAULT: Self = Self { failures: 5, backoff: FailsafeBackoff::DEFAULT };
}

/// `success_rate_over_time_window(required_success_rate, min_request_threshold, window,
/// backoff)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SuccessRateConfig {
    /// Trips below this moving success rate, in `[0, 1]`.
    pub required_success_rate: f64,
    /// Requests needed in the last `window`.
    pub min_request_threshold: u32,
    /// The average's mean lifetime and the least time before tripping (whole seconds).
    pub window: SimTime,
    /// Opening lengths.
    pub backoff: FailsafeBackoff,
}

/// failsafe's failure policy: one of the two, or both (`or_else`, success rate first).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FailsafeConfig {
    /// The success-rate policy, if any.
    pub success_rate: Option<SuccessRateConfig>,
    /// The consecutive-failures policy, if any.
    pub consecutive: Option<ConsecutiveFailuresConfig>,
}

impl SuccessRateConfig {
    /// `SuccessRateOverTimeWindow::default()`: 0.8 over 30 s, at least 5 requests,
    /// `equal_jittered(10 s, 300 s)` (`src/failure_policy.rs` lines 15-19, 117-128).
    pub const DEFAULT: Self = Self {
        required_success_rate: 0.8,
        min_request_threshold: 5,
        window: SimTime::from_secs(30),
        backoff: FailsafeBackoff::DEFAULT,
    };
}

impl Default for FailsafeConfig {
    /// `Config::new()` (`src/config.rs` lines 16-30): the success rate's default
    /// `.or_else` the consecutive failures' default.
    fn default() -> Self {
        Self { success_rate: Some(SuccessRateConfig::DEFAULT), consecutive: Some(ConsecutiveFailuresConfig::DEFAULT) }
    }
}

/// Whole milliseconds of `d` (failsafe's `Millis`: seconds × 1000 + `subsec_millis`).
fn millis(d: SimTime) -> u64 {
    d.0 / 1_000_000
}

/// failsafe's `Ema`: a moving average over timestamps in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ema {
    window: u64,
    timestamp: u64,
    ema: f64,
}

impl Ema {
    /// An empty average whose observations live `window` on average.
    pub fn new(window: u64) -> Self {
        Self { window, timestamp: 0, ema: 0.0 }
    }

    /// Adds `value` observed at `timestamp` (non-decreasing) and returns the average. A
    /// timestamp of 0 marks "empty" in failsafe, so an update at 0 restarts it.
    pub fn update(&mut self, timestamp: u64, value: f64) -> f64 {
        if self.timestamp == 0 {
            (self.timestamp, self.ema) = (timestamp, value);
        } else {
            let diff = timestamp.saturating_sub(self.timestamp);
            self.timestamp = timestamp;
            let w = if self.window == 0 { 0.0 } else { (-(diff as f64) / self.window as f64).exp() };
            self.ema = value * (1.0 - w) + self.ema * w;
        }
        self.ema
    }

    /// Forgets every observation.
    pub fn reset(&mut self) {
        (self.timestamp, self.ema) = (0, 0.0);
    }
}

/// failsafe's `WindowedAdder`: a sum over `window`, kept in slices whose boundaries
/// drift with the calls (each expiry restarts the clock at the call).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowedAdder {
    /// Slice width in milliseconds.
    width: u64,
    slices: [i64; MAX_SLICES],
    /// Slices in use.
    len: usize,
    index: usize,
    elapsed: SimTime,
}

impl WindowedAdder {
    /// A zero sum over `window` in `slices` slices (2 to 10, as failsafe asserts; clamped
    /// here) starting at `now`.
    pub fn new(window: SimTime, slices: u8, now: SimTime) -> Self {
        let len = usize::from(slices).clamp(2, MAX_SLICES);
        Self { width: (millis(window) / len as u64).max(1), slices: [0; MAX_SLICES], len, index: 0, elapsed: now }
    }

    fn expire(&mut self, now: SimTime) {
        let diff = millis(now.saturating_sub(self.elapsed));
        if diff < self.width {
            return;
        }
        let len = self.len;
        let mut idx = (self.index + 1) % len;
        let skip = (diff / self.width - 1).min(len as u64) as usize;
        for k in 0..skip {
            self.slices[(idx + k) % len] = 0;
        }
        idx = (idx + skip) % len;
        self.slices[idx] = 0;
        (self.index, self.elapsed) = (idx, now);
    }

    /// Adds `value` at `now`.
    pub fn add(&mut self, now: SimTime, value: i64) {
        self.expire(now);
        self.slices[self.index] += value;
    }

    /// The sum at `now`.
    pub fn sum(&mut self, now: SimTime) -> i64 {
        self.expire(now);
        self.slices[..self.len].iter().sum()
    }

    /// Zeroes every slice; the clock restarts at `now`.
    pub fn reset(&mut self, now: SimTime) {
        self.slices = [0; MAX_SLICES];
        self.elapsed = now;
    }
}

/// The live state of failsafe's failure policy and of its backoffs.
#[derive(Clone, Debug, PartialEq)]
pub struct FailsafePolicy {
    cfg: FailsafeConfig,
    /// Success rate: since when (creation or revival), the average, the counter, the ladder.
    since: SimTime,
    ema: Ema,
    counter: WindowedAdder,
    rate_backoff: BackoffIter,
    /// Consecutive failures: the count and the ladder.
    in_a_row: u32,
    row_backoff: BackoffIter,
    /// Where jitter comes from.
    rng: Stream,
}

impl FailsafePolicy {
    /// The policy created at `now`; jitter from a fixed stream until
    /// [`FailsafePolicy::set_stream`] names one.
    pub fn new(cfg: FailsafeConfig, now: SimTime) -> Self {
        let rate = cfg.success_rate;
        let window = rate.map_or(SimTime::ZERO, |r| r.window);
        Self {
            cfg,
            since: now,
            // `window.as_secs() * MILLIS_PER_SECOND`: whole seconds.
            ema: Ema::new(window.0 / SimTime::NANOS_PER_SEC * MILLIS_PER_SEC),
            counter: WindowedAdder::new(window, SLICES, now),
            rate_backoff: BackoffIter::new(rate.map_or(FailsafeBackoff::DEFAULT, |r| r.backoff)),
            in_a_row: 0,
            row_backoff: BackoffIter::new(cfg.consecutive.map_or(FailsafeBackoff::DEFAULT, |c| c.backoff)),
            rng: Stream::seed_from_u64(0),
        }
    }

    /// Draws jitter from `rng` from now on.
    pub fn set_stream(&mut self, rng: Stream) {
        self.rng = rng;
    }

    /// The configuration.
    pub fn config(&self) -> FailsafeConfig {
        self.cfg
    }

    /// `record_success` at `now`.
    pub fn record_success(&mut self, now: SimTime) {
        if self.cfg.success_rate.is_some() {
            self.ema.update(millis(now.saturating_sub(self.since)), 1.0);
            self.counter.add(now, 1);
        }
        self.in_a_row = 0;
    }

    /// `mark_dead_on_failure` at `now`: how long to open for, if the policy trips.
    pub fn mark_dead_on_failure(&mut self, now: SimTime) -> Option<SimTime> {
        let left = self.cfg.success_rate.and_then(|r| {
            self.counter.add(now, 1);
            let elapsed = millis(now.saturating_sub(self.since));
            let rate = self.ema.update(elapsed, 0.0);
            let trips = elapsed >= self.ema.window
                && rate < r.required_success_rate
                && self.counter.sum(now) >= i64::from(r.min_request_threshold);
            trips.then(|| self.rate_backoff.next(&mut self.rng))
        });
        let right = self.cfg.consecutive.and_then(|c| {
            self.in_a_row = self.in_a_row.saturating_add(1);
            (self.in_a_row >= c.failures).then(|| self.row_backoff.next(&mut self.rng))
        });
        match (left, right) {
            (Some(l), Some(r)) => Some(l.max(r)),
            (l, r) => l.or(r),
        }
    }

    /// `revived` at `now`: history forgotten, ladders back at their first rung.
    pub fn revived(&mut self, now: SimTime) {
        self.since = now;
        self.ema.reset();
        self.counter.reset(now);
        self.rate_backoff = BackoffIter::new(self.rate_backoff.kind);
        self.in_a_row = 0;
        self.row_backoff = BackoffIter::new(self.row_backoff.kind);
    }
}
