//! The example scenarios `zone-outage.yaml` and `cells.yaml`, checked for the story their
//! comments tell.

use resim::metrics::Outcome;

use crate::common::{Sim, assert_binomial, assert_theory, example};

// ---------------------------------------------------------------------------------------
// The examples
// ---------------------------------------------------------------------------------------

/// Zone b (two of `catalog`'s six instances) is dark from 3m to 5m, windows of 15 s: the
/// outage covers windows 12..20.
///
/// Availability over the run: 1/27 fail for 2 of 10 minutes, 0.9926 worked. The tight check is
/// the binomial one on the outage's windows; this lets through up to 5% failing in the outage.
const ZONE_OUTAGE_AVAILABILITY_MIN: f64 = 0.99;

#[test]
fn zone_outage_example_survives_on_retries() {
    let sim = example("zone-outage.yaml", &[]);
    let fault = &sim.report.faults[0];
    assert_eq!(fault.window_s, Some([180.0, 300.0]));
    assert!(sim.service("catalog").refused_down.value() > 0.0);
    // Outside the outage nothing fails; during it, a request fails only when all three of
    // its attempts pick one of the two dark instances out of six: (1/3)^3.
    let failed = [Outcome::Error, Outcome::Timeout, Outcome::Rejected, Outcome::ShortCircuited];
    assert_eq!(sim.window_total("shoppers", 0..12, &failed), 0.0);
    assert_eq!(sim.window_total("shoppers", 20..40, &failed), 0.0);
    let during = sim.window_total("shoppers", 12..20, &[]);
    assert_binomial(
        "failed share while zone b is dark",
        sim.window_total("shoppers", 12..20, &failed),
        during,
        1.0 / 27.0,
    );
    let availability = sim.report.workloads["shoppers"].availability.value();
    assert!(availability > ZONE_OUTAGE_AVAILABILITY_MIN, "availability {availability}");
    // A third of the attempts fail, below the breaker's 50%: it never opens.
    let breaker = sim.report.edges["web->catalog"].breaker.as_ref().expect("a breaker");
    assert_eq!(breaker.openings.mean, Some(0.0));

    // Without the retries, a third of the requests fail while the zone is dark.
    let sim = example("zone-outage.yaml", &["services.web.calls.0.retry.max_attempts=1"]);
    let during = sim.window_total("shoppers", 12..20, &[]);
    assert_binomial("failed share without retries", sim.window_total("shoppers", 12..20, &failed), during, 1.0 / 3.0);
}

/// The bad deploy makes half of cell 2's responses fail from 2m to 6m (30 s windows
/// 4..12); the seven other cells share nothing with it.
#[test]
fn cells_example_contains_a_bad_deploy_to_its_cell() {
    let bad = example("cells.yaml", &[]);
    let clean = example("cells.yaml", &["faults.0.enabled=false"]);
    let others = [1, 3, 4, 5, 6, 7, 8];
    // The other cells' users see exactly what they see without the bad deploy.
    for k in others {
        let w = format!("users-{k}");
        let json = |s: &Sim| serde_json::to_value(&s.report.workloads[&w]).expect("serialisable");
        assert_eq!(json(&bad), json(&clean), "{w} changed");
        assert_eq!(bad.report.workloads[&w].availability.mean, Some(1.0), "{w}");
        for s in [format!("cell-{k}"), format!("cell-{k}-db")] {
            let json = |x: &Sim| serde_json::to_value(x.service(&s)).expect("serialisable");
            assert_eq!(json(&bad), json(&clean), "{s} changed");
        }
    }
    // Cell 2's users lose half their requests during the bad deploy, none outside it.
    assert_eq!(clean.report.workloads["users-2"].availability.mean, Some(1.0));
    let failed = [Outcome::Error, Outcome::Timeout, Outcome::Rejected, Outcome::ShortCircuited];
    assert_eq!(bad.window_total("users-2", 0..4, &failed) + bad.window_total("users-2", 12..20, &failed), 0.0);
    let during = bad.window_total("users-2", 4..12, &[]);
    assert_binomial(
        "users-2 failed share during the bad deploy",
        bad.window_total("users-2", 4..12, &failed),
        during,
        0.5,
    );
    // 4 minutes of 10 at half: availability 80%.
    assert_theory("users-2 availability", &bad.report.workloads["users-2"].availability, 0.8);

    // The blast radius: one workload of eight, one service, nothing spread.
    let [b] = bad.report.blast_radius.as_slice() else { panic!("one blast radius per fault") };
    assert_eq!(b.workloads.len(), 8);
    assert_eq!(b.affected_workloads, ["users-2"]);
    assert_eq!(b.affected_services, ["cell-2"]);
    assert_eq!(b.scope, ["cell-2"]);
    assert!(b.spread_to.is_empty() && b.contained, "spread to {:?}", b.spread_to);
    assert_eq!((b.recovered, b.time_to_recover_s, b.metastable), (Some(true), Some(0.0), false));
    for k in others {
        let d = &b.workloads[&format!("users-{k}")];
        assert_eq!((d.extra_failed.value(), d.extra_slowed.value(), d.affected), (0.0, 0.0, false), "users-{k}");
        for s in [format!("cell-{k}"), format!("cell-{k}-db")] {
            assert_eq!(b.services[&s].extra_failed.value(), 0.0, "{s}");
        }
    }
    // Every failed request is an extra failure of users-2, injected by the fault.
    let hurt = &b.workloads["users-2"].extra_failed;
    assert_eq!(hurt.value(), bad.report.workloads["users-2"].error.value());
    assert_eq!(hurt.value(), bad.report.faults[0].injected.value());
    // Eight shards at equal rates: the hurt shard holds an eighth of all user requests
    // (given the total, each request is users-2's with probability 1/8).
    let all: f64 = (1..=8).map(|k| bad.requests_total(&format!("users-{k}"))).sum();
    assert_binomial("users-2's share of user requests", bad.requests_total("users-2"), all, 1.0 / 8.0);
}
