use super::BreakerConfig::{CountWindow, TimeWindow};
use super::BreakerState::{Closed, Disabled, ForcedOpen, HalfOpen, MetricsOnly, Open};
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

/// Time in closed, open and half-open, none in the special states.
fn pad(classic: [SimTime; 3]) -> [SimTime; 6] {
    [classic[0], classic[1], classic[2], Z, Z, Z]
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
    assert_eq!(b.trials_in_flight(), 0);
    admit(&mut b, t(60.0), 1);
    assert!(!b.try_acquire(t(60.0)), "second trial while one is in flight");
    assert_eq!(b.trials_in_flight(), 1);
    b.on_ignored(t(61.0));
    assert_eq!(b.trials_in_flight(), 0);
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
fn a_released_trial_permit_can_be_taken_again_and_records_nothing() {
    let mut b = tripped(|_| {});
    admit(&mut b, t(60.0), 10);
    b.release_permission(t(61.0));
    admit(&mut b, t(61.0), 1);
    assert!(!b.try_acquire(t(61.0)), "one permit back, one taken");
    // Permitted: the 10 calls that tripped it, the 10 trials and the re-admitted one.
    let st = b.stats(t(61.0));
    assert_eq!((st.calls_permitted, st.ignored, st.successes, st.failures), (21, 0, 0, 10));
    // The nine kept trials and the re-admitted one decide as usual: 10 successes close.
    report(&mut b, t(62.0), "SSSSSSSSSS");
    assert_eq!(b.state(t(62.0)), Closed);
}

#[test]
fn releasing_without_an_outstanding_trial_adds_no_permit() {
    let mut b = tripped(|_| {});
    b.release_permission(t(30.0)); // OPEN: permissions are not counted
    admit(&mut b, t(60.0), 10);
    report(&mut b, t(61.0), "SSSSSSSSS");
    b.release_permission(t(61.0)); // the tenth trial is abandoned
    b.release_permission(t(61.0)); // nothing left to give back
    admit(&mut b, t(62.0), 1);
    assert!(!b.try_acquire(t(62.0)), "at most the permitted calls, however many releases");
    let mut c = window(CountWindow, |_| {});
    c.release_permission(Z); // CLOSED: a no-op
    assert_eq!((c.state(Z), c.stats(Z)), (Closed, CircuitBreaker::new(c.config(), Z).stats(Z)));
}

#[test]
fn a_consecutive_breaker_whose_only_trial_is_abandoned_is_not_stuck_half_open() {
    let mut b = consecutive(|c| c.permitted_calls_in_half_open = Some(1));
    run(&mut b, Z, "FFFFF");
    admit(&mut b, t(60.0), 1);
    assert!(!b.try_acquire(t(70.0)), "the trial's caller is gone; without a release this lasts forever");
    b.release_permission(t(70.0));
    run(&mut b, t(71.0), "SS");
    assert_eq!(b.state(t(71.0)), Closed);
    assert_eq!(b.stats(t(71.0)).ignored, 0);
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
    assert_eq!(projected.time_in_state, pad([Z, t(60.0), t(40.0)]));
    // With a half-open expiry the timers chain: OPEN 0, HALF_OPEN 60, OPEN 65, HALF_OPEN 125.
    let mut b = tripped(|c| (c.automatic_transition, c.max_wait_in_half_open) = (true, t(5.0)));
    let projected = b.stats(t(129.0));
    b.on_timer(t(129.0));
    assert_eq!((b.stats(t(129.0)), projected.openings), (projected, 2));
    assert_eq!(projected.time_in_state, pad([Z, t(120.0), t(9.0)]));
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
        assert_eq!(st.time_in_state, pad([t(20.0), t(open), t(half_open)]), "automatic = {automatic}");
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
fn a_transition_at_the_reset_instant_belongs_to_the_warm_up() {
    let mut b = consecutive(|_| {});
    run(&mut b, t(30.0), "FFFFF");
    b.reset_stats(t(30.0));
    assert!(b.transitions().is_empty(), "dropped up to and including the reset");
    assert_eq!(b.stats(t(40.0)).openings, 0);
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
    assert_eq!((st.calls_permitted, st.short_circuited, st.time_in_state), (1, 1, pad([Z, t(30.0), t(10.0)])));
    assert_eq!(b.transitions(), [Transition { at: t(60.0), from: Open, to: HalfOpen }]);
}

#[test]
fn names_presets_and_clamping() {
    assert_eq!(format!("{Closed} {Open} {HalfOpen}"), "closed open half_open");
    assert_eq!(BreakerState::ALL.map(BreakerState::index), [0, 1, 2, 3, 4, 5]);
    let seeds = ConsecutiveConfig {
        failures: 5,
        successes: 2,
        open_for: t(60.0),
        permitted_calls_in_half_open: None,
        max_wait_in_half_open: Z,
        close_after_max_wait: false,
    };
    assert_eq!(BreakerConfig::default(), BreakerConfig::Consecutive(seeds));
    let d = WindowConfig::default();
    assert_eq!((d.failure_rate_threshold, d.slow_call_rate_threshold, d.slow_call_duration), (50.0, 100.0, t(60.0)));
    assert_eq!((d.window_size, d.minimum_number_of_calls, d.permitted_calls_in_half_open), (100, 100, 10));
    assert_eq!((d.wait_in_open, d.automatic_transition, d.max_wait_in_half_open), (t(60.0), false, Z));
    assert!(!d.close_after_max_wait, "resilience4j: back to OPEN after the half-open wait");
    assert_eq!(BreakerConfig::resilience4j(), CountWindow(d));
    let b = window(CountWindow, |c| (c.minimum_number_of_calls, c.permitted_calls_in_half_open) = (100, 0));
    let BreakerConfig::CountWindow(c) = b.config() else { panic!("count window") };
    assert_eq!((c.minimum_number_of_calls, c.permitted_calls_in_half_open), (10, 1));
    let b = window(TimeWindow, |c| c.minimum_number_of_calls = 100);
    assert!(matches!(b.config(), TimeWindow(WindowConfig { minimum_number_of_calls: 100, .. })));
}

#[test]
fn disabled_admits_everything_and_records_nothing() {
    let mut b = CircuitBreaker::with_initial_state(BreakerConfig::resilience4j(), Disabled, Z);
    run(&mut b, Z, &"F".repeat(500));
    b.on_ignored(Z);
    assert_eq!(b.state(t(10.0)), Disabled);
    let st = b.stats(t(10.0));
    assert_eq!((st.calls_permitted, st.failures, st.ignored, st.openings), (0, 0, 0, 0));
    assert_eq!(st.time_in_state[Disabled.index()], t(10.0));
    assert!(b.transitions().is_empty(), "an initial state is not a transition");
}

#[test]
fn forced_open_refuses_everything_and_drops_late_results() {
    let mut b = window(CountWindow, |c| c.automatic_transition = true);
    admit(&mut b, Z, 1);
    b.transition_to(t(1.0), ForcedOpen).unwrap();
    assert!(!b.try_acquire(t(1.0)));
    report(&mut b, t(2.0), "F"); // admitted while closed, arrives forced open
    assert!(!b.try_acquire(t(3600.0)), "no wait ends a forced open");
    assert_eq!(b.next_transition_at(), None);
    let st = b.stats(t(3600.0));
    assert_eq!((st.calls_permitted, st.short_circuited, st.failures, st.openings), (1, 2, 0, 0));
    assert_eq!(b.transitions(), [Transition { at: t(1.0), from: Closed, to: ForcedOpen }]);
}

#[test]
fn metrics_only_records_but_never_opens() {
    let mut b = window(CountWindow, |_| {});
    b.transition_to(Z, MetricsOnly).unwrap();
    run(&mut b, Z, "FFFFFFFFFFX");
    let st = b.stats(Z);
    assert_eq!((b.state(Z), st.failures, st.slow_calls, st.openings), (MetricsOnly, 11, 1, 0));
    // Back to CLOSED by hand: a fresh window, so nine more failures do not open it...
    b.transition_to(t(1.0), Closed).unwrap();
    run(&mut b, t(1.0), "FFFFFFFFF");
    assert_eq!(b.state(t(1.0)), Closed);
    // ...the tenth does.
    run(&mut b, t(1.0), "F");
    assert_eq!(b.state(t(1.0)), Open);
    let mut c = consecutive(|_| {});
    c.transition_to(Z, MetricsOnly).unwrap();
    run(&mut c, Z, &"F".repeat(50));
    assert_eq!((c.state(Z), failure_count(&c)), (MetricsOnly, 50));
}

#[test]
fn manual_transitions_follow_resilience4j_table() {
    let mut b = window(CountWindow, |_| {});
    let refused = b.transition_to(Z, HalfOpen).unwrap_err();
    assert_eq!((refused.from, refused.to), (Closed, HalfOpen));
    assert_eq!(refused.to_string(), "a circuit breaker cannot move from closed to half_open");
    b.transition_to(Z, MetricsOnly).unwrap();
    assert!(b.transition_to(Z, Open).is_err() && b.transition_to(Z, HalfOpen).is_err());
    assert_eq!(b.state(Z), MetricsOnly);
    let allowed = BreakerState::ALL.iter().flat_map(|f| BreakerState::ALL.map(|to| f.can_transition_to(to)));
    assert_eq!(allowed.filter(|&ok| ok).count(), 33, "resilience4j's StateTransition has 33 entries");
    // Moving to the state it is in restarts it, unlogged: OPEN's wait counts again from 30 s.
    let mut b = tripped(|_| {});
    b.transition_to(t(30.0), Open).unwrap();
    assert!(!b.try_acquire(t(60.0)));
    assert!(b.try_acquire(t(90.0)));
    assert_eq!(b.transitions().len(), 2, "closed -> open, open -> half_open");
    assert_eq!(b.stats(t(90.0)).openings, 1);
}

#[test]
fn an_initial_open_or_half_open_state_starts_its_wait_or_trials_at_creation() {
    let cfg = WindowConfig { permitted_calls_in_half_open: 2, ..WindowConfig::default() };
    let mut b = CircuitBreaker::with_initial_state(CountWindow(cfg), Open, t(5.0));
    assert!(!b.try_acquire(t(64.9)));
    assert!(b.try_acquire(t(65.0)));
    let mut h = CircuitBreaker::with_initial_state(CountWindow(cfg), HalfOpen, Z);
    admit(&mut h, Z, 2);
    assert!(!h.try_acquire(Z));
    report(&mut h, t(1.0), "SS");
    assert_eq!(h.state(t(1.0)), Closed);
}

#[test]
fn a_consecutive_half_open_expires_after_max_wait() {
    let mut b = consecutive(|c| c.max_wait_in_half_open = SimTime::from_secs(5));
    run(&mut b, Z, "FFFFF");
    assert_eq!(b.next_transition_at(), None, "lazy OPEN -> HALF_OPEN has no timer");
    admit(&mut b, t(60.0), 1);
    assert_eq!(b.next_transition_at(), Some(t(65.0)));
    assert_eq!((b.state(t(64.9)), b.state(t(65.0))), (HalfOpen, Open));
    report(&mut b, t(66.0), "S"); // too late: the trial round is over
    assert!(!b.try_acquire(t(124.9)));
    assert!(b.try_acquire(t(125.0)));
}

#[test]
fn record_dispatches_on_the_verdict() {
    let mut b = tripped(|_| {});
    admit(&mut b, t(60.0), 10);
    b.record(t(61.0), Verdict::Ignored, Z);
    admit(&mut b, t(61.0), 1);
    (0..5).for_each(|_| b.record(t(62.0), Verdict::Failure, Z));
    (0..5).for_each(|_| b.record(t(62.0), Verdict::Success, Z));
    let st = b.stats(t(62.0));
    assert_eq!((b.state(t(62.0)), st.ignored, st.successes, st.failures), (Open, 1, 5, 15));
}

#[test]
fn a_half_open_wait_may_lead_to_closed() {
    let mut b = tripped(|c| (c.max_wait_in_half_open, c.close_after_max_wait) = (t(5.0), true));
    admit(&mut b, t(60.0), 3);
    assert_eq!(b.next_transition_at(), Some(t(65.0)));
    assert_eq!((b.state(t(64.9)), b.state(t(65.0))), (HalfOpen, Closed));
    run(&mut b, t(66.0), "FFFFFFFFF"); // a fresh window: 9 failures of 9, below the minimum 10
    assert_eq!(b.state(t(66.0)), Closed);
    assert_eq!(b.stats(t(66.0)).openings, 1);
}

/// A time-window preset by behaviour: `volume` calls within `window` seconds, at least
/// `opening` of them failures, open it; `wait` seconds later it lets one trial through.
fn check_preset(cfg: BreakerConfig, volume: usize, window: f64, opening: usize, wait: f64) {
    let mut b = CircuitBreaker::new(cfg, Z);
    run(&mut b, t(0.5), &"F".repeat(volume - 1));
    assert_eq!(b.state(t(0.5)), Closed, "{cfg:?}: below the minimum volume");
    run(&mut b, t(0.5 + window), "F");
    assert_eq!(b.state(t(0.5 + window)), Closed, "{cfg:?}: the first calls left the window");
    let at = t(1.0 + window);
    run(&mut b, at, &format!("{}{}", "F".repeat(opening - 1), "S".repeat(volume - opening)));
    assert_eq!(b.state(at), Open, "{cfg:?}: {opening} failures of {volume} open it");
    assert!(!b.try_acquire(at + t(wait) - SimTime(1)));
    admit(&mut b, at + t(wait), 1);
    assert!(!b.try_acquire(at + t(wait)), "{cfg:?}: a single trial");
    report(&mut b, at + t(wait), "S");
    assert_eq!(b.state(at + t(wait)), Closed);
}

#[test]
fn hystrix_and_polly_presets_behave_as_their_defaults_say() {
    // Hystrix: 20 requests in 10 s at 50% errors, 5 s sleep window.
    check_preset(BreakerConfig::hystrix(), 20, 10.0, 10, 5.0);
    // Polly v8: 100 calls in 30 s at a failure ratio of 0.1, 5 s break.
    check_preset(BreakerConfig::polly(), 100, 30.0, 10, 5.0);
}

#[test]
fn the_rates_count_only_from_the_minimum_number_of_calls() {
    // Nothing recorded and no minimum: still no rate (resilience4j's -1).
    assert_eq!(BreakerMetrics::default().failure_rate(), None);
    let mut b = window(CountWindow, |c| c.minimum_number_of_calls = 4);
    run(&mut b, Z, "FSL");
    let m = b.metrics(Z);
    assert_eq!((m.calls.calls, m.minimum_calls, m.failure_rate(), m.slow_call_rate()), (3, 4, None, None));
    run(&mut b, Z, "S");
    let m = b.metrics(Z);
    assert_eq!((m.failure_rate(), m.slow_call_rate()), (Some(25.0), Some(25.0)));
}

#[test]
fn refused_calls_are_counted_as_not_permitted() {
    let mut b = opened();
    (0..3).for_each(|_| assert!(!b.try_acquire(t(1.0))));
    assert_eq!(b.metrics(t(1.0)).not_permitted, 3);
    let mut w = tripped(|_| {});
    (0..2).for_each(|_| assert!(!w.try_acquire(t(1.0))));
    let m = w.metrics(t(1.0));
    // OPEN shows the window that tripped it.
    assert_eq!((m.not_permitted, m.calls.failures, m.failure_rate()), (2, 10, Some(100.0)));
}

/// failsafe's consecutive-failures policy: `failures` in a row open it for 5 s.
fn failsafe(failures: u32) -> CircuitBreaker {
    failsafe_with(failures, FailsafeBackoff::Constant(t(5.0)))
}

/// failsafe's consecutive-failures policy with its openings from `backoff`.
fn failsafe_with(failures: u32, backoff: FailsafeBackoff) -> CircuitBreaker {
    let consecutive = ConsecutiveFailuresConfig { failures, backoff };
    CircuitBreaker::new(
        BreakerConfig::Failsafe(FailsafeConfig { success_rate: None, consecutive: Some(consecutive) }),
        Z,
    )
}

#[test]
fn failsafe_leaves_open_strictly_after_its_backoff_and_a_trial_success_closes() {
    let mut b = failsafe(2);
    run(&mut b, Z, "F");
    assert_eq!(b.state(Z), Closed);
    run(&mut b, Z, "F");
    assert_eq!(b.state(Z), Open);
    // failsafe's `clock::now() > until`: at exactly 5 s it is still open.
    assert!(!b.try_acquire(t(5.0)));
    assert!(b.try_acquire(t(5.0) + SimTime(1)));
    assert_eq!(b.state(t(5.0) + SimTime(1)), HalfOpen);
    report(&mut b, t(6.0), "S");
    assert_eq!((b.state(t(6.0)), b.trials_in_flight()), (Closed, 0));
    // The success revived the policy: one failure is not yet two in a row.
    run(&mut b, t(6.0), "F");
    assert_eq!(b.state(t(6.0)), Closed);
}

#[test]
fn failsafe_reopens_on_a_trial_failure_even_below_its_threshold() {
    let mut b = failsafe(3);
    run(&mut b, Z, "FFF");
    admit(&mut b, t(6.0), 2);
    assert_eq!((b.state(t(6.0)), b.trials_in_flight()), (HalfOpen, 2));
    // One failure is below three in a row, yet HALF_OPEN reopens for the last backoff.
    report(&mut b, t(6.0), "F");
    assert_eq!((b.state(t(6.0)), b.trials_in_flight()), (Open, 0));
    // A late success in OPEN is recorded but does not close it.
    report(&mut b, t(7.0), "S");
    assert_eq!(b.state(t(7.0)), Open);
    assert!(!b.try_acquire(t(11.0)));
    assert!(b.try_acquire(t(11.0) + SimTime(1)));
}

#[test]
fn failsafe_in_metrics_only_records_but_never_opens() {
    let mut b = failsafe(2);
    b.transition_to(Z, MetricsOnly).unwrap();
    run(&mut b, Z, "FFFFF");
    assert_eq!((b.state(Z), b.stats(Z).failures, b.stats(Z).openings), (MetricsOnly, 5, 0));
}

#[test]
fn failsafe_climbs_its_backoff_while_trials_fail_and_a_close_starts_it_over() {
    let mut b = failsafe_with(1, FailsafeBackoff::Exponential { start_secs: 5, max_secs: 300 });
    let ns = SimTime(1);
    run(&mut b, Z, "F");
    // Open 5 s, then a failed trial opens it for the next rung, 10 s.
    run(&mut b, t(5.0) + ns, "F");
    assert!(!b.try_acquire(t(15.0)));
    assert!(!b.try_acquire(t(15.0) + ns));
    // A successful trial closes it, reviving the policy: back to 5 s.
    run(&mut b, t(15.0) + ns + ns, "S");
    assert_eq!(b.state(t(15.0) + ns + ns), Closed);
    run(&mut b, t(16.0), "F");
    assert!(!b.try_acquire(t(21.0)));
    assert!(b.try_acquire(t(21.0) + ns));
}

#[test]
fn the_not_permitted_count_starts_afresh_except_into_open() {
    let mut b = tripped(|c| c.permitted_calls_in_half_open = 2);
    (0..2).for_each(|_| assert!(!b.try_acquire(t(1.0))));
    // HALF_OPEN counts its own refusals...
    admit(&mut b, t(60.0), 2);
    assert_eq!(b.metrics(t(60.0)).not_permitted, 0);
    (0..3).for_each(|_| assert!(!b.try_acquire(t(60.0))));
    // ...which OPEN carries on.
    report(&mut b, t(60.0), "FF");
    assert_eq!((b.state(t(60.0)), b.metrics(t(60.0)).not_permitted), (Open, 3));
}

#[test]
fn a_tally_splits_its_calls_as_resilience4j_snapshot_does() {
    let mut b = window(CountWindow, |_| {});
    run(&mut b, Z, "FSLLX");
    let m = b.metrics(Z).calls;
    let split = (m.calls, m.failures, m.slow, m.slow_failures, m.successes(), m.slow_successes());
    assert_eq!(split, (5, 2, 3, 1, 3, 2));
}

#[test]
fn slow_calls_slide_out_of_a_count_window_with_their_failures() {
    let mut b = window(CountWindow, |c| c.window_size = 3);
    run(&mut b, Z, "LXS");
    let m = b.metrics(Z).calls;
    assert_eq!((m.calls, m.failures, m.slow, m.slow_failures), (3, 1, 2, 1));
    run(&mut b, Z, "SSS");
    assert_eq!(b.metrics(Z).calls, Tally { calls: 3, ..Tally::default() });
}
