//! `resim theory`: closed-form predictions beside simulated values.

use std::process::ExitCode;

/// Arguments of `resim theory`.
#[derive(clap::Args, Debug)]
pub(crate) struct TheoryArgs {
    #[command(flatten)]
    scenario: super::ScenarioArgs,
}

/// Prints predictions.
pub(crate) fn theory(args: TheoryArgs) -> Result<ExitCode, String> {
    let _ = args.scenario.load().map_err(|e| e.to_string())?;
    Err("not yet".into())
}
