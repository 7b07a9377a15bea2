//! What a generated graph measures: depth, fan-out, call-type mix, popularity, instances
//! and load, to print after `resim init --topology` and to test the generator against
//! what its documentation claims.

use std::fmt;

use super::graph::{Graph, Kind};
use super::sizing::Sizing;

/// Quantiles of a count over services.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub median: usize,
    /// 99th percentile.
    pub p99: usize,
    /// Largest.
    pub max: usize,
}

impl Spread {
    fn of(mut values: Vec<usize>) -> Spread {
        values.sort_unstable();
        let at = |q: f64| values.get(((values.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0);
        let mean = values.iter().sum::<usize>() as f64 / values.len().max(1) as f64;
        Spread { mean, median: at(0.5), p99: at(0.99), max: values.last().copied().unwrap_or(0) }
    }
}

/// Call edges by type (the trace's `rpctype`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallMix {
    /// Calls between stateless services (`rpc`).
    pub rpc: usize,
    /// Calls to Memcached (`MC`).
    pub memcached: usize,
    /// Calls to databases (`DB`).
    pub database: usize,
    /// Message-queue hand-offs (`MQ`): routes.
    pub mq: usize,
}

impl CallMix {
    /// Every edge.
    pub fn total(&self) -> usize {
        self.rpc + self.memcached + self.database + self.mq
    }
}

/// The measured statistics of one generated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Services in all.
    pub services: usize,
    /// Stateless services (entries included).
    pub stateless: usize,
    /// Memcached services.
    pub memcached: usize,
    /// Database services.
    pub databases: usize,
    /// Entry services, one workload each.
    pub entries: usize,
    /// Instances over every service.
    pub instances: u64,
    /// Instances of the largest service.
    pub max_instances: u32,
    /// Services by depth: the longest chain of calls and hand-offs from an entry to them.
    pub depths: Vec<usize>,
    /// Calls and routes per stateless service.
    pub fan_out: Spread,
    /// Callers per service (in-degree), over services with at least one.
    pub fan_in: Spread,
    /// Share of all call edges that go to the 5% most-called services.
    pub top5_share: f64,
    /// Edges by type.
    pub mix: CallMix,
    /// Expected service visits per request.
    pub visits_per_request: f64,
    /// Highest expected worker utilisation of any service.
    pub max_utilisation: f64,
}

impl Stats {
    /// Measures `g` sized by `z`.
    pub fn of(g: &Graph, z: &Sizing) -> Stats {
        let n = g.nodes.len();
        let mut depth = vec![0usize; n];
        let mut fan_in = vec![0usize; n];
        let mut mix = CallMix::default();
        for (s, node) in g.nodes.iter().enumerate() {
            for to in node.calls.iter().map(|c| c.to).chain(node.routes.iter().map(|r| r.to)) {
                depth[to] = depth[to].max(depth[s] + 1);
                fan_in[to] += 1;
            }
            for c in &node.calls {
                match g.nodes[c.to].kind {
                    Kind::Stateless => mix.rpc += 1,
                    Kind::Memcached => mix.memcached += 1,
                    Kind::Database => mix.database += 1,
                }
            }
            mix.mq += node.routes.len();
        }
        let mut depths = vec![0; depth.iter().max().map_or(0, |d| d + 1)];
        for d in depth {
            depths[d] += 1;
        }
        let mut ranked = fan_in.clone();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        let top = ranked.iter().take(n.div_ceil(20)).sum::<usize>() as f64;
        let fan_out = g.nodes[..g.stateless].iter().map(|v| v.calls.len() + v.routes.len()).collect();
        let utilisation = (0..n).map(|s| z.erlangs[s] / f64::from(z.instances[s] * z.servers[s]));
        Stats {
            services: n,
            stateless: g.stateless,
            memcached: g.memcached,
            databases: n - g.stateless - g.memcached,
            entries: g.entries,
            instances: z.instances.iter().map(|&i| u64::from(i)).sum(),
            max_instances: z.instances.iter().copied().max().unwrap_or(0),
            depths,
            fan_out: Spread::of(fan_out),
            fan_in: Spread::of(fan_in.into_iter().filter(|&k| k > 0).collect()),
            top5_share: top / mix.total().max(1) as f64,
            mix,
            visits_per_request: z.visits_per_request,
            max_utilisation: utilisation.fold(0.0, f64::max),
        }
    }

    /// The deepest chain, in hops from an entry.
    pub fn max_depth(&self) -> usize {
        self.depths.len().saturating_sub(1)
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let share = |k: usize| 100.0 * k as f64 / self.mix.total().max(1) as f64;
        writeln!(
            f,
            "{} services ({} stateless, {} entries; {} Memcached, {} databases), {} instances (max {})",
            self.services,
            self.stateless,
            self.entries,
            self.memcached,
            self.databases,
            self.instances,
            self.max_instances
        )?;
        writeln!(f, "depth (hops from an entry): max {}, services by depth {:?}", self.max_depth(), self.depths)?;
        writeln!(
            f,
            "fan-out per stateless service: mean {:.2}, median {}, p99 {}, max {}; callers per service: p99 {}, max {}",
            self.fan_out.mean,
            self.fan_out.median,
            self.fan_out.p99,
            self.fan_out.max,
            self.fan_in.p99,
            self.fan_in.max
        )?;
        writeln!(
            f,
            "edges: {} ({:.1}% RPC, {:.1}% Memcached, {:.1}% database, {:.1}% MQ routes); top 5% of services take {:.1}% of them",
            self.mix.total(),
            share(self.mix.rpc),
            share(self.mix.memcached),
            share(self.mix.database),
            share(self.mix.mq),
            100.0 * self.top5_share
        )?;
        write!(
            f,
            "{:.1} service visits per request; highest expected utilisation {:.0}%",
            self.visits_per_request,
            100.0 * self.max_utilisation
        )
    }
}
