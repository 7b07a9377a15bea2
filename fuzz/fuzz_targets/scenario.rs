//! Fuzzes the whole path a user's file takes: parsing, validation, and a bounded run with
//! every output rendered. Any input must give a scenario error or a report, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use resim::model::RunLimits;
use resim::report::charts::render_charts;
use resim::report::{render_html, render_summary, timeseries_csv};
use resim::scenario::load_str;
use resim::{RunOptions, run};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut scenario) = load_str(text, Path::new("fuzz.yaml"), &[]) else { return };
    let model = &mut scenario.model;
    // Bounded: one replication, no counterfactuals, a small event and memory budget.
    model.replications = 1;
    model.blast_radius = None;
    model.limits = RunLimits { max_events: 20_000, max_in_flight: 10_000, ..RunLimits::default() };
    let report = run(model, &RunOptions { jobs: Some(1) });
    let _ = render_summary(&report);
    let _ = timeseries_csv(&report);
    if let Ok(charts) = render_charts(&report) {
        let _ = render_html(&report, &charts);
    }
    let _ = report.to_json();
});
