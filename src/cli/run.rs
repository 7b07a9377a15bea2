//! `resim run`: simulate, print the summary, write the outputs as one unit.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use resim::Report;
use resim::model::{Detail, Model, RunLimits};
use resim::report::charts::render_charts;
use resim::report::{LockMode, OutputLock, OutputPlace, fmt_secs, render_html, render_summary, timeseries_csv};
use resim::run::budget::Estimate;
use resim::run::mser::resolve_warmup;
use resim::run::precision::{DEFAULT_MAX_REPLICATIONS, Precision};
use resim::run::{RunOptions, run as run_model, run_precise, run_traced};
use resim::trace::{Trace, TraceConfig};

use super::budget::BudgetArgs;
use super::{ScenarioArgs, outdir, print_out};

/// `--detail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum DetailArg {
    /// The top services, edges and workloads (see --top) and a summary of the rest.
    Top,
    /// Every service, edge and workload, whatever their number.
    Full,
}

/// `--trace-format`: which files the sampled traces are written to (a comma-separated
/// list, e.g. `otlp,jaeger,zipkin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum TraceFormat {
    /// trace.json, Chrome trace events for https://ui.perfetto.dev or chrome://tracing.
    Chrome,
    /// trace.otlp.jsonl, OpenTelemetry OTLP JSON lines as the Collector's file exporter
    /// writes them (one ExportTraceServiceRequest per traced request).
    Otlp,
    /// trace.jaeger.json, Jaeger's JSON as its UI's "Download JSON" saves it.
    Jaeger,
    /// trace.zipkin.json, Zipkin v2 JSON: a list of spans as posted to /api/v2/spans.
    Zipkin,
    /// chrome and otlp (kept for compatibility).
    Both,
}

impl TraceFormat {
    /// The formats asked for, each once, in a fixed order (`both` is chrome and otlp).
    fn chosen(asked: &[TraceFormat]) -> Vec<TraceFormat> {
        let wants = |f: &TraceFormat| {
            asked
                .iter()
                .any(|&a| a == *f || (a == TraceFormat::Both && matches!(f, TraceFormat::Chrome | TraceFormat::Otlp)))
        };
        [TraceFormat::Chrome, TraceFormat::Otlp, TraceFormat::Jaeger, TraceFormat::Zipkin]
            .into_iter()
            .filter(wants)
            .collect()
    }

    /// The file written, by name.
    fn file(self) -> &'static str {
        match self {
            TraceFormat::Chrome | TraceFormat::Both => "trace.json",
            TraceFormat::Otlp => "trace.otlp.jsonl",
            TraceFormat::Jaeger => "trace.jaeger.json",
            TraceFormat::Zipkin => "trace.zipkin.json",
        }
    }

    /// The file's contents. Only replication 0 is traced.
    fn render(self, trace: &Trace, model: &Model) -> String {
        match self {
            TraceFormat::Chrome | TraceFormat::Both => trace.to_chrome_json(model),
            TraceFormat::Otlp => trace.to_otlp_jsonl(model, 0),
            TraceFormat::Jaeger => trace.to_jaeger_json(model, 0),
            TraceFormat::Zipkin => trace.to_zipkin_json(model, 0),
        }
    }
}

/// The sampled traces to write, with what renders them.
struct TraceOut<'a> {
    trace: &'a Trace,
    model: &'a Model,
    /// What [`TraceFormat::chosen`] gave.
    formats: &'a [TraceFormat],
}

/// How much of a large model the outputs hold (`resim run` and `resim sweep`).
#[derive(clap::Args, Debug)]
pub(crate) struct DetailArgs {
    /// Keep in report.json, timeseries.csv, the summary and report.html the N services,
    /// edges and workloads with the most load, the N with the most errors and the N with
    /// the most latency (plus SLO and fault targets and every service a fault's blast
    /// radius touched), and a summary of the rest under `others`. A kind with at most N
    /// members is kept whole; report.html draws the service graph above N services.
    #[arg(long, value_name = "N", default_value_t = Detail::DEFAULT_TOP, value_parser = parse_top)]
    top: usize,
    /// `top`: what --top keeps; `full`: everything (a 5,000-service model writes hundreds
    /// of megabytes).
    #[arg(long, value_enum, default_value = "top")]
    detail: DetailArg,
}

/// `--top`: a whole number from 1.
fn parse_top(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a count of at least 1: give e.g. --top 25")),
    }
}

impl DetailArgs {
    /// The model setting.
    pub(crate) fn detail(&self) -> Detail {
        Detail { top: self.top, full: self.detail == DetailArg::Full }
    }
}

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
    /// such as 1%) into <out>/trace.json, for https://ui.perfetto.dev or chrome://tracing
    /// (or as OpenTelemetry OTLP, Jaeger or Zipkin JSON: see --trace-format).
    #[arg(long, value_name = "RATE", allow_hyphen_values = true, value_parser = TraceConfig::parse_rate)]
    trace_sample: Option<f64>,
    /// Where --trace-sample writes, one or more of (comma-separated): `chrome`
    /// (trace.json), `otlp` (trace.otlp.jsonl, OpenTelemetry OTLP JSON lines), `jaeger`
    /// (trace.jaeger.json, Jaeger's JSON export), `zipkin` (trace.zipkin.json, Zipkin v2
    /// JSON); `both` is chrome,otlp. The last three hold the same spans and ids, times
    /// from 2026-01-01T00:00:00Z.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "chrome", requires = "trace_sample")]
    trace_format: Vec<TraceFormat>,
    #[command(flatten)]
    budget: BudgetArgs,
    #[command(flatten)]
    detail: DetailArgs,
    /// Stop (exit 2, nothing written) when more requests than this are in flight at once
    /// in a replication: a queue growing without bound would exhaust memory.
    #[arg(long, value_name = "N", default_value_t = RunLimits::DEFAULT_MAX_IN_FLIGHT as u64,
          value_parser = super::parse_max_in_flight)]
    max_in_flight: u64,
    /// Most requests traced with --trace-sample.
    #[arg(long, value_name = "N", default_value_t = TraceConfig::DEFAULT_MAX,
          value_parser = super::parse_trace_max)]
    trace_max: u32,
    /// Add replications until every headline metric's 95% CI half-width is within this
    /// share of its mean, e.g. 1%.
    #[arg(long, value_parser = super::parse_precision, conflicts_with = "trace_sample")]
    precision: Option<f64>,
    /// Most replications with --precision.
    #[arg(long, value_parser = super::parse_max_replications, default_value_t = DEFAULT_MAX_REPLICATIONS)]
    max_replications: u32,
}

/// Writes every output of the run into `dir` (the temporary folder): report.json,
/// the trace files of `--trace-format` (with `--trace-sample`), events.jsonl,
/// timeseries.csv, charts/*.svg and report.html.
fn write_outputs(dir: &Path, report: &Report, trace: Option<TraceOut<'_>>) -> Result<(), String> {
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        // Synced, so the swap never publishes a file whose bytes are still in flight.
        let written = std::fs::File::create(&path).and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
        written.map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("report.json", report.to_json().as_bytes())?;
    if let Some(TraceOut { trace, model, formats }) = trace {
        for f in formats {
            write(f.file(), f.render(trace, model).as_bytes())?;
        }
    }
    write("events.jsonl", report.events_jsonl().as_bytes())?;
    let csv = timeseries_csv(report).map_err(|e| format!("cannot build timeseries.csv: {e}"))?;
    write("timeseries.csv", csv.as_bytes())?;
    let charts = render_charts(report).map_err(|e| format!("cannot draw the charts: {e}"))?;
    let charts_dir = dir.join("charts");
    std::fs::create_dir(&charts_dir).map_err(|e| format!("cannot create {}: {e}", charts_dir.display()))?;
    for c in &charts {
        write(&format!("charts/{}", c.file), c.svg.as_bytes())?;
    }
    write("report.html", render_html(report, &charts).as_bytes())
}

/// Builds the outputs in a temporary folder beside `out` and swaps it in whole: a reader,
/// a `kill -9` or a second run sees this run's complete folder or the previous one.
fn publish(
    place: &OutputPlace,
    lock: Option<OutputLock>,
    report: &Report,
    trace: Option<TraceOut<'_>>,
) -> Result<(), String> {
    let staging = outdir::begin(place, lock)?;
    staging.remove_leftovers();
    write_outputs(staging.dir(), report, trace)?;
    outdir::commit(staging)
}

/// Refuses, before anything runs or is written, a run whose estimate is over the budget
/// (with `--precision`, as if it needed every replication it may add).
fn check_budget(args: &RunArgs, model: &resim::model::Model) -> Result<Estimate, String> {
    let mut probe = model.clone();
    if args.precision.is_some() {
        probe.replications = probe.replications.max(args.max_replications);
    }
    args.budget.enforce(&probe, None)
}

/// Runs the scenario.
pub(crate) fn run(args: RunArgs) -> Result<ExitCode, String> {
    let mut scenario = args.scenario.load().map_err(|e| e.to_string())?;
    scenario.model.detail = args.detail.detail();
    let estimate = check_budget(&args, &scenario.model)?;
    let (mut scenario, warmup) = resolve_warmup(&scenario).map_err(|e| e.to_string())?;
    scenario.model.limits = args.budget.limits(args.max_in_flight as usize);
    let model = &scenario.model;
    let out = args.out.clone().unwrap_or_else(|| super::default_out(&model.name));
    // Fail before simulating if the report could not be written; create nothing yet.
    let (place, lock) = outdir::prepare(&out, LockMode::Exclusive)?;
    outdir::on_signal(|| outdir::quit(false));
    #[allow(clippy::disallowed_methods)] // wall time for the terminal only, never in the report
    let started = Instant::now();
    let options = RunOptions { jobs: args.jobs };
    let threads = args.jobs.unwrap_or_else(rayon::current_num_threads);
    let line = super::progress::start(&estimate, threads, args.quiet);
    let (report, trace) = match (args.trace_sample, args.precision) {
        (Some(sample), _) => run_traced(model, &options, TraceConfig { sample, max: args.trace_max }),
        (None, Some(relative)) => {
            (run_precise(model, &options, Precision { relative, max_replications: args.max_replications }), None)
        }
        (None, None) => (run_model(model, &options), None),
    };
    drop(line);
    let wall = started.elapsed().as_secs_f64();
    if let Some(why) = &report.engine.halted {
        return Err(why.clone());
    }
    // Written even when nothing was sampled, so a script can rely on the file.
    let trace = args.trace_sample.map(|_| trace.unwrap_or_default());
    let formats = &TraceFormat::chosen(&args.trace_format);
    publish(&place, lock, &report, trace.as_ref().map(|trace| TraceOut { trace, model, formats }))?;
    let path = place.out().join("report.json");
    if let (Some(trace), false) = (&trace, args.quiet) {
        for f in formats {
            let file = place.out().join(f.file());
            print_out(&format!("trace: {} ({} requests)\n", file.display(), trace.requests.len()));
        }
    }
    if !args.quiet {
        let events = report.engine.events.value() * f64::from(report.replications);
        if let Some(w) = warmup {
            print_out(&format!(
                "warm-up: auto -> {} (MSER-5 over {} pilot runs cut {} of {} windows of {})\n",
                fmt_secs(w.warmup.as_secs_f64()),
                w.pilots,
                w.truncated_windows,
                w.windows,
                fmt_secs(w.window.as_secs_f64())
            ));
            if let Some(warning) = w.warning {
                eprintln!("warning: warmup: auto: {warning}");
            }
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
