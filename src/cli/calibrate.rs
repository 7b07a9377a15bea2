//! `resim calibrate`: a scenario inferred from an architecture's traces.

use std::path::PathBuf;
use std::process::ExitCode;

use resim::calibrate::select::Selection;
use resim::calibrate::{self, Calibration, Format, InferOptions, read_traces};
use resim::report::write_atomic;
use resim::scenario::load_str;

use super::print_out;

/// Arguments of `resim calibrate`.
#[derive(clap::Args, Debug)]
pub(crate) struct CalibrateArgs {
    /// The trace files, read in order: OTLP JSON (the Collector's file exporter, one
    /// request per line, or one document), Jaeger's JSON export, or Zipkin v2 JSON.
    #[arg(required = true, value_name = "TRACES")]
    traces: Vec<PathBuf>,
    /// Their format: otlp, jaeger or zipkin.
    #[arg(long, value_parser = parse_format)]
    format: Format,
    /// Write the scenario here (refused if it exists, unless --force).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Overwrite --out if it exists.
    #[arg(long)]
    force: bool,
    /// The scenario's name (default: the --out file's stem).
    #[arg(long)]
    name: Option<String>,
    /// Share of requests the traces hold (head sampling, e.g. 0.01): the arrival rates
    /// are divided by it.
    #[arg(long, default_value_t = 1.0, value_parser = parse_share)]
    sampled: f64,
    /// How a service time's family is chosen: aic (lowest Akaike information criterion,
    /// the default) or ks (smallest Kolmogorov-Smirnov distance).
    #[arg(long, default_value = "aic", value_parser = parse_selection)]
    select: Selection,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).map_err(|e| match e.help {
        Some(help) => format!("{} ({help}; expected otlp, jaeger or zipkin)", e.message),
        None => format!("{} (expected otlp, jaeger or zipkin)", e.message),
    })
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 1.0 => Ok(x),
        _ => Err(format!("expected a share of requests above 0 and at most 1 (e.g. 0.01), got {s:?}")),
    }
}

fn parse_selection(s: &str) -> Result<Selection, String> {
    match s {
        "aic" => Ok(Selection::Aic),
        "ks" => Ok(Selection::Ks),
        _ => Err(format!("expected `aic` or `ks`, got {s:?}")),
    }
}

/// Reads the traces, infers the scenario, checks that it loads and writes it.
pub(crate) fn calibrate(args: CalibrateArgs) -> Result<ExitCode, String> {
    if args.out.exists() && !args.force {
        return Err(format!("{} already exists; pass --force to overwrite it", args.out.display()));
    }
    let set = read_traces(&args.traces, args.format).map_err(|e| e.to_string())?;
    let stem = args.out.file_stem().map(|s| s.to_string_lossy().into_owned());
    let opts = InferOptions {
        name: args.name.clone().or(stem).unwrap_or_else(|| "calibrated".into()),
        selection: args.select,
        sampling: args.sampled,
        ..InferOptions::default()
    };
    let cal = calibrate::infer(&set, &opts).map_err(|e| e.to_string())?;
    // What is written must be a scenario resim runs: a failure here is a bug of the
    // inference, said as such rather than left for `resim run` to find.
    load_str(&cal.yaml, &args.out, &[])
        .map_err(|e| format!("the inferred scenario does not load (a bug in resim calibrate): {e}"))?;
    write_atomic(&args.out, cal.yaml.as_bytes()).map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    print_out(&summary(&cal));
    print_out(&format!("wrote {}; run it with: resim run {}\n", args.out.display(), args.out.display()));
    Ok(ExitCode::SUCCESS)
}

/// What was read and inferred, a line per service.
fn summary(cal: &Calibration) -> String {
    let mut s = format!(
        "{} spans in {} traces over {:.1} s: {} services, {} entry operations\n",
        cal.spans,
        cal.traces,
        cal.duration_s,
        cal.services.len(),
        cal.entries.len()
    );
    let notes = [
        (cal.truncated_traces, "traces without a root (left out of the rates)"),
        (cal.missing_parents, "spans whose parent is missing"),
        (cal.skew_corrections, "spans moved by the clock-skew correction"),
        (cal.unresolved_calls, "client spans with no known callee"),
        (cal.unmatched_producers, "producer spans with no consumer"),
    ];
    for (n, what) in notes.iter().filter(|(n, _)| *n > 0) {
        s.push_str(&format!("  {n} {what}\n"));
    }
    for svc in &cal.services {
        s.push_str(&format!(
            "  {:<24} {:>7} requests  {} instance(s)  servers {}  {}\n",
            svc.name, svc.requests, svc.instances, svc.servers, svc.fit.reason
        ));
    }
    s
}
