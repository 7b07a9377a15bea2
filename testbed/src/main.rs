//! `resim-testbed SCENARIO --out DIR`: deploys the scenario for real on 127.0.0.1, runs
//! its replications one after another in real time, and writes `report.json` (resim's
//! schema, plus the testbed's overhead) and `summary.txt` into DIR.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use resim::scenario::Override;

/// Runs a resim scenario on real HTTP services and writes a report of resim's schema.
#[derive(Parser, Debug)]
#[command(name = "resim-testbed", version)]
struct Cli {
    /// The scenario file.
    scenario: PathBuf,
    /// Output folder (report.json, summary.txt).
    #[arg(long, default_value = "out-testbed")]
    out: PathBuf,
    /// Override a scenario key, as `resim run --set` does (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<Override>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let scenario = match resim::scenario::load_file(&cli.scenario, &cli.set) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let model = Arc::new(scenario.model);
    let why = resim_testbed::support::unsupported(&model);
    if !why.is_empty() {
        eprintln!("error: {} cannot be deployed by the testbed:", cli.scenario.display());
        why.iter().for_each(|w| eprintln!("  - {w}"));
        eprintln!("  (run it with `resim run`, or remove these keys for the real run)");
        return ExitCode::from(2);
    }
    let (mut results, mut overhead) = (Vec::new(), Vec::new());
    let span = (model.warmup + model.duration).as_secs_f64();
    for r in 0..model.replications {
        eprintln!("replication {}/{}: {span:.0} s of real time on 127.0.0.1", r + 1, model.replications);
        match resim_testbed::run_replication(&model, r) {
            Ok((res, o)) => {
                results.push(res);
                overhead.push(o);
            }
            Err(e) => {
                eprintln!("error: the testbed could not run replication {}: {e}", r + 1);
                return ExitCode::FAILURE;
            }
        }
    }
    let (report, json) = resim_testbed::report(&model, &results, &overhead);
    let summary = resim::report::render_summary(&report);
    let summary = format!("{summary}{}", resim_testbed::overhead::Overhead::line(&overhead));
    if let Err(e) = write(&cli.out, &json, &summary) {
        eprintln!("error: cannot write {}: {e}", cli.out.display());
        return ExitCode::FAILURE;
    }
    print!("{summary}");
    eprintln!("wrote {}", cli.out.join("report.json").display());
    ExitCode::SUCCESS
}

/// Writes the report folder as one unit (resim's staging: a temporary folder beside `out`,
/// swapped in with one rename), so a failed or interrupted run leaves the previous
/// output as it was.
fn write(out: &std::path::Path, json: &str, summary: &str) -> Result<(), resim::report::OutputError> {
    use resim::report::{OutputPlace, Staging};
    let place = OutputPlace::check(out)?;
    let staging = Staging::begin(&place, None)?;
    let put = |name: &str, text: &str| {
        let path = staging.dir().join(name);
        std::fs::write(&path, text).map_err(|source| resim::report::OutputError::Io { path, source })
    };
    put("report.json", json)?;
    put("summary.txt", summary)?;
    staging.commit()
}
