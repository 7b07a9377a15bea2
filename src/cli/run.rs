//! `resim run`: simulate, print the summary, write the report atomically.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use resim::Report;
use resim::engine::SimTime;
use resim::model::RunLimits;
use resim::report::charts::render_charts;
use resim::report::{fmt_secs, render_html, render_summary, timeseries_csv, write_atomic};
use resim::run::mser::resolve_warmup;
use resim::run::precision::{DEFAULT_MAX_REPLICATIONS, Precision};
use resim::run::{RunOptions, run as run_model, run_precise, run_traced};
use resim::scenario::units::parse_duration;
use resim::trace::TraceConfig;

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
    /// Trace this fraction of measured requests of replication 0 (0..1, or a percentage
    /// such as 1%) into <out>/trace.json, for https://ui.perfetto.dev or chrome://tracing.
    #[arg(long, value_name = "RATE", allow_hyphen_values = true, value_parser = TraceConfig::parse_rate)]
    trace_sample: Option<f64>,
    /// Stop (exit 2, nothing written) when a replication handles more events than this.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_events: Option<u64>,
    /// Stop (exit 2, nothing written) when more requests than this are in flight at once
    /// in a replication: a queue growing without bound would exhaust memory.
    #[arg(long, value_name = "N", default_value_t = RunLimits::DEFAULT_MAX_IN_FLIGHT as u64,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    max_in_flight: u64,
    /// Stop (exit 2, nothing written) when no request finishes for this long (simulated)
    /// while work is inside and nothing pending could move it: a deadlock. A duration
    /// such as 10m, or `off` (default: 60s, or 100 times the slowest mean service time).
    #[arg(long, value_name = "DURATION|off", value_parser = parse_stall_after)]
    stall_after: Option<SimTime>,
    /// Most requests traced with --trace-sample.
    #[arg(long, value_name = "N", default_value_t = TraceConfig::DEFAULT_MAX,
          value_parser = clap::value_parser!(u32).range(1..))]
    trace_max: u32,
    /// Add replications until every headline metric's 95% CI half-width is within this
    /// share of its mean, e.g. 1%.
    #[arg(long, value_parser = super::parse_precision, conflicts_with = "trace_sample")]
    precision: Option<f64>,
    /// Most replications with --precision.
    #[arg(long, value_parser = super::parse_max_replications, default_value_t = DEFAULT_MAX_REPLICATIONS)]
    max_replications: u32,
}

/// `--stall-after`: a positive duration, or `off` (never).
fn parse_stall_after(s: &str) -> Result<SimTime, String> {
    match s {
        "off" => Ok(SimTime::MAX),
        _ => match parse_duration(s)? {
            SimTime::ZERO => Err("expected a duration above 0 such as 10m, or `off`".to_owned()),
            t => Ok(t),
        },
    }
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

/// On Ctrl-C, removes this process's temporary files from `out` (and `out/charts`) and
/// exits 130: every output is either the previous complete file or the new one.
fn on_interrupt_remove_temporaries(out: PathBuf) {
    let _ = ctrlc::set_handler(move || {
        let suffix = format!(".tmp-{}", std::process::id());
        for dir in [out.clone(), out.join("charts")] {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.file_name().to_string_lossy().ends_with(&suffix) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        eprintln!("interrupted: outputs left as they were before this run");
        std::process::exit(130);
    });
}

/// Runs the scenario.
pub(crate) fn run(args: RunArgs) -> Result<ExitCode, String> {
    let scenario = args.scenario.load().map_err(|e| e.to_string())?;
    let (mut scenario, warmup) = resolve_warmup(&scenario).map_err(|e| e.to_string())?;
    scenario.model.limits = RunLimits {
        max_events: args.max_events.unwrap_or(u64::MAX),
        max_in_flight: args.max_in_flight as usize,
        stall_after: args.stall_after,
    };
    let model = &scenario.model;
    let out = args.out.clone().unwrap_or_else(|| super::default_out(&model.name));
    // Fail before simulating if the report could not be written.
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot write into the output folder {}: {e}", out.display()))?;
    on_interrupt_remove_temporaries(out.clone());
    #[allow(clippy::disallowed_methods)] // wall time for the terminal only, never in the report
    let started = Instant::now();
    let options = RunOptions { jobs: args.jobs };
    let (report, trace) = match (args.trace_sample, args.precision) {
        (Some(sample), _) => run_traced(model, &options, TraceConfig { sample, max: args.trace_max }),
        (None, Some(relative)) => {
            (run_precise(model, &options, Precision { relative, max_replications: args.max_replications }), None)
        }
        (None, None) => (run_model(model, &options), None),
    };
    let wall = started.elapsed().as_secs_f64();
    if let Some(why) = &report.engine.halted {
        return Err(why.clone());
    }
    let path = out.join("report.json");
    write_atomic(&path, report.to_json().as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if args.trace_sample.is_some() {
        // Written even when nothing was sampled, so a script can rely on the file.
        let trace = trace.unwrap_or_default();
        let file = out.join("trace.json");
        write_atomic(&file, trace.to_chrome_json(model).as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        if !args.quiet {
            print_out(&format!("trace: {} ({} requests)\n", file.display(), trace.requests.len()));
        }
    }
    let events = out.join("events.jsonl");
    write_atomic(&events, report.events_jsonl().as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", events.display()))?;
    write_outputs(&out, &report)?;
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
