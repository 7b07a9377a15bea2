//! `resim check`: validate only.

use std::process::ExitCode;

use super::{ScenarioArgs, print_out};

/// Arguments of `resim check`.
#[derive(clap::Args, Debug)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
}

/// Validates the scenario and reports what it contains.
pub(crate) fn check(args: CheckArgs) -> Result<ExitCode, String> {
    let s = args.scenario.load().map_err(|e| e.to_string())?;
    let m = &s.model;
    print_out(&format!(
        "{}: ok ({} services, {} call edges, {} workloads, {} replications)\n",
        args.scenario.scenario.display(),
        m.services.len(),
        m.edges.len(),
        m.workloads.len(),
        m.replications
    ));
    Ok(ExitCode::SUCCESS)
}
