//! The testbed against queueing theory in 30 s of real time, so that CI keeps the real
//! deployment honest: one M/M/2/5 station (tests/short-mm2.yaml) run for real through the
//! library (`run_replication`, then resim's own summaries), its throughput, blocking and
//! mean sojourn checked against the closed form of M/M/c/K (`resim::theory::mmck`).
//!
//! How far a correct testbed may land from theory is computed, not guessed:
//! - sampling error: the spread of each estimator over runs of exactly this length, taken
//!   from the simulator (400 replications of the same model, which the simulator runs in
//!   a fraction of a second). The real estimate is the mean of [`REAL_REPS`] replications,
//!   so its standard error is that spread over √3, and it may be [`Z`] of them away;
//! - the timer: each service-time sleep still misses its draw by the residual the testbed
//!   measures (`timer_residual_s`, mean |error| after correction). Service times longer by
//!   that much move each metric by what theory says they do; that shift is allowed on top.
//!
//! The band is then asserted to exclude the station with its workers ignored (c = 1) and
//! with its capacity ignored (K unbounded), so the test fails for a testbed that gets
//! either wrong.

use std::path::Path;
use std::sync::Arc;

use resim::model::Model;
use resim::report::ReplicationSummary;
use resim::theory::{StationTheory, mmck};

/// Replications run for real (3 × 10 s).
const REAL_REPS: u32 = 3;
/// Standard errors allowed: a normal mean lands beyond 4 of them once in 16 000, so with
/// three metrics a correct testbed fails about once in 5 000 runs.
const Z: f64 = 4.0;
/// Simulated replications that measure the estimators' spread.
const SPREAD_REPS: u32 = 400;
/// Offered rate (1/s), service rate (1/s), workers and capacity of tests/short-mm2.yaml.
const LAMBDA: f64 = 40.0;
const MU: f64 = 25.0;
const SERVERS: u32 = 2;
const CAPACITY: u32 = 5;

fn model() -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/short-mm2.yaml");
    resim::scenario::load_file(&path, &[]).expect("the short scenario loads").model
}

/// The three checked metrics of one replication: throughput, blocking, mean sojourn.
fn metrics(s: &ReplicationSummary) -> [f64; 3] {
    let api = &s.services[0];
    [api.throughput, api.blocking.unwrap_or(0.0), api.mean_sojourn.unwrap_or(f64::NAN)]
}

fn of_theory(t: &StationTheory) -> [f64; 3] {
    [t.throughput, t.blocking, t.mean_sojourn]
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    (mean, (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt())
}

#[test]
fn a_real_mm2_station_matches_the_closed_form() {
    let model = model();
    assert_eq!(model.replications, REAL_REPS);
    let theory = mmck(LAMBDA, MU, SERVERS, Some(CAPACITY)).unwrap();

    let mut spread_model = model.clone();
    spread_model.replications = SPREAD_REPS;
    let sims = resim::run_replications(&spread_model, &resim::RunOptions::default());
    let sims: Vec<[f64; 3]> = sims.iter().map(metrics).collect();

    let shared = Arc::new(model.clone());
    let mut real = Vec::new();
    let mut residual = Vec::new();
    for r in 0..REAL_REPS {
        let (result, overhead) = resim_testbed::run_replication(&shared, r).expect("the testbed runs");
        real.push(metrics(&ReplicationSummary::of(&model, result)));
        residual.push(overhead.timer_residual_s);
    }
    // Service times longer by the timer's residual: what theory says that shifts.
    let residual = residual.iter().sum::<f64>() / residual.len() as f64;
    let slower = mmck(LAMBDA, 1.0 / (1.0 / MU + residual), SERVERS, Some(CAPACITY)).unwrap();
    let wrong = [
        ("c = 1", mmck(LAMBDA, MU, 1, Some(CAPACITY)).unwrap()),
        ("K unbounded", mmck(LAMBDA, MU, SERVERS, None).unwrap()),
    ];

    // Per metric: how far the mean of the real replications may land from theory.
    let (want, shifted) = (of_theory(&theory), of_theory(&slower));
    let band: [f64; 3] = std::array::from_fn(|k| {
        let (_, sd) = mean_sd(&sims.iter().map(|m| m[k]).collect::<Vec<_>>());
        Z * sd / f64::from(REAL_REPS).sqrt() + (shifted[k] - want[k]).abs()
    });
    let names = ["throughput/s", "blocking", "mean sojourn (s)"];
    for k in 0..3 {
        let (got, _) = mean_sd(&real.iter().map(|m| m[k]).collect::<Vec<_>>());
        eprintln!("{}: real {got:.4}, theory {:.4}, allowed ±{:.4}", names[k], want[k], band[k]);
        assert!(
            (got - want[k]).abs() <= band[k],
            "{}: real {got:.4}, theory {:.4}, allowed ±{:.4} (timer residual {:.3} ms)",
            names[k],
            want[k],
            band[k],
            residual * 1e3
        );
    }
    // The bands are narrow enough to catch a testbed that ignores its workers or its
    // capacity: each such station lands outside on at least one metric.
    for (what, t) in wrong {
        let caught = (0..3).any(|k| (of_theory(&t)[k] - want[k]).abs() > band[k]);
        assert!(caught, "a station with {what} would pass this test: bands {band:?}");
    }
}
