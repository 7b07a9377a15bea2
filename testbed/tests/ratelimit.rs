//! tower's rate limit deployed for real in 10 s: `app` calls `db` at 150/s (Poisson)
//! through tower 0.5.3's `RateLimit` of 10 per 100 ms under `load_shed`, and the share of
//! attempts it refuses is checked against the closed form of tower's drifting windows
//! (`TowerRateConfig::poisson_refused_share`: 37.9%).
//!
//! How far a correct testbed may land, computed as in tests/short.rs:
//! - sampling error: the spread of the refused share over runs of exactly this length,
//!   from the simulator (400 replications of the same model, well under a second), of
//!   which the one real run may be [`Z`] away;
//! - the timer: a limited spell ends when tokio's sleep fires, which the testbed measures
//!   late by `timer_late_s` (tokio rounds deadlines up to its 1 ms tick, then wakes the
//!   task); windows longer by that much refuse what the closed form says they do.
//!
//! The band is then asserted to exclude a limiter that is not there and one with windows
//! twice as long, so the test fails for a testbed that gets either wrong.

use std::path::Path;
use std::sync::Arc;

use resim::engine::SimTime;
use resim::model::Model;
use resim::policy::rate_limit::LimiterConfig;
use resim::policy::tower_rate::TowerRateConfig;
use resim::report::ReplicationSummary;

/// Standard errors allowed: a normal estimate lands beyond 4 of them once in 16 000.
const Z: f64 = 4.0;
/// Simulated replications that measure the estimator's spread.
const SPREAD_REPS: u32 = 400;
/// Calls per second on the edge.
const RATE: f64 = 150.0;

const SCENARIO: &str = "
name: short-rate-limit
duration: 8s
warmup: 1s
replications: 1
seed: 7
services:
  app:
    servers: 256
    service_time: { exponential: { mean: 5ms } }
    calls:
      - to: db
        rate_limit: { preset: tower, num: 10, per: 100ms }
  db:
    servers: 64
    service_time: { exponential: { mean: 5ms } }
workloads:
  - { name: users, target: app, arrivals: { poisson: { rate: 150/s } } }
";

/// The share of the edge's attempts its rate limit refused in one replication.
fn refused(s: &ReplicationSummary) -> f64 {
    let e = &s.edges[0];
    e.rate_limited / e.attempts
}

#[test]
fn a_real_tower_rate_limit_refuses_what_drifting_windows_predict() {
    let model: Model = resim::scenario::load_str(SCENARIO, Path::new("ratelimit.yaml"), &[]).expect("loads").model;
    let Some(LimiterConfig::Tower(cfg)) = model.edges[0].policy.rate_limit else { panic!("no tower rate limit") };
    let want = cfg.poisson_refused_share(RATE);

    let mut spread_model = model.clone();
    spread_model.replications = SPREAD_REPS;
    let sims: Vec<f64> =
        resim::run_replications(&spread_model, &resim::RunOptions::default()).iter().map(refused).collect();
    let n = sims.len() as f64;
    let mean = sims.iter().sum::<f64>() / n;
    let sd = (sims.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();

    let (result, overhead) = resim_testbed::run_replication(&Arc::new(model.clone()), 0).expect("the testbed runs");
    let got = refused(&ReplicationSummary::of(&model, result));
    let late = SimTime((overhead.timer_late_s.max(0.0) * 1e9) as u64);
    let longer = TowerRateConfig { per: cfg.per + late, ..cfg }.poisson_refused_share(RATE);
    let band = Z * sd + (longer - want).abs();
    eprintln!("refused: real {got:.4}, closed form {want:.4}, simulated {mean:.4} (sd {sd:.4}), allowed ±{band:.4}");
    assert!(
        (got - want).abs() <= band,
        "refused: real {got:.4}, closed form {want:.4}, allowed ±{band:.4} (timer late {:.3} ms)",
        overhead.timer_late_s * 1e3
    );
    // The simulator agrees with the closed form (its mean over 400 runs, to 4 errors).
    assert!((mean - want).abs() <= Z * sd / n.sqrt() + 0.002, "simulated {mean:.4}, closed form {want:.4}");
    // Narrow enough to catch no limiter at all, or windows twice as long.
    let doubled = TowerRateConfig { per: cfg.per + cfg.per, ..cfg }.poisson_refused_share(RATE);
    for (what, share) in [("no limit", 0.0), ("windows of 200 ms", doubled)] {
        assert!((share - want).abs() > band, "a testbed with {what} ({share:.4}) would pass: band {band:.4}");
    }
}

/// The testbed deploys tower's limiter alone, and refuses by name what it would deploy
/// differently from the model.
#[test]
fn only_towers_rate_limit_alone_is_deployed() {
    let why = |limit: &str, extra: &str| {
        let yaml = SCENARIO
            .replace("{ preset: tower, num: 10, per: 100ms }", limit)
            .replace("        rate_limit", &format!("{extra}        rate_limit"));
        let model = resim::scenario::load_str(&yaml, Path::new("ratelimit.yaml"), &[]).expect("loads").model;
        resim_testbed::support::unsupported(&model)
    };
    let tower = "{ preset: tower, num: 10, per: 100ms }";
    assert_eq!(why(tower, ""), Vec::<String>::new());
    let key = "services.app.calls.0.rate_limit";
    let refused = |limit: &str, extra: &str| why(limit, extra).iter().any(|w| w.starts_with(key));
    assert!(refused("{ rate: 100/s, burst: 10 }", ""));
    assert!(refused("{ limit_for_period: 10, limit_refresh_period: 100ms, timeout_duration: 0s }", ""));
    assert!(refused(tower, "        breaker: { preset: failsafe }\n"));
    assert!(refused(tower, "        hedge: { preset: tower, percentile: 0.9, min_data_points: 10, period: 1s }\n"));
    let shared = why("{ preset: tower, num: 10, per: 100ms, scope: service }", "");
    assert_eq!(shared, vec!["services.app.calls.0.scope: the testbed keeps every client policy per caller instance"]);
}
