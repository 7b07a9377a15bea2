//! The Chrome trace-event JSON of a [`Trace`], as Perfetto and `chrome://tracing` read it.
//!
//! Layout: one process per traced request (named `users #17 (ok)`), so each request's
//! causal chain sits together. Thread 0 holds the end-to-end span; then one thread per
//! service it visited and one per call edge it used (attempts, backoffs, fallbacks and
//! policy instants), ordered by first use, so reading down follows the call chain.
//! Spans on one thread must not overlap (the viewers stack them by nesting), so
//! concurrent visits (parallel calls, hedges) get extra lanes: `db (2)`.
//! Times are microseconds of simulated time since the start of the run (warm-up
//! included); one event per line, so two traces diff well.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::engine::SimTime;
use crate::model::Model;
use crate::trace::{Span, SpanKind, Trace, TracedRequest, Track};

impl Trace {
    /// Renders the Chrome trace-event JSON (`{"traceEvents": [...], "displayTimeUnit": "ms"}`).
    pub fn to_chrome_json(&self, model: &Model) -> String {
        let mut events = Vec::new();
        for (i, req) in self.requests.iter().enumerate() {
            render_request(&mut events, i as u64 + 1, req, model);
        }
        let mut out = String::from("{\"traceEvents\":[\n");
        for (i, e) in events.iter().enumerate() {
            let sep = if i + 1 < events.len() { ",\n" } else { "\n" };
            let _ = write!(out, "{e}{sep}");
        }
        let other =
            json!({ "scenario": model.name, "seed": model.seed, "replication": 0, "requests": self.requests.len() });
        let _ = writeln!(out, "],\"displayTimeUnit\":\"ms\",\"otherData\":{other}}}");
        out
    }
}

fn us(t: SimTime) -> f64 {
    t.0 as f64 / 1e3
}

fn ms(d: SimTime) -> f64 {
    d.0 as f64 / 1e6
}

fn track_name(model: &Model, track: Track) -> String {
    match track {
        Track::Service(s) => model.services.get(s as usize).map_or_else(|| format!("service {s}"), |x| x.name.clone()),
        Track::Edge(e) => model.edges.get(e as usize).map_or_else(|| format!("edge {e}"), |x| x.name.clone()),
    }
}

/// A complete event (`"ph":"X"`).
fn complete(name: &str, cat: &str, start: SimTime, end: SimTime, pid: u64, tid: usize, args: Value) -> Value {
    json!({ "name": name, "cat": cat, "ph": "X", "ts": us(start), "dur": us(end - start),
            "pid": pid, "tid": tid, "args": args })
}

fn metadata(kind: &str, pid: u64, tid: usize, args: Value) -> Value {
    json!({ "name": kind, "ph": "M", "pid": pid, "tid": tid, "args": args })
}

fn render_request(events: &mut Vec<Value>, pid: u64, req: &TracedRequest, model: &Model) {
    let workload = model.workloads.get(req.workload as usize).map_or("workload", |w| w.name.as_str());
    let title = format!("{workload} #{} ({})", req.number, req.outcome);
    events.push(metadata("process_name", pid, 0, json!({ "name": title })));
    events.push(metadata("process_sort_index", pid, 0, json!({ "sort_index": pid })));
    events.push(metadata("thread_name", pid, 0, json!({ "name": "request" })));
    let mut args = json!({ "outcome": req.outcome, "value": req.value, "latency_ms": ms(req.end - req.start),
                           "number": req.number });
    if req.dropped > 0 {
        args["spans_dropped"] = json!(req.dropped);
    }
    events.push(complete(workload, "request", req.start, req.end, pid, 0, args));

    // Everything is clipped to the request's own span: a backoff or fallback scheduled
    // past the moment the user gave up never happened for this request.
    let clip = |t: SimTime| t.clamp(req.start, req.end);
    let mut spans: Vec<Span> =
        req.spans.iter().map(|s| Span { start: clip(s.start), end: clip(s.end).max(clip(s.start)), ..*s }).collect();
    spans.sort_by_key(|s| (s.start, s.track, s.end));
    // Lanes: (track, lane number on that track, end of its last span); tid = index + 1.
    let mut lanes: Vec<(Track, u32, SimTime)> = Vec::new();
    for s in &spans {
        let fits = |l: &(Track, u32, SimTime)| {
            l.0 == s.track && (matches!(s.kind, SpanKind::Instant { .. }) || l.2 <= s.start)
        };
        let lane = match lanes.iter().position(fits) {
            Some(i) => i,
            None => {
                let n = lanes.iter().filter(|l| l.0 == s.track).count() as u32;
                lanes.push((s.track, n, s.start));
                lanes.len() - 1
            }
        };
        let tid = lane + 1;
        if !matches!(s.kind, SpanKind::Instant { .. }) {
            lanes[lane].2 = lanes[lane].2.max(s.end);
        }
        events.push(render_span(s, pid, tid, model));
        if let SpanKind::Visit { started: Some(at), .. } = s.kind
            && clip(at) > s.start
        {
            events.push(complete("queued", "queue", s.start, clip(at).min(s.end), pid, tid, json!({})));
        }
    }
    for (i, &(track, n, _)) in lanes.iter().enumerate() {
        let name = track_name(model, track);
        let name = if n == 0 { name } else { format!("{name} ({})", n + 1) };
        events.push(metadata("thread_name", pid, i + 1, json!({ "name": name })));
        events.push(metadata("thread_sort_index", pid, i + 1, json!({ "sort_index": i + 1 })));
    }
}

fn render_span(s: &Span, pid: u64, tid: usize, model: &Model) -> Value {
    match s.kind {
        SpanKind::Visit { instance, pool, started } => {
            let Track::Service(svc) = s.track else { return json!({}) };
            let service = model.services.get(svc as usize);
            let pool_name = service.and_then(|x| x.pools.get(usize::from(pool))).map_or("", |p| p.name.as_str());
            let began = started.filter(|&t| t >= s.start && t <= s.end);
            let wait = began.unwrap_or(s.end) - s.start;
            let mut args = json!({ "outcome": s.label, "wait_ms": ms(wait),
                                   "service_ms": ms(began.map_or(SimTime::ZERO, |t| s.end - t)) });
            if s.label != "rejected" {
                args["instance"] = json!(instance);
                args["pool"] = json!(pool_name);
            }
            complete(&track_name(model, s.track), "visit", s.start, s.end, pid, tid, args)
        }
        SpanKind::Attempt { attempt, hedges } => {
            let args = json!({ "attempt": attempt, "retry": attempt > 1, "hedges": hedges, "outcome": s.label });
            complete(&format!("attempt {attempt}"), "attempt", s.start, s.end, pid, tid, args)
        }
        SpanKind::Backoff { next } => {
            let args = json!({ "next_attempt": next, "delay_ms": ms(s.end - s.start) });
            complete("backoff", "backoff", s.start, s.end, pid, tid, args)
        }
        SpanKind::Fallback { value } => {
            complete("fallback", "fallback", s.start, s.end, pid, tid, json!({ "value": value }))
        }
        // Kept in `TracedRequest::links`, which this rendering does not read.
        SpanKind::Hedge { .. } | SpanKind::Send { .. } => json!({}),
        SpanKind::Instant { attempt } => json!({ "name": s.label, "cat": "policy", "ph": "i", "s": "t",
            "ts": us(s.start), "pid": pid, "tid": tid, "args": { "attempt": attempt } }),
    }
}
