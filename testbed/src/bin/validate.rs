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
    /// What decides the exit status: `metrics` (every row agrees, and the outcome after
    /// each fault) or `outcome` (only the outcome after each fault: issue 25's criterion
    /// for the retry storm, a metastable system whose numbers one real run cannot pin).
    #[arg(long, value_enum, default_value_t = Judge::Metrics)]
    judge: Judge,
}

/// What the exit status judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Judge {
    /// Every metric and the outcome after each fault.
    Metrics,
    /// The outcome after each fault only; the metrics are shown for reference.
    Outcome,
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
    let passed = match cli.judge {
        Judge::Metrics => same && rows.iter().all(|r| r.verdict.passed()),
        Judge::Outcome => {
            let verdict = if same { "the same outcome" } else { "**a different outcome**" };
            println!(
                "**Judged by its outcome after the fault: {verdict}** (issue 25's criterion for this scenario; the \
                 metrics above are for reference)."
            );
            same && !recovery.is_empty()
        }
    };
    if passed { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
