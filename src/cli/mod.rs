//! Subcommand adapters: each turns parsed arguments into library calls and output.

mod budget;
mod calibrate;
mod check;
mod compare;
mod export;
mod import;
mod init;
mod merge;
mod outdir;
mod progress;
mod run;
mod sweep;
mod theory;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use resim::scenario::{Override, Scenario, ScenarioError, load_file};

/// Deterministic discrete-event simulator for the resilience of service architectures.
#[derive(Parser, Debug)]
#[command(name = "resim", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario: print a summary and write report.json into the output folder.
    Run(run::RunArgs),
    /// Sweep parameters: run every point's replications in parallel, write sweep.csv/json.
    Sweep(sweep::SweepArgs),
    /// Join the outputs of sharded sweeps (`--shard I/N`) into one sweep.csv/json.
    Merge(merge::MergeArgs),
    /// Validate a scenario without running it.
    Check(check::CheckArgs),
    /// Print the resim keys a configuration file sets (Istio, Envoy, resilience4j, gRPC,
    /// OpenSLO, Sloth), each with where it came from.
    Import(import::ImportArgs),
    /// Infer a scenario from traces (OpenTelemetry, Jaeger, Zipkin): services, calls,
    /// service times, load.
    Calibrate(calibrate::CalibrateArgs),
    /// Write a scenario's SLOs as deployable rules: `prometheus-rules` (Sloth's form).
    Export(export::ExportArgs),
    /// Print the JSON Schema of the scenario format.
    Schema,
    /// Write a commented starter scenario.
    Init(init::InitArgs),
    /// Print closed-form queueing predictions for a scenario beside simulated values.
    Theory(theory::TheoryArgs),
    /// Compare two reports (A: baseline, B: candidate) metric by metric, with significance.
    #[command(after_help = compare::GATE_HELP)]
    Compare(compare::CompareArgs),
}

/// Arguments shared by the commands that read a scenario.
#[derive(clap::Args, Debug)]
pub(crate) struct ScenarioArgs {
    /// The scenario file (YAML or JSON).
    scenario: PathBuf,
    /// Override a scenario key, e.g. `--set services.api.servers=8` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<Override>,
    /// Override the scenario's seed.
    #[arg(long, allow_hyphen_values = true, value_parser = whole_number::<u64>)]
    seed: Option<u64>,
    /// Override the number of replications.
    #[arg(long, allow_hyphen_values = true, value_parser = whole_number::<u32>)]
    replications: Option<u32>,
}

impl ScenarioArgs {
    /// The overrides given: `--set`, then `--seed` and `--replications`.
    pub(crate) fn overrides(&self) -> Vec<Override> {
        let mut set = self.set.clone();
        if let Some(seed) = self.seed {
            set.push(Override::from_flag("--seed", "seed", seed));
        }
        if let Some(r) = self.replications {
            set.push(Override::from_flag("--replications", "replications", r));
        }
        set
    }

    /// Loads the scenario with the overrides applied.
    pub(crate) fn load(&self) -> Result<Scenario, ScenarioError> {
        load_file(&self.scenario, &self.overrides())
    }
}

/// Runs the chosen subcommand.
pub(crate) fn dispatch(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Run(a) => run::run(a),
        Command::Sweep(a) => sweep::sweep(a),
        Command::Merge(a) => merge::merge(a),
        Command::Check(a) => check::check(a),
        Command::Import(a) => import::import(a),
        Command::Export(a) => export::export(a),
        Command::Calibrate(a) => calibrate::calibrate(a),
        Command::Schema => {
            let text = serde_json::to_string_pretty(&resim::scenario::json_schema()).map_err(|e| e.to_string())?;
            print_out(&format!("{text}\n"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Theory(a) => theory::theory(a),
        Command::Init(a) => init::init(a),
        Command::Compare(a) => compare::compare(a),
    }
}

/// A whole number that fits `T`, refused in words: clap alone would quote Rust's parser
/// ("invalid digit found in string", "is not in 0..=4294967295").
pub(crate) fn whole_number<T: std::str::FromStr + Bounded>(s: &str) -> Result<T, String> {
    s.trim().parse().map_err(|_| format!("expected a whole number from 0 to {}", T::MAX_TEXT))
}

/// The largest value of an unsigned integer type, as text for messages.
pub(crate) trait Bounded {
    /// `u64::MAX` and so on, written out.
    const MAX_TEXT: &'static str;
}

impl Bounded for u32 {
    const MAX_TEXT: &'static str = "4294967295";
}

impl Bounded for u64 {
    const MAX_TEXT: &'static str = "18446744073709551615";
}

/// Most worker threads `--jobs` accepts.
pub(crate) const MAX_JOBS: u64 = 1024;

/// `--jobs`: 1..=MAX_JOBS threads.
pub(crate) fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<u64>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n as usize),
        _ => Err(format!("expected a number of threads from 1 to {MAX_JOBS}")),
    }
}

/// `--max-in-flight`: 1 to 10^9 requests.
pub(crate) fn parse_max_in_flight(s: &str) -> Result<u64, String> {
    whole_number_in(s, 1, 1_000_000_000)
}

/// `--trace-max`: at least one request.
pub(crate) fn parse_trace_max(s: &str) -> Result<u32, String> {
    whole_number_in(s, 1, u64::from(u32::MAX)).map(|n| n as u32)
}

/// A whole number from `lo` to `hi`, refused in words (not clap's `1..=N`).
fn whole_number_in(s: &str, lo: u64, hi: u64) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from {lo} to {hi}")),
    }
}

/// The default output folder for a scenario: `out/<name>`, with the name reduced to
/// characters that cannot leave `out/` (no separators, no leading dots).
pub(crate) fn default_out(name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .collect();
    let safe = safe.trim_start_matches('.');
    PathBuf::from("out").join(if safe.is_empty() { "scenario" } else { safe })
}

/// `--precision`: a relative half-width such as `1%`.
pub(crate) fn parse_precision(s: &str) -> Result<f64, String> {
    resim::run::precision::parse_relative(s)
}

/// `--max-replications`: 2..=100000.
pub(crate) fn parse_max_replications(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if (2..=100_000).contains(&n) => Ok(n),
        _ => Err("expected a number of replications from 2 to 100000".into()),
    }
}

/// Prints to stdout; a closed pipe (`resim ... | head`) is not an error.
pub(crate) fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_refused_in_words() {
        assert_eq!(u32::MAX_TEXT, u32::MAX.to_string());
        assert_eq!(u64::MAX_TEXT, u64::MAX.to_string());
        assert_eq!(whole_number::<u32>(" 7 "), Ok(7));
        assert_eq!(whole_number::<u32>("4294967296"), Err("expected a whole number from 0 to 4294967295".into()));
        assert!(whole_number::<u64>("-1").is_err());
        assert_eq!(parse_max_in_flight("0"), Err("expected a whole number from 1 to 1000000000".into()));
        assert_eq!(parse_trace_max("4294967295"), Ok(u32::MAX));
        assert!(parse_trace_max("4294967296").is_err());
    }
}
