//! What the span trees say about each service: its requests, the synchronous calls each
//! request made, its asynchronous hand-offs, its own time and its errors.
//!
//! - A **request** of a service is one of its server spans (a synchronous request) or
//!   consumer spans (an asynchronous one). Internal and client spans belong to the
//!   nearest request above them in the same service (their *owner*).
//! - A **synchronous call** of A to B is a client span owned by a request of A whose
//!   server child is in B; a client span without a server child calls the service its
//!   `peer_service` names (an uninstrumented database, say: it becomes a service whose
//!   own time is the client span's duration). A server span of B directly under a
//!   non-client span of A (instrumentation without client spans) is a call too.
//! - A call to B repeated after an attempt to B failed and ended is a **retry**: it is
//!   merged into the same logical call (its interval runs from the first attempt's start
//!   to the last one's end) and counted as a hint; other repeats are calls of their own.
//! - A **hand-off** from A to B is a request of B whose parent is a producer span owned
//!   by a request of A, a consumer whose parent is owned by one, or a request of B that
//!   follows from a span owned by one (Jaeger's `FOLLOWS_FROM`, OpenTelemetry links).
//! - **Own time** of a request: its duration minus the time covered by the union of
//!   its synchronous calls' intervals (so parallel calls are not subtracted twice),
//!   clamped at 0.
//! - **Own error**: a request in error none of whose calls failed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::span::{SpanKind, TraceSet};
use super::tree::Forest;

/// One logical call of a request (its retries merged in).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallObs {
    /// Callee service index.
    pub callee: usize,
    /// Start of the first attempt, ns.
    pub start: i64,
    /// End of the last attempt, ns.
    pub end: i64,
}

/// What was seen of one service.
#[derive(Clone, Debug, Default)]
pub struct ServiceObs {
    /// Requests handled (server and consumer spans; for a peer-only service, the client
    /// spans calling it).
    pub requests: usize,
    /// Requests in error.
    pub errors: usize,
    /// Requests in error none of whose calls failed.
    pub own_errors: usize,
    /// Own time per request, seconds.
    pub own_times_s: Vec<f64>,
    /// Request intervals per instance (None: not named), for peak concurrency.
    pub intervals: BTreeMap<Option<String>, Vec<(i64, i64)>>,
    /// Per request, its logical calls sorted by start.
    pub calls: Vec<Vec<CallObs>>,
    /// Per request, the services it handed off to.
    pub handoffs: Vec<BTreeSet<usize>>,
    /// Known only from `peer_service` on its callers' client spans.
    pub peer_only: bool,
}

/// Attempts on one edge.
#[derive(Clone, Debug, Default)]
pub struct EdgeObs {
    /// Client spans (attempts).
    pub attempts: usize,
    /// Attempts in error.
    pub errors: usize,
    /// Durations of the attempts in error, seconds.
    pub error_durations_s: Vec<f64>,
    /// Logical calls that needed more than one attempt.
    pub retried_calls: usize,
    /// Most attempts of one logical call.
    pub max_attempts: u32,
}

/// The observations of a whole trace set.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Service names: the set's, then peer-only ones.
    pub names: Vec<String>,
    /// Per service, by index in `names`.
    pub services: Vec<ServiceObs>,
    /// Per (caller, callee).
    pub edges: BTreeMap<(usize, usize), EdgeObs>,
    /// Start times (ns) of the entry requests, per (service, operation).
    pub entries: BTreeMap<(usize, String), Vec<i64>>,
    /// Client spans whose callee is unknown (no server child, no `peer_service`).
    pub unresolved_calls: usize,
    /// Producer spans no consumer was found for.
    pub unmatched_producers: usize,
    /// Earliest start and latest end of any span, ns.
    pub window: (i64, i64),
}

fn is_request(k: SpanKind) -> bool {
    matches!(k, SpanKind::Server | SpanKind::Consumer)
}

/// One attempt seen under a request: callee, interval, error.
type Attempt = (usize, i64, i64, bool);

impl Observed {
    /// Gathers the observations of `set`, linked as `forest`.
    pub fn gather(set: &TraceSet, forest: &Forest) -> Observed {
        let mut o = Observed { names: set.services.clone(), ..Observed::default() };
        let mut name_index: HashMap<String, usize> = o.names.iter().cloned().enumerate().map(|(i, n)| (n, i)).collect();
        o.services = vec![ServiceObs::default(); o.names.len()];
        let owner = owners(set, forest);
        let mut attempts: HashMap<usize, Vec<Attempt>> = HashMap::new();
        let mut handoffs: HashMap<usize, BTreeSet<usize>> = HashMap::new();
        let mut consumed: BTreeSet<usize> = BTreeSet::new();
        for &i in &forest.order {
            let s = &set.spans[i];
            let (start, end) = (forest.start[i], forest.end[i]);
            let parent = forest.parent[i];
            if s.kind == SpanKind::Client
                && let Some(r) = owner[i]
            {
                let server_child = forest.children[i].iter().find(|&&c| set.spans[c].kind == SpanKind::Server);
                let callee = match (server_child, &s.peer_service) {
                    (Some(&c), _) => Some(set.spans[c].service as usize),
                    (None, Some(peer)) => Some(intern(&mut o, &mut name_index, peer)),
                    (None, None) => None,
                };
                match callee {
                    Some(b) => attempts.entry(r).or_default().push((b, start, end, s.error)),
                    None => o.unresolved_calls += 1,
                }
            }
            if is_request(s.kind) {
                let b = s.service as usize;
                let p_kind = parent.map(|p| set.spans[p].kind);
                let p_owner = parent.and_then(|p| owner[p]);
                if let (Some(p), Some(r)) = (parent, p_owner)
                    && set.spans[p].service != s.service
                {
                    match (s.kind, p_kind) {
                        (_, Some(SpanKind::Client)) => {}
                        (SpanKind::Server, Some(k)) if k != SpanKind::Producer => {
                            attempts.entry(r).or_default().push((b, start, end, s.error));
                        }
                        _ => {
                            handoffs.entry(r).or_default().insert(b);
                            consumed.insert(p);
                        }
                    }
                }
                for f in &s.follows_from {
                    let linked = forest.by_id.get(&(s.trace, *f)).or_else(|| forest.by_span_id.get(f));
                    if let Some(&l) = linked
                        && let Some(r) = owner[l]
                    {
                        handoffs.entry(r).or_default().insert(b);
                        consumed.insert(l);
                    }
                }
            }
        }
        o.unmatched_producers = (0..set.spans.len())
            .filter(|&i| set.spans[i].kind == SpanKind::Producer && owner[i].is_some() && !consumed.contains(&i))
            .count();
        for i in 0..set.spans.len() {
            if is_request(set.spans[i].kind) {
                let mut tried = attempts.remove(&i).unwrap_or_default();
                let done = handoffs.remove(&i).unwrap_or_default();
                o.record_request(set, forest, i, &mut tried, done);
            }
        }
        o.window = (forest.start.iter().copied().min().unwrap_or(0), forest.end.iter().copied().max().unwrap_or(0));
        o.entries = entries(set, forest);
        o
    }

    fn record_request(
        &mut self,
        set: &TraceSet,
        forest: &Forest,
        r: usize,
        tried: &mut [Attempt],
        handoffs: BTreeSet<usize>,
    ) {
        let s = &set.spans[r];
        let (start, end) = (forest.start[r], forest.end[r]);
        tried.sort_by_key(|a| (a.1, a.2, a.0));
        let caller = s.service as usize;
        let mut calls: Vec<(CallObs, bool, u32)> = Vec::new();
        for &(b, a_start, a_end, err) in tried.iter() {
            self.peer_attempt(b, a_start, a_end, err);
            let edge = self.edges.entry((caller, b)).or_default();
            edge.attempts += 1;
            if err {
                edge.errors += 1;
                edge.error_durations_s.push((a_end - a_start) as f64 * 1e-9);
            }
            let last = calls.iter_mut().rev().find(|(c, _, _)| c.callee == b);
            match last {
                Some((c, last_err, n)) if *last_err && c.end <= a_start => {
                    c.end = c.end.max(a_end);
                    *last_err = err;
                    *n += 1;
                }
                _ => calls.push((CallObs { callee: b, start: a_start, end: a_end }, err, 1)),
            }
        }
        for (c, _, n) in &calls {
            if *n > 1 {
                let edge = self.edges.entry((caller, c.callee)).or_default();
                edge.retried_calls += 1;
                edge.max_attempts = edge.max_attempts.max(*n);
            }
        }
        let waited = union_within(tried.iter().map(|a| (a.1, a.2)), start, end);
        let svc = &mut self.services[caller];
        svc.requests += 1;
        if s.error {
            svc.errors += 1;
            if !tried.iter().any(|a| a.3) {
                svc.own_errors += 1;
            }
        }
        svc.own_times_s.push(((end - start) - waited).max(0) as f64 * 1e-9);
        svc.intervals.entry(s.instance.clone()).or_default().push((start, end));
        svc.calls.push(calls.into_iter().map(|(c, _, _)| c).collect());
        svc.handoffs.push(handoffs);
    }

    /// A peer-only callee learns its requests from its callers' attempts.
    fn peer_attempt(&mut self, b: usize, start: i64, end: i64, err: bool) {
        let svc = &mut self.services[b];
        if !svc.peer_only {
            return;
        }
        svc.requests += 1;
        svc.errors += usize::from(err);
        svc.own_errors += usize::from(err);
        svc.own_times_s.push((end - start) as f64 * 1e-9);
        svc.intervals.entry(None).or_default().push((start, end));
        svc.calls.push(Vec::new());
        svc.handoffs.push(BTreeSet::new());
    }
}

/// The service index of `name`, adding a peer-only service for a name not seen.
fn intern(o: &mut Observed, index: &mut HashMap<String, usize>, name: &str) -> usize {
    if let Some(&i) = index.get(name) {
        return i;
    }
    let i = o.names.len();
    o.names.push(name.to_owned());
    o.services.push(ServiceObs { peer_only: true, ..ServiceObs::default() });
    index.insert(name.to_owned(), i);
    i
}

/// Each span's owning request: itself for a request, else its parent's owner when the
/// parent is in the same service.
fn owners(set: &TraceSet, forest: &Forest) -> Vec<Option<usize>> {
    let mut owner = vec![None; set.spans.len()];
    for &i in &forest.order {
        owner[i] = if is_request(set.spans[i].kind) {
            Some(i)
        } else {
            forest.parent[i].filter(|&p| set.spans[p].service == set.spans[i].service).and_then(|p| owner[p])
        };
    }
    owner
}

/// Length of the union of `intervals`, each clipped to [lo, hi].
pub fn union_within(intervals: impl Iterator<Item = (i64, i64)>, lo: i64, hi: i64) -> i64 {
    let mut clipped: Vec<(i64, i64)> = intervals.map(|(a, b)| (a.max(lo), b.min(hi))).filter(|(a, b)| a < b).collect();
    clipped.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(i64, i64)> = None;
    for (a, b) in clipped {
        match cur {
            Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                cur = Some((a, b));
            }
            None => cur = Some((a, b)),
        }
    }
    total + cur.map_or(0, |(a, b)| b - a)
}

/// The requests that entered the system: below each true root, the topmost requests
/// (the root itself when it is one). A root request that follows from a span found in
/// the set is a hand-off's continuation, not an entry.
fn entries(set: &TraceSet, forest: &Forest) -> BTreeMap<(usize, String), Vec<i64>> {
    let mut out: BTreeMap<(usize, String), Vec<i64>> = BTreeMap::new();
    for &root in &forest.roots {
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            let s = &set.spans[i];
            if is_request(s.kind) {
                let linked = s
                    .follows_from
                    .iter()
                    .any(|f| forest.by_id.contains_key(&(s.trace, *f)) || forest.by_span_id.contains_key(f));
                if !(i == root && linked) {
                    out.entry((s.service as usize, s.operation.clone())).or_default().push(forest.start[i]);
                }
                continue;
            }
            stack.extend(forest.children[i].iter().copied());
        }
    }
    for v in out.values_mut() {
        v.sort_unstable();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_counts_overlaps_once() {
        assert_eq!(union_within([(0, 10), (5, 15), (20, 30)].into_iter(), 0, 100), 25);
        assert_eq!(union_within([(-5, 10), (90, 120)].into_iter(), 0, 100), 20);
        assert_eq!(union_within(std::iter::empty(), 0, 100), 0);
    }
}
