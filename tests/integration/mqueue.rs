//! Message queues (`kind: queue`) held to their contract and to queueing theory.
//!
//! Redelivery is exact: a constant-time handler just above the visibility timeout
//! (1.1 s against 1 s) has every receive come back until `max_receives`, then the message
//! moves to the dead-letter queue, so each replication's counts are fixed multiples of
//! the messages it sent; just below (0.9 s) nothing comes back. These are equalities,
//! per replication: an engine that starts the visibility clock at the send instead of
//! the receive, lets a late ack delete the message, or miscounts receives fails them.
//! With a random handling time the same holds message by message: every handling that
//! outlasts its receipt is seen twice, by the timer that puts the message back
//! (`redeliveries`) and by the consumer whose ack comes too late (`stale_acks`); the two
//! counts must be equal, and their share of the receives is `P(handling > timeout)`.
//! The backlog is checked against Erlang C: Poisson sends to `c` consumers with
//! exponential handling make the queue an M/M/c, whose mean number waiting is
//! `Lq = C(c, a)·ρ/(1 − ρ)`.
//!
//! Run with `cargo test --release --test integration -- mqueue`.

use resim::theory::erlang_c;

use crate::common::{Sim, assert_binomial, assert_error, assert_theory, refusal};

/// A producer handing each order to `jobs` (20/s for 30 s, then nothing), `jobs` with
/// `handler` per message, a 1 s visibility timeout, 3 receives at most and `parked` as
/// its dead-letter queue; 90 s leaves every message time to be acked or parked.
fn storm(handler: &str) -> Sim {
    Sim::run(&format!(
        "name: redelivery\nduration: 90s\nwarmup: 0s\nreplications: 4\nseed: 7\n\
         services:\n\
         \x20 producer: {{ servers: 1000, service_time: {{ constant: {{ value: 1ms }} }}, routes: [ {{ to: jobs, probability: 1 }} ] }}\n\
         \x20 jobs: {{ kind: queue, consumers: 200, visibility_timeout: 1s, max_receives: 3, dead_letter: parked, \
         service_time: {{ constant: {{ value: {handler} }} }} }}\n\
         \x20 parked: {{ kind: queue, consumers: 1, service_time: {{ constant: {{ value: 1ms }} }} }}\n\
         workloads:\n\
         \x20 - name: orders\n    target: producer\n    arrivals: {{ poisson: {{ profile: [ {{ at: 0s, rate: 20/s }}, {{ at: 30s, rate: 0/s }} ] }} }}\n"
    ))
}

/// Per replication: `jobs`' counts and `parked`'s, as (sent, delivered, acked,
/// stale acks, redeliveries, dead letters).
fn counts(sim: &Sim, name: &str) -> Vec<[f64; 6]> {
    let i = sim.sid(name);
    sim.reps
        .iter()
        .map(|r| {
            let c = r.services[i].queue.as_ref().expect("a queue").counts;
            [c[0], c[2], c[3], c[5], c[6], c[7]]
        })
        .collect()
}

#[test]
fn a_handler_just_above_the_visibility_timeout_is_redelivered_until_dead_lettered() {
    let sim = storm("1100ms");
    for (jobs, parked) in counts(&sim, "jobs").into_iter().zip(counts(&sim, "parked")) {
        let n = jobs[0];
        assert!(n > 400.0, "about 600 orders sent: {n}");
        // Each of the 3 handlings outlasts its 1 s receipt: 2 redeliveries, then the
        // dead-letter queue; every late ack is stale and deletes nothing.
        assert_eq!(jobs, [n, 3.0 * n, 0.0, 3.0 * n, 2.0 * n, n], "sent, delivered, acked, stale, redelivered, dead");
        assert_eq!(parked, [n, n, n, 0.0, 0.0, 0.0], "the dead-letter queue takes each message once");
    }
    // The producer's users wait for the store, not for the consumer.
    let orders = &sim.report.workloads["orders"];
    assert!(orders.latency_s.p99.value() < 0.002, "p99 {:?}", orders.latency_s.p99);
}

#[test]
fn a_handler_just_below_the_visibility_timeout_is_never_redelivered() {
    let sim = storm("900ms");
    for (jobs, parked) in counts(&sim, "jobs").into_iter().zip(counts(&sim, "parked")) {
        let n = jobs[0];
        assert!(n > 400.0, "about 600 orders sent: {n}");
        assert_eq!(jobs, [n, n, n, 0.0, 0.0, 0.0], "sent, delivered, acked, stale, redelivered, dead");
        assert_eq!(parked, [0.0; 6]);
    }
}

#[test]
fn every_handling_longer_than_the_timeout_is_redelivered_once() {
    // Handlings uniform on 0.5..1.5 s against a 1 s timeout: half outlast it. No
    // `max_receives`: a message comes back until a handling fits.
    let sim = Sim::run(
        "name: uniform\nduration: 120s\nwarmup: 0s\nreplications: 4\nseed: 11\n\
         services:\n\
         \x20 jobs: { kind: queue, consumers: 100, visibility_timeout: 1s, service_time: { uniform: { min: 500ms, max: 1500ms } } }\n\
         workloads:\n\
         \x20 - name: sends\n    target: jobs\n    arrivals: { poisson: { profile: [ { at: 0s, rate: 20/s }, { at: 60s, rate: 0/s } ] } }\n",
    );
    let (mut redelivered, mut delivered) = (0.0, 0.0);
    for c in counts(&sim, "jobs") {
        let [sent, receives, acked, stale, redeliveries, dead] = c;
        assert_eq!(redeliveries, stale, "each late handling: one return by the timer, one stale ack");
        assert_eq!((acked, dead), (sent, 0.0), "every message acked in the end");
        assert_eq!(receives, sent + redeliveries, "every return received once more");
        redelivered += redeliveries;
        delivered += receives;
    }
    assert_binomial("share of handlings over the 1 s timeout", redelivered, delivered, 0.5);
}

#[test]
fn the_backlog_of_poisson_sends_to_c_consumers_is_erlang_c() {
    // M/M/10 at a = 8 (ρ = 0.8); a 1 h visibility timeout never runs out.
    let (lambda, mean, c) = (8.0, 1.0, 10);
    let sim = Sim::run(
        "name: mmc\nduration: 2000s\nwarmup: 200s\nreplications: 10\nseed: 3\n\
         services:\n\
         \x20 jobs: { kind: queue, consumers: 10, visibility_timeout: 1h, service_time: { exponential: { mean: 1s } } }\n\
         workloads:\n\
         \x20 - { name: sends, target: jobs, arrivals: { poisson: { rate: 8/s } } }\n",
    );
    let a = lambda * mean;
    let rho = a / f64::from(c);
    let lq = erlang_c(c, a).unwrap() * rho / (1.0 - rho);
    let q = sim.service("jobs").queue.as_ref().expect("a queue report");
    assert_theory("mean backlog (Lq)", &q.backlog_mean, lq);
    assert_theory("mean in flight (busy consumers)", &q.in_flight_mean, a);
    assert_eq!(q.redeliveries.value(), 0.0);
    // The station's own line stays empty: consumers take messages only when free.
    assert_eq!(sim.service("jobs").mean_queue_length.value(), 0.0);
}

#[test]
fn bad_queue_keys_are_refused_where_they_are() {
    let with = |jobs: &str| {
        format!(
            "name: t\nduration: 10s\nservices:\n  jobs: {{ {jobs}, service_time: {{ constant: {{ value: 1ms }} }} }}\n  \
             web: {{ service_time: {{ constant: {{ value: 1ms }} }} }}\n\
             workloads:\n  - {{ name: u, target: jobs, arrivals: {{ poisson: {{ rate: 1/s }} }} }}\n"
        )
    };
    for (keys, key, says) in [
        ("consumers: 4", "services.jobs.consumers", &["message queue", "kind: queue"][..]),
        ("kind: queue, instances: 3", "services.jobs.instances", &["takes no `instances`", "consumers"]),
        ("kind: queue, visibility_timeout: 0s", "services.jobs.visibility_timeout", &["12h"]),
        ("kind: queue, max_receives: 0", "services.jobs.max_receives", &["between 1 and 1000"]),
        (
            "kind: queue, dead_letter: web, max_receives: 2",
            "services.jobs.dead_letter",
            &["not a queue", "kind: queue"],
        ),
        ("kind: queue, dead_letter: jobs", "services.jobs.dead_letter", &["max_receives"]),
        ("kind: queue, max_backlog: 0", "services.jobs.max_backlog", &["at least 1"]),
        // The other mechanisms of a station have no meaning on a queue.
        ("kind: queue, queue: priority", "services.jobs.queue", &["takes no `queue`", "oldest visible"]),
        (
            "kind: queue, cache: { keys: { uniform: { n: 10 } }, capacity: 5 }",
            "services.jobs.cache",
            &["takes no `cache`"],
        ),
        (
            "kind: queue, autoscale: { target_utilization: 0.5, max: 3 }",
            "services.jobs.autoscale",
            &["takes no `autoscale`"],
        ),
    ] {
        assert_error(&refusal(&with(keys)), key, says);
    }
    let e = refusal(&with("kind: lake"));
    assert!(e.to_string().contains("queue"), "{e}");
}
