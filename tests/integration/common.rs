//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::Path;

use resim::model::Model;
use resim::report::{ReplicationSummary, ServiceReport};
use resim::scenario::{Scenario, load_str};
use resim::{Report, RunOptions, run, run_replications};

/// Loads a scenario from YAML text, panicking with the rendered error on failure.
pub fn scenario(yaml: &str) -> Scenario {
    load_str(yaml, Path::new("test.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// Loads and runs a scenario from YAML text.
pub fn run_yaml(yaml: &str) -> Report {
    run(&scenario(yaml).model, &RunOptions::default())
}

/// A scenario run with its per-replication summaries and its report. Modules add the
/// accessors they need in their own `impl Sim` blocks.
pub struct Sim {
    /// The model that ran.
    pub model: Model,
    /// Per-replication summaries, in replication order.
    pub reps: Vec<ReplicationSummary>,
    /// The report built from them.
    pub report: Report,
}

impl Sim {
    /// Loads and runs `yaml`.
    pub fn run(yaml: &str) -> Sim {
        Sim::of(scenario(yaml).model)
    }

    /// Runs `model`.
    pub fn of(model: Model) -> Sim {
        let reps = run_replications(&model, &RunOptions::default());
        let report = Report::build(&model, &reps);
        Sim { model, reps, report }
    }

    /// The report of service `name`.
    pub fn service(&self, name: &str) -> &ServiceReport {
        &self.report.services[name]
    }
}
