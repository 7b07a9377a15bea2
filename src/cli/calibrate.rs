//! `resim calibrate`: a scenario inferred from an architecture's traces.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use resim::calibrate::page::render_page;
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
    /// Write the calibration report (the inferred graph, and per service the fit of
    /// its own time) here [default: beside --out, as <stem>.calibrate.html].
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Overwrite --out and the report if they exist.
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
    let html = args.html.clone().unwrap_or_else(|| report_beside(&args.out));
    if html == args.out {
        return Err(format!("--html and --out are both {}; give them different files", html.display()));
    }
    for path in [&args.out, &html] {
        if path.exists() && !args.force {
            return Err(format!("{} already exists; pass --force to overwrite it", path.display()));
        }
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
    let page = render_page(&cal, &args.out.display().to_string())
        .map_err(|e| format!("cannot draw {}: {e}", html.display()))?;
    // The two files as a unit: the report first, and taken back if the scenario fails.
    write_atomic(&html, page.as_bytes()).map_err(|e| format!("cannot write {}: {e}", html.display()))?;
    if let Err(e) = write_atomic(&args.out, cal.yaml.as_bytes()) {
        let _ = std::fs::remove_file(&html);
        return Err(format!("cannot write {}: {e}", args.out.display()));
    }
    print_out(&summary(&cal));
    print_out(&format!(
        "wrote {} and {}; run it with: resim run {}\n",
        args.out.display(),
        html.display(),
        args.out.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// `<dir>/<stem>.calibrate.html` for the scenario `<dir>/<stem>.yaml`.
fn report_beside(out: &Path) -> PathBuf {
    let stem = out.file_stem().map_or_else(|| "calibrated".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}.calibrate.html"))
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
    for (n, what) in cal.notes() {
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
