//! `validate REAL.json SIM.json [--scenario NAME]`: sets the report of a real run
//! (`resim-testbed`) beside the simulated one (`resim run`) and prints, in markdown, how
//! each was run, the testbed's measured overhead, one row per metric with both intervals
//! and a verdict, and how many agree. Exit status: 0 when every metric agrees, 1 when one
//! does not (a gate, as `resim compare` has), 2 when a report cannot be read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use resim_testbed::validate;
use serde_json::Value;

/// Compares a real run's report with a simulated one, metric by metric.
#[derive(Parser, Debug)]
#[command(name = "validate", version)]
struct Cli {
    /// report.json of the real run (resim-testbed).
    real: PathBuf,
    /// report.json of the simulated run (resim run).
    sim: PathBuf,
    /// A heading printed above the table (`### NAME`).
    #[arg(long)]
    scenario: Option<String>,
}

fn read(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a JSON report: {e}", path.display()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (real, sim) = match (read(&cli.real), read(&cli.sim)) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let rows = validate::compare(&real, &sim);
    if let Some(name) = &cli.scenario {
        println!("### {name}\n");
    }
    println!("{}", validate::render_runs(&real, &sim));
    println!("{}", validate::render_overhead(&real));
    println!("{}", validate::render_table(&rows));
    print!("{}", validate::render_verdict(&rows));
    let (recovery, same) = resim_testbed::recovery::render(&real, &sim);
    if !recovery.is_empty() {
        println!("\n{recovery}");
    }
    if same && rows.iter().all(|r| r.verdict.passed()) { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
