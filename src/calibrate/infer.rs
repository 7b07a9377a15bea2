//! From spans to a scenario: [`infer`] links the trace trees ([`super::tree`]), gathers
//! what each service did ([`super::graph`]), infers its call steps ([`super::steps`]),
//! fits its own time ([`super::select`]), estimates the load and the hints
//! ([`super::rates`]) and writes the scenario ([`super::emit`]), returning the YAML with
//! everything behind it for the report.

use std::collections::BTreeMap;

use super::emit::emit;
use super::graph::Observed;
use super::rates::{EdgeHints, EntryRate, edge_hints, entry_rate, servers_estimate, window};
use super::select::{FitReport, Selection, choose};
use super::span::TraceSet;
use super::steps::{Step, infer_steps};
use super::tree::Forest;
use crate::scenario::ScenarioError;

/// Choices of the inference that the traces cannot make.
#[derive(Clone, Debug, PartialEq)]
pub struct InferOptions {
    /// The scenario's `name`.
    pub name: String,
    /// How the service-time family is chosen.
    pub selection: Selection,
    /// Share of requests the traces hold (head sampling), to scale the rates back up.
    pub sampling: f64,
    /// Window of a rate profile, seconds (traces covering over an hour).
    pub profile_window_s: f64,
    /// Most inline samples of an `empirical` service time (evenly spaced quantiles of the
    /// observations when there are more).
    pub max_samples: usize,
    /// The scenario's `replications`.
    pub replications: u32,
    /// The scenario's `seed`.
    pub seed: u64,
    /// The scenario's `warmup`, seconds (default: a tenth of the duration, at most 1 min).
    pub warmup_s: Option<f64>,
    /// Write each service's own error share as an `error` fault over the whole run.
    pub error_faults: bool,
}

impl Default for InferOptions {
    fn default() -> Self {
        InferOptions {
            name: "calibrated".into(),
            selection: Selection::Aic,
            sampling: 1.0,
            profile_window_s: 600.0,
            max_samples: 1000,
            replications: 1,
            seed: 1,
            warmup_s: None,
            error_faults: true,
        }
    }
}

/// What was inferred of one service.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceReport {
    /// Name in the scenario (the trace's, made a valid key).
    pub name: String,
    /// Name in the traces.
    pub trace_name: String,
    /// Requests seen.
    pub requests: usize,
    /// Distinct instances named (at least 1).
    pub instances: u32,
    /// Peak concurrent requests on one instance: the `servers` estimate.
    pub servers: u32,
    /// Share of requests in error.
    pub error_probability: f64,
    /// Share of requests in error none of whose calls failed.
    pub own_error_probability: f64,
    /// Known only from its callers' `peer_service` (own time = the callers' spans).
    pub peer_only: bool,
    /// The fit of its own time.
    pub fit: FitReport,
    /// Its call steps (callee indices into [`Calibration::services`]).
    pub steps: Vec<Step>,
    /// Hand-offs (index into [`Calibration::services`], probability per request).
    pub routes: Vec<(usize, f64)>,
}

/// A calibrated scenario and what it rests on.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// The scenario, as YAML.
    pub yaml: String,
    /// Per service, in scenario name order.
    pub services: Vec<ServiceReport>,
    /// Arrival rates per entry operation.
    pub entries: Vec<EntryRate>,
    /// Per call edge: errors, timeout and retry hints.
    pub edges: Vec<EdgeHints>,
    /// Seconds the entries span (the scenario's duration).
    pub duration_s: f64,
    /// Spans read.
    pub spans: usize,
    /// Traces read.
    pub traces: usize,
    /// Traces without a root span (left out of the rates).
    pub truncated_traces: usize,
    /// Spans whose parent was missing (roots of fragments).
    pub missing_parents: usize,
    /// Spans moved by the clock-skew correction.
    pub skew_corrections: usize,
    /// Spans repeating an earlier span's id in the same trace.
    pub duplicate_ids: usize,
    /// Client spans with no known callee, or calling a service that handled nothing.
    pub unresolved_calls: usize,
    /// Producer spans whose consumer was not found.
    pub unmatched_producers: usize,
}

impl Calibration {
    /// What the reading had to repair or leave out, as (count, what) for each nonzero
    /// count: the summary's and the page's notes.
    pub fn notes(&self) -> Vec<(usize, &'static str)> {
        let notes = [
            (self.truncated_traces, "traces have no root span (left out of the arrival rates)"),
            (self.missing_parents, "spans name a parent that is missing (each read as the root of a fragment)"),
            (self.skew_corrections, "spans were moved into their parent by the clock-skew correction"),
            (self.duplicate_ids, "spans repeat an earlier span's id (the later one dropped)"),
            (self.unresolved_calls, "client spans have no known callee"),
            (self.unmatched_producers, "producer spans have no consumer"),
        ];
        notes.into_iter().filter(|(n, _)| *n > 0).collect()
    }
}

/// Infers a scenario from `set`.
pub fn infer(set: &TraceSet, opts: &InferOptions) -> Result<Calibration, ScenarioError> {
    let refuse = |message: &str, help: &str| {
        let mut e = ScenarioError::at_key("", message).with_help(help);
        if let Some(s) = set.spans.first() {
            (e.file, e.line, e.column) = (s.at.file.clone(), s.at.line, s.at.column);
        }
        e
    };
    if set.spans.is_empty() {
        return Err(refuse("the traces hold no spans", "export traces that contain spans"));
    }
    let forest = Forest::build(set);
    let obs = Observed::gather(set, &forest);
    let kept: Vec<usize> = (0..obs.names.len()).filter(|&i| obs.services[i].requests > 0).collect();
    if kept.is_empty() {
        return Err(refuse(
            "no server or consumer span: no service handled a request",
            "calibrate needs the server side of calls (span kind SERVER or CONSUMER)",
        ));
    }
    let starts: Vec<i64> = obs.entries.values().flatten().copied().collect();
    if starts.is_empty() {
        return Err(refuse(
            "no trace has a root span, so no request is known to have entered the system",
            "export whole traces (every trace here is truncated: its root span is missing)",
        ));
    }
    let names = scenario_names(&obs.names, &kept);
    // Services in the order of their scenario names, as the scenario's map sorts them.
    let mut kept = kept;
    kept.sort_by(|a, b| names[a].cmp(&names[b]));
    let position: BTreeMap<usize, usize> = kept.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let mut unresolved = obs.unresolved_calls;
    let services: Vec<ServiceReport> = kept
        .iter()
        .map(|&i| {
            let (report, dropped) = service_report(&obs, i, &names[&i], &position, (opts.selection, opts.sampling));
            unresolved += dropped;
            report
        })
        .collect();
    let fallback_s = (obs.window.1 - obs.window.0) as f64 * 1e-9;
    let w = window(&starts, fallback_s, opts.sampling);
    let entries: Vec<EntryRate> = obs
        .entries
        .iter()
        .filter(|((svc, _), _)| position.contains_key(svc))
        .map(|((svc, op), st)| entry_rate(&names[svc], op, st, w, opts.profile_window_s))
        .collect();
    let edges: Vec<EdgeHints> = obs
        .edges
        .iter()
        .filter(|((a, b), _)| position.contains_key(a) && position.contains_key(b))
        .map(|((a, b), e)| edge_hints(&names[a], &names[b], e))
        .collect();
    let mut cal = Calibration {
        yaml: String::new(),
        services,
        entries,
        edges,
        duration_s: w.secs,
        spans: set.spans.len(),
        traces: forest.traces,
        truncated_traces: forest.truncated_traces,
        missing_parents: forest.missing_parents,
        skew_corrections: forest.skew_corrections,
        duplicate_ids: forest.duplicate_ids,
        unresolved_calls: unresolved,
        unmatched_producers: obs.unmatched_producers,
    };
    cal.yaml = emit(&cal, opts);
    Ok(cal)
}

/// One service's report; also the number of its calls dropped because the callee
/// handled nothing (it is not in the scenario).
fn service_report(
    obs: &Observed,
    i: usize,
    name: &str,
    position: &BTreeMap<usize, usize>,
    (selection, sampling): (Selection, f64),
) -> (ServiceReport, usize) {
    let s = &obs.services[i];
    let mut dropped = 0;
    let calls: Vec<Vec<_>> = s
        .calls
        .iter()
        .map(|req| {
            let kept: Vec<_> = req.iter().filter(|c| position.contains_key(&c.callee)).copied().collect();
            dropped += req.len() - kept.len();
            kept
        })
        .collect();
    let mut steps = infer_steps(&calls);
    for step in &mut steps {
        match step {
            Step::One(c) => c.callee = position[&c.callee],
            Step::Parallel(cs) => cs.iter_mut().for_each(|c| c.callee = position[&c.callee]),
        }
    }
    let mut route_counts: BTreeMap<usize, usize> = BTreeMap::new();
    for h in &s.handoffs {
        for b in h.iter().filter(|b| position.contains_key(b)) {
            *route_counts.entry(position[b]).or_default() += 1;
        }
    }
    let req = s.requests.max(1) as f64;
    let mut routes: Vec<(usize, f64)> = route_counts.into_iter().map(|(b, c)| (b, c as f64 / req)).collect();
    // A request handing off to several services cannot be one continuation: scale the
    // probabilities down to a sum of 1 (resim's routes choose one next service).
    let sum: f64 = routes.iter().map(|r| r.1).sum();
    if sum > 1.0 {
        routes.iter_mut().for_each(|r| r.1 /= sum);
    }
    let instances = s.intervals.keys().filter(|k| k.is_some()).count().max(1) as u32;
    let servers = s.intervals.values().map(|v| servers_estimate(v, sampling)).max().unwrap_or(1).max(1) as u32;
    let report = ServiceReport {
        name: name.to_owned(),
        trace_name: obs.names[i].clone(),
        requests: s.requests,
        instances,
        servers,
        error_probability: s.errors as f64 / req,
        own_error_probability: s.own_errors as f64 / req,
        peer_only: s.peer_only,
        fit: choose(s.own_times_s.clone(), selection),
        steps,
        routes,
    };
    (report, dropped)
}

/// Scenario names for the kept services: the trace's name with whitespace, `#` and `->`
/// replaced (invalid in a service key), made unique with a `-2`, `-3`... suffix.
fn scenario_names(names: &[String], kept: &[usize]) -> BTreeMap<usize, String> {
    let mut out = BTreeMap::new();
    let mut taken = std::collections::BTreeSet::new();
    for &i in kept {
        let clean = sanitize(&names[i]);
        let mut name = clean.clone();
        let mut k = 2;
        while !taken.insert(name.clone()) {
            name = format!("{clean}-{k}");
            k += 1;
        }
        out.insert(i, name);
    }
    out
}

/// `name` with characters a scenario key cannot hold replaced by `_`.
pub fn sanitize(name: &str) -> String {
    let s: String = name
        .replace("->", "_")
        .chars()
        .map(|c| if c.is_whitespace() || c == '#' || c.is_control() { '_' } else { c })
        .collect();
    if s.is_empty() { "unnamed".into() } else { s }
}
