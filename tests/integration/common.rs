//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::Path;

use resim::scenario::{Scenario, load_str};
use resim::{Report, RunOptions, run};

/// Loads a scenario from YAML text, panicking with the rendered error on failure.
pub fn scenario(yaml: &str) -> Scenario {
    load_str(yaml, Path::new("test.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// Loads and runs a scenario from YAML text.
pub fn run_yaml(yaml: &str) -> Report {
    run(&scenario(yaml).model, &RunOptions::default())
}
