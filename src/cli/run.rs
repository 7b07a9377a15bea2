//! `resim run`: simulate, print the summary, write the report atomically.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use resim::report::charts::render_charts;
use resim::report::{render_html, render_summary, timeseries_csv, write_atomic};
use resim::{Report, RunOptions, run as run_model};

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
}

/// Writes timeseries.csv, charts/*.svg and report.html beside report.json, each atomically.
fn write_outputs(out: &Path, report: &Report) -> Result<(), String> {
    let write = |path: PathBuf, bytes: &[u8]| {
        write_atomic(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    let csv = timeseries_csv(report).map_err(|e| format!("cannot build timeseries.csv: {e}"))?;
    write(out.join("timeseries.csv"), csv.as_bytes())?;
    let charts = render_charts(report).map_err(|e| format!("cannot draw the charts: {e}"))?;
    let dir = out.join("charts");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for c in &charts {
        write(dir.join(&c.file), c.svg.as_bytes())?;
    }
    write(out.join("report.html"), render_html(report, &charts).as_bytes())
}

/// Runs the scenario.
pub(crate) fn run(args: RunArgs) -> Result<ExitCode, String> {
    let scenario = args.scenario.load().map_err(|e| e.to_string())?;
    let model = &scenario.model;
    let out = args.out.clone().unwrap_or_else(|| super::default_out(&model.name));
    // Fail before simulating if the report could not be written.
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot write into the output folder {}: {e}", out.display()))?;
    #[allow(clippy::disallowed_methods)] // wall time for the terminal only, never in the report
    let started = Instant::now();
    let report = run_model(model, &RunOptions { jobs: args.jobs });
    let wall = started.elapsed().as_secs_f64();
    let path = out.join("report.json");
    write_atomic(&path, report.to_json().as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let events = out.join("events.jsonl");
    write_atomic(&events, report.events_jsonl().as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", events.display()))?;
    write_outputs(&out, &report)?;
    if !args.quiet {
        let events = report.engine.events.value() * f64::from(report.replications);
        print_out(&render_summary(&report));
        let runs = 1 + report.blast_radius.len();
        let note = if runs > 1 {
            format!(", plus {} counterfactual run{}", runs - 1, if runs > 2 { "s" } else { "" })
        } else {
            String::new()
        };
        print_out(&format!(
            "\n{:.3e} events in {wall:.2}s wall ({:.2e} events/s over all threads{note})\nreport: {}\n",
            events * runs as f64,
            events * runs as f64 / wall.max(1e-9),
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
