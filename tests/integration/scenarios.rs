//! Every example in `scenarios/` loads, runs, and obeys Little's law in every service.

use std::path::Path;

use resim::RunOptions;
use resim::scenario::load_file;

/// Little's law, L = lambda_eff * W, per service, relative tolerance (issue: within 1%).
const LITTLE_REL_TOL: f64 = 0.01;

fn examples() -> Vec<std::path::PathBuf> {
    let files = crate::common::example_files();
    assert!(!files.is_empty());
    files
}

#[test]
fn every_example_runs_and_obeys_littles_law() {
    for file in examples() {
        let scenario = load_file(&file, &[]).unwrap_or_else(|e| panic!("{e}"));
        let report = resim::run(&scenario.model, &RunOptions::default());
        assert_eq!(report.replications, scenario.model.replications);
        for (name, s) in &report.services {
            let l = s.mean_in_system.value();
            let lw = s.departures_per_s.value() * s.mean_sojourn_s.value();
            let rel = (l - lw).abs() / l.max(1e-12);
            assert!(
                rel < LITTLE_REL_TOL,
                "{}: service {name}: L = {l}, lambda*W = {lw} (off by {:.3}%)",
                file.display(),
                rel * 100.0
            );
        }
        for (name, w) in &report.workloads {
            // Outcomes add up: requests is their sum, and every request ended one way.
            let sum = w.ok.value()
                + w.degraded.value()
                + w.error.value()
                + w.timeout.value()
                + w.rejected.value()
                + w.short_circuited.value();
            assert!((sum - w.requests.value()).abs() < 1e-6, "{}: workload {name}", file.display());
        }
    }
}

#[test]
fn committed_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/scenario.schema.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema/ is committed")).expect("valid JSON");
    assert_eq!(
        committed,
        resim::scenario::json_schema(),
        "run scripts/regen.sh to refresh schema/scenario.schema.json"
    );
}
