//! The parent links of a traced request's spans, kept while its visits and call attempts
//! are open.
//!
//! Spans are recorded when they end, children before their parents, so a span's number
//! is given when it is first needed: a visit's when it ends or when it sends its first
//! call, an attempt's when it sends its first request or ends. The simulation names
//! requests and calls by slab slot; an entry lives from its visit's or attempt's start
//! (or first use) to its end, so a slot reused later starts afresh. Only traced
//! requests come here, a handful of entries each, so lists scanned linearly do.

use crate::engine::SimTime;

use super::{MAX_SPANS, Span, SpanKind, SpanNo, TraceId, TracedRequest, Tracer, Track};

/// Where a call attempt sits in the simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallAt {
    /// Its edge (model index).
    pub edge: u32,
    /// Its call's slab slot.
    pub call: u32,
    /// The slab slot of the request whose visit makes the call.
    pub caller: u32,
}

/// An attempt whose span is numbered but not yet recorded.
#[derive(Clone, Copy, Debug, PartialEq)]
struct OpenAttempt {
    call: u32,
    id: SpanNo,
    /// The caller's visit.
    parent: SpanNo,
    /// Its first request was sent: further ones are hedges.
    sent: bool,
}

/// The open visits and attempts of one traced request, and its span numbering.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Contexts {
    last: SpanNo,
    /// (request slot, visit span, its parent).
    visits: Vec<(u32, SpanNo, SpanNo)>,
    attempts: Vec<OpenAttempt>,
    /// (call slot, hedge span, when it was sent).
    hedges: Vec<(u32, SpanNo, SimTime)>,
}

impl Contexts {
    /// A new span number.
    fn next(&mut self) -> SpanNo {
        self.last += 1;
        self.last
    }

    /// The span of request `req`'s current visit; one with no parent (the root) if it
    /// was not opened by a call or a hand-off.
    fn visit(&mut self, req: u32) -> SpanNo {
        if let Some(v) = self.visits.iter().find(|v| v.0 == req) {
            return v.1;
        }
        let id = self.next();
        self.visits.push((req, id, 0));
        id
    }

    /// Closes request `req`'s current visit: its span and its parent.
    fn take_visit(&mut self, req: u32) -> (SpanNo, SpanNo) {
        match self.visits.iter().position(|v| v.0 == req) {
            Some(i) => {
                let (_, id, parent) = self.visits.swap_remove(i);
                (id, parent)
            }
            None => (self.next(), 0),
        }
    }

    /// Opens request `req`'s next visit under span `parent`.
    fn open_visit(&mut self, req: u32, parent: SpanNo) {
        self.visits.retain(|v| v.0 != req);
        let id = self.next();
        self.visits.push((req, id, parent));
    }

    /// The client span a request sent now for `at` hangs under: the attempt's for its
    /// first request, a new hedge's for the others.
    fn client(&mut self, at: CallAt, now: SimTime) -> SpanNo {
        let caller = self.visit(at.caller);
        // An entry of the same slot under another visit is stale (its call was dropped
        // with a lost caller): the slot now holds another call.
        let before = self.attempts.len();
        self.attempts.retain(|a| a.call != at.call || a.parent == caller);
        if self.attempts.len() < before {
            self.hedges.retain(|h| h.0 != at.call);
        }
        let i = match self.attempts.iter().position(|a| a.call == at.call) {
            Some(i) => i,
            None => {
                let id = self.next();
                self.attempts.push(OpenAttempt { call: at.call, id, parent: caller, sent: false });
                self.attempts.len() - 1
            }
        };
        let a = &mut self.attempts[i];
        if !a.sent {
            a.sent = true;
            return a.id;
        }
        let id = self.next();
        self.hedges.push((at.call, id, now));
        id
    }

    /// Closes the attempt of `at`: its span and its parent.
    fn take_attempt(&mut self, at: CallAt) -> (SpanNo, SpanNo) {
        let caller = self.visit(at.caller);
        match self.attempts.iter().position(|a| a.call == at.call && a.parent == caller) {
            Some(i) => {
                let a = self.attempts.swap_remove(i);
                (a.id, a.parent)
            }
            None => (self.next(), caller),
        }
    }
}

impl TracedRequest {
    /// Records a span (numbering it if it has no number yet), within [`MAX_SPANS`].
    pub(super) fn push(&mut self, mut span: Span) {
        if span.id == 0 {
            span.id = self.ctx.next();
        }
        if self.spans.len() >= MAX_SPANS {
            self.dropped += 1;
            return;
        }
        self.spans.push(span);
    }

    /// Records a span only the OTLP rendering shows, within [`MAX_SPANS`].
    fn link(&mut self, span: Span) {
        if self.links.len() < MAX_SPANS {
            self.links.push(span);
        }
    }
}

impl Tracer {
    /// Request slot `child` of trace `t` was sent now for the attempt at `at` (as its
    /// first request or as a hedge).
    pub fn sent(&mut self, t: TraceId, at: CallAt, child: u32, now: SimTime) {
        let Some(r) = self.live(t) else { return };
        r.open += 1;
        let parent = r.ctx.client(at, now);
        r.ctx.open_visit(child, parent);
    }

    /// The visit of request slot `req` of trace `t` to the service of `track` ended now:
    /// records its span and returns its number (0 if the trace no longer records).
    pub fn visit(
        &mut self,
        t: TraceId,
        req: u32,
        track: Track,
        kind: SpanKind,
        (start, end): (SimTime, SimTime),
        label: &'static str,
    ) -> SpanNo {
        let Some(r) = self.live(t) else { return 0 };
        let (id, parent) = r.ctx.take_visit(req);
        r.push(Span { kind, track, start, end, label, id, parent });
        id
    }

    /// Request slot `req` of trace `t`, whose visit `visit` to the service of `from` just
    /// ended, is handed on to service `to` now: a hand-off span, parent of its next visit.
    pub fn routed(&mut self, t: TraceId, req: u32, from: Track, (visit, to): (SpanNo, u32), now: SimTime) {
        let Some(r) = self.live(t) else { return };
        let id = r.ctx.next();
        r.link(Span { kind: SpanKind::Send { to }, track: from, start: now, end: now, label: "ok", id, parent: visit });
        r.ctx.open_visit(req, id);
    }

    /// Attempt number `attempt` (with `hedges` backups) of the call at `at` ran from
    /// `start` to `now`: its span and its hedges', plus an instant for a policy verdict.
    pub fn attempt(
        &mut self,
        t: TraceId,
        at: CallAt,
        (attempt, hedges): (u32, u8),
        (start, now): (SimTime, SimTime),
        label: &'static str,
    ) {
        let Some(r) = self.live(t) else { return };
        let track = Track::Edge(at.edge);
        let (id, parent) = r.ctx.take_attempt(at);
        r.push(Span { kind: SpanKind::Attempt { attempt, hedges }, track, start, end: now, label, id, parent });
        while let Some(i) = r.ctx.hedges.iter().position(|h| h.0 == at.call) {
            let (_, hid, sent) = r.ctx.hedges.swap_remove(i);
            let kind = SpanKind::Hedge { attempt };
            r.link(Span { kind, track, start: sent, end: now, label, id: hid, parent });
        }
        if matches!(label, "timeout" | "short_circuited" | "rejected") {
            r.push(Span { kind: SpanKind::Instant { attempt }, track, start: now, end: now, label, id: 0, parent: id });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;
    use crate::trace::{TraceConfig, TracedRequest};

    fn visit(service: u32) -> (Track, SpanKind) {
        (Track::Service(service), SpanKind::Visit { instance: 0, pool: 0, started: None })
    }

    fn t(ms: u64) -> SimTime {
        SimTime(ms * 1_000_000)
    }

    /// Request slot 0 visits service 0 and calls service 1 (call slot 5) twice: a first
    /// attempt with a hedge (slots 1 and 2), then a retry (slot 1 again); then it is
    /// handed on to service 2.
    fn recorded() -> TracedRequest {
        let streams = RngStreams::new(1, 0);
        let mut tr =
            Tracer::new(Some(TraceConfig { sample: 1.0, max: 1 }), SimTime::ZERO, streams.stream("trace/sample"));
        let id = tr.on_arrival(t(0), 0, 1);
        let at = CallAt { edge: 0, call: 5, caller: 0 };
        tr.sent(id, at, 1, t(1));
        tr.sent(id, at, 2, t(3));
        let (track, kind) = visit(1);
        tr.visit(id, 2, track, kind, (t(3), t(6)), "ok");
        tr.attempt(id, at, (1, 1), (t(1), t(6)), "timeout");
        tr.visit(id, 1, track, kind, (t(1), t(8)), "orphaned");
        tr.sent(id, at, 1, t(9));
        tr.visit(id, 1, track, kind, (t(9), t(10)), "ok");
        tr.attempt(id, at, (2, 0), (t(9), t(10)), "ok");
        let (track, kind) = visit(0);
        let root = tr.visit(id, 0, track, kind, (t(0), t(11)), "ok");
        tr.routed(id, 0, track, (root, 2), t(11));
        let (track, kind) = visit(2);
        tr.visit(id, 0, track, kind, (t(11), t(12)), "ok");
        tr.finish().map(|mut x| x.requests.remove(0)).expect("one traced request")
    }

    #[test]
    fn parents_follow_calls_hedges_retries_and_hand_offs() {
        let r = recorded();
        let all: Vec<&Span> = r.spans.iter().chain(&r.links).collect();
        let find = |pred: &dyn Fn(&Span) -> bool| all.iter().copied().filter(|s| pred(s)).collect::<Vec<_>>();
        let root = find(&|s| s.parent == 0);
        assert_eq!(root.len(), 1);
        assert_eq!(root[0].track, Track::Service(0));
        let attempts = find(&|s| matches!(s.kind, SpanKind::Attempt { .. }));
        assert_eq!(attempts.len(), 2);
        assert!(attempts.iter().all(|a| a.parent == root[0].id), "retries under the caller's visit");
        let hedges = find(&|s| matches!(s.kind, SpanKind::Hedge { .. }));
        assert_eq!((hedges.len(), hedges[0].parent, hedges[0].start), (1, root[0].id, t(3)));
        let callee = find(&|s| s.track == Track::Service(1));
        let parents: Vec<SpanNo> = callee.iter().map(|s| s.parent).collect();
        assert_eq!(parents, [hedges[0].id, attempts[0].id, attempts[1].id], "each callee visit under its client span");
        let send = find(&|s| matches!(s.kind, SpanKind::Send { to: 2 }));
        assert_eq!(send[0].parent, root[0].id);
        assert_eq!(find(&|s| s.track == Track::Service(2))[0].parent, send[0].id, "the hand-off's visit");
        let instant = find(&|s| matches!(s.kind, SpanKind::Instant { .. }));
        assert_eq!(instant[0].parent, attempts[0].id);
        let mut ids: Vec<SpanNo> = all.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "numbers unique");
        assert!(!ids.contains(&0));
    }
}
