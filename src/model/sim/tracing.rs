//! Sampled request traces: the spans a traced request's visits and calls leave, and
//! closing what a traced request left in flight.

use crate::trace::{CallAt, NO_TRACE, SpanKind, SpanNo, TraceId, Track};

use super::super::station::ReqId;
use super::Simulation;
use super::slots::{CallId, Origin};

impl Simulation<'_> {
    /// Reports the visit of traced request `r` to its current service, ending now;
    /// returns its span's number.
    pub(super) fn trace_visit(&mut self, r: ReqId, outcome: &'static str) -> SpanNo {
        let q = self.reqs[r as usize];
        let started = (q.started >= q.arrived && q.started <= self.now).then_some(q.started);
        let kind = SpanKind::Visit { instance: q.instance, pool: q.pool, started };
        self.tracer.visit(q.trace, r, Track::Service(q.service), kind, (q.arrived, self.now), outcome)
    }

    /// Reports the visit of traced request `r` ending now, and its hand-off to service `to`
    /// (the parent of its next visit).
    pub(super) fn trace_route(&mut self, r: ReqId, outcome: &'static str, to: usize) {
        let visit = self.trace_visit(r, outcome);
        let q = self.reqs[r as usize];
        self.tracer.routed(q.trace, r, Track::Service(q.service), (visit, to as u32), self.now);
    }

    /// Traced request `child` was just sent for call `c`'s attempt.
    pub(super) fn trace_sent(&mut self, c: CallId, child: ReqId) {
        let cs = &self.calls[c as usize];
        let trace = self.reqs[cs.parent as usize].trace;
        self.tracer.sent(trace, CallAt { edge: cs.edge, call: c, caller: cs.parent }, child, self.now);
    }

    /// Reports call `c`'s current attempt, ending now with `outcome`.
    pub(super) fn trace_attempt(&mut self, c: CallId, outcome: &'static str) {
        let cs = &self.calls[c as usize];
        let trace = self.reqs[cs.parent as usize].trace;
        let at = CallAt { edge: cs.edge, call: c, caller: cs.parent };
        let attempt = (cs.retry.attempts(), cs.hedges_sent);
        self.tracer.attempt(trace, at, attempt, (cs.attempt_start, self.now), outcome);
    }

    /// Closes, at `now`, the spans of traced requests still alive (of trace `only`, or of
    /// all) with `outcome`. Scans the slab: it runs once per traced request that left
    /// work behind, and once at the end of the run.
    pub(super) fn close_traced(&mut self, only: Option<TraceId>, outcome: &'static str) {
        let mut seen: Vec<CallId> = Vec::new();
        for r in 0..self.reqs.len() as ReqId {
            let q = self.reqs[r as usize];
            if !q.alive || q.trace == NO_TRACE || only.is_some_and(|t| t != q.trace) || !self.tracer.is_live(q.trace) {
                continue;
            }
            self.trace_visit(r, outcome);
            match q.origin {
                Origin::Call(c) if !seen.contains(&c) && !self.parent_lost(c) => {
                    seen.push(c);
                    self.trace_attempt(c, outcome);
                }
                Origin::Workload(_) => _ = self.tracer.answered(q.trace, self.now, outcome, q.value),
                _ => {}
            }
        }
    }
}
