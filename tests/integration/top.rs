//! Reports of models larger than `--top`: only the top services, edges and workloads (by
//! load, errors and latency) plus what the scenario names, a summary of the rest whose
//! totals complete the kept ones', a deterministic selection, `--detail full` keeping
//! everything, and the service-graph view in report.html.

use std::collections::BTreeSet;

use resim::model::{Detail, Model};
use resim::report::charts::render_charts;
use resim::report::{ServiceReport, render_html, timeseries_csv};
use resim::{Report, RunOptions, run};

use crate::common::scenario;

/// Services per layer and layers of [`layered`].
const PER: usize = 8;
const LAYERS: usize = 5;

/// The YAML of a layered graph of `PER × LAYERS` services, each calling two of the next layer, one
/// workload per entry service at a rate growing with its index (so the rankings differ),
/// an error fault on a quiet leaf service and an availability SLO on the quietest
/// workload.
pub(crate) fn layered_yaml() -> String {
    let mut y = String::from("name: layered\nduration: 20s\nwarmup: 0s\nreplications: 2\nseed: 3\nservices:\n");
    for l in 0..LAYERS {
        for i in 0..PER {
            y += &format!("  s{l}-{i}:\n    instances: 2\n    servers: 2\n    capacity: 16\n");
            y += "    service_time: { exponential: { mean: 5ms } }\n";
            if l + 1 < LAYERS {
                y += "    calls:\n";
                for k in 0..2 {
                    y += &format!("      - {{ to: s{}-{}, timeout: 200ms }}\n", l + 1, (i * 2 + k + l) % PER);
                }
            }
        }
    }
    y += "workloads:\n";
    for i in 0..PER {
        y += &format!("  - {{ name: w{i}, target: s0-{i}, arrivals: {{ poisson: {{ rate: {}/s }} }} }}\n", 5 * (i + 1));
    }
    y += "faults:\n  - { name: leaf-errors, kind: error, target: s4-3, at: 5s, for: 5s, probability: 0.5 }\n";
    y += "slos:\n  - { name: quiet, workload: w0, kind: availability, objective: 99% }\n";
    y
}

fn layered() -> Model {
    scenario(&layered_yaml()).model
}

fn run_with(detail: Detail) -> Report {
    let mut model = layered();
    model.detail = detail;
    run(&model, &RunOptions { jobs: Some(2) })
}

const TOP: usize = 4;

fn top() -> Report {
    run_with(Detail { top: TOP, full: false })
}

fn full() -> Report {
    run_with(Detail { top: TOP, full: true })
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn a_model_above_top_keeps_the_top_and_what_it_names() {
    let (t, f) = (top(), full());
    assert_eq!(f.services.len(), PER * LAYERS);
    let named: BTreeSet<&String> =
        t.blast_radius.iter().flat_map(|b| b.scope.iter().chain(&b.affected_services)).collect();
    assert!(t.services.len() < f.services.len() && t.services.len() <= 3 * TOP + named.len(), "{}", t.services.len());
    assert!(named.iter().all(|s| t.services.contains_key(*s)), "the blast radius is kept whole");
    assert!(t.workloads.len() < PER && t.edges.len() < f.edges.len());
    // The busiest service, edge and workload are kept, and so is the fault's target and
    // the SLO's workload however quiet.
    let busiest = f.services.iter().max_by(|a, b| a.1.arrivals.value().total_cmp(&b.1.arrivals.value())).unwrap();
    assert!(t.services.contains_key(busiest.0), "{} missing", busiest.0);
    assert!(t.services.contains_key("s4-3"), "the fault's target is kept");
    assert!(t.workloads.contains_key("w0") && t.workloads.contains_key("w7"), "SLO target and busiest");
    // A kept member's record is the same as in the full report.
    for (name, s) in &t.services {
        let json = |r: &ServiceReport| serde_json::to_string(r).unwrap();
        assert_eq!(json(s), json(&f.services[name]), "{name}");
    }
    // Everything else renders from the pruned report alone.
    let csv = timeseries_csv(&t).expect("csv");
    let series: BTreeSet<&str> =
        csv.lines().filter(|l| l.contains(",service,")).filter_map(|l| l.split(',').nth(4)).collect();
    assert_eq!(series, t.services.keys().map(String::as_str).collect(), "timeseries.csv: the kept services");
    assert!(f.others.is_none(), "--detail full leaves nothing out");
}

#[test]
fn the_others_complete_the_kept_totals() {
    let (t, f) = (top(), full());
    let o = t.others.as_ref().expect("others");
    assert_eq!(o.top, TOP);
    let s = o.services.as_ref().expect("services left out");
    assert_eq!(s.count + t.services.len(), f.services.len());
    type Get = fn(&ServiceReport) -> f64;
    let sum = |r: &Report, x: Get| r.services.values().map(x).sum::<f64>();
    let checks: [(&str, Get, f64); 3] = [
        ("arrivals", |s| s.arrivals.value(), s.arrivals.value()),
        ("completed", |s| s.completed.value(), s.completed.value()),
        ("rejected", |s| s.rejected.value(), s.rejected.value()),
    ];
    for (what, x, other) in checks {
        assert!(close(sum(&t, x) + other, sum(&f, x)), "{what}: {} + {other} != {}", sum(&t, x), sum(&f, x));
    }
    // Failed visits: the timelines' window means add up to the per-replication totals' mean.
    let failed = |r: &Report| -> f64 { r.services.values().flat_map(|s| &s.timeline).flat_map(|t| &t.failed).sum() };
    assert!(
        close(failed(&t) + s.failed.value(), failed(&f)),
        "{} + {} != {}",
        failed(&t),
        s.failed.value(),
        failed(&f)
    );
    assert!(failed(&f) > 0.0, "the fault made failures to count");
    let e = o.edges.as_ref().expect("edges left out");
    assert_eq!(e.count + t.edges.len(), f.edges.len());
    let calls = |r: &Report| r.edges.values().map(|e| e.calls.value()).sum::<f64>();
    assert!(close(calls(&t) + e.calls.value(), calls(&f)));
    let w = o.workloads.as_ref().expect("workloads left out");
    assert_eq!(w.count + t.workloads.len(), f.workloads.len());
    let sent = |r: &Report| r.workloads.values().map(|w| w.arrivals.value()).sum::<f64>();
    assert!(close(sent(&t) + w.arrivals.value(), sent(&f)));
    let busiest = s.max_utilization.as_ref().expect("a busiest service left out");
    assert!(!t.services.contains_key(&busiest.name) && busiest.value > 0.0);
}

#[test]
fn the_selection_is_deterministic() {
    let a = top();
    let mut model = layered();
    model.detail = Detail { top: TOP, full: false };
    let b = run(&model, &RunOptions { jobs: Some(1) });
    assert_eq!(a.to_json(), b.to_json(), "same seed, any thread count: the same bytes");
}

#[test]
fn a_model_within_top_is_reported_whole_without_the_new_keys() {
    // 64 edges: the most of any kind.
    let all = 2 * PER * (LAYERS - 1);
    let small = run_with(Detail { top: all, full: false });
    let whole = full();
    assert!(small.others.is_none() && small.service_graph.is_none());
    let json = small.to_json();
    assert!(!json.contains("\"others\"") && !json.contains("\"service_graph\""));
    assert_eq!(json, run_with(Detail { top: all, full: true }).to_json());
    assert_eq!(small.services.len(), whole.services.len());
}

#[test]
fn report_html_draws_the_service_graph_above_top() {
    for report in [top(), full()] {
        let g = report.service_graph.as_ref().expect("the graph of a model above --top");
        assert_eq!(g.services.len(), PER * LAYERS);
        assert_eq!(g.depth.iter().copied().max(), Some(LAYERS as u32 - 1), "layers by call depth");
        assert_eq!(g.kept.iter().filter(|&&k| k).count(), report.services.len());
        let html = render_html(&report, &render_charts(&report).expect("charts"));
        let start = html.find("<svg id=\"sg-svg\"").expect("the service-graph view");
        let end = start + html[start..].find("</svg>").expect("its end") + 6;
        let doc = roxmltree::Document::parse(&html[start..end]).expect("the view is XML");
        let dots = doc.descendants().filter(|n| n.has_tag_name("circle")).count();
        assert_eq!(dots, PER * LAYERS, "a dot per service");
        assert!(html.contains("id=\"sg-find\"") && !html.contains("src=\"http"), "searchable, self-contained");
    }
}
