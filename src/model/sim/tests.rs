//! The lifecycle, the call pipeline and crashes on scenarios small enough to work out by
//! hand: one closed user and constant times, so every event's time is known exactly.

use std::path::Path;

use crate::metrics::{Outcome, ReplicationResult};
use crate::model::sim::run_replication;

/// Runs replication 0 of a scenario with one closed user thinking a constant 1 s.
/// Services are indexed by name order: `back` is 0, `front` 1 (or 0 when alone).
fn run(services: &str, duration: &str, faults: &str) -> ReplicationResult {
    let text = format!(
        "name: t\nduration: {duration}\nservices:\n{services}\nworkloads:\n  - {{ name: u, target: front, arrivals: {{ closed: {{ users: 1, think_time: {{ constant: {{ value: 1s }} }} }} }} }}\n{faults}"
    );
    let scenario = crate::scenario::load_str(&text, Path::new("t.yaml"), &[]).expect("a valid scenario");
    run_replication(&scenario.model, 0)
}

#[test]
fn a_closed_user_cycles_through_think_and_service_exactly() {
    // Think 1 s, serve 100 ms: arrival k at 1 + 1.1 (k - 1) s, its answer 100 ms later.
    // By 109.95 s: 100 arrivals, 99 answers (the 100th would come at 110 s).
    let r = run("  front: { servers: 1, service_time: { constant: { value: 100ms } } }", "109950ms", "");
    let (w, s) = (&r.workloads[0], &r.services[0]);
    assert_eq!(w.arrivals, 100);
    assert_eq!(w.outcomes.get(Outcome::Ok), 99);
    assert_eq!(w.outcomes.total(), 99);
    assert_eq!((s.arrivals, s.completed, s.rejected), (100, 99, 0));
    // Every answer took exactly 100 ms, with no wait.
    assert_eq!(s.sojourn_sum, 99 * 100_000_000);
    assert_eq!(s.wait_sum, 0);
    assert_eq!(w.latency.quantile_secs(0.5), s.sojourn.quantile_secs(0.5));
}

#[test]
fn a_call_adds_the_callee_time_to_the_caller_visit() {
    // front serves 10 ms, then calls back (40 ms): each job takes 50 ms.
    let services = "  front: { servers: 1, service_time: { constant: { value: 10ms } }, calls: [ { to: back } ] }\n  back: { servers: 1, service_time: { constant: { value: 40ms } } }";
    let r = run(services, "10s", "");
    // Arrivals at 1, 2.05, 3.1, ... 1 + 1.05 (k - 1) <= 10: k = 9; all answered by 9.45 s.
    assert_eq!(r.workloads[0].arrivals, 9);
    assert_eq!(r.workloads[0].outcomes.get(Outcome::Ok), 9);
    let (back, front) = (&r.services[0], &r.services[1]);
    assert_eq!(front.sojourn_sum, 9 * 50_000_000);
    assert_eq!(back.sojourn_sum, 9 * 40_000_000);
    assert_eq!((r.edges[0].calls, r.edges[0].attempts), (9, 9));
}

#[test]
fn a_timed_out_call_fails_the_visit_and_the_callee_works_on_wasted() {
    // The callee needs 80 ms, the caller waits 50 ms: every call times out, every
    // visit fails, and each callee visit completes for nobody.
    let services = "  front: { servers: 1, service_time: { constant: { value: 10ms } }, calls: [ { to: back, timeout: 50ms } ] }\n  back: { servers: 1, service_time: { constant: { value: 80ms } } }";
    let r = run(services, "10s", "");
    // Each job: 10 ms + 50 ms timeout = 60 ms; arrivals at 1 + 1.06 (k - 1) <= 10: k = 9.
    let w = &r.workloads[0];
    assert_eq!(w.outcomes.get(Outcome::Error), 9);
    assert_eq!(r.edges[0].attempt_outcomes.get(Outcome::Timeout), 9);
    assert_eq!(r.edges[0].abandoned, 9);
    let back = &r.services[0];
    assert_eq!((back.completed, back.wasted), (9, 9));
}

#[test]
fn a_retry_after_a_refused_attempt_goes_through_the_guard_again() {
    // The edge is partitioned with refusal: every attempt fails at once, so each call
    // makes its three attempts (no backoff) and the visit fails with no time spent
    // waiting. The breaker (5 consecutive failures) sees every attempt and opens.
    let services = "  front: { servers: 1, service_time: { constant: { value: 10ms } }, calls: [ { to: back, retry: { max_attempts: 3, backoff: none, jitter: none }, breaker: { consecutive: { failures: 5, open_for: 1h } } } ] }\n  back: { servers: 1, service_time: { constant: { value: 1ms } } }";
    let faults = "faults:\n  - { kind: partition, target: 'front->back', mode: refuse, at: 0s, for: 1h }";
    let r = run(services, "5s", faults);
    let e = &r.edges[0];
    // Jobs at 1, 2.01, 3.02, 4.03: four calls. Attempts 1-5 reach the partition and are
    // refused; from the sixth the open breaker short-circuits them, and a short-circuited
    // attempt is not retried (not in the default `retry_on`): the first call makes 3
    // attempts, the second 3 (error, error, short-circuited), the last two 1 each.
    assert_eq!(e.calls, 4);
    assert_eq!(e.attempts, 8);
    assert_eq!(e.attempt_outcomes.get(Outcome::Error), 5);
    assert_eq!(e.attempt_outcomes.get(Outcome::ShortCircuited), 3);
    assert_eq!(r.workloads[0].outcomes.get(Outcome::Error), 4);
    assert_eq!(r.services[0].arrivals, 0, "nothing reaches back");
}

#[test]
fn a_crash_loses_the_request_inside_and_the_next_one_is_served() {
    // The user arrives at 1 s; service takes 2 s; the instance crashes at 1.5 s: the
    // request is lost (an error at 1.5 s). The next arrives at 2.5 s, after the restart
    // at 2.2 s, and is answered at 4.5 s.
    let faults = "faults:\n  - { kind: crash, target: front, at: 1500ms, for: 700ms }";
    let r = run("  front: { servers: 1, service_time: { constant: { value: 2s } } }", "5s", faults);
    let w = &r.workloads[0];
    assert_eq!(w.arrivals, 2);
    assert_eq!((w.outcomes.get(Outcome::Error), w.outcomes.get(Outcome::Ok)), (1, 1));
    assert_eq!((r.services[0].lost, r.services[0].completed), (1, 1));
    assert_eq!(r.faults[0].activations, 1);
    assert_eq!(r.faults[0].injected, 1);
}

/// A front that serves 10 ms, then calls `back` with a hedge after 20 ms, `cancel` as given.
fn hedged(cancel: bool, back: &str) -> ReplicationResult {
    let services = format!(
        "  front: {{ servers: 1, service_time: {{ constant: {{ value: 10ms }} }}, calls: [ {{ to: back, hedge: {{ delay: 20ms, cancel: {cancel} }} }} ] }}\n{back}"
    );
    run(&services, "10s", "")
}

/// Busy time of a service's first pool, ns.
fn busy(r: &ReplicationResult, service: usize) -> u128 {
    r.services[service].pools[0].areas.busy
}

#[test]
fn a_cancelled_hedge_frees_its_worker_at_once() {
    // back serves a constant 40 ms with room for both requests, so the original (sent at
    // t0 + 10 ms) always wins at t0 + 50 ms; the hedge, sent at t0 + 30 ms, has 20 ms of
    // its 40 ms left. Jobs at 1 + 1.05 (k - 1) <= 10 s: k = 9, each taking 50 ms.
    let back = "  back: { servers: 2, service_time: { constant: { value: 40ms } } }";
    let (kept, cancelled) = (hedged(false, back), hedged(true, back));
    for r in [&kept, &cancelled] {
        assert_eq!(r.workloads[0].outcomes.get(Outcome::Ok), 9);
        assert_eq!((r.edges[0].hedges, r.edges[0].abandoned), (9, 9));
        assert_eq!(r.services[1].sojourn_sum, 9 * 50_000_000, "the caller sees no difference");
    }
    // Not cancelled, the loser is served in full (40 ms, wasted); cancelled, its worker
    // leaves after 20 ms and the request counts as dropped with a 20 ms sojourn, no wait.
    let (b0, b1) = (&kept.services[0], &cancelled.services[0]);
    assert_eq!((b0.completed, b0.wasted, b0.dropped), (18, 9, 0));
    assert_eq!((b1.completed, b1.wasted, b1.dropped), (9, 0, 9));
    assert_eq!(busy(&kept, 0), 9 * (40 + 40) * 1_000_000);
    assert_eq!(busy(&cancelled, 0), 9 * (40 + 20) * 1_000_000);
    // Little's law on the finite horizon: with no queue and nothing inside at the end,
    // the area under L is the sum of the sojourns of the requests that left.
    assert_eq!(b1.sojourn_sum, busy(&cancelled, 0));
    assert_eq!(b1.wait_sum, 0);
    assert_eq!(b1.outcomes.get(Outcome::Timeout), 9);
}

#[test]
fn a_cancelled_hedge_waiting_on_its_call_cancels_that_call_too() {
    // front -> mid (hedged, cancel) -> back. mid serves 10 ms then calls back (40 ms). The
    // original reaches mid at t0 + 10 ms, calls back at t0 + 20, answers at t0 + 60. The
    // hedge reaches mid at t0 + 30, calls back at t0 + 40, and at t0 + 60 is cancelled
    // while its worker waits on that call: mid's worker held 30 ms, back's 20 ms.
    let services = "  front: { servers: 1, service_time: { constant: { value: 10ms } }, calls: [ { to: mid, hedge: { delay: 20ms, cancel: true } } ] }\n  mid: { servers: 2, service_time: { constant: { value: 10ms } }, calls: [ { to: back } ] }\n  back: { servers: 2, service_time: { constant: { value: 40ms } } }";
    let r = run(services, "10s", "");
    // Services by name: back 0, front 1, mid 2. Jobs of 60 ms: 1 + 1.06 (k - 1) <= 10 s: 9.
    assert_eq!(r.workloads[0].outcomes.get(Outcome::Ok), 9);
    let (back, mid) = (&r.services[0], &r.services[2]);
    assert_eq!((mid.completed, mid.dropped, mid.wasted), (9, 9, 0));
    assert_eq!((back.completed, back.dropped, back.wasted), (9, 9, 0));
    assert_eq!(busy(&r, 2), 9 * (50 + 30) * 1_000_000);
    assert_eq!(busy(&r, 0), 9 * (40 + 20) * 1_000_000);
    // Edges by name: front->mid 0, mid->back 1. The cancelled caller's call ends with no
    // outcome (as a crashed caller's), its request abandoned.
    let e = &r.edges[1];
    assert_eq!((e.calls, e.outcomes.total(), e.abandoned), (18, 9, 9));
    assert_eq!(r.edges[0].abandoned, 9);
}
