//! Cancelled hedges (`hedge: { cancel: true }`): the loser's work stops where it is, as
//! gRPC's cancellation, Envoy's stream reset or a Finagle interrupt stops it, so the callee
//! gets back the workers the losers held, and its books still balance (Little's law).

use resim::report::ServiceReport;

use crate::common::{Sim, assert_theory};

/// Relative tolerance of Little's law on the simulated means, as in `queueing_theory`.
const LITTLE_TOL: f64 = 0.01;

/// `api` calls `index` with a hedge after 50 ms; `index` serves 10 ms nine times in ten and
/// 1 s otherwise, with 500 workers for about 12 busy, so no request ever waits.
fn two_point_tail(cancel: bool) -> String {
    format!(
        "name: two-point-tail
seed: 7
warmup: 10s
duration: 200s
replications: 8
services:
  api:
    servers: 1000
    service_time: {{ constant: {{ value: 1ms }} }}
    calls: [ {{ to: index, hedge: {{ delay: 50ms, cancel: {cancel} }} }} ]
  index:
    servers: 500
    service_time:
      mixture:
        - {{ weight: 0.9, dist: {{ constant: {{ value: 10ms }} }} }}
        - {{ weight: 0.1, dist: {{ constant: {{ value: 1s }} }} }}
workloads:
  - {{ name: users, target: api, arrivals: {{ poisson: {{ rate: 100/s }} }} }}
"
    )
}

/// Mean busy time `index` spends on one call, seconds, worked out by cases. A call whose
/// original takes 10 ms (0.9) sends no hedge: 10 ms. One whose original takes 1 s (0.1)
/// sends a hedge at 50 ms, and
/// - the hedge takes 10 ms (0.9): it wins at 60 ms. Kept, the original runs its whole
///   1 s: 1.010 s; cancelled, it stops at 60 ms: 0.070 s.
/// - the hedge takes 1 s (0.1): the original wins at 1 s. Kept, the hedge runs its whole
///   1 s: 2 s; cancelled, it stops at 1 s after 950 ms: 1.950 s.
///
/// Kept: 0.9 × 0.010 + 0.1 × (0.9 × 1.010 + 0.1 × 2) = 0.1199 s;
/// cancelled: 0.9 × 0.010 + 0.1 × (0.9 × 0.070 + 0.1 × 1.950) = 0.0348 s.
fn busy_per_call(cancel: bool) -> f64 {
    let (slow_original, slow_hedge) = if cancel { (0.070, 1.950) } else { (1.010, 2.0) };
    0.9 * 0.010 + 0.1 * (0.9 * slow_original + 0.1 * slow_hedge)
}

#[test]
fn cancelling_the_losers_gives_back_the_heavy_tails_workers() {
    let (kept, cancelled) = (Sim::run(&two_point_tail(false)), Sim::run(&two_point_tail(true)));
    for (sim, cancel) in [(&kept, false), (&cancelled, true)] {
        // 100 calls a second, each keeping `busy_per_call` workers of 500 busy.
        let theory = 100.0 * busy_per_call(cancel) / 500.0;
        assert_theory(&format!("index utilisation, cancel: {cancel}"), &sim.service("index").utilization, theory);
    }
    // 0.0348 / 0.1199: cancelling frees 71% of the callee's busy time.
    let ratio = cancelled.service("index").utilization.value() / kept.service("index").utilization.value();
    assert!((ratio - 0.0348 / 0.1199).abs() < 0.02, "utilisation ratio {ratio:.4}");
    // Nobody waits at index, so the winner answers at the same instant either way: the
    // caller sees the very same latencies, draw for draw.
    let (a, b) = (&kept.report.workloads["users"], &cancelled.report.workloads["users"]);
    assert_eq!(
        (a.ok.mean, a.latency_s.p50.mean, a.latency_s.p99.mean),
        (b.ok.mean, b.latency_s.p50.mean, b.latency_s.p99.mean)
    );
    // The losers kept are served for nobody (wasted); cancelled, they are dropped instead.
    let (k, c) = (kept.service("index"), cancelled.service("index"));
    assert!(k.wasted.value() > 0.0 && k.dropped.value() == 0.0);
    assert!(c.wasted.value() == 0.0 && (c.dropped.value() - k.wasted.value()).abs() < 0.05 * k.wasted.value());
}

/// An M/M/4 `db` at ρ = 0.75 behind a caller that hedges after 20 ms and cancels the
/// loser: requests are cancelled both in line and in service.
const MMC_HEDGED: &str = "name: mmc-hedged
seed: 11
warmup: 20s
duration: 300s
replications: 6
services:
  api:
    servers: 1000
    service_time: { constant: { value: 1ms } }
    calls: [ { to: db, hedge: { delay: 20ms, cancel: true } } ]
  db:
    servers: 4
    service_time: { exponential: { mean: 10ms } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 300/s } } }
";

/// `L = X·W` and `Lq = X·Wq` with X the departures (served or dropped) per second.
fn assert_little(name: &str, s: &ServiceReport) {
    let x = s.departures_per_s.value();
    for (what, l, w) in [
        ("L = X·W", s.mean_in_system.value(), s.mean_sojourn_s.value()),
        ("Lq = X·Wq", s.mean_queue_length.value(), s.mean_wait_s.value()),
    ] {
        let rel = (l - x * w).abs() / l.max(x * w);
        assert!(rel < LITTLE_TOL, "{name}: Little's law {what}: {l:.6} vs {:.6} (rel {:.4}%)", x * w, rel * 100.0);
    }
}

#[test]
fn cancelled_requests_leave_littles_law_intact_at_an_m_m_c_station() {
    let sim = Sim::run(MMC_HEDGED);
    let db = sim.service("db");
    // Hedges were sent and cancelled: some in line, some in service.
    assert!(sim.report.edges["api->db"].hedges.value() > 1000.0);
    assert!(db.dropped.value() > 1000.0);
    assert_eq!(db.wasted.value(), 0.0, "a cancelled loser is never served to the end");
    assert_little("db", db);
    // Each request leaves once: served or dropped, give or take those inside at either end
    // of the measured window (a few dozen at most at this load).
    let unaccounted = db.arrivals.value() - db.completed.value() - db.dropped.value();
    assert!(unaccounted.abs() < 50.0, "db: arrivals - completed - dropped = {unaccounted}");
    // The same station with the losers served to the end: busier, and Little holds too.
    let kept = Sim::run(&MMC_HEDGED.replace("cancel: true", "cancel: false"));
    let kept_db = kept.service("db");
    assert_little("db, cancel: false", kept_db);
    assert!(
        db.utilization.value() < kept_db.utilization.value(),
        "utilisation {} with cancel, {} without",
        db.utilization.value(),
        kept_db.utilization.value()
    );
}
