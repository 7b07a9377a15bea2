//! Circuit breaker: a clock-free state machine with resilience4j semantics.
//!
//! The engine drives a [`CircuitBreaker`] with the simulated time: [`CircuitBreaker::try_acquire`]
//! before a call (`false` = short-circuited), then exactly one of [`CircuitBreaker::on_success`],
//! [`CircuitBreaker::on_failure`] or [`CircuitBreaker::on_ignored`] when an admitted call ends, or
//! [`CircuitBreaker::release_permission`] when it is abandoned without a result.
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
//!   OPEN (or CLOSES, with `close_after_max_wait`). OPEN -> HALF_OPEN happens on the first call attempt at or after `opened + wait_in_open`
//!   (`automatic_transition = false`), or at exactly that instant (`true`).
//!
//! The consecutive kind takes `max_wait_in_half_open` and `close_after_max_wait` too.
//!
//! resilience4j's special states ([`BreakerState`]), entered as the initial state
//! ([`CircuitBreaker::with_initial_state`], resilience4j's `initialState`) or by hand
//! ([`CircuitBreaker::transition_to`], its `transitionToXxxState()`), and left only by hand:
//! DISABLED admits everything and records nothing; FORCED_OPEN refuses everything (counted as
//! short-circuited) and drops late results; METRICS_ONLY admits everything and records outcomes
//! (window and statistics) but never opens.
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
//! A fourth kind, **Failsafe**, is the Rust crate failsafe's state machine and failure policies;
//! see [`FailsafePolicy`] for how it differs.
//!
//! Presets: [`BreakerConfig::resilience4j`], Hystrix's, Polly's, failsafe's `Config::new()` (and
//! the seeds' default). Envoy, Finagle, gRPC and
//! the AWS SDKs have no classic call-site breaker: Envoy's "circuit breaking" is concurrency caps
//! (max connections, pending requests, requests, retries) and its per-host protection is outlier
//! ejection; Finagle's failure accrual likewise marks single endpoints dead in the load balancer;
//! gRPC and the AWS SDKs throttle retries (retry throttling, retry quota). Those belong to the
//! bulkhead, load-balancing and retry policies.

use crate::engine::{SimTime, Stream};

pub use classify::{Classifier, Verdict};
pub use failsafe::{
    BackoffIter, ConsecutiveFailuresConfig, Ema, FailsafeBackoff, FailsafeConfig, FailsafePolicy, SuccessRateConfig,
    WindowedAdder,
};
pub use state::{BreakerState, IllegalTransition};
pub use window::{Tally, Window};

/// Most transitions kept by [`CircuitBreaker::transitions`]; later ones are only counted.
pub const MAX_TRANSITIONS: usize = 10_000;

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
    /// Longest HALF_OPEN before going back to OPEN; zero (default) = until enough trials succeed
    /// or one fails (resilience4j's `maxWaitDurationInHalfOpenState`, applied to this kind too).
    pub max_wait_in_half_open: SimTime,
    /// When that wait runs out, CLOSE rather than go back to OPEN (default false).
    pub close_after_max_wait: bool,
}

impl Default for ConsecutiveConfig {
    fn default() -> Self {
        ConsecutiveConfig {
            failures: 5,
            successes: 2,
            open_for: SimTime::from_secs(60),
            permitted_calls_in_half_open: None,
            max_wait_in_half_open: SimTime::ZERO,
            close_after_max_wait: false,
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
    /// When that wait runs out, CLOSE rather than go back to OPEN (default false; resilience4j's
    /// `transitionToStateAfterWaitDuration`, OPEN by default).
    pub close_after_max_wait: bool,
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
            close_after_max_wait: false,
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
    /// failsafe's state machine and failure policies.
    Failsafe(FailsafeConfig),
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

    /// Netflix Hystrix's defaults (`HystrixCommandProperties`): a 10 s rolling window
    /// (`metricsRollingStatisticalWindowInMilliseconds`), at least 20 requests in it
    /// (`circuitBreakerRequestVolumeThreshold`), 50 % errors
    /// (`circuitBreakerErrorThresholdPercentage`), 5 s open (`sleepWindowInMilliseconds`),
    /// then a single trial request whose result closes or reopens it. Hystrix has no
    /// slow-call rule (its timeouts count as failures). It re-reads its health every
    /// 500 ms; resim decides on every result, as resilience4j does.
    pub fn hystrix() -> Self {
        BreakerConfig::TimeWindow(WindowConfig {
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            window_size: 10,
            minimum_number_of_calls: 20,
            permitted_calls_in_half_open: 1,
            wait_in_open: SimTime::from_secs(5),
            ..WindowConfig::default()
        })
    }

    /// Polly v8's defaults (`CircuitBreakerStrategyOptions`): a 30 s sampling window
    /// (`SamplingDuration`), at least 100 calls in it (`MinimumThroughput`), a failure
    /// ratio of 0.1 (`FailureRatio`), 5 s open (`BreakDuration`), then one probe call
    /// whose result closes or reopens it.
    pub fn polly() -> Self {
        BreakerConfig::TimeWindow(WindowConfig {
            failure_rate_threshold: 10.0,
            slow_call_rate_threshold: 100.0,
            window_size: 30,
            minimum_number_of_calls: 100,
            permitted_calls_in_half_open: 1,
            wait_in_open: SimTime::from_secs(5),
            ..WindowConfig::default()
        })
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
    /// Time spent in each state (see [`BreakerState::index`]), up to `now`.
    pub time_in_state: [SimTime; 6],
    /// The state at `now`.
    pub state: BreakerState,
}

/// What the current state has recorded, as resilience4j's `CircuitBreaker.getMetrics()`
/// shows it: CLOSED and METRICS_ONLY their window, HALF_OPEN its trials, OPEN what the state
/// before it had (resilience4j hands its metrics on), DISABLED and FORCED_OPEN nothing.
/// The consecutive kind keeps no window: only `not_permitted` counts there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BreakerMetrics {
    /// The calls recorded (`getNumberOfBufferedCalls`, `...FailedCalls`, `...SlowCalls`).
    pub calls: Tally,
    /// Calls needed before the rates count.
    pub minimum_calls: u64,
    /// Calls refused in this state (`getNumberOfNotPermittedCalls`); OPEN carries on the
    /// count of the state before it.
    pub not_permitted: u64,
}

impl BreakerMetrics {
    /// The failure rate in percent, `None` below the minimum number of calls (resilience4j
    /// answers -1 there).
    pub fn failure_rate(&self) -> Option<f64> {
        (self.calls.calls > 0 && self.calls.calls >= self.minimum_calls).then(|| self.calls.failure_rate())
    }

    /// The slow-call rate in percent, `None` below the minimum number of calls.
    pub fn slow_call_rate(&self) -> Option<f64> {
        self.failure_rate().map(|_| self.calls.slow_call_rate())
    }
}

/// The per-kind part of the state machine.
#[derive(Clone, Debug)]
enum Machine {
    Consecutive {
        cfg: ConsecutiveConfig,
        failures: u32,
        successes: u32,
    },
    Window {
        cfg: WindowConfig,
        window: Window,
        trial: Tally,
        permits_left: u32,
        carried: (Tally, u64),
    },
    /// failsafe: its policy, and how long the current (or last) opening lasts.
    Failsafe {
        policy: Box<FailsafePolicy>,
        open_for: SimTime,
    },
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
    /// Calls refused since the state was entered (OPEN carries on the previous count).
    not_permitted: u64,
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
                Machine::Window {
                    cfg,
                    window,
                    trial: Tally::default(),
                    permits_left: 0,
                    carried: (Tally::default(), 0),
                }
            }
            BreakerConfig::Failsafe(cfg) => {
                Machine::Failsafe { policy: Box::new(FailsafePolicy::new(cfg, now)), open_for: SimTime::ZERO }
            }
        };
        CircuitBreaker {
            machine,
            state: BreakerState::Closed,
            since: now,
            in_flight: 0,
            not_permitted: 0,
            stats: BreakerStats::default(),
            acc_mark: now,
            transitions: Vec::new(),
        }
    }

    /// A breaker created at `now` in `state` rather than CLOSED (resilience4j's
    /// `CircuitBreakerConfig.initialState`): no transition is logged, and an OPEN or HALF_OPEN
    /// start counts its wait or its trials from `now`.
    pub fn with_initial_state(config: BreakerConfig, state: BreakerState, now: SimTime) -> Self {
        let mut b = Self::new(config, now);
        b.enter(state, now);
        b
    }

    /// Moves the breaker to `to` at `now` by hand, as resilience4j's `transitionToXxxState()`
    /// methods do: the state is entered afresh (a CLOSED, DISABLED or METRICS_ONLY window starts
    /// empty, an OPEN wait or a HALF_OPEN trial round starts at `now`); moving to the state it is
    /// already in restarts it without logging a transition. Refused, with nothing changed, for
    /// the pairs resilience4j refuses ([`BreakerState::can_transition_to`]).
    pub fn transition_to(&mut self, now: SimTime, to: BreakerState) -> Result<(), IllegalTransition> {
        self.advance(now);
        if !self.state.can_transition_to(to) {
            return Err(IllegalTransition { from: self.state, to });
        }
        self.transition(now, to);
        Ok(())
    }

    /// Draws the jitter of failsafe's backoffs from `rng` (the engine's stream named after
    /// the edge); the other kinds draw nothing and ignore it.
    pub fn with_stream(mut self, rng: Stream) -> Self {
        if let Machine::Failsafe { policy, .. } = &mut self.machine {
            policy.set_stream(rng);
        }
        self
    }

    /// The configuration in use, after the clamping done by [`CircuitBreaker::new`].
    pub fn config(&self) -> BreakerConfig {
        match &self.machine {
            Machine::Consecutive { cfg, .. } => BreakerConfig::Consecutive(*cfg),
            Machine::Window { cfg, window, .. } if window.is_count() => BreakerConfig::CountWindow(*cfg),
            Machine::Window { cfg, .. } => BreakerConfig::TimeWindow(*cfg),
            Machine::Failsafe { policy, .. } => BreakerConfig::Failsafe(policy.config()),
        }
    }

    /// Asks to make a call at `now`: `true` admits it (the caller must later report its end),
    /// `false` short-circuits it. May move OPEN -> HALF_OPEN (lazily) first.
    pub fn try_acquire(&mut self, now: SimTime) -> bool {
        self.advance(now);
        // failsafe leaves OPEN strictly after its backoff (`clock::now() > until`).
        let strict = matches!(self.machine, Machine::Failsafe { .. });
        if self.state == BreakerState::Open && now >= self.since + self.open_wait() + SimTime(u64::from(strict)) {
            self.transition(now, BreakerState::HalfOpen);
        }
        let admitted = match self.state {
            // resilience4j's DisabledState counts nothing at all.
            BreakerState::Disabled => return true,
            BreakerState::Closed | BreakerState::MetricsOnly => true,
            BreakerState::Open | BreakerState::ForcedOpen => false,
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
                    Machine::Failsafe { .. } => true,
                };
                self.in_flight = self.in_flight.saturating_add(u32::from(free));
                free
            }
        };
        if admitted {
            self.stats.calls_permitted += 1;
        } else {
            self.stats.short_circuited += 1;
            self.not_permitted += 1;
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

    /// An admitted call ended at `now`, after running for `duration`, with an outcome judged
    /// `verdict` (see [`Classifier`]).
    pub fn record(&mut self, now: SimTime, verdict: Verdict, duration: SimTime) {
        match verdict {
            Verdict::Success => self.on_success(now, duration),
            Verdict::Failure => self.on_failure(now, duration),
            Verdict::Ignored => self.on_ignored(now),
        }
    }

    /// An admitted call ended at `now` with an outcome that must not count: nothing is recorded,
    /// and in HALF_OPEN its trial permit is given back.
    pub fn on_ignored(&mut self, now: SimTime) {
        self.advance(now);
        self.stats.ignored += u64::from(self.records());
        self.release_permission(now);
    }

    /// Trial calls admitted in HALF_OPEN and not yet reported (0 in the other states).
    pub fn trials_in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Gives back at `now` the permission of an admitted call that will report no result
    /// (resilience4j `CircuitBreaker.releasePermission()`): a call abandoned before it was
    /// sent, or whose caller went away. In HALF_OPEN the trial permit returns, so another
    /// trial can take it; in the other states permissions are not counted and nothing
    /// changes. Nothing is recorded in the statistics.
    pub fn release_permission(&mut self, now: SimTime) {
        self.advance(now);
        if self.state == BreakerState::HalfOpen && self.in_flight > 0 {
            self.in_flight -= 1;
            if let Machine::Window { permits_left, .. } = &mut self.machine {
                *permits_left += 1;
            }
        }
    }

    /// What the current state has recorded at `now` (see [`BreakerMetrics`]), as of the last
    /// call: timers due since then are not applied.
    pub fn metrics(&self, now: SimTime) -> BreakerMetrics {
        let not_permitted = self.not_permitted;
        let Machine::Window { cfg, window, trial, carried, .. } = &self.machine else {
            return BreakerMetrics { not_permitted, ..BreakerMetrics::default() };
        };
        let min = u64::from(cfg.minimum_number_of_calls);
        let (calls, minimum_calls) = match self.state {
            BreakerState::Closed | BreakerState::MetricsOnly => (window.snapshot(now), min),
            BreakerState::HalfOpen => (*trial, u64::from(cfg.permitted_calls_in_half_open)),
            BreakerState::Open => *carried,
            BreakerState::Disabled | BreakerState::ForcedOpen => (Tally::default(), min),
        };
        BreakerMetrics { calls, minimum_calls, not_permitted }
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
            Machine::Failsafe { open_for, .. } => *open_for,
        }
    }

    /// False in the states where results are dropped unseen: DISABLED and FORCED_OPEN
    /// (resilience4j's `onError`/`onSuccess` are no-ops there).
    fn records(&self) -> bool {
        !matches!(self.state, BreakerState::Disabled | BreakerState::ForcedOpen)
    }

    /// The timed transition pending from `state`, entered at `since`.
    fn timer_due(&self, state: BreakerState, since: SimTime) -> Option<(SimTime, BreakerState)> {
        match (state, &self.machine) {
            (BreakerState::Open, Machine::Window { cfg, .. }) if cfg.automatic_transition => {
                Some((since + cfg.wait_in_open, BreakerState::HalfOpen))
            }
            (BreakerState::HalfOpen, machine) => {
                let (wait, close) = match machine {
                    Machine::Window { cfg, .. } => (cfg.max_wait_in_half_open, cfg.close_after_max_wait),
                    Machine::Consecutive { cfg, .. } => (cfg.max_wait_in_half_open, cfg.close_after_max_wait),
                    Machine::Failsafe { .. } => return None,
                };
                let at = since + wait;
                let to = if close { BreakerState::Closed } else { BreakerState::Open };
                // `at == since`: no expiry (zero), or saturated at SimTime::MAX.
                (at > since).then_some((at, to))
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
        if !self.records() {
            return;
        }
        let slow = matches!(&self.machine, Machine::Window { cfg, .. } if duration > cfg.slow_call_duration);
        self.stats.failures += u64::from(failed);
        self.stats.successes += u64::from(!failed);
        self.stats.slow_calls += u64::from(slow);
        if matches!(self.machine, Machine::Failsafe { .. }) {
            return self.on_failsafe_result(now, failed);
        }
        let closed = self.state == BreakerState::Closed;
        let next = match self.state {
            BreakerState::Open | BreakerState::Disabled | BreakerState::ForcedOpen => None,
            // METRICS_ONLY records as CLOSED does, then stays put.
            BreakerState::Closed | BreakerState::MetricsOnly => match &mut self.machine {
                Machine::Consecutive { cfg, failures, .. } => {
                    *failures = if failed { failures.saturating_add(1) } else { 0 };
                    (*failures >= cfg.failures).then_some(BreakerState::Open)
                }
                Machine::Window { cfg, window, .. } => {
                    let snap = window.record(now, failed, slow);
                    let enough = snap.calls >= u64::from(cfg.minimum_number_of_calls.max(1));
                    (enough && snap.exceeds(cfg)).then_some(BreakerState::Open)
                }
                Machine::Failsafe { .. } => None, // on_failsafe_result
            }
            .filter(|_| closed),
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
                    Machine::Failsafe { .. } => None,
                }
            }
        };
        if let Some(to) = next {
            self.transition(now, to);
        }
    }

    /// failsafe's `on_success` / `on_error` (`state_machine.rs` lines 184-231): a success
    /// closes a HALF_OPEN breaker (reviving the policy) and is recorded in every state; a
    /// failure asks the policy in CLOSED (and METRICS_ONLY, which never opens) and
    /// HALF_OPEN, where it reopens at once, and is dropped in OPEN.
    fn on_failsafe_result(&mut self, now: SimTime, failed: bool) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if !failed && self.state == BreakerState::HalfOpen {
            self.transition(now, BreakerState::Closed);
        }
        let state = self.state;
        let Machine::Failsafe { policy, open_for } = &mut self.machine else { return };
        if !failed {
            return policy.record_success(now);
        }
        let trip = match state {
            BreakerState::Closed | BreakerState::MetricsOnly => policy.mark_dead_on_failure(now),
            BreakerState::HalfOpen => Some(policy.mark_dead_on_failure(now).unwrap_or(*open_for)),
            _ => None,
        };
        if let Some(d) = trip.filter(|_| state != BreakerState::MetricsOnly) {
            *open_for = d;
            self.transition(now, BreakerState::Open);
        }
    }

    /// Leaves the current state for `to` at `at`; a move to the same state (by hand only)
    /// restarts it without being logged.
    fn transition(&mut self, at: SimTime, to: BreakerState) {
        let from = self.state;
        self.stats.time_in_state[from.index()] += at.saturating_sub(self.acc_mark);
        self.acc_mark = self.acc_mark.max(at);
        if from != to {
            if self.transitions.len() < MAX_TRANSITIONS {
                self.transitions.push(Transition { at, from, to });
            } else {
                self.stats.transitions_dropped += 1;
            }
            self.stats.openings += u64::from(to == BreakerState::Open);
        }
        if to == BreakerState::Open {
            // resilience4j's OpenState shows the metrics of the state it replaced.
            let shown = self.metrics(at);
            if let Machine::Window { carried, .. } = &mut self.machine {
                *carried = (shown.calls, shown.minimum_calls);
            }
        }
        self.enter(to, at);
    }

    /// Enters `to` at `at` afresh: no trial in flight, the counters of the consecutive kind
    /// zeroed, a full round of trial permits, and an empty window in the states that record
    /// from scratch (resilience4j builds new metrics for CLOSED, DISABLED and METRICS_ONLY, and
    /// hands the CLOSED window on to OPEN).
    fn enter(&mut self, to: BreakerState, at: SimTime) {
        (self.state, self.since, self.in_flight) = (to, at, 0);
        if to != BreakerState::Open {
            self.not_permitted = 0;
        }
        match &mut self.machine {
            Machine::Consecutive { failures, successes, .. } => (*failures, *successes) = (0, 0),
            // failsafe's `transit_to_closed` revives the policy (so does `reset()`).
            Machine::Failsafe { policy, .. } if to == BreakerState::Closed => policy.revived(at),
            Machine::Failsafe { .. } => {}
            Machine::Window { cfg, window, trial, permits_left, .. } => {
                *trial = Tally::default();
                *permits_left = cfg.permitted_calls_in_half_open;
                if matches!(to, BreakerState::Closed | BreakerState::Disabled | BreakerState::MetricsOnly) {
                    window.clear();
                }
            }
        }
    }
}

mod classify;
mod failsafe;
mod state;
mod window;

#[cfg(test)]
mod tests;
