//! `resim-testbed SCENARIO --out DIR`: deploys the scenario for real on 127.0.0.1, runs
//! its replications one after another in real time, and writes `report.json` (resim's
//! schema, plus the testbed's overhead) and `summary.txt` into DIR.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use resim::engine::SimTime;
use resim::model::{Arrivals, Model};
use resim::report::fmt_secs;
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
    /// Refuse a scenario whose replications take longer than this in real time in all
    /// (replications × (warm-up + duration)): a simulated hour is an hour here.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = resim::scenario::units::parse_duration)]
    max_real_time: SimTime,
    /// Refuse a scenario whose workloads together peak above this many requests per
    /// second: beyond a few thousand, two cores cannot send and serve them on time, and
    /// the run would measure the machine, not the model.
    #[arg(long, value_name = "RATE", default_value = "3000/s", value_parser = resim::scenario::units::parse_rate)]
    max_rate: f64,
}

/// Why the scenario is too big to run for real, with what to do; `None` when it fits.
fn too_big(cli: &Cli, model: &Model) -> Option<String> {
    let total = SimTime((model.warmup + model.duration).0.saturating_mul(u64::from(model.replications)));
    if total > cli.max_real_time {
        return Some(format!(
            "it runs for {} of real time ({} replications × {} warm-up and measured), over --max-real-time {}: \
             shorten it (e.g. --set duration=60s --set replications=3) or raise --max-real-time",
            fmt_secs(total.as_secs_f64()),
            model.replications,
            fmt_secs((model.warmup + model.duration).as_secs_f64()),
            fmt_secs(cli.max_real_time.as_secs_f64()),
        ));
    }
    let peak: f64 =
        model.workloads.iter().map(|w| if let Arrivals::Poisson(p) = &w.arrivals { p.peak() } else { 0.0 }).sum();
    (peak > cli.max_rate).then(|| {
        format!(
            "its workloads peak at {peak:.0} requests/s together, over --max-rate {:.0}/s: the testbed's servers and \
             generator share this machine's cores and would fall behind; scale the rates down (and the service times \
             up, to keep the utilisation) or raise --max-rate",
            cli.max_rate
        )
    })
}

/// Prints the replication's elapsed real time once a second on a terminal, until `done`.
fn progress(span: f64, done: Arc<AtomicBool>) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    std::thread::spawn(move || {
        let start = std::time::Instant::now();
        while !done.load(Ordering::Relaxed) {
            eprint!("\r  {:.0} / {span:.0} s", start.elapsed().as_secs_f64().min(span));
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        eprint!("\r\x1b[K");
    });
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
    if let Some(why) = too_big(&cli, &model) {
        eprintln!("error: {} is too big for a real run: {why}", cli.scenario.display());
        return ExitCode::from(2);
    }
    let (mut results, mut overhead) = (Vec::new(), Vec::new());
    let span = (model.warmup + model.duration).as_secs_f64();
    for r in 0..model.replications {
        eprintln!("replication {}/{}: {span:.0} s of real time on 127.0.0.1", r + 1, model.replications);
        let done = Arc::new(AtomicBool::new(false));
        progress(span, done.clone());
        let run = resim_testbed::run_replication(&model, r);
        done.store(true, Ordering::Relaxed);
        match run {
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
