//! The shape of the generated call graph: which services exist, what each is, and who
//! calls whom. Sizing (servers, instances, timeouts) is [`super::sizing`]'s.
//!
//! Services are numbered in topological order: the entries first, then the other
//! stateless services tier by tier, then the Memcached and database backends. Every call
//! and route goes from a lower number to a higher one, so the graph has no loop by
//! construction and one pass in index order solves the traffic equations.

use crate::engine::{Stream, index, unit};

use super::{Params, mix};

/// What a service is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Business logic, no state of its own: called by RPC, scales freely.
    Stateless,
    /// A Memcached cache (the trace's `MC` calls).
    Memcached,
    /// A database (the trace's `DB` calls).
    Database,
}

/// One synchronous call site.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The callee's index.
    pub to: usize,
    /// Chance the call is made on a visit.
    pub probability: f64,
    /// A failure degrades the request instead of failing it.
    pub optional: bool,
    /// The call retries once.
    pub retry: bool,
}

/// One asynchronous hand-off (a message-queue hop in the trace: `MQ`).
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// The consumer's index.
    pub to: usize,
    /// Chance the hand-off is made.
    pub probability: f64,
}

/// One service before sizing.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    /// Stateless services: the tier of the tree they hang from (0 = entry). Backends: 0.
    pub tier: u32,
    /// One of the few shared stateless services many others call.
    pub hot: bool,
    /// Calls, in the order they are made: caches, databases, then stateless callees.
    pub calls: Vec<Call>,
    /// Hand-offs after the work is done.
    pub routes: Vec<Route>,
}

/// The generated graph before sizing.
#[derive(Clone, Debug)]
pub struct Graph {
    /// Every service, in topological order.
    pub nodes: Vec<Node>,
    /// Entry services (workload targets): `0..entries`.
    pub entries: usize,
    /// Stateless services: `0..stateless`; backends follow.
    pub stateless: usize,
    /// Memcached services: `stateless..stateless + memcached`; databases follow.
    pub memcached: usize,
}

impl Graph {
    /// Builds the graph for `p`, drawing from `rng`.
    pub fn build(p: &Params, rng: &mut Stream) -> Graph {
        let n = p.services as usize;
        let memcached = ((n as f64 * mix::MEMCACHED_SHARE).round() as usize).max(1);
        let databases = ((n as f64 * mix::DATABASE_SHARE).round() as usize).max(1);
        let stateless = n - memcached - databases;
        let entries = (p.workloads as usize).clamp(1, (stateless / 3).max(1));
        let tiers = tier_sizes(stateless - entries, entries);
        let mut nodes = Vec::with_capacity(n);
        for (t, &size) in tiers.iter().enumerate() {
            nodes.extend((0..size).map(|_| node(Kind::Stateless, t as u32)));
        }
        nodes.extend((0..memcached).map(|_| node(Kind::Memcached, 0)));
        nodes.extend((0..databases).map(|_| node(Kind::Database, 0)));
        let mut g = Graph { nodes, entries, stateless, memcached };
        let starts = g.tier_starts();
        g.backbone(&starts, rng);
        g.hot_calls(&starts, rng);
        g.routes(&starts, rng);
        g.backend_calls(rng);
        g.set_probabilities(rng);
        g
    }

    /// The index of each tier's first service, and `stateless` at the end.
    pub fn tier_starts(&self) -> Vec<usize> {
        let mut starts = vec![0];
        for i in 1..self.stateless {
            if self.nodes[i].tier != self.nodes[i - 1].tier {
                starts.push(i);
            }
        }
        starts.push(self.stateless);
        starts
    }

    /// The tree every stateless service hangs from: a parent in the tier above, chosen
    /// by linear preferential attachment (an urn holding each candidate once, plus once
    /// per child it already has), which gives the heavy-tailed fan-out of a
    /// Barabási-Albert tree while every service keeps in-degree one in the tree.
    fn backbone(&mut self, starts: &[usize], rng: &mut Stream) {
        for t in 1..starts.len() - 1 {
            let mut urn: Vec<usize> = (starts[t - 1]..starts[t]).collect();
            for child in starts[t]..starts[t + 1] {
                let parent = urn[index(rng, urn.len())];
                urn.push(parent);
                self.nodes[parent].calls.push(rpc(child));
            }
        }
    }

    /// A few stateless services deeper in the tree are shared: [`mix::HOT_SHARE`] of
    /// those at tier 2 and below, and each stateless service above them calls one with
    /// chance [`mix::HOT_CALLER_SHARE`], the hot ones ranked by a Zipf law so the first
    /// few take most callers.
    fn hot_calls(&mut self, starts: &[usize], rng: &mut Stream) {
        if starts.len() < 4 {
            return;
        }
        let deep = starts[2]..self.stateless;
        let count = ((deep.len() as f64 * mix::HOT_SHARE).round() as usize).max(1);
        let mut hot: Vec<usize> = (0..count).map(|_| deep.start + index(rng, deep.len())).collect();
        hot.sort_unstable();
        hot.dedup();
        for &h in &hot {
            self.nodes[h].hot = true;
        }
        for caller in 0..starts[starts.len() - 2] {
            if unit(rng) >= mix::HOT_CALLER_SHARE {
                continue;
            }
            // The hot services below the caller's tier: a suffix of the sorted list.
            let below = hot.partition_point(|&h| self.nodes[h].tier <= self.nodes[caller].tier);
            let Some(h) = hot.get(below + zipf_rank(rng, hot.len() - below)).copied() else { continue };
            if !self.nodes[caller].calls.iter().any(|c| c.to == h) {
                self.nodes[caller].calls.push(rpc(h));
            }
        }
    }

    /// Message-queue hand-offs: [`mix::ROUTE_SHARE`] of the stateless services above
    /// the last tier pass the request on to a consumer in a deeper tier.
    fn routes(&mut self, starts: &[usize], rng: &mut Stream) {
        if starts.len() < 3 {
            return;
        }
        for s in 0..starts[starts.len() - 2] {
            if unit(rng) < mix::ROUTE_SHARE {
                let from = starts[self.nodes[s].tier as usize + 1];
                let to = from + index(rng, self.stateless - from);
                self.nodes[s].routes.push(Route { to, probability: mix::ROUTE_PROBABILITY });
            }
        }
    }

    /// Calls to the stateful backends: first every backend gets one caller (so none is
    /// left idle), then each stateless service draws its own number of extra ones, each
    /// a cache with chance [`mix::CACHE_CALL_SHARE`] else a database, ranked by a Zipf
    /// law (a few hot caches and tables). Caches come before databases in the call list.
    fn backend_calls(&mut self, rng: &mut Stream) {
        let backends = self.stateless..self.nodes.len();
        let mut extra: Vec<Vec<usize>> = vec![Vec::new(); self.stateless];
        for b in backends.clone() {
            extra[index(rng, self.stateless)].push(b);
        }
        let databases = self.nodes.len() - self.stateless - self.memcached;
        for picks in extra.iter_mut() {
            for _ in 0..draw_count(rng, &mix::BACKEND_CALLS) {
                let b = if unit(rng) < mix::CACHE_CALL_SHARE {
                    self.stateless + zipf_rank(rng, self.memcached)
                } else {
                    self.stateless + self.memcached + zipf_rank(rng, databases)
                };
                picks.push(b);
            }
        }
        for (s, mut picks) in extra.into_iter().enumerate() {
            picks.sort_unstable();
            picks.dedup();
            let mut calls: Vec<Call> = picks.into_iter().map(rpc).collect();
            calls.append(&mut self.nodes[s].calls);
            self.nodes[s].calls = calls;
        }
    }

    /// Call probabilities, optional calls and retries. A service with `c` stateless
    /// callees calls each with chance `min(1, BRANCHING / c)`, so a request visits about
    /// [`mix::BRANCHING`] of them whatever the fan-out: the dependency graph is large
    /// and each request samples a small tree of it, as the trace's call graphs are.
    /// A database read after a cache read is made on a miss only.
    fn set_probabilities(&mut self, rng: &mut Stream) {
        let stateless = self.stateless;
        let first_db = self.stateless + self.memcached;
        for node in &mut self.nodes[..stateless] {
            let downstream = node.calls.iter().filter(|c| c.to < stateless).count();
            let cached = node.calls.iter().any(|c| (stateless..first_db).contains(&c.to));
            for call in &mut node.calls {
                if call.to < stateless {
                    call.probability = (mix::BRANCHING / downstream as f64).min(1.0);
                    call.optional = node.tier > 0 && unit(rng) < mix::OPTIONAL_SHARE;
                    call.retry = unit(rng) < mix::RPC_RETRY_SHARE;
                } else if call.to >= first_db {
                    call.probability = if cached { mix::CACHE_MISS } else { 1.0 };
                    call.retry = unit(rng) < mix::DB_RETRY_SHARE;
                }
            }
        }
    }
}

fn node(kind: Kind, tier: u32) -> Node {
    Node { kind, tier, hot: false, calls: Vec::new(), routes: Vec::new() }
}

fn rpc(to: usize) -> Call {
    Call { to, probability: 1.0, optional: false, retry: false }
}

/// Tier sizes: `entries` at tier 0, then `rest` services over tiers 1..=D in proportion
/// to [`mix::TREE_FAN_OUT`]^t (a tree whose mean fan-out is about that), with D the depth
/// such a tree needs to hold them, at most [`mix::MAX_TIER`]; every tier non-empty.
fn tier_sizes(rest: usize, entries: usize) -> Vec<usize> {
    let fan = mix::TREE_FAN_OUT;
    let depth = ((rest.max(1) as f64 / entries as f64).ln() / fan.ln()).round();
    let depth = (depth.max(1.0) as usize).min(mix::MAX_TIER).min(rest);
    let weights: Vec<f64> = (1..=depth).map(|t| fan.powi(t as i32)).collect();
    let total: f64 = weights.iter().sum();
    let spare = rest.saturating_sub(depth);
    let mut sizes: Vec<usize> = weights.iter().map(|w| 1 + (spare as f64 * w / total).floor() as usize).collect();
    // Whatever rounding left goes to the deepest tier.
    let placed: usize = sizes.iter().sum();
    if let Some(last) = sizes.last_mut() {
        *last += rest - placed.min(rest);
    }
    let mut all = vec![entries];
    all.extend(sizes);
    all
}

/// A rank in `0..n` (n > 0) under an approximate Zipf law of exponent 1: rank r drawn
/// with chance about `1 / ((r + 1) ln(n + 1))` (log-uniform), so rank 0 is the hottest.
pub(crate) fn zipf_rank(rng: &mut Stream, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let r = ((n as f64 + 1.0).ln() * unit(rng)).exp().floor() as usize;
    r.saturating_sub(1).min(n - 1)
}

/// A count drawn from `weights` (the chance of 0, 1, 2, ...).
fn draw_count(rng: &mut Stream, weights: &[f64]) -> usize {
    let mut u = unit(rng);
    for (k, w) in weights.iter().enumerate() {
        if u < *w {
            return k;
        }
        u -= w;
    }
    weights.len() - 1
}
