//! `resim theory`: closed-form predictions beside simulated values.

use std::fmt::Write;
use std::process::ExitCode;

use resim::report::{Report, ServiceReport, Statistic};
use resim::theory::{StationTheory, predict, priority_predictions};
use resim::{RunOptions, run};

use super::print_out;

/// Arguments of `resim theory`.
#[derive(clap::Args, Debug)]
pub(crate) struct TheoryArgs {
    #[command(flatten)]
    scenario: super::ScenarioArgs,
    /// Only print the predictions; do not simulate.
    #[arg(long)]
    no_run: bool,
    /// Worker threads for replications (default: all cores).
    #[arg(long, value_parser = super::parse_jobs)]
    jobs: Option<usize>,
}

fn rows(t: &StationTheory, s: &ServiceReport) -> [(&'static str, f64, Statistic); 7] {
    [
        ("throughput/s", t.throughput, s.throughput_per_s),
        ("blocking", t.blocking, s.blocking_probability),
        ("utilization", t.utilization, s.utilization),
        ("L", t.mean_in_system, s.mean_in_system),
        ("Lq", t.mean_queue_length, s.mean_queue_length),
        ("W (s)", t.mean_sojourn, s.mean_sojourn_s),
        ("Wq (s)", t.mean_wait, s.mean_wait_s),
    ]
}

/// Prints predictions, and with a run, the simulated values and whether they agree.
pub(crate) fn theory(args: TheoryArgs) -> Result<ExitCode, String> {
    let scenario = args.scenario.load().map_err(|e| e.to_string())?;
    let (scenario, _) = resim::run::mser::resolve_warmup(&scenario).map_err(|e| e.to_string())?;
    let model = &scenario.model;
    let predictions = predict(model);
    let report = (!args.no_run).then(|| run(model, &RunOptions { jobs: args.jobs }));
    let mut out = String::new();
    let _ = writeln!(out, "{}: closed-form predictions", model.name);
    for p in &predictions {
        let _ = writeln!(out);
        let Some(t) = &p.values else {
            write_outside(&mut out, &p.service, &p.note);
            continue;
        };
        let _ = writeln!(out, "{}: {} ({})", p.service, p.model.unwrap_or_default(), p.note);
        match report.as_ref().and_then(|r| r.services.get(&p.service)) {
            None => {
                for (name, value, _) in rows(t, &ServiceReport::empty()) {
                    let _ = writeln!(out, "  {name:<13} {value:>12.6}");
                }
            }
            Some(s) => {
                let _ = writeln!(
                    out,
                    "  {:<13} {:>12} {:>12} {:>25}  agreement",
                    "metric", "theory", "simulated", "95% CI"
                );
                for (name, value, stat) in rows(t, s) {
                    write_row(&mut out, name, value, &stat);
                }
            }
        }
    }
    for c in resim::theory::che::predict_caches(model) {
        let sim = report.as_ref().and_then(|r| r.services.get(&c.service)).and_then(|s| s.cache.as_ref());
        write_cache(&mut out, &c, sim.map(|s| s.hit_ratio));
    }
    write_classes(&mut out, model, report.as_ref());
    print_out(&out);
    Ok(ExitCode::SUCCESS)
}

/// Writes a cached service's predicted hit ratio, beside the simulated one when there is one.
fn write_cache(out: &mut String, c: &resim::theory::che::CachePrediction, sim: Option<Statistic>) {
    let _ = writeln!(out);
    let Some(h) = c.hit_ratio else {
        let _ = writeln!(out, "{} cache: {}", c.service, c.note);
        return;
    };
    let _ = writeln!(out, "{} cache: {}", c.service, c.note);
    if let Some(t) = c.characteristic_time {
        let _ = writeln!(out, "  {:<13} {t:>12.3} requests", "T_C");
    }
    match sim {
        None => {
            let _ = writeln!(out, "  {:<13} {h:>12.6}", "hit ratio");
        }
        Some(s) => {
            let ci = s.ci95.map_or("-".into(), |[lo, hi]| format!("[{lo:.6}, {hi:.6}]"));
            let verdict = if s.covers(h) { "CI covers".into() } else { format!("off by {:.4}", (s.value() - h).abs()) };
            let _ = writeln!(out, "  {:<13} {h:>12.6} {:>12.6} {ci:>25}  {verdict}", "hit ratio", s.value());
        }
    }
}

/// Writes one metric: theory, simulated mean, its 95% CI and whether they agree.
fn write_row(out: &mut String, name: &str, value: f64, stat: &Statistic) {
    let sim = stat.value();
    let ci = stat.ci95.map_or("-".into(), |[lo, hi]| format!("[{lo:.6}, {hi:.6}]"));
    let rel = if value != 0.0 { (sim - value).abs() / value.abs() } else { (sim - value).abs() };
    let verdict = if stat.covers(value) { "CI covers".to_string() } else { format!("off by {:.2}%", rel * 100.0) };
    let _ = writeln!(out, "  {name:<13} {value:>12.6} {sim:>12.6} {ci:>25}  {verdict}");
}

/// Writes each workload's mean latency at the priority stations theory covers (Cobham's
/// formula, or preemptive-resume), beside the simulated `latency_s.mean` when there is a run.
fn write_classes(out: &mut String, model: &resim::model::Model, report: Option<&Report>) {
    let classes = priority_predictions(model);
    let mut service = "";
    for c in &classes {
        if c.service != service {
            service = &c.service;
            let _ = writeln!(out, "\n{service}: mean latency by priority class, {} (exact)", c.model);
            if report.is_some() {
                let _ = writeln!(
                    out,
                    "  {:<13} {:>12} {:>12} {:>25}  agreement",
                    "workload", "theory", "simulated", "95% CI"
                );
            }
        }
        let name = format!("{} ({})", c.workload, c.priority);
        match report.and_then(|r| r.workloads.get(&c.workload)).and_then(|w| w.latency_s.mean.as_ref()) {
            Some(stat) => write_row(out, &name, c.values.mean_response, stat),
            None => {
                let _ = writeln!(out, "  {name:<13} {:>12.6}", c.values.mean_response);
            }
        }
    }
}

/// Writes why `service` is outside theory: one line for one reason, else one reason per
/// line (`predict` joins them with `; `).
fn write_outside(out: &mut String, service: &str, note: &str) {
    let reasons: Vec<&str> = note.split("; ").collect();
    if let [one] = reasons[..] {
        let _ = writeln!(out, "{service}: outside theory: {one}");
        return;
    }
    let _ = writeln!(out, "{service}: outside theory, for {} reasons:", reasons.len());
    for r in reasons {
        let _ = writeln!(out, "  - {r}");
    }
}
