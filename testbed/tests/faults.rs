//! Faults injected for real (testbed/src/faults.rs), each in a short run on 127.0.0.1:
//! a crash makes requests fail during its window and recover after, an error fault fails
//! its share of answers, a latency fault adds its time, a spike multiplies the arrivals
//! in its window, a partition times its calls out. Runs take a few seconds of real time
//! each and go one at a time (a lock), so that they do not slow each other down.

use std::path::Path;
use std::sync::{Arc, Mutex};

use resim::engine::SimTime;
use resim::metrics::{Outcome, ReplicationResult};
use resim::model::Model;

/// One real run at a time.
static REAL_TIME: Mutex<()> = Mutex::new(());

/// Standard deviations allowed for a count against its binomial or Poisson expectation.
const Z: f64 = 4.0;

fn model(yaml: &str) -> Arc<Model> {
    let scenario = resim::scenario::load_str(yaml, Path::new("faults-test.yaml"), &[]).expect("scenario");
    let model = Arc::new(scenario.model);
    assert!(
        resim_testbed::support::unsupported(&model).is_empty(),
        "{:?}",
        resim_testbed::support::unsupported(&model)
    );
    model
}

fn run(yaml: &str) -> (Arc<Model>, ReplicationResult) {
    let m = model(yaml);
    let _one = REAL_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (result, _) = resim_testbed::run_replication(&m, 0).expect("real run");
    (m, result)
}

/// A scenario of one station `api` (`station`: its keys) under a Poisson workload `users`
/// of `rate` per second, run for `secs` seconds in windows of `window` seconds, with one
/// fault (`fault`: its keys).
fn one_station(secs: u32, window: u32, station: &str, rate: u32, fault: &str) -> String {
    format!(
        "name: t\nduration: {secs}s\nwarmup: 0s\nwindow: {window}s\nseed: {secs}{window}{rate}\nservices:\n  api: {{ {station} }}\n\
         workloads:\n  - {{ name: users, target: api, arrivals: {{ poisson: {{ rate: {rate}/s }} }} }}\n\
         faults:\n  - {{ name: f, {fault} }}\n"
    )
}

/// Successes and all answers of workload 0 in windows `from..to`.
fn answered(r: &ReplicationResult, windows: std::ops::Range<usize>) -> (u64, u64) {
    let w = &r.workloads[0].timeline.outcome_windows()[windows];
    let ok = w.iter().map(|c| c.get(Outcome::Ok) + c.get(Outcome::Degraded)).sum();
    (ok, w.iter().map(|c| c.total()).sum())
}

#[test]
fn a_crash_fails_requests_in_its_window_and_they_recover_after() {
    // 100/s into 4 workers of 10 ms (ρ 0.25); the instance is down from 2 s to 4 s.
    let (m, r) = run(&one_station(
        6,
        1,
        "servers: 4, service_time: { exponential: { mean: 10ms } }",
        100,
        "kind: crash, target: api, at: 2s, for: 2s",
    ));
    let (ok_before, n_before) = answered(&r, 0..2);
    let (ok_during, n_during) = answered(&r, 2..4);
    let (ok_after, n_after) = answered(&r, 4..6);
    eprintln!("ok/answered: before {ok_before}/{n_before}, during {ok_during}/{n_during}, after {ok_after}/{n_after}");
    assert!(n_before > 120 && ok_before == n_before, "before the crash every request succeeds");
    // A request sent just before the crash may still be answered in its first
    // milliseconds; every other one is refused.
    assert!(n_during > 120 && ok_during * 50 < n_during, "the crashed instance answers almost nothing");
    // The first window after the restart may lose the few requests of reconnecting.
    assert!(n_after > 120 && ok_after * 100 >= n_after * 97, "after the restart it serves again");
    let api = &r.services[0];
    assert!(api.refused_down * 10 >= n_during * 9, "refused at connect: {} of {n_during}", api.refused_down);
    let f = &r.faults[0];
    assert_eq!(f.activations, 1);
    assert_eq!(f.active, SimTime::from_secs(2));
    assert!(f.injected >= api.refused_down);
    let events: Vec<_> = r.log.iter().map(|&(t, e)| (t.as_secs_f64() - m.warmup.as_secs_f64(), e)).collect();
    assert_eq!(events.len(), 2, "{events:?}");
}

#[test]
fn a_crash_loses_the_requests_inside() {
    // 2 workers of 200 ms at 20/s (ρ 2): the queue is full when the crash comes, and
    // everything inside is lost.
    let station = "servers: 2, capacity: 50, service_time: { constant: { value: 200ms } }";
    let (_, r) = run(&one_station(3, 1, station, 20, "kind: crash, target: api, at: 1500ms, for: 1s"));
    let api = &r.services[0];
    eprintln!("lost {} refused_down {} completed {}", api.lost, api.refused_down, api.completed);
    // About 1.5 s × 20/s = 30 arrived and 2 × 1.5 s / 0.2 s = 15 served: ~15 inside.
    assert!((8..=25).contains(&api.lost), "lost {}", api.lost);
    assert!(r.faults[0].injected >= api.lost + api.refused_down);
}

#[test]
fn an_error_fault_fails_its_share_of_answers() {
    let p = 0.3;
    let station = "servers: 8, service_time: { exponential: { mean: 5ms } }";
    let (_, r) = run(&one_station(5, 5, station, 200, "kind: error, target: api, probability: 0.3, at: 0s, for: 1h"));
    let (ok, n) = answered(&r, 0..1);
    let failed = n - ok;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    eprintln!("{failed} failed of {n} (expected {:.0} ± {sd:.1})", n as f64 * p);
    assert!(n > 800);
    assert!((failed as f64 - n as f64 * p).abs() < Z * sd, "{failed} of {n}");
    assert_eq!(r.faults[0].injected, failed);
}

#[test]
fn a_latency_fault_adds_its_time_to_the_mean() {
    // A constant 20 ms with workers to spare: no waiting, so the mean sojourn is the
    // service time, and 30 ms more under the fault.
    let run_with = |fault: &str| {
        let (_, r) = run(&one_station(4, 4, "servers: 50, service_time: { constant: { value: 20ms } }", 100, fault));
        let api = &r.services[0];
        (api.sojourn_sum as f64 / api.completed as f64 / 1e9, r)
    };
    // The base run has a fault that adds nothing: the same scenario otherwise.
    let (base, _) = run_with("kind: latency, target: api, multiply: 1, at: 0s, for: 1h");
    let (slow, r) = run_with("kind: latency, target: api, add: 30ms, at: 0s, for: 1h");
    eprintln!("mean sojourn {:.2} ms, with the fault {:.2} ms", base * 1e3, slow * 1e3);
    // Each mean is within the timer's residual error (well under a millisecond).
    assert!((base - 0.020).abs() < 0.002, "base {base}");
    assert!((slow - base - 0.030).abs() < 0.002, "shift {}", slow - base);
    // Every request slowed counts, including the few still in service at the end.
    let (injected, completed) = (r.faults[0].injected, r.services[0].completed);
    assert!((completed..=completed + 5).contains(&injected), "{injected} slowed, {completed} completed");
}

#[test]
fn a_spike_multiplies_the_arrivals_in_its_window() {
    let station = "servers: 20, service_time: { exponential: { mean: 5ms } }";
    let (_, r) = run(&one_station(6, 1, station, 100, "kind: spike, target: users, factor: 3, at: 2s, for: 2s"));
    let (_, outside) = answered(&r, 0..2);
    let (_, inside) = answered(&r, 2..4);
    eprintln!("answered: {outside} in the 2 s before, {inside} in the 2 s of the spike");
    for (n, mean) in [(outside, 200.0), (inside, 600.0)] {
        assert!((n as f64 - mean).abs() < Z * f64::sqrt(mean), "{n} against {mean}");
    }
    assert_eq!(r.faults[0].activations, 1);
    assert_eq!(r.faults[0].active, SimTime::from_secs(2));
}

#[test]
fn a_partition_times_the_calls_out() {
    // Calls on front->back get no answer from 1 s to 2 s: each waits for its 50 ms timeout.
    let (_, r) = run("
name: partition
duration: 3s
warmup: 0s
window: 1s
seed: 8
services:
  front:
    servers: 50
    service_time: { constant: { value: 1ms } }
    calls: [ { to: back, timeout: 50ms } ]
  back: { servers: 8, service_time: { exponential: { mean: 5ms } } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 100/s } } }
faults:
  - { name: cut, kind: partition, target: front->back, at: 1s, for: 1s }
");
    let edge = &r.edges[0];
    let timeouts = edge.attempt_outcomes.get(Outcome::Timeout);
    let (ok_during, n_during) = answered(&r, 1..2);
    eprintln!("{timeouts} timed-out attempts; {ok_during} of {n_during} ok during the partition");
    assert!(n_during > 60 && ok_during * 20 < n_during);
    assert!(timeouts * 10 >= n_during * 9);
    // The calls sent in the partition's last 50 ms time out just after it: about 5.
    let (ok_after, n_after) = answered(&r, 2..3);
    assert!(n_after > 60 && n_after - ok_after <= 12, "{ok_after} of {n_after} after");
}

#[test]
fn a_capacity_fault_leaves_fewer_workers() {
    // 4 workers of 20 ms at 100/s (ρ 0.5); from 1 s to 3 s one worker is left, which
    // serves 50/s: the answers in those 2 s are about 100, the rest waits for the end.
    let station = "servers: 4, capacity: 1000, service_time: { constant: { value: 20ms } }";
    let (_, r) = run(&one_station(5, 1, station, 100, "kind: capacity, target: api, servers: 1, at: 1s, for: 2s"));
    let (before, _) = answered(&r, 0..1);
    let (during, _) = answered(&r, 1..3);
    let (after, _) = answered(&r, 3..5);
    eprintln!("answered: {before} in the second before, {during} in the 2 s with one worker, {after} in the 2 s after");
    // One worker answers one request per 20 ms; the three busy at the onset finish too.
    assert!((95..=106).contains(&during), "{during} answered by one worker in 2 s");
    // The backlog (about 100) is served after, with the new arrivals (about 200).
    assert!(after as f64 > 300.0 - Z * 200f64.sqrt(), "{after} after");
}

#[test]
fn random_onsets_are_the_simulated_ones() {
    // Crashes with a mean of 1.5 s between them and 300 ms to repair, drawn from the
    // engine's own stream `fault/<name>`; a crash draws nothing else from it, so the
    // whole schedule is the simulated one, to the nanosecond.
    let station = "servers: 4, service_time: { constant: { value: 5ms } }";
    let (m, real) = run(&one_station(5, 1, station, 50, "kind: crash, target: api, mtbf: 1500ms, mttr: 300ms"));
    let sim = resim::model::sim::run_replication(&m, 0);
    eprintln!("real log {:?}", real.log);
    assert!(real.log.len() >= 2, "the seed gives an onset and a repair within 5 s");
    assert_eq!(real.log, sim.log);
    assert_eq!(real.faults[0].activations, sim.faults[0].activations);
    assert_eq!(real.faults[0].active, sim.faults[0].active);
}

#[test]
fn the_control_endpoint_switches_a_fault_and_refuses_what_it_cannot_do() {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use resim_testbed::world::{Sockets, World};

    // The fault's window is an hour away: only the control requests below switch it.
    let m = model(&one_station(
        60,
        60,
        "servers: 2, service_time: { constant: { value: 1ms } }",
        1,
        "kind: error, target: api, probability: 1, at: 1h, for: 1s",
    ));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let sockets = Sockets::bind(&m).await.expect("bind");
        let world = Arc::new(World::new(m.clone(), 0, &sockets).expect("world"));
        let ends = resim_testbed::faults::start(&world).await.expect("control endpoints");
        let http: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        let post = |body: &'static str| {
            let req = hyper::Request::post(format!("http://{}{}", ends[0][0], resim_testbed::faults::CONTROL))
                .body(Full::new(Bytes::from(body)))
                .expect("request");
            let http = http.clone();
            async move {
                let resp = http.request(req).await.expect("answer");
                let status = resp.status().as_u16();
                let text = resp.into_body().collect().await.expect("body").to_bytes();
                (status, String::from_utf8_lossy(&text).into_owned())
            }
        };
        let (status, text) = post("on 0").await;
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("error: 1.0"), "{text}");
        assert_eq!(post("off 0").await.0, 200);
        for bad in ["on 1", "on", "flip 0", ""] {
            let (status, text) = post(bad).await;
            eprintln!("`{bad}`: {status} {text}");
            assert_eq!(status, 400, "`{bad}`");
        }
    });
    rt.shutdown_background();
}
