//! Sampled request traces: the spans a traced request's visits and calls leave, and
//! closing what a traced request left in flight.

use crate::trace::{NO_TRACE, SpanKind, TraceId, Track};

use super::super::station::ReqId;
use super::Simulation;
use super::slots::{CallId, Origin};

impl Simulation<'_> {
    /// Reports the visit of traced request `r` to its current service, ending now.
    pub(super) fn trace_visit(&mut self, r: ReqId, outcome: &'static str) {
        let q = self.reqs[r as usize];
        let started = (q.started >= q.arrived && q.started <= self.now).then_some(q.started);
        let kind = SpanKind::Visit { instance: q.instance, pool: q.pool, started };
        self.tracer.span(q.trace, Track::Service(q.service), kind, q.arrived, self.now, outcome);
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
                    let cs = self.calls[c as usize];
                    let n = cs.retry.attempts();
                    self.tracer.attempt(q.trace, cs.edge, (n, cs.hedges_sent), cs.attempt_start, self.now, outcome);
                }
                Origin::Workload(_) => _ = self.tracer.answered(q.trace, self.now, outcome, q.value),
                _ => {}
            }
        }
    }
}
