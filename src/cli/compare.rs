//! `resim compare`: read two reports, print the table, write compare.md and compare.html,
//! and with `--fail-on-regression` exit 1 when B regressed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use resim::compare::html::render_html;
use resim::compare::render::{render_markdown, render_text};
use resim::compare::{Thresholds, compare as compare_reports, load, parse_percent, regressions};
use resim::report::{LockMode, write_atomic};

use super::{outdir, print_out};

/// The gate rule, shown by `resim compare --help`.
pub(crate) const GATE_HELP: &str = "\
Significance: Welch's t-test at 5% on the replication means (each side's standard deviation is \
recovered from its 95% CI). With 1 replication on a side nothing is significant.

--fail-on-regression exits 1 when B is worse than A beyond a threshold AND the change is \
significant (for the thresholds on a change: --max-p99-increase, --max-error-increase); \
--min-availability checks B's mean availability alone. Without thresholds it fails on any \
significant worsening of a workload's availability or p99 latency.

Exit codes: 0 ok; 1 a regression check failed; 2 bad input (nothing written).";

/// Arguments of `resim compare`.
#[derive(clap::Args, Debug)]
pub(crate) struct CompareArgs {
    /// Baseline: a report.json, or the output folder of `resim run` holding one.
    a: PathBuf,
    /// Candidate, compared against A.
    b: PathBuf,
    /// Folder for compare.md and compare.html (default: out/compare).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Exit with status 1 when B regressed (see the rule below).
    #[arg(long)]
    fail_on_regression: bool,
    /// Largest relative increase of any workload's p99 latency, e.g. 10%.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, requires = "fail_on_regression")]
    max_p99_increase: Option<f64>,
    /// Lowest availability every workload must have in B, e.g. 99.9%.
    #[arg(long, value_name = "PERCENT", value_parser = parse_availability, requires = "fail_on_regression")]
    min_availability: Option<f64>,
    /// Largest absolute drop of any workload's availability, e.g. 0.1%.
    #[arg(long, value_name = "PERCENT", value_parser = parse_availability, requires = "fail_on_regression")]
    max_error_increase: Option<f64>,
    /// Print nothing but warnings and failed checks.
    #[arg(long, short)]
    quiet: bool,
}

fn parse_availability(s: &str) -> Result<f64, String> {
    parse_percent(s).and_then(|x| if x <= 1.0 { Ok(x) } else { Err(format!("`{s}` is above 100%")) })
}

/// The files a comparison writes: its folder holds nothing else.
const FILES: [&str; 2] = ["compare.md", "compare.html"];

/// Writes `files` as one unit: built in a temporary folder beside `out` and swapped in
/// whole, as `resim run` does, so a `kill -9` or a second comparison never leaves one
/// file of each. A folder holding anything else (a run's report) is refused rather than
/// replaced.
fn publish(out: &Path, files: &[(&str, String)]) -> Result<(), String> {
    let foreign =
        std::fs::read_dir(out).into_iter().flatten().flatten().find(|e| !FILES.iter().any(|f| e.file_name() == *f));
    if let Some(e) = foreign {
        return Err(format!(
            "the output folder {} holds `{}`: a comparison replaces its folder whole, so give it a folder of its \
             own with --out (default out/compare)",
            out.display(),
            e.file_name().to_string_lossy()
        ));
    }
    let (place, lock) = outdir::prepare(out, LockMode::Exclusive)?;
    outdir::on_signal(|| outdir::quit(false));
    let staging = outdir::begin(&place, lock)?;
    staging.remove_leftovers();
    for (name, text) in files {
        let path = staging.dir().join(name);
        write_atomic(&path, text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    outdir::commit(staging)
}

/// Compares the two reports.
pub(crate) fn compare(args: CompareArgs) -> Result<ExitCode, String> {
    // Read both before writing anything: bad input leaves no output behind.
    let a = load(&args.a).map_err(|e| e.to_string())?;
    let b = load(&args.b).map_err(|e| e.to_string())?;
    let comparison = compare_reports(&a, &b);
    for w in &comparison.warnings {
        eprintln!("warning: {w}");
    }
    let thresholds = Thresholds {
        max_p99_increase: args.max_p99_increase,
        min_availability: args.min_availability,
        max_error_increase: args.max_error_increase,
    };
    let failures = args.fail_on_regression.then(|| regressions(&comparison, &thresholds));
    let out = args.out.unwrap_or_else(|| PathBuf::from("out").join("compare"));
    let md = out.join("compare.md");
    let html = out.join("compare.html");
    publish(
        &out,
        &[
            ("compare.md", render_markdown(&comparison, failures.as_deref())),
            ("compare.html", render_html(&comparison, failures.as_deref())),
        ],
    )?;
    if !args.quiet {
        print_out(&render_text(&comparison, failures.as_deref()));
        print_out(&format!("written: {}, {}\n", md.display(), html.display()));
    }
    match failures {
        Some(f) if !f.is_empty() => {
            for x in &f {
                eprintln!("regression: {}: {}", x.check, x.detail);
            }
            eprintln!("gate failed: {} regression check{} failed", f.len(), if f.len() == 1 { "" } else { "s" });
            Ok(ExitCode::from(1))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
