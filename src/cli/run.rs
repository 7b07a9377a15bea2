//! `resim run`: simulate, print the summary, write the report atomically.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use resim::report::{fmt_secs, render_summary, write_atomic};
use resim::sweep::mser::resolve_warmup;
use resim::sweep::precision::{DEFAULT_MAX_REPLICATIONS, Precision};
use resim::{RunOptions, run as run_model, sweep::run_precise};

use super::{ScenarioArgs, print_out};

/// Arguments of `resim run`.
#[derive(clap::Args, Debug)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Output folder (default: out/<scenario name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads for replications (default: all cores).
    #[arg(long, value_parser = super::parse_jobs)]
    jobs: Option<usize>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
    /// Exit with status 1 when an SLO is breached (the report is written first).
    #[arg(long)]
    gate: bool,
    /// Add replications until every headline metric's 95% CI half-width is within this
    /// share of its mean, e.g. 1%.
    #[arg(long, value_parser = super::parse_precision)]
    precision: Option<f64>,
    /// Most replications with --precision.
    #[arg(long, value_parser = super::parse_max_replications, default_value_t = DEFAULT_MAX_REPLICATIONS)]
    max_replications: u32,
}

/// Runs the scenario.
pub(crate) fn run(args: RunArgs) -> Result<ExitCode, String> {
    let scenario = args.scenario.load().map_err(|e| e.to_string())?;
    let (scenario, warmup) = resolve_warmup(&scenario).map_err(|e| e.to_string())?;
    let model = &scenario.model;
    let out = args.out.clone().unwrap_or_else(|| super::default_out(&model.name));
    // Fail before simulating if the report could not be written.
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot write into the output folder {}: {e}", out.display()))?;
    #[allow(clippy::disallowed_methods)] // wall time for the terminal only, never in the report
    let started = Instant::now();
    let options = RunOptions { jobs: args.jobs };
    let report = match args.precision {
        Some(relative) => run_precise(model, &options, Precision { relative, max_replications: args.max_replications }),
        None => run_model(model, &options),
    };
    let wall = started.elapsed().as_secs_f64();
    let path = out.join("report.json");
    write_atomic(&path, report.to_json().as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let events = out.join("events.jsonl");
    write_atomic(&events, report.events_jsonl().as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", events.display()))?;
    if !args.quiet {
        let events = report.engine.events.value() * f64::from(report.replications);
        if let Some(w) = warmup {
            print_out(&format!(
                "warm-up: auto -> {} (MSER-5 cut {} of {} pilot windows)\n",
                fmt_secs(w.warmup.as_secs_f64()),
                w.truncated_windows,
                w.windows
            ));
        }
        if let Some(p) = args.precision {
            print_out(&format!(
                "precision: {} replications for a {}% half-width (cap {})\n",
                report.replications,
                p * 100.0,
                args.max_replications
            ));
        }
        print_out(&render_summary(&report));
        print_out(&format!(
            "\n{:.3e} events in {wall:.2}s wall ({:.2e} events/s over all threads)\nreport: {}\n",
            events,
            events / wall.max(1e-9),
            path.display()
        ));
    }
    let breached: Vec<&str> = report.slos.iter().filter(|s| !s.met).map(|s| s.name.as_str()).collect();
    if args.gate && !breached.is_empty() {
        eprintln!("gate failed: {} of {} SLOs breached: {}", breached.len(), report.slos.len(), breached.join(", "));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
