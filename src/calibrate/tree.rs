//! Trace trees: spans grouped by trace and linked to their parents, with clock skew
//! between hosts corrected.
//!
//! - **Missing parents.** A span naming a parent absent from its trace is the root of a
//!   fragment of its own, and counted (as Jaeger's adjuster treats it). Spans whose
//!   parent links form a cycle are cut the same way.
//! - **Truncated traces.** A trace with no span lacking a parent (its root was not
//!   recorded or not exported) is counted; its spans still tell the graph and the
//!   service times, but it is left out of the arrival rates.
//! - **Clock skew**, as Jaeger's `ClockSkew` adjuster does it
//!   (jaegertracing/jaeger, `model/adjuster/clockskew.go`): walking down from the
//!   roots, a span on another host than its parent (host = service and instance; within
//!   one service an unnamed instance is taken to be the parent's, as the spans of one
//!   process share a resource, where Jaeger would treat an unknown host as a different
//!   one) gets a delta against its already-adjusted
//!   parent, and every descendant on the same host inherits it. The delta is 0 when the
//!   child fits inside the parent; when the child is shorter but sticks out, it is
//!   centred in the parent (network latency split evenly between request and response);
//!   when the child outlasts its parent (the caller timed out, or it is asynchronous),
//!   only a start before the parent's is moved up to it. One change from Jaeger: under
//!   a producer (an asynchronous hand-off) the consumer may legitimately start after the
//!   producer ended, so there only that last rule applies.

use std::collections::HashMap;

use super::span::{SpanKind, TraceSet};

/// Span trees of a [`TraceSet`], by span index, with skew-corrected times.
#[derive(Clone, Debug, Default)]
pub struct Forest {
    /// Start after skew correction, ns.
    pub start: Vec<i64>,
    /// End after skew correction, ns.
    pub end: Vec<i64>,
    /// The parent's index, when present in the trace.
    pub parent: Vec<Option<usize>>,
    /// Children's indices, in span order.
    pub children: Vec<Vec<usize>>,
    /// Whether a span's trace has a true root (a span with no parent).
    pub complete: Vec<bool>,
    /// Spans with no parent at all, in span order.
    pub roots: Vec<usize>,
    /// Every span, parents before their children.
    pub order: Vec<usize>,
    /// Index of a span by (trace, id): the first of duplicates.
    pub by_id: HashMap<(u128, u64), usize>,
    /// Index of a span by id alone (for links across traces): the first of duplicates.
    pub by_span_id: HashMap<u64, usize>,
    /// Spans whose parent is absent from their trace (or in a parent cycle).
    pub missing_parents: usize,
    /// Spans moved by the skew correction.
    pub skew_corrections: usize,
    /// Traces.
    pub traces: usize,
    /// Traces with no root span.
    pub truncated_traces: usize,
    /// Spans whose (trace, id) repeated an earlier span's; they are ignored as parents.
    pub duplicate_ids: usize,
}

impl Forest {
    /// Links the spans of `set` and corrects skew.
    pub fn build(set: &TraceSet) -> Forest {
        let n = set.spans.len();
        let mut f = Forest {
            start: set.spans.iter().map(|s| s.start_ns).collect(),
            end: set.spans.iter().map(|s| s.end_ns.max(s.start_ns)).collect(),
            parent: vec![None; n],
            children: vec![Vec::new(); n],
            complete: vec![false; n],
            ..Forest::default()
        };
        for (i, s) in set.spans.iter().enumerate() {
            match f.by_id.entry((s.trace, s.id)) {
                std::collections::hash_map::Entry::Occupied(_) => f.duplicate_ids += 1,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(i);
                }
            }
            f.by_span_id.entry(s.id).or_insert(i);
        }
        let mut fragment_roots = Vec::new();
        for (i, s) in set.spans.iter().enumerate() {
            match s.parent.map(|p| f.by_id.get(&(s.trace, p)).copied()) {
                None => f.roots.push(i),
                Some(Some(p)) if p != i => {
                    f.parent[i] = Some(p);
                    f.children[p].push(i);
                }
                Some(_) => {
                    f.missing_parents += 1;
                    fragment_roots.push(i);
                }
            }
        }
        let order = f.cut_cycles(fragment_roots);
        f.mark_complete(set);
        f.correct_skew(set, &order);
        f.order = order;
        f
    }

    /// Spans in depth-first order from the roots and fragment roots; spans in a parent
    /// cycle (reached from neither) are detached into fragments of their own.
    fn cut_cycles(&mut self, mut fragment_roots: Vec<usize>) -> Vec<usize> {
        let n = self.start.len();
        let mut seen = vec![false; n];
        let mut order = Vec::with_capacity(n);
        let mut starts: Vec<usize> = self.roots.clone();
        starts.append(&mut fragment_roots);
        let mut next_unseen = 0;
        loop {
            for &r in &starts {
                let mut stack = vec![r];
                while let Some(i) = stack.pop() {
                    if std::mem::replace(&mut seen[i], true) {
                        continue;
                    }
                    order.push(i);
                    stack.extend(self.children[i].iter().rev().copied());
                }
            }
            while next_unseen < n && seen[next_unseen] {
                next_unseen += 1;
            }
            if next_unseen == n {
                return order;
            }
            // A cycle: detach this span from its parent and walk from it.
            let i = next_unseen;
            if let Some(p) = self.parent[i].take() {
                self.children[p].retain(|&c| c != i);
            }
            self.missing_parents += 1;
            starts = vec![i];
        }
    }

    fn mark_complete(&mut self, set: &TraceSet) {
        let mut rooted: HashMap<u128, bool> = HashMap::new();
        for (i, s) in set.spans.iter().enumerate() {
            let has_root = set.spans[i].parent.is_none();
            let e = rooted.entry(s.trace).or_insert(false);
            *e |= has_root;
        }
        self.traces = rooted.len();
        self.truncated_traces = rooted.values().filter(|&&r| !r).count();
        for (i, s) in set.spans.iter().enumerate() {
            self.complete[i] = rooted[&s.trace];
        }
    }

    /// Jaeger's rule (see the module docs), applied in depth-first `order` so a parent is
    /// adjusted before its children.
    fn correct_skew(&mut self, set: &TraceSet, order: &[usize]) {
        let mut delta = vec![0i64; self.start.len()];
        for &i in order {
            let Some(p) = self.parent[i] else { continue };
            let (si, sp) = (&set.spans[i], &set.spans[p]);
            let same_host = si.service == sp.service
                && (si.instance.is_none() || sp.instance.is_none() || si.instance == sp.instance);
            let d = if same_host {
                delta[p]
            } else {
                skew(
                    (self.start[p], self.end[p]),
                    (set.spans[i].start_ns, self.end_of(set, i)),
                    sp.kind == SpanKind::Producer,
                )
            };
            delta[i] = d;
            if d != 0 {
                self.start[i] += d;
                self.end[i] += d;
                if !same_host {
                    self.skew_corrections += 1;
                }
            }
        }
    }

    fn end_of(&self, set: &TraceSet, i: usize) -> i64 {
        set.spans[i].end_ns.max(set.spans[i].start_ns)
    }

    /// Duration of span `i`, ns.
    pub fn duration(&self, i: usize) -> i64 {
        self.end[i] - self.start[i]
    }
}

/// The shift of a child span against its (adjusted) parent, Jaeger's `calculateSkew`.
fn skew(parent: (i64, i64), child: (i64, i64), asynchronous: bool) -> i64 {
    let (pd, cd) = (parent.1 - parent.0, child.1 - child.0);
    if cd > pd || asynchronous {
        return if child.0 < parent.0 { parent.0 - child.0 } else { 0 };
    }
    if child.0 >= parent.0 && child.1 <= parent.1 {
        return 0;
    }
    parent.0 + (pd - cd) / 2 - child.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn span(
        set: &mut TraceSet,
        id: u64,
        parent: Option<u64>,
        svc: &str,
        inst: Option<&str>,
        kind: SpanKind,
        a: i64,
        b: i64,
    ) {
        let service = set.service_index(svc);
        set.spans.push(crate::calibrate::span::SpanRecord {
            trace: 1,
            id,
            parent,
            follows_from: Vec::new(),
            service,
            instance: inst.map(str::to_owned),
            operation: "op".into(),
            kind,
            start_ns: a,
            end_ns: b,
            error: false,
            peer_service: None,
            at: Default::default(),
        });
    }

    #[test]
    fn a_hosts_delta_carries_to_its_descendants() {
        let mut set = TraceSet::default();
        span(&mut set, 1, None, "a", Some("a1"), SpanKind::Server, 0, 100);
        span(&mut set, 2, Some(1), "a", Some("a1"), SpanKind::Client, 0, 100);
        // b's clock is 1000 behind: its server span, an internal span and a client span.
        span(&mut set, 3, Some(2), "b", Some("b1"), SpanKind::Server, -990, -910);
        span(&mut set, 4, Some(3), "b", Some("b1"), SpanKind::Internal, -980, -970);
        span(&mut set, 5, Some(4), "b", None, SpanKind::Client, -960, -940);
        let f = Forest::build(&set);
        assert_eq!((f.start[2], f.end[2]), (10, 90));
        assert_eq!((f.start[3], f.end[3]), (20, 30));
        assert_eq!((f.start[4], f.end[4]), (40, 60));
        assert_eq!(f.skew_corrections, 1);
        assert_eq!((f.traces, f.truncated_traces, f.missing_parents), (1, 0, 0));
    }

    #[test]
    fn skew_follows_jaegers_rule() {
        // Fits: unchanged.
        assert_eq!(skew((0, 100), (10, 90), false), 0);
        // Shorter but early: centred.
        assert_eq!(skew((0, 100), (-50, 30), false), 60);
        // Longer than its parent: only moved to the parent's start.
        assert_eq!(skew((0, 100), (-5, 200), false), 5);
        assert_eq!(skew((0, 100), (5, 200), false), 0);
        // Asynchronous consumer after its producer: left alone.
        assert_eq!(skew((0, 100), (300, 310), true), 0);
        assert_eq!(skew((0, 100), (-20, -10), true), 20);
    }
}
