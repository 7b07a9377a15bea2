//! Sweep scaling: the same small sweep with `--jobs 1` and `--jobs 2`.
//!
//! `cargo bench --bench sweep` times a 6-point × 2-replication sweep of an M/M/c/K
//! station through the same path `resim sweep` takes (plan, load points, one flat
//! parallel loop of (point, replication) tasks). The ratio of the two timings is the
//! parallel speed-up; with two idle cores it should be close to 2 (the issue asks for at
//! least 1.8×).

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use criterion::{Criterion, criterion_group, criterion_main};
use resim::model::Model;
use resim::run::rounds::run_points;
use resim::run::with_jobs;
use resim::scenario::load_str;
use resim::sweep::plan::{SweepOptions, load_point, plan};

const SCENARIO: &str = "
name: bench-sweep
duration: 10m
replications: 2
services:
  api: { servers: 4, capacity: 50, service_time: { exponential: { mean: 50ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 64/s } } }
";

fn models() -> Vec<Model> {
    let file = Path::new("bench.yaml");
    let base = load_str(SCENARIO, file, &[]).expect("valid scenario");
    let options = SweepOptions {
        params: vec![
            "services.api.servers=4..6".parse().expect("param"),
            "services.api.capacity=20,50".parse().expect("param"),
        ],
        ..Default::default()
    };
    let plan = plan(SCENARIO, file, &[], &base, &options).expect("plan");
    (0..plan.points.len()).map(|i| load_point(&plan, i, SCENARIO, file, &[]).expect("point").model).collect()
}

fn sweep(c: &mut Criterion) {
    let models = models();
    let never = AtomicBool::new(false);
    let mut g = c.benchmark_group("sweep_6_points_x_2_replications");
    g.sample_size(10);
    for jobs in [1, 2] {
        g.bench_function(format!("jobs_{jobs}"), |b| {
            b.iter(|| {
                with_jobs(Some(jobs), || run_points(black_box(&models), None, &never, &|_, r| drop(black_box(r))));
            })
        });
    }
    g.finish();
}

criterion_group!(benches, sweep);
criterion_main!(benches);
