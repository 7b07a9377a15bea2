//! `resim export`: write what a scenario states in the form another tool deploys.

use std::path::PathBuf;
use std::process::ExitCode;

use resim::input::shown;
use resim::report::write_atomic;

use super::{ScenarioArgs, print_out};

/// What `resim export` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The SLOs' recording and multi-window, multi-burn-rate alerting rules, as Sloth
    /// generates them (`promtool check rules` reads them): the alerts report.json
    /// simulated.
    PrometheusRules,
}

/// Arguments of `resim export`.
#[derive(clap::Args, Debug)]
pub(crate) struct ExportArgs {
    /// What to write.
    kind: Kind,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Write to this file (atomically: a reader sees the old file or the whole new one)
    /// instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Loads the scenario and writes the export.
pub(crate) fn export(args: ExportArgs) -> Result<ExitCode, String> {
    let scenario = args.scenario.load().map_err(|e| e.to_string())?;
    let text = match args.kind {
        Kind::PrometheusRules => resim::export::prometheus_rules(&scenario).map_err(|mut e| {
            e.file = shown(&args.scenario.scenario);
            e.to_string()
        })?,
    };
    match &args.out {
        Some(path) => {
            write_atomic(path, text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", shown(path).display()))?
        }
        None => print_out(&text),
    }
    Ok(ExitCode::SUCCESS)
}
