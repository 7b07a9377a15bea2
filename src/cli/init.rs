//! `resim init`: write a commented starter scenario, or with `--topology microservices`
//! a generated large call graph ([`resim::topology`]).

use std::path::PathBuf;
use std::process::ExitCode;

use resim::report::write_atomic;
use resim::scenario::units::{parse_duration, parse_rate};
use resim::topology::{self, Params};

use super::{print_out, whole_number};

/// The starter scenario, kept valid by a test.
pub(crate) const STARTER: &str = include_str!("templates/starter.yaml");

/// Arguments of `resim init`.
#[derive(clap::Args, Debug)]
pub(crate) struct InitArgs {
    /// Where to write it.
    #[arg(default_value = "scenario.yaml")]
    file: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
    /// Generate a call graph instead of the starter: `microservices` (shaped after
    /// Alibaba's 2021 microservice traces).
    #[arg(long, value_enum)]
    topology: Option<Topology>,
    /// Services in the generated graph (10 to 50000).
    #[arg(long, requires = "topology", value_parser = whole_number::<u64>)]
    services: Option<u64>,
    /// Seed of the generated graph (and of the scenario).
    #[arg(long, requires = "topology", value_parser = whole_number::<u64>)]
    seed: Option<u64>,
    /// Entry services, one workload each (default 5; at most a third of the stateless
    /// services).
    #[arg(long, requires = "topology", value_parser = whole_number::<u32>)]
    workloads: Option<u32>,
    /// Total request rate over the workloads, e.g. `1000/s` (the default).
    #[arg(long, requires = "topology", value_parser = parse_rate)]
    rate: Option<f64>,
    /// Events the run should take (default 2e7): sets the duration from the expected
    /// events per request, so every size runs the same work.
    #[arg(long, requires = "topology", conflicts_with = "duration", value_parser = parse_events)]
    events: Option<f64>,
    /// Measured duration instead of the one `--events` implies, e.g. `10m`.
    #[arg(long, requires = "topology", value_parser = parse_duration_ms)]
    duration: Option<u64>,
}

/// The generated topologies.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Topology {
    /// A large microservice call graph after Alibaba's 2021 traces.
    Microservices,
}

/// Writes the starter scenario, or the generated one.
pub(crate) fn init(args: InitArgs) -> Result<ExitCode, String> {
    if args.file.exists() && !args.force {
        return Err(format!("{} already exists; pass --force to overwrite it", args.file.display()));
    }
    let (text, summary) = match args.topology {
        None => (STARTER.to_string(), None),
        Some(Topology::Microservices) => {
            let params = params(&args)?;
            let g = topology::generate(&params)?;
            let summary = format!("{}\nexpected {:.3e} events\n", g.stats, g.expected_events);
            (g.yaml, Some(summary))
        }
    };
    write_atomic(&args.file, text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", args.file.display()))?;
    if let Some(summary) = summary {
        print_out(&summary);
    }
    print_out(&format!("wrote {}; run it with: resim run {}\n", args.file.display(), args.file.display()));
    Ok(ExitCode::SUCCESS)
}

/// The generator's parameters from the flags.
fn params(args: &InitArgs) -> Result<Params, String> {
    let services = args.services.ok_or("--topology microservices needs --services N (10 to 50000)")?;
    let defaults = Params::new(services);
    Ok(Params {
        seed: args.seed.unwrap_or(defaults.seed),
        workloads: args.workloads.unwrap_or(defaults.workloads),
        rate: args.rate.unwrap_or(defaults.rate),
        events: args.events.unwrap_or(defaults.events),
        duration_ms: args.duration,
        ..defaults
    })
}

/// `--events`: a positive number, `2e7` or `20000000`.
fn parse_events(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err("expected a number of events such as 2e7".into()),
    }
}

/// `--duration`: a duration in whole milliseconds.
fn parse_duration_ms(s: &str) -> Result<u64, String> {
    let t = parse_duration(s)?;
    if !t.0.is_multiple_of(1_000_000) {
        return Err(format!("`{s}`: expected whole milliseconds"));
    }
    Ok(t.0 / 1_000_000)
}
