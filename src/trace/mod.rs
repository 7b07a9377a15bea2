//! Sampled request traces: the one exception to "nothing is kept per request".
//!
//! A [`Tracer`] decides at each measured arrival of a workload request of replication 0
//! whether to trace it, drawing from its own stream (`trace/sample`), so tracing never
//! shifts another stream's draws and `report.json` is the same with or without it. A
//! traced request and every request it causes (calls, hedges, routes) carry the trace's
//! index; the event loop reports spans when they end: visits to services, call attempts,
//! backoffs, fallbacks, and policy verdicts as instants. At most `max` requests are
//! traced, each with a bounded span list, so memory stays bounded whatever the duration.
//! Untraced requests cost the event loop one comparison per hook.
//!
//! When a traced request ends (or its user gives up), whatever it left in flight (an
//! orphaned hedge, a timed-out callee still working) is closed at that instant as
//! `orphaned` and the trace is sealed: a trace shows one request as its user saw it.
//! Requests still in flight at the end of the run are closed as `in_flight`.
//! `Trace::to_chrome_json` (in `report::chrome`, which knows the model's names) renders
//! the Chrome trace-event format; [`otlp`] renders OpenTelemetry OTLP JSON lines,
//! [`jaeger`] Jaeger's JSON and [`zipkin`] Zipkin v2 JSON, the same spans from one walk
//! (`spans`).
//!
//! Each span carries its number within its trace ([`SpanNo`], from 1) and its parent's
//! (0 for the root), kept as the spans are recorded: a visit's parent is the call
//! attempt (or hedge) that sent it, or the hand-off that routed it; an attempt's parent
//! is its caller's visit. The Chrome rendering ignores them.

use crate::engine::unit;
use crate::engine::{SimTime, Stream};

mod context;
pub mod jaeger;
pub mod otlp;
mod spans;
pub mod zipkin;

pub use context::CallAt;
use context::Contexts;

/// Index of a traced request; [`NO_TRACE`] for the untraced majority.
pub type TraceId = u32;

/// The trace id of a request that is not traced.
pub const NO_TRACE: TraceId = u32::MAX;

/// A span's number within its trace, from 1; 0 stands for "no span" (a root's parent).
pub type SpanNo = u32;

/// Spans kept per traced request at most (a retry storm can make thousands).
pub const MAX_SPANS: usize = 4096;

/// Spans reserved up front for each traced request.
const RESERVED_SPANS: usize = 32;

/// What to trace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceConfig {
    /// Fraction of measured workload requests traced, in `[0, 1]`.
    pub sample: f64,
    /// Most requests traced.
    pub max: u32,
}

impl TraceConfig {
    /// Default for `max`.
    pub const DEFAULT_MAX: u32 = 1000;

    /// Parses a sampling rate: a fraction `0.05` or a percentage `5%`, within 0..1.
    pub fn parse_rate(s: &str) -> Result<f64, String> {
        let s = s.trim();
        let (num, scale) = match s.strip_suffix('%') {
            Some(p) => (p.trim(), 100.0),
            None => (s, 1.0),
        };
        match num.parse::<f64>() {
            Ok(x) if x.is_finite() && (0.0..=1.0).contains(&(x / scale)) => Ok(x / scale),
            _ => Err(format!("expected a sampling rate from 0 to 1 (e.g. 0.01) or a percentage (e.g. 1%), got {s:?}")),
        }
    }
}

/// Where a span is drawn: a service's track or a call edge's track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Track {
    /// Attempts, backoffs and fallbacks of calls on an edge (model index). Ordered
    /// before services so that a call's track sits above its callee's.
    Edge(u32),
    /// Visits to a service (model index).
    Service(u32),
}

/// What a span records.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SpanKind {
    /// A visit to a service: queued until `started`, then served (and waiting on calls).
    Visit {
        /// Instance index.
        instance: u32,
        /// Pool index.
        pool: u16,
        /// When a worker took it; `None` if none ever did.
        started: Option<SimTime>,
    },
    /// One attempt of a call (1 = the first, more = retries), with the hedges it sent.
    Attempt {
        /// Attempt number.
        attempt: u32,
        /// Backup requests sent.
        hedges: u8,
    },
    /// The wait before retry attempt `next`.
    Backoff {
        /// The attempt it leads to.
        next: u32,
    },
    /// A fallback answer being prepared.
    Fallback {
        /// Value weight of the answer.
        value: f64,
    },
    /// A moment: a policy verdict (`timeout`, `short_circuited`, `rejected`) or a hedge sent.
    Instant {
        /// Attempt number it belongs to.
        attempt: u32,
    },
    /// A hedge of attempt `attempt`, from its sending to the attempt's end (only in
    /// [`TracedRequest::links`]: the Chrome trace shows hedges as instants).
    Hedge {
        /// Attempt number it belongs to.
        attempt: u32,
    },
    /// An asynchronous hand-off (`routes`) to service `to`, a moment (only in
    /// [`TracedRequest::links`]).
    Send {
        /// The service the request goes to (model index).
        to: u32,
    },
}

/// One span of a traced request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    /// What it is.
    pub kind: SpanKind,
    /// Where it is drawn.
    pub track: Track,
    /// Start.
    pub start: SimTime,
    /// End (equal to `start` for instants).
    pub end: SimTime,
    /// Outcome key (`ok`, `timeout`, ..., `orphaned`, `in_flight`) or an instant's name.
    pub label: &'static str,
    /// Its number within the trace.
    pub id: SpanNo,
    /// Its parent's number; 0 for the root and for spans whose parent is not recorded
    /// (backoffs, fallbacks, instants).
    pub parent: SpanNo,
}

/// One traced workload request.
#[derive(Clone, Debug, PartialEq)]
pub struct TracedRequest {
    /// Workload (model index).
    pub workload: u32,
    /// Its number among the workload's measured arrivals (1 = first).
    pub number: u64,
    /// Arrival.
    pub start: SimTime,
    /// Answer (or the end of the run).
    pub end: SimTime,
    /// Outcome key, or `in_flight`.
    pub outcome: &'static str,
    /// Value weight of the answer.
    pub value: f64,
    /// Spans, in the order they ended.
    pub spans: Vec<Span>,
    /// Spans left out beyond [`MAX_SPANS`].
    pub dropped: u64,
    /// Spans only the OTLP rendering shows (hedges, hand-offs), kept apart so that the
    /// Chrome trace and its [`MAX_SPANS`] budget are as before.
    pub links: Vec<Span>,
    /// Open visits and attempts, to find each new span's parent.
    ctx: Contexts,
    /// Requests of this trace still alive in the simulation.
    open: u32,
    /// Answered: later spans are ignored.
    sealed: bool,
}

/// The traced requests of a replication, in arrival order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// Traced requests.
    pub requests: Vec<TracedRequest>,
}

/// The recorder the event loop calls. Disabled, it never draws nor allocates.
#[derive(Debug)]
pub struct Tracer {
    config: Option<TraceConfig>,
    warmup: SimTime,
    rng: Stream,
    trace: Trace,
}

impl Tracer {
    /// A tracer for one replication; `config` `None` disables it.
    pub fn new(config: Option<TraceConfig>, warmup: SimTime, rng: Stream) -> Self {
        let config = config.filter(|c| c.sample > 0.0 && c.max > 0);
        let cap = config.map_or(0, |c| c.max.min(1 << 16) as usize);
        Self { config, warmup, rng, trace: Trace { requests: Vec::with_capacity(cap) } }
    }

    /// A workload request arrives: returns its trace id if it is sampled.
    #[inline]
    pub fn on_arrival(&mut self, now: SimTime, workload: u32, number: u64) -> TraceId {
        // Untraced runs pay this one check per arrival.
        if self.config.is_none() {
            return NO_TRACE;
        }
        self.sample_arrival(now, workload, number)
    }

    #[inline(never)]
    fn sample_arrival(&mut self, now: SimTime, workload: u32, number: u64) -> TraceId {
        let Some(c) = self.config else { return NO_TRACE };
        let n = self.trace.requests.len();
        if now < self.warmup || n >= c.max as usize || unit(&mut self.rng) >= c.sample {
            return NO_TRACE;
        }
        self.trace.requests.push(TracedRequest {
            workload,
            number,
            start: now,
            end: now,
            outcome: "in_flight",
            value: 0.0,
            spans: Vec::with_capacity(RESERVED_SPANS),
            dropped: 0,
            links: Vec::new(),
            ctx: Contexts::default(),
            open: 1,
            sealed: false,
        });
        n as TraceId
    }

    fn live(&mut self, t: TraceId) -> Option<&mut TracedRequest> {
        self.trace.requests.get_mut(t as usize).filter(|r| !r.sealed)
    }

    /// A request of trace `t` was created (a call or a hedge).
    pub fn opened(&mut self, t: TraceId) {
        if let Some(r) = self.live(t) {
            r.open += 1;
        }
    }

    /// A request of trace `t` ended.
    pub fn closed(&mut self, t: TraceId) {
        if let Some(r) = self.live(t) {
            r.open = r.open.saturating_sub(1);
        }
    }

    /// Records a span of trace `t` (ignored once the trace is sealed or full).
    pub fn span(
        &mut self,
        t: TraceId,
        track: Track,
        kind: SpanKind,
        start: SimTime,
        end: SimTime,
        label: &'static str,
    ) {
        let Some(r) = self.live(t) else { return };
        r.push(Span { kind, track, start, end, label, id: 0, parent: 0 });
    }

    /// The user of trace `t` got an answer (or gave up, or the run ended). Returns true
    /// when requests of the trace are still alive: the caller closes them with
    /// [`Tracer::span`], then calls [`Tracer::seal`].
    pub fn answered(&mut self, t: TraceId, now: SimTime, outcome: &'static str, value: f64) -> bool {
        let Some(r) = self.live(t) else { return false };
        r.end = now;
        r.outcome = outcome;
        r.value = value;
        r.open > 0
    }

    /// Ignores every later span of trace `t`.
    pub fn seal(&mut self, t: TraceId) {
        if let Some(r) = self.live(t) {
            r.sealed = true;
            r.ctx = Contexts::default();
        }
    }

    /// True while trace `t` records spans.
    pub fn is_live(&self, t: TraceId) -> bool {
        self.trace.requests.get(t as usize).is_some_and(|r| !r.sealed)
    }

    /// The traces recorded; `None` when tracing was off.
    pub fn finish(self) -> Option<Trace> {
        self.config.map(|_| self.trace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    fn tracer(sample: f64, max: u32) -> Tracer {
        Tracer::new(Some(TraceConfig { sample, max }), SimTime(10), RngStreams::new(1, 0).stream("trace/sample"))
    }

    #[test]
    fn rates_parse_as_fractions_or_percentages() {
        assert_eq!(TraceConfig::parse_rate("0.25"), Ok(0.25));
        assert_eq!(TraceConfig::parse_rate("1%"), Ok(0.01));
        assert_eq!(TraceConfig::parse_rate("100%"), Ok(1.0));
        assert_eq!(TraceConfig::parse_rate("0"), Ok(0.0));
        for bad in ["2", "-0.1", "101%", "NaN", "inf", "", "x"] {
            assert!(TraceConfig::parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn samples_only_measured_arrivals_up_to_max() {
        let mut t = tracer(1.0, 2);
        assert_eq!(t.on_arrival(SimTime(5), 0, 1), NO_TRACE, "warm-up arrivals are not traced");
        assert_eq!(t.on_arrival(SimTime(10), 0, 1), 0);
        assert_eq!(t.on_arrival(SimTime(11), 0, 2), 1);
        assert_eq!(t.on_arrival(SimTime(12), 0, 3), NO_TRACE);
        assert_eq!(t.finish().map(|t| t.requests.len()), Some(2));
    }

    #[test]
    fn disabled_tracer_traces_nothing() {
        let mut t = Tracer::new(None, SimTime::ZERO, RngStreams::new(1, 0).stream("trace/sample"));
        assert_eq!(t.on_arrival(SimTime(5), 0, 1), NO_TRACE);
        assert!(t.finish().is_none());
    }

    #[test]
    fn a_sealed_trace_ignores_late_spans() {
        let mut t = tracer(1.0, 1);
        let id = t.on_arrival(SimTime(10), 0, 1);
        t.opened(id); // a call
        t.closed(id);
        t.closed(id); // the request itself
        assert!(!t.answered(id, SimTime(20), "ok", 1.0), "no request of the trace left alive");
        t.seal(id);
        let v = SpanKind::Visit { instance: 0, pool: 0, started: None };
        t.span(id, Track::Service(0), v, SimTime(10), SimTime(30), "ok");
        let trace = t.finish().unwrap_or_default();
        assert!(trace.requests[0].spans.is_empty());
        assert_eq!(trace.requests[0].outcome, "ok");
    }
}

#[cfg(test)]
#[path = "formats_tests.rs"]
mod formats_tests;
