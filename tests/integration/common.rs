//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use resim::model::Model;
use resim::report::{ReplicationSummary, ServiceReport};
use resim::scenario::{Override, Scenario, ScenarioError, load_file, load_str};
use resim::{Report, RunOptions, run, run_with_summaries};

/// Loads a scenario from YAML text, panicking with the rendered error on failure.
pub fn scenario(yaml: &str) -> Scenario {
    load_str(yaml, Path::new("test.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// The path of example `name` (a file name) in `scenarios/`.
pub fn example_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name)
}

/// Parses `--set`-style overrides (`key=value`).
pub fn overrides(sets: &[&str]) -> Vec<Override> {
    sets.iter().map(|s| s.parse::<Override>().unwrap_or_else(|e| panic!("{s}: {e}"))).collect()
}

/// Loads example `name` of `scenarios/` with `--set`-style overrides, panicking with the
/// rendered error on failure.
pub fn example_scenario(name: &str, sets: &[&str]) -> Scenario {
    load_file(&example_path(name), &overrides(sets)).unwrap_or_else(|e| panic!("{e}"))
}

/// Loads and runs example `name` of `scenarios/` with `--set`-style overrides.
pub fn example(name: &str, sets: &[&str]) -> Sim {
    Sim::of(example_scenario(name, sets).model)
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
        let (reps, report) = run_with_summaries(&model, &RunOptions::default());
        Sim { model, reps, report }
    }

    /// The report of service `name`.
    pub fn service(&self, name: &str) -> &ServiceReport {
        &self.report.services[name]
    }
}

/// The error `yaml` is refused with, panicking if it is accepted.
pub fn refusal(yaml: &str) -> ScenarioError {
    match load_str(yaml, Path::new("bad.yaml"), &[]) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(e) => e,
    }
}

/// Checks an error names `key`, mentions each of `needles`, and points into the file.
pub fn assert_error(e: &ScenarioError, key: &str, needles: &[&str]) {
    assert_eq!(e.key, key, "wrong key in:\n{e}");
    let text = e.to_string();
    for n in needles {
        assert!(text.contains(n), "`{n}` missing from:\n{text}");
    }
    assert!(e.line > 0, "error not located in the file:\n{text}");
}
