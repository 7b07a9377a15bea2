//! Circuit breaker: a clock-free state machine with resilience4j semantics.
//!
//! The engine drives a [`CircuitBreaker`] with the simulated time: [`CircuitBreaker::try_acquire`]
//! before a call (`false` = short-circuited), then exactly one of [`CircuitBreaker::on_success`],
//! [`CircuitBreaker::on_failure`] or [`CircuitBreaker::on_ignored`] when an admitted call ends.
//! What counts as a failure is the caller's decision. Nothing here reads a clock, draws a random
//! number or allocates per call (the window buffers are allocated once, in [`CircuitBreaker::new`];
//! the transition log grows only on the rare state change and is capped at [`MAX_TRANSITIONS`]).
//!
//! Three kinds ([`BreakerConfig`]):
//! - **Consecutive** (seeds 1.1.a, S1/S2): CLOSED opens after `failures` consecutive failures (a
//!   success resets the count). OPEN rejects until `open_for` has passed since it opened (`>=`),
//!   then the next call attempt moves it to HALF_OPEN (lazily) and is admitted. In HALF_OPEN any
//!   failure reopens (the timer restarts at that failure) and `successes` successes close.
//!   `permitted_calls_in_half_open: Some(n)` caps the trial calls *in flight* at once (a permit
//!   comes back when the result arrives, so `n < successes` cannot dead-lock); `None` = unlimited.
//! - **CountWindow / TimeWindow** (resilience4j `CircuitBreakerConfig`): outcomes go into a sliding
//!   window of the last N calls, or of the last N seconds kept in N one-second buckets (a call at
//!   second `s` is forgotten once a call is recorded at second `s + N` or later). After each
//!   recorded outcome in CLOSED, once the window holds at least `minimum_number_of_calls` calls
//!   (clamped to the size for a count window, as resilience4j does), the breaker opens when the
//!   failure rate `>=` its threshold or the slow-call rate `>=` its threshold. A call is slow when
//!   its duration is strictly greater than `slow_call_duration`; a slow failure counts as both.
//!   HALF_OPEN admits exactly `permitted_calls_in_half_open` calls (an ignored outcome returns its
//!   permit); when that many have *completed*, their rates decide: reopen, or close with an empty
//!   window. With `max_wait_in_half_open > 0`, a HALF_OPEN that has not decided by then goes back to
//!   OPEN. OPEN -> HALF_OPEN happens on the first call attempt at or after `opened + wait_in_open`
//!   (`automatic_transition = false`), or at exactly that instant (`true`).
//!
//! Timers: [`CircuitBreaker::next_transition_at`] tells the engine when a timed transition
//! (automatic OPEN -> HALF_OPEN, HALF_OPEN expiry) is due, and [`CircuitBreaker::on_timer`] applies
//! it. Every method applies due timers first, and a timed transition is always recorded at its
//! exact due time, however late the engine looks; [`CircuitBreaker::state`] and
//! [`CircuitBreaker::stats`] project pending timers the same way, so time-in-state does not depend
//! on when `on_timer` runs. In lazy mode the breaker *is* OPEN until the first call attempt after
//! the wait (as resilience4j's `getState()` reports), so OPEN time includes that idle gap; in both
//! modes time-in-state is read off the same transition log and sums to the elapsed time.
//!
//! Late results (a call admitted in one state whose result arrives in another), as resilience4j
//! does, go to the *current* state: in CLOSED they are recorded (in the fresh window after a
//! close); in OPEN they are counted in the statistics but change nothing. In HALF_OPEN a result
//! counts as a trial only while a trial call is outstanding (trials admitted minus trials ended);
//! otherwise it must be from before the breaker opened and is only counted in the statistics.
//! Attribution is by count, not by identity, since calls carry no token.
//!
//! Presets: only [`BreakerConfig::resilience4j`] (and the seeds' default). Envoy, Finagle, gRPC and
//! the AWS SDKs have no classic call-site breaker: Envoy's "circuit breaking" is concurrency caps
//! (max connections, pending requests, requests, retries) and its per-host protection is outlier
//! ejection; Finagle's failure accrual likewise marks single endpoints dead in the load balancer;
//! gRPC and the AWS SDKs throttle retries (retry throttling, retry quota). Those belong to the
//! bulkhead, load-balancing and retry policies.

use std::fmt;

use crate::engine::SimTime;

use window::{Tally, Window};

/// Most transitions kept by [`CircuitBreaker::transitions`]; later ones are only counted.
pub const MAX_TRANSITIONS: usize = 10_000;

/// The state of a breaker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls pass; outcomes are recorded.
    #[default]
    Closed,
    /// Calls are rejected (short-circuited).
    Open,
    /// A limited number of trial calls decide between closing and reopening.
    HalfOpen,
}

impl BreakerState {
    /// All states, in the order of [`BreakerStats::time_in_state`].
    pub const ALL: [BreakerState; 3] = [BreakerState::Closed, BreakerState::Open, BreakerState::HalfOpen];

    /// Position in [`BreakerStats::time_in_state`]: closed 0, open 1, half-open 2.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Lowercase snake-case name: `closed`, `open`, `half_open`.
    pub const fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parameters of the consecutive-failure breaker (seeds 1.1.a); the default is the seeds' 5/2/60 s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsecutiveConfig {
    /// Consecutive failures in CLOSED that open the breaker (default 5; 0 is read as 1).
    pub failures: u32,
    /// Successes in HALF_OPEN that close it (default 2; 0 is read as 1).
    pub successes: u32,
    /// How long OPEN rejects calls, counted from the moment it opened (default 60 s).
    pub open_for: SimTime,
    /// Most trial calls in flight at once in HALF_OPEN; `None` (default) = unlimited, as in the seeds.
    pub permitted_calls_in_half_open: Option<u32>,
}

impl Default for ConsecutiveConfig {
    fn default() -> Self {
        ConsecutiveConfig {
            failures: 5,
            successes: 2,
            open_for: SimTime::from_secs(60),
            permitted_calls_in_half_open: None,
        }
    }
}

/// Parameters of the rate-based breakers, named after resilience4j's `CircuitBreakerConfig`;
/// the default is resilience4j's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowConfig {
    /// Failure rate, in percent, at or above which the breaker opens (default 50).
    pub failure_rate_threshold: f64,
    /// Slow-call rate, in percent, at or above which the breaker opens (default 100).
    pub slow_call_rate_threshold: f64,
    /// A call taking strictly longer than this is slow (default 60 s).
    pub slow_call_duration: SimTime,
    /// Window size: the last N calls, or the last N seconds (default 100; 0 is read as 1).
    pub window_size: u32,
    /// No decision before the window holds this many calls (default 100; count windows clamp it
    /// to `window_size`).
    pub minimum_number_of_calls: u32,
    /// Trial calls admitted in HALF_OPEN, and evaluated once all completed (default 10; 0 is read as 1).
    pub permitted_calls_in_half_open: u32,
    /// How long OPEN rejects calls before HALF_OPEN (default 60 s).
    pub wait_in_open: SimTime,
    /// Move OPEN -> HALF_OPEN at the due instant rather than on the next call (default false).
    pub automatic_transition: bool,
    /// Longest HALF_OPEN before going back to OPEN; zero (default) = until all trials complete.
    pub max_wait_in_half_open: SimTime,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration: SimTime::from_secs(60),
            window_size: 100,
            minimum_number_of_calls: 100,
            permitted_calls_in_half_open: 10,
            wait_in_open: SimTime::from_secs(60),
            automatic_transition: false,
            max_wait_in_half_open: SimTime::ZERO,
        }
    }
}

/// Which breaker, with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BreakerConfig {
    /// Consecutive failures open, consecutive successes close (seeds 1.1.a).
    Consecutive(ConsecutiveConfig),
    /// Rates over the last `window_size` calls.
    CountWindow(WindowConfig),
    /// Rates over the last `window_size` seconds, in one-second buckets.
    TimeWindow(WindowConfig),
}

impl Default for BreakerConfig {
    /// The seeds' canonical breaker: consecutive 5 failures / 2 successes / 60 s.
    fn default() -> Self {
        BreakerConfig::Consecutive(ConsecutiveConfig::default())
    }
}

impl BreakerConfig {
    /// resilience4j's defaults: count window of 100 calls, minimum 100 calls, 50 % failures, slow
    /// calls over 60 s at 100 %, 60 s open, 10 half-open calls, lazy OPEN -> HALF_OPEN.
    pub fn resilience4j() -> Self {
        BreakerConfig::CountWindow(WindowConfig::default())
    }
}

/// One state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// When it took effect (for a timed transition, its due time).
    pub at: SimTime,
    /// The state left.
    pub from: BreakerState,
    /// The state entered.
    pub to: BreakerState,
}

/// Counters since creation or the last [`CircuitBreaker::reset_stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BreakerStats {
    /// Calls admitted by `try_acquire`.
    pub calls_permitted: u64,
    /// Calls rejected by `try_acquire`.
    pub short_circuited: u64,
    /// Results reported by `on_success` (in any state).
    pub successes: u64,
    /// Results reported by `on_failure` (in any state).
    pub failures: u64,
    /// Results slower than `slow_call_duration` (window kinds only), successes or failures.
    pub slow_calls: u64,
    /// Results reported by `on_ignored`.
    pub ignored: u64,
    /// Transitions into OPEN.
    pub openings: u64,
    /// Transitions beyond [`MAX_TRANSITIONS`], not kept in the log.
    pub transitions_dropped: u64,
    /// Time spent in closed, open and half-open (see [`BreakerState::index`]), up to `now`.
    pub time_in_state: [SimTime; 3],
    /// The state at `now`.
    pub state: BreakerState,
}

/// The per-kind part of the state machine.
#[derive(Clone, Debug)]
enum Machine {
    Consecutive { cfg: ConsecutiveConfig, failures: u32, successes: u32 },
    Window { cfg: WindowConfig, window: Window, trial: Tally, permits_left: u32 },
}

/// A circuit breaker; see the module documentation for its semantics.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    machine: Machine,
    state: BreakerState,
    /// When `state` was entered.
    since: SimTime,
    /// HALF_OPEN trial calls admitted and not yet ended.
    in_flight: u32,
    /// Counters; `time_in_state` is accumulated up to `acc_mark`, `state` is unused.
    stats: BreakerStats,
    acc_mark: SimTime,
    transitions: Vec<Transition>,
}

impl CircuitBreaker {
    /// A CLOSED breaker created at `now`. Zero sizes and counts are read as 1, and a count
    /// window's minimum number of calls is clamped to its size, as resilience4j does.
    pub fn new(config: BreakerConfig, now: SimTime) -> Self {
        let machine = match config {
            BreakerConfig::Consecutive(mut cfg) => {
                cfg.failures = cfg.failures.max(1);
                cfg.successes = cfg.successes.max(1);
                cfg.permitted_calls_in_half_open = cfg.permitted_calls_in_half_open.map(|n| n.max(1));
                Machine::Consecutive { cfg, failures: 0, successes: 0 }
            }
            BreakerConfig::CountWindow(mut cfg) | BreakerConfig::TimeWindow(mut cfg) => {
                cfg.window_size = cfg.window_size.max(1);
                cfg.permitted_calls_in_half_open = cfg.permitted_calls_in_half_open.max(1);
                let window = if matches!(config, BreakerConfig::CountWindow(_)) {
                    cfg.minimum_number_of_calls = cfg.minimum_number_of_calls.min(cfg.window_size);
                    Window::count(cfg.window_size)
                } else {
                    Window::time(cfg.window_size)
                };
                Machine::Window { cfg, window, trial: Tally::default(), permits_left: 0 }
            }
        };
        CircuitBreaker {
            machine,
            state: BreakerState::Closed,
            since: now,
            in_flight: 0,
            stats: BreakerStats::default(),
            acc_mark: now,
            transitions: Vec::new(),
        }
    }

    /// The configuration in use, after the clamping done by [`CircuitBreaker::new`].
    pub fn config(&self) -> BreakerConfig {
        match &self.machine {
            Machine::Consecutive { cfg, .. } => BreakerConfig::Consecutive(*cfg),
            Machine::Window { cfg, window, .. } if window.is_count() => BreakerConfig::CountWindow(*cfg),
            Machine::Window { cfg, .. } => BreakerConfig::TimeWindow(*cfg),
        }
    }

    /// Asks to make a call at `now`: `true` admits it (the caller must later report its end),
    /// `false` short-circuits it. May move OPEN -> HALF_OPEN (lazily) first.
    pub fn try_acquire(&mut self, now: SimTime) -> bool {
        self.advance(now);
        if self.state == BreakerState::Open && now >= self.since + self.open_wait() {
            self.transition(now, BreakerState::HalfOpen);
        }
        let admitted = match self.state {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => {
                let free = match &mut self.machine {
                    Machine::Consecutive { cfg, .. } => {
                        cfg.permitted_calls_in_half_open.is_none_or(|n| self.in_flight < n)
                    }
                    Machine::Window { permits_left, .. } => {
                        let free = *permits_left > 0;
                        *permits_left -= u32::from(free);
                        free
                    }
                };
                self.in_flight = self.in_flight.saturating_add(u32::from(free));
                free
            }
        };
        if admitted {
            self.stats.calls_permitted += 1;
        } else {
            self.stats.short_circuited += 1;
        }
        admitted
    }

    /// An admitted call ended at `now` in success after running for `duration`.
    pub fn on_success(&mut self, now: SimTime, duration: SimTime) {
        self.on_result(now, duration, false);
    }

    /// An admitted call ended at `now` in failure after running for `duration`.
    pub fn on_failure(&mut self, now: SimTime, duration: SimTime) {
        self.on_result(now, duration, true);
    }

    /// An admitted call ended at `now` with an outcome that must not count: nothing is recorded,
    /// and in HALF_OPEN its trial permit is given back.
    pub fn on_ignored(&mut self, now: SimTime) {
        self.advance(now);
        self.stats.ignored += 1;
        if self.state == BreakerState::HalfOpen && self.in_flight > 0 {
            self.in_flight -= 1;
            if let Machine::Window { permits_left, .. } = &mut self.machine {
                *permits_left += 1;
            }
        }
    }

    /// When the next timed transition is due (automatic OPEN -> HALF_OPEN, or the HALF_OPEN
    /// expiry), if any; the engine should call [`CircuitBreaker::on_timer`] then.
    pub fn next_transition_at(&self) -> Option<SimTime> {
        self.timer_due(self.state, self.since).map(|(at, _)| at)
    }

    /// Applies every timed transition due at or before `now`, each at its own due time.
    pub fn on_timer(&mut self, now: SimTime) {
        self.advance(now);
    }

    /// The state at `now`, counting timed transitions due by then even if not yet applied.
    pub fn state(&self, now: SimTime) -> BreakerState {
        self.stats(now).state
    }

    /// The state changes so far (since the last [`CircuitBreaker::reset_stats`]), oldest first.
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// The counters, with time-in-state up to `now` (timed transitions due by then included).
    pub fn stats(&self, now: SimTime) -> BreakerStats {
        let mut st = self.stats;
        let (mut state, mut since, mut mark) = (self.state, self.since, self.acc_mark);
        while let Some((at, to)) = self.timer_due(state, since)
            && at <= now
        {
            st.time_in_state[state.index()] += at.saturating_sub(mark);
            mark = mark.max(at);
            st.openings += u64::from(to == BreakerState::Open);
            (state, since) = (to, at);
        }
        st.time_in_state[state.index()] += now.saturating_sub(mark);
        st.state = state;
        st
    }

    /// Ends the warm-up at `now`: zeroes the counters and time-in-state and drops the transitions
    /// up to `now`; the state machine itself (state, windows, timers) is kept.
    pub fn reset_stats(&mut self, now: SimTime) {
        self.advance(now);
        self.stats = BreakerStats::default();
        self.acc_mark = now;
        self.transitions.retain(|t| t.at > now);
    }

    fn open_wait(&self) -> SimTime {
        match &self.machine {
            Machine::Consecutive { cfg, .. } => cfg.open_for,
            Machine::Window { cfg, .. } => cfg.wait_in_open,
        }
    }

    /// The timed transition pending from `state`, entered at `since`.
    fn timer_due(&self, state: BreakerState, since: SimTime) -> Option<(SimTime, BreakerState)> {
        let Machine::Window { cfg, .. } = &self.machine else { return None };
        match state {
            BreakerState::Open if cfg.automatic_transition => Some((since + cfg.wait_in_open, BreakerState::HalfOpen)),
            BreakerState::HalfOpen => {
                let at = since + cfg.max_wait_in_half_open;
                // `at == since`: no expiry (zero), or saturated at SimTime::MAX.
                (at > since).then_some((at, BreakerState::Open))
            }
            _ => None,
        }
    }

    fn advance(&mut self, now: SimTime) {
        while let Some((at, to)) = self.timer_due(self.state, self.since)
            && at <= now
        {
            self.transition(at, to);
        }
    }

    fn on_result(&mut self, now: SimTime, duration: SimTime, failed: bool) {
        self.advance(now);
        let slow = matches!(&self.machine, Machine::Window { cfg, .. } if duration > cfg.slow_call_duration);
        self.stats.failures += u64::from(failed);
        self.stats.successes += u64::from(!failed);
        self.stats.slow_calls += u64::from(slow);
        let next = match self.state {
            BreakerState::Open => None,
            BreakerState::Closed => match &mut self.machine {
                Machine::Consecutive { cfg, failures, .. } => {
                    *failures = if failed { *failures + 1 } else { 0 };
                    (*failures >= cfg.failures).then_some(BreakerState::Open)
                }
                Machine::Window { cfg, window, .. } => {
                    let snap = window.record(now, failed, slow);
                    let enough = snap.calls >= u64::from(cfg.minimum_number_of_calls.max(1));
                    (enough && snap.exceeds(cfg)).then_some(BreakerState::Open)
                }
            },
            BreakerState::HalfOpen => {
                if self.in_flight == 0 {
                    return; // admitted before the breaker opened: statistics only
                }
                self.in_flight -= 1;
                match &mut self.machine {
                    Machine::Consecutive { cfg, successes, .. } => {
                        *successes += u32::from(!failed);
                        if failed {
                            Some(BreakerState::Open)
                        } else {
                            (*successes >= cfg.successes).then_some(BreakerState::Closed)
                        }
                    }
                    Machine::Window { cfg, trial, .. } => {
                        trial.add(failed, slow);
                        (trial.calls >= u64::from(cfg.permitted_calls_in_half_open))
                            .then(|| if trial.exceeds(cfg) { BreakerState::Open } else { BreakerState::Closed })
                    }
                }
            }
        };
        if let Some(to) = next {
            self.transition(now, to);
        }
    }

    fn transition(&mut self, at: SimTime, to: BreakerState) {
        let from = self.state;
        self.stats.time_in_state[from.index()] += at.saturating_sub(self.acc_mark);
        self.acc_mark = self.acc_mark.max(at);
        if self.transitions.len() < MAX_TRANSITIONS {
            self.transitions.push(Transition { at, from, to });
        } else {
            self.stats.transitions_dropped += 1;
        }
        self.stats.openings += u64::from(to == BreakerState::Open);
        (self.state, self.since, self.in_flight) = (to, at, 0);
        match &mut self.machine {
            Machine::Consecutive { failures, successes, .. } => (*failures, *successes) = (0, 0),
            Machine::Window { cfg, window, trial, permits_left } => {
                *trial = Tally::default();
                *permits_left = cfg.permitted_calls_in_half_open;
                if to == BreakerState::Closed {
                    window.clear();
                }
            }
        }
    }
}

/// Fixed-memory sliding windows of call outcomes.
mod window {
    use super::WindowConfig;
    use crate::engine::SimTime;

    /// Counts of recorded calls.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub(super) struct Tally {
        pub(super) calls: u64,
        pub(super) failures: u64,
        pub(super) slow: u64,
    }

    impl Tally {
        pub(super) fn add(&mut self, failed: bool, slow: bool) {
            self.calls += 1;
            self.failures += u64::from(failed);
            self.slow += u64::from(slow);
        }

        fn remove(&mut self, old: Tally) {
            self.calls -= old.calls;
            self.failures -= old.failures;
            self.slow -= old.slow;
        }

        /// resilience4j's test: either rate at or above its threshold (percent).
        pub(super) fn exceeds(&self, cfg: &WindowConfig) -> bool {
            let pct = |k: u64| k as f64 * 100.0 / self.calls as f64;
            self.calls > 0
                && (pct(self.failures) >= cfg.failure_rate_threshold || pct(self.slow) >= cfg.slow_call_rate_threshold)
        }
    }

    /// The last N calls (a ring of outcomes: bit 0 failed, bit 1 slow), or the last N seconds
    /// (a ring of one-second tallies; `head` is the latest second recorded).
    #[derive(Clone, Debug)]
    pub(super) enum Window {
        Count { ring: Vec<u8>, next: usize, len: usize, total: Tally },
        Time { buckets: Vec<Tally>, head: u64, total: Tally },
    }

    impl Window {
        pub(super) fn count(size: u32) -> Self {
            Window::Count { ring: vec![0; size as usize], next: 0, len: 0, total: Tally::default() }
        }

        pub(super) fn time(secs: u32) -> Self {
            Window::Time { buckets: vec![Tally::default(); secs as usize], head: 0, total: Tally::default() }
        }

        pub(super) fn is_count(&self) -> bool {
            matches!(self, Window::Count { .. })
        }

        /// Records one outcome at `now` and returns the window's totals afterwards.
        pub(super) fn record(&mut self, now: SimTime, failed: bool, slow: bool) -> Tally {
            match self {
                Window::Count { ring, next, len, total } => {
                    if *len == ring.len() {
                        let old = ring[*next];
                        total.remove(Tally { calls: 1, failures: u64::from(old & 1), slow: u64::from(old >> 1) });
                    } else {
                        *len += 1;
                    }
                    ring[*next] = u8::from(failed) | (u8::from(slow) << 1);
                    *next = (*next + 1) % ring.len();
                    total.add(failed, slow);
                    *total
                }
                Window::Time { buckets, head, total } => {
                    let n = buckets.len() as u64;
                    let sec = now.0 / SimTime::NANOS_PER_SEC;
                    if sec > *head {
                        // Empty the buckets of the seconds skipped over (all of them after a gap >= N).
                        for s in sec + 1 - (sec - *head).min(n)..=sec {
                            let bucket = &mut buckets[(s % n) as usize];
                            total.remove(*bucket);
                            *bucket = Tally::default();
                        }
                        *head = sec;
                    }
                    buckets[(*head % n) as usize].add(failed, slow);
                    total.add(failed, slow);
                    *total
                }
            }
        }

        pub(super) fn clear(&mut self) {
            match self {
                Window::Count { next, len, total, .. } => (*next, *len, *total) = (0, 0, Tally::default()),
                Window::Time { buckets, total, .. } => {
                    buckets.fill(Tally::default());
                    *total = Tally::default();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BreakerConfig::{CountWindow, TimeWindow};
    use super::BreakerState::{Closed, HalfOpen, Open};
    use super::*;

    const Z: SimTime = SimTime::ZERO;

    fn t(secs: f64) -> SimTime {
        SimTime::from_secs_f64(secs)
    }

    /// Reports outcomes at `at`: S success, F failure, L slow success, X slow failure (61 s).
    fn report(b: &mut CircuitBreaker, at: SimTime, outcomes: &str) {
        for c in outcomes.chars() {
            let slow = if "LX".contains(c) { SimTime::from_secs(61) } else { Z };
            if "FX".contains(c) { b.on_failure(at, slow) } else { b.on_success(at, slow) }
        }
    }

    /// Admits `n` calls at `at`, asserting each is admitted.
    fn admit(b: &mut CircuitBreaker, at: SimTime, n: usize) {
        (0..n).for_each(|i| assert!(b.try_acquire(at), "call {i} rejected at {at}"));
    }

    /// Admits and reports each call in turn.
    fn run(b: &mut CircuitBreaker, at: SimTime, outcomes: &str) {
        for c in outcomes.chars() {
            admit(b, at, 1);
            report(b, at, &c.to_string());
        }
    }

    fn consecutive(edit: impl FnOnce(&mut ConsecutiveConfig)) -> CircuitBreaker {
        let mut cfg = ConsecutiveConfig::default();
        edit(&mut cfg);
        CircuitBreaker::new(BreakerConfig::Consecutive(cfg), Z)
    }

    /// A seeds 5/2/60 s breaker opened at time zero.
    fn opened() -> CircuitBreaker {
        let mut b = consecutive(|_| {});
        run(&mut b, Z, "FFFFF");
        b
    }

    fn window(kind: fn(WindowConfig) -> BreakerConfig, edit: impl FnOnce(&mut WindowConfig)) -> CircuitBreaker {
        let mut cfg = WindowConfig { window_size: 10, minimum_number_of_calls: 10, ..WindowConfig::default() };
        edit(&mut cfg);
        CircuitBreaker::new(kind(cfg), Z)
    }

    /// A count window of 10 (minimum 10, 10 half-open calls, 60 s open) opened at time zero.
    fn tripped(edit: impl FnOnce(&mut WindowConfig)) -> CircuitBreaker {
        let mut b = window(CountWindow, edit);
        run(&mut b, Z, "FFFFFFFFFF");
        assert_eq!(b.state(Z), Open);
        b
    }

    fn failure_count(b: &CircuitBreaker) -> u32 {
        let Machine::Consecutive { failures, .. } = b.machine else { panic!("not consecutive") };
        failures
    }

    #[test]
    fn seeds_consecutive_failures_open_and_a_success_resets_the_count() {
        let mut b = consecutive(|_| {});
        run(&mut b, Z, "FFFF");
        assert_eq!((b.state(Z), failure_count(&b)), (Closed, 4));
        run(&mut b, Z, "F");
        assert_eq!(b.state(Z), Open);
        assert!(!b.try_acquire(Z));
        let mut b = consecutive(|_| {});
        run(&mut b, Z, "FFFFSFFFF");
        assert_eq!((b.state(Z), failure_count(&b)), (Closed, 4));
    }

    #[test]
    fn seeds_open_wait_is_inclusive_and_lazy_then_two_successes_close() {
        let mut b = opened();
        assert!(!b.try_acquire(t(59.9)));
        assert_eq!((b.state(t(60.0)), b.next_transition_at()), (Open, None));
        run(&mut b, t(60.0), "S");
        assert_eq!(b.state(t(60.0)), HalfOpen);
        let st = b.stats(t(60.0));
        assert_eq!((st.calls_permitted, st.short_circuited, st.failures, st.openings), (6, 1, 5, 1));
        run(&mut b, t(61.0), "S");
        assert_eq!(b.state(t(61.0)), Closed);
    }

    #[test]
    fn seeds_half_open_failure_reopens_and_restarts_the_timer() {
        let mut b = opened();
        run(&mut b, t(60.0), "S");
        run(&mut b, t(70.0), "F");
        assert_eq!(b.state(t(70.0)), Open);
        assert!(!b.try_acquire(t(129.9)));
        assert!(b.try_acquire(t(130.0)));
        let log: Vec<_> = b.transitions().iter().map(|x| (x.at, x.from, x.to)).collect();
        let expected =
            [(Z, Closed, Open), (t(60.0), Open, HalfOpen), (t(70.0), HalfOpen, Open), (t(130.0), Open, HalfOpen)];
        assert_eq!(log, expected);
    }

    #[test]
    fn consecutive_half_open_limit_caps_trials_in_flight() {
        let mut b = consecutive(|c| c.permitted_calls_in_half_open = Some(1));
        run(&mut b, Z, "FFFFF");
        admit(&mut b, t(60.0), 1);
        assert!(!b.try_acquire(t(60.0)), "second trial while one is in flight");
        b.on_ignored(t(61.0));
        admit(&mut b, t(61.0), 1); // the ignored trial gave its permit back
        report(&mut b, t(62.0), "S");
        run(&mut b, t(63.0), "S");
        assert_eq!(b.state(t(63.0)), Closed);
    }

    #[test]
    fn late_results_change_nothing_in_open_and_stale_ones_in_half_open() {
        let mut b = consecutive(|_| {});
        admit(&mut b, Z, 2); // two long calls admitted while closed
        run(&mut b, Z, "FFFFF");
        report(&mut b, t(1.0), "S"); // arrives while OPEN
        assert_eq!(b.state(t(1.0)), Open);
        run(&mut b, t(60.0), "S");
        report(&mut b, t(61.0), "F"); // arrives in HALF_OPEN with no trial outstanding
        assert_eq!(b.state(t(61.0)), HalfOpen);
        let st = b.stats(t(61.0));
        assert_eq!((st.successes, st.failures, st.openings), (2, 6, 1));
    }

    #[test]
    fn minimum_number_of_calls_and_exact_threshold() {
        let mut b = CircuitBreaker::new(BreakerConfig::resilience4j(), Z);
        run(&mut b, Z, &"F".repeat(99));
        assert_eq!(b.state(Z), Closed, "99 failures of 99 calls, minimum 100");
        run(&mut b, Z, "F");
        assert_eq!(b.state(Z), Open);
        for (failures, state) in [(49, Closed), (50, Open)] {
            let mut b = CircuitBreaker::new(BreakerConfig::resilience4j(), Z);
            run(&mut b, Z, &("S".repeat(100 - failures) + &"F".repeat(failures)));
            assert_eq!(b.state(Z), state, "{failures} %");
        }
    }

    #[test]
    fn slow_calls_alone_trip() {
        let mut b = window(CountWindow, |c| c.slow_call_rate_threshold = 60.0);
        admit(&mut b, Z, 1);
        b.on_success(Z, SimTime::from_secs(60)); // exactly the slow-call duration: not slow
        run(&mut b, Z, "SSSLLLLL");
        assert_eq!(b.state(Z), Closed, "9 calls, below the minimum");
        run(&mut b, Z, "L");
        assert_eq!(b.state(Z), Open, "6 slow of 10 = 60 %");
        assert_eq!((b.stats(Z).failures, b.stats(Z).slow_calls), (0, 6));
    }

    #[test]
    fn count_window_slides() {
        let mut b = window(CountWindow, |_| {});
        run(&mut b, Z, "FFFFSSSSSS");
        assert_eq!(b.state(Z), Closed, "4 of 10");
        run(&mut b, Z, "SSSSFFFF");
        assert_eq!(b.state(Z), Closed, "the last 10: 6 S, 4 F");
        run(&mut b, Z, "F");
        assert_eq!(b.state(Z), Open, "the last 10: 5 S, 5 F (cumulative would be 9 of 19)");
    }

    #[test]
    fn time_window_forgets_calls_older_than_the_window() {
        let cfg = |c: &mut WindowConfig| c.minimum_number_of_calls = 5;
        for (late, state) in [(9.999, Open), (10.0, Closed), (1000.0, Closed)] {
            let mut b = window(TimeWindow, cfg);
            run(&mut b, t(0.5), "FFFF");
            run(&mut b, t(late), "F");
            assert_eq!(b.state(t(late)), state, "4 failures at 0.5 s, 1 at {late} s, window 10 s");
        }
        let mut b = window(TimeWindow, cfg);
        run(&mut b, t(0.5), "FFFF");
        run(&mut b, t(10.0), "FFF");
        run(&mut b, t(19.999), "F");
        assert_eq!(b.state(t(19.999)), Closed, "4 calls within the window");
        run(&mut b, t(19.999), "F");
        assert_eq!(b.state(t(19.999)), Open);
    }

    #[test]
    fn half_open_admits_only_the_permitted_calls() {
        let mut b = tripped(|_| {});
        assert!(!b.try_acquire(t(59.0)));
        admit(&mut b, t(60.0), 10);
        assert!(!b.try_acquire(t(60.0)), "the 11th");
        b.on_ignored(t(61.0));
        admit(&mut b, t(61.0), 1); // an ignored trial gives its permit back
        assert!(!b.try_acquire(t(61.0)));
    }

    #[test]
    fn half_open_evaluates_after_all_permitted_calls_complete() {
        let mut b = tripped(|_| {});
        admit(&mut b, t(60.0), 10);
        report(&mut b, t(61.0), "FFFFSSSSS");
        assert_eq!(b.state(t(61.0)), HalfOpen, "9 of 10 completed");
        report(&mut b, t(62.0), "S");
        assert_eq!(b.state(t(62.0)), Closed, "4 of 10 failed");
        run(&mut b, t(63.0), "FFFFFFFFF");
        assert_eq!(b.state(t(63.0)), Closed, "the window was emptied on closing");
        let mut b = tripped(|_| {});
        admit(&mut b, t(60.0), 10);
        report(&mut b, t(61.0), "FFFFXSSSSS");
        assert_eq!((b.state(t(61.0)), b.stats(t(61.0)).slow_calls), (Open, 1), "5 of 10 failed");
        assert!(!b.try_acquire(t(120.9)));
        assert!(b.try_acquire(t(121.0)));
    }

    #[test]
    fn half_open_expires_after_max_wait() {
        let mut b = tripped(|c| c.max_wait_in_half_open = SimTime::from_secs(5));
        assert_eq!(b.next_transition_at(), None, "lazy OPEN -> HALF_OPEN has no timer");
        admit(&mut b, t(60.0), 10);
        report(&mut b, t(61.0), "SSSSSSSSS");
        assert_eq!(b.next_transition_at(), Some(t(65.0)));
        assert_eq!((b.state(t(64.9)), b.state(t(65.0))), (HalfOpen, Open));
        report(&mut b, t(66.0), "S"); // the last trial, too late: arrives in OPEN
        assert_eq!(b.state(t(66.0)), Open);
        assert_eq!(b.transitions().last(), Some(&Transition { at: t(65.0), from: HalfOpen, to: Open }));
        assert!(!b.try_acquire(t(124.9)));
        assert!(b.try_acquire(t(125.0)));
    }

    #[test]
    fn automatic_transition_happens_at_the_due_time() {
        let mut b = tripped(|c| c.automatic_transition = true);
        assert_eq!(b.next_transition_at(), Some(t(60.0)));
        assert_eq!((b.state(t(59.9)), b.state(t(60.0))), (Open, HalfOpen));
        let projected = b.stats(t(100.0));
        b.on_timer(t(100.0)); // late: the transition is still recorded at 60 s
        assert_eq!(b.transitions().last(), Some(&Transition { at: t(60.0), from: Open, to: HalfOpen }));
        assert_eq!((b.stats(t(100.0)), b.next_transition_at()), (projected, None));
        assert_eq!(projected.time_in_state, [Z, t(60.0), t(40.0)]);
        // With a half-open expiry the timers chain: OPEN 0, HALF_OPEN 60, OPEN 65, HALF_OPEN 125.
        let mut b = tripped(|c| (c.automatic_transition, c.max_wait_in_half_open) = (true, t(5.0)));
        let projected = b.stats(t(129.0));
        b.on_timer(t(129.0));
        assert_eq!((b.stats(t(129.0)), projected.openings), (projected, 2));
        assert_eq!(projected.time_in_state, [Z, t(120.0), t(9.0)]);
        let at: Vec<_> = b.transitions().iter().map(|x| x.at).collect();
        assert_eq!((at, b.next_transition_at()), (vec![Z, t(60.0), t(65.0), t(125.0)], Some(t(130.0))));
    }

    #[test]
    fn time_in_state_sums_to_elapsed_time() {
        for (automatic, open, half_open) in [(false, 70.0, 10.0), (true, 60.0, 20.0)] {
            let mut b = window(CountWindow, |c| c.automatic_transition = automatic);
            run(&mut b, t(10.0), "FFFFFFFFFF");
            admit(&mut b, t(80.0), 10);
            report(&mut b, t(90.0), "SSSSSSSSSS");
            let st = b.stats(t(100.0));
            assert_eq!(st.time_in_state, [t(20.0), t(open), t(half_open)], "automatic = {automatic}");
            assert_eq!((st.state, st.time_in_state.into_iter().fold(Z, |a, b| a + b)), (Closed, t(100.0)));
        }
    }

    #[test]
    fn transition_log_is_capped() {
        let mut b = consecutive(|c| (c.failures, c.successes, c.open_for) = (1, 1, Z));
        (0..4000).for_each(|i| run(&mut b, SimTime(i), "FS")); // 3 transitions each
        let st = b.stats(SimTime(4000));
        assert_eq!((b.transitions().len(), st.transitions_dropped, st.openings), (MAX_TRANSITIONS, 2000, 4000));
    }

    #[test]
    fn reset_stats_keeps_the_state_machine() {
        let mut b = opened();
        assert!(!b.try_acquire(t(10.0)));
        b.reset_stats(t(30.0));
        assert_eq!(b.stats(t(30.0)), BreakerStats { state: Open, ..BreakerStats::default() });
        assert!(b.transitions().is_empty());
        assert!(!b.try_acquire(t(59.0)), "the open timer still runs from 0 s");
        admit(&mut b, t(60.0), 1);
        let st = b.stats(t(70.0));
        assert_eq!((st.calls_permitted, st.short_circuited, st.time_in_state), (1, 1, [Z, t(30.0), t(10.0)]));
        assert_eq!(b.transitions(), [Transition { at: t(60.0), from: Open, to: HalfOpen }]);
    }

    #[test]
    fn names_presets_and_clamping() {
        assert_eq!(format!("{Closed} {Open} {HalfOpen}"), "closed open half_open");
        assert_eq!(BreakerState::ALL.map(BreakerState::index), [0, 1, 2]);
        let seeds =
            ConsecutiveConfig { failures: 5, successes: 2, open_for: t(60.0), permitted_calls_in_half_open: None };
        assert_eq!(BreakerConfig::default(), BreakerConfig::Consecutive(seeds));
        let d = WindowConfig::default();
        assert_eq!(
            (d.failure_rate_threshold, d.slow_call_rate_threshold, d.slow_call_duration),
            (50.0, 100.0, t(60.0))
        );
        assert_eq!((d.window_size, d.minimum_number_of_calls, d.permitted_calls_in_half_open), (100, 100, 10));
        assert_eq!((d.wait_in_open, d.automatic_transition, d.max_wait_in_half_open), (t(60.0), false, Z));
        assert_eq!(BreakerConfig::resilience4j(), CountWindow(d));
        let b = window(CountWindow, |c| (c.minimum_number_of_calls, c.permitted_calls_in_half_open) = (100, 0));
        let BreakerConfig::CountWindow(c) = b.config() else { panic!("count window") };
        assert_eq!((c.minimum_number_of_calls, c.permitted_calls_in_half_open), (10, 1));
        let b = window(TimeWindow, |c| c.minimum_number_of_calls = 100);
        assert!(matches!(b.config(), TimeWindow(WindowConfig { minimum_number_of_calls: 100, .. })));
    }
}
