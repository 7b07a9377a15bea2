//! Unit tests of the outlier detector; the ports of Envoy's own tests are in
//! `tests/conformance/envoy.rs`.

use super::*;
use crate::engine::RngStreams;

fn rng() -> Stream {
    RngStreams::new(1, 0).stream("outlier/test")
}

fn detector(instances: usize, edit: impl FnOnce(&mut OutlierEjection)) -> OutlierDetector {
    let mut c = OutlierEjection::envoy();
    c.consecutive_5xx.threshold = 3;
    edit(&mut c);
    OutlierDetector::new(c, instances)
}

fn results(d: &mut OutlierDetector, now: SimTime, i: usize, r: HostResult, n: usize) -> Option<Ejection> {
    let mut rng = rng();
    (0..n).map(|_| d.on_result(now, i, r, &mut rng)).last().flatten()
}

fn secs(s: u64) -> SimTime {
    SimTime::from_secs(s)
}

const E500: HostResult = HostResult::Status(500);

#[test]
fn a_run_of_errors_ejects_until_the_first_sweep_past_the_ejection_time() {
    let mut d = detector(4, |_| {});
    assert_eq!(results(&mut d, secs(1), 0, E500, 2), None);
    let e = results(&mut d, secs(1), 0, E500, 1);
    assert_eq!(e, Some(Ejection { host: 0, kind: EjectionKind::Consecutive5xx }));
    assert_eq!(d.ejection_time(0), secs(30));
    assert_eq!(d.on_interval(secs(30), &mut rng()), (vec![], vec![]), "29 s is not 30 s");
    assert!(d.is_ejected(0));
    assert_eq!(d.on_interval(secs(40), &mut rng()).0, vec![0]);
    assert!(!d.is_ejected(0));
}

#[test]
fn a_success_resets_the_run_of_errors() {
    let mut d = detector(4, |_| {});
    results(&mut d, secs(1), 1, E500, 2);
    assert_eq!(results(&mut d, secs(1), 1, HostResult::Status(200), 1), None);
    assert_eq!(results(&mut d, secs(1), 1, E500, 2), None);
    assert!(results(&mut d, secs(1), 1, E500, 1).is_some());
}

#[test]
fn the_multiplier_grows_to_the_cap_and_decays_one_step_per_healthy_interval() {
    let mut d = detector(1, |_| {});
    let mut now = secs(0);
    // Ejections of 30, 60, ... 300 s, then capped at 300 s (Envoy's max_ejection_time).
    for k in 1..=12u64 {
        assert!(results(&mut d, now, 0, E500, 3).is_some());
        assert_eq!(d.ejection_time(0), secs((30 * k).min(300)), "ejection {k}");
        now += d.ejection_time(0);
        assert_eq!(d.on_interval(now, &mut rng()).0, vec![0]);
    }
    // The multiplier stops at 11 (11 × 30 = 330 is not below 300 + 30).
    assert_eq!(d.multiplier(0), 11);
    // Two whole healthy intervals take it down by two; the sweep that brought the host
    // back does not count.
    d.on_interval(now + secs(10), &mut rng());
    d.on_interval(now + secs(20), &mut rng());
    assert_eq!(d.multiplier(0), 9);
}

#[test]
fn errors_while_ejected_do_not_eject_again_and_are_forgotten_at_the_return() {
    let mut d = detector(4, |_| {});
    assert!(results(&mut d, secs(1), 2, E500, 3).is_some());
    assert_eq!(results(&mut d, secs(5), 2, E500, 10), None);
    assert_eq!(d.on_interval(secs(40), &mut rng()).0, vec![2]);
    assert_eq!(results(&mut d, secs(41), 2, E500, 2), None, "the run restarted at the return");
    assert!(results(&mut d, secs(41), 2, E500, 1).is_some());
}

#[test]
fn at_most_max_ejection_percent_unless_one_host_may_always_go() {
    // 100 × 1 / 4 = 25% > 10%, but always_eject_one_host lets the first one go.
    let mut d = detector(4, |_| {});
    assert!(results(&mut d, secs(1), 0, E500, 3).is_some());
    assert_eq!(results(&mut d, secs(1), 1, E500, 3), None);
    assert_eq!(d.stats().overflow, 1);
    // Envoy's default (false): none of 4 at 10%.
    let mut d = detector(4, |c| c.always_eject_one_host = false);
    assert_eq!(results(&mut d, secs(1), 0, E500, 3), None);
    // 50% of 4: two at once.
    let mut d = detector(4, |c| c.max_ejection_percent = 50.0);
    assert!(results(&mut d, secs(1), 0, E500, 3).is_some());
    assert!(results(&mut d, secs(1), 1, E500, 3).is_some());
    assert_eq!(results(&mut d, secs(1), 2, E500, 3), None);
    assert_eq!(d.ejected_count(), 2);
}

#[test]
fn timeouts_count_as_504_without_the_split_and_as_local_errors_with_it() {
    let mut d = detector(4, |_| {});
    let e = results(&mut d, secs(1), 0, HostResult::Timeout, 3);
    assert_eq!(e.map(|e| e.kind), Some(EjectionKind::Consecutive5xx));
    let mut d = detector(4, |c| {
        c.split_external_local_origin_errors = true;
        c.consecutive_local_origin_failure.threshold = 3;
    });
    let e = results(&mut d, secs(1), 0, HostResult::Timeout, 3);
    assert_eq!(e.map(|e| e.kind), Some(EjectionKind::ConsecutiveLocalOriginFailure));
    // With the split, answers do not end a run of timeouts; a connection does.
    results(&mut d, secs(1), 1, HostResult::Timeout, 2);
    results(&mut d, secs(1), 1, HostResult::Status(200), 1);
    results(&mut d, secs(1), 1, HostResult::ConnectSuccess, 1);
    assert_eq!(results(&mut d, secs(1), 1, HostResult::Timeout, 2), None);
}

#[test]
fn an_enforcing_percentage_ejects_that_share_of_detections() {
    let mut d = detector(1, |c| c.consecutive_5xx.enforcing = 30);
    let mut rng = rng();
    let mut enforced = 0;
    for k in 0..1000 {
        if (0..3).map(|_| d.on_result(secs(k), 0, E500, &mut rng)).last().flatten().is_some() {
            enforced += 1;
            d.on_interval(secs(k) + secs(400), &mut rng);
        }
    }
    // Binomial(1000, 0.3): sd 14.5; 5 sd either side.
    assert!((228..=372).contains(&enforced), "{enforced} of 1000");
    assert_eq!((d.stats().detected, d.stats().enforced), (1000, enforced));
}

#[test]
fn a_sure_enforcement_draws_nothing_from_the_stream() {
    // At 100% no number is drawn, so an always-enforced detector leaves the draws of
    // the others where they were.
    let mut d = detector(1, |_| {});
    let mut r = rng();
    let e = (0..3).map(|_| d.on_result(secs(1), 0, E500, &mut r)).last().flatten();
    assert!(e.is_some());
    assert_eq!(r.next_u64(), rng().next_u64());
}

#[test]
fn the_sweep_ejects_by_success_rate_and_failure_percentage() {
    let mut d = detector(5, |c| {
        c.consecutive_5xx.enforcing = 0;
        c.enforcing_failure_percentage = [100, 100];
    });
    for i in 0..5 {
        results(&mut d, secs(1), i, HostResult::Status(200), 200);
    }
    results(&mut d, secs(1), 4, E500, 2000);
    let (_, ejected) = d.on_interval(secs(10), &mut rng());
    // 200 of 2200 succeed: 9.1%, far below the others; the success-rate detector comes first.
    assert_eq!(ejected, vec![Ejection { host: 4, kind: EjectionKind::SuccessRate }]);
    assert!(d.success_rate_numbers(Origin::External).is_some());
    assert_eq!(d.success_rate_numbers(Origin::Local), None);
    assert_eq!(d.success_rate(0, Origin::External), Some(100.0));
    let rate = d.success_rate(4, Origin::External).expect("enough volume");
    assert!((rate - 100.0 * 200.0 / 2200.0).abs() < 1e-9, "{rate}");
}

#[test]
fn with_the_split_a_connection_ends_a_run_of_local_errors_and_without_it_counts_nowhere() {
    let split = |c: &mut OutlierEjection| {
        c.split_external_local_origin_errors = true;
        c.consecutive_local_origin_failure.threshold = 3;
    };
    let mut d = detector(5, split);
    results(&mut d, secs(1), 0, HostResult::Timeout, 2);
    results(&mut d, secs(1), 0, HostResult::ConnectSuccess, 1);
    results(&mut d, secs(1), 0, HostResult::Timeout, 2);
    assert_eq!(d.stats().detected, 0);
    results(&mut d, secs(1), 0, HostResult::Timeout, 1);
    assert_eq!(d.stats().detected, 1);
    // Connections feed the local-origin success rate only with the split (Envoy ignores
    // LOCAL_ORIGIN_CONNECT_SUCCESS without it).
    for (edit, counted) in [(split as fn(&mut OutlierEjection), true), (|_: &mut OutlierEjection| {}, false)] {
        let mut d = detector(5, edit);
        (0..5).for_each(|i| _ = results(&mut d, secs(1), i, HostResult::ConnectSuccess, 200));
        d.on_interval(secs(10), &mut rng());
        assert_eq!(d.success_rate_numbers(Origin::Local).is_some(), counted);
    }
}

#[test]
fn an_unenforced_gateway_run_restarts_and_is_detected_again() {
    // Envoy enforces no gateway-failure ejection by default (0%) yet counts each
    // detection (`ejections_detected_consecutive_gateway_failure`); the run restarts.
    let mut d = detector(2, |c| c.consecutive_5xx.threshold = 100);
    assert_eq!(results(&mut d, secs(1), 0, HostResult::Status(503), 10), None);
    assert_eq!(d.stats().detected, 2);
}
