//! Generated scenarios of large microservice call graphs, for `resim init --topology
//! microservices` and the scale benches.
//!
//! The shape follows what has been published about Alibaba's 2021 microservice traces
//! (Luo et al., "Characterizing Microservice Dependency and Performance: Alibaba Trace
//! Analysis", ACM SoCC 2021, and its extension in IEEE TPDS 2022; the trace's
//! documentation in `alibaba/clusterdata`, `cluster-trace-microservices-v2021`):
//!
//! - **Tree-like, heavy-tailed.** Call graphs are trees more than DAGs (most
//!   microservices have one caller in a call graph), their size is heavy tailed (about
//!   10% have more than 40 microservices) and children sets are 1 to 10 at Alibaba (Du et
//!   al., "A Microservice Graph Generator with Production Characteristics", 2024/ICS
//!   2025). Here every stateless service hangs from one parent in the tier above, chosen
//!   by preferential attachment (a Barabási-Albert tree, as muBench's service-mesh
//!   generator builds), so fan-out is heavy tailed; tiers grow threefold.
//! - **Depth.** Most call graphs are at most about 6 deep, with a tail to about 15 (Du et
//!   al.; Luo et al. TPDS: 2 to 6 for the busiest services). Here the tiers of stateless
//!   services grow with log3 of the services per entry, at most 7, plus a backend call and
//!   an occasional hand-off: the deepest chain is 3 hops at 100 services, 5 at 1,000 and
//!   8 at 20,000 (seed 1).
//! - **Dynamic graphs.** The same online service produces many different call graphs
//!   (Luo et al.: up to 9 topologically different ones): calls here are made with a
//!   probability, so a request samples a small tree of the large dependency graph,
//!   visiting about 1.5 stateless callees per visit (ours): 6 service visits per
//!   request at 100 services, 12 at 1,000, 19 at 20,000.
//! - **Hot spots.** About 5% of microservices are shared by more than 90% of online
//!   services (Luo et al.): 5% of the deeper stateless services are shared, ranked by a
//!   Zipf law, and backends are chosen by a Zipf law too: at 20,000 services the 5% most
//!   called services take a third of all call edges, the hottest 750 callers.
//! - **Call types.** The trace records RPC and HTTP between stateless services, `MC`
//!   and `DB` calls to stateful Memcached and databases (which run in dedicated
//!   clusters), and `MQ` message-queue hand-offs. Here: `calls` to stateless services,
//!   caches and databases (a database read behind a cache read made on a miss), and
//!   `routes` for the queue hand-offs. About half the trace's call records carry an RPC
//!   interface, the others being MC/DB (as an analysis of its `MSCallGraph` table reports); here backend calls are 55-60% of the edges, calls
//!   between stateless services about 40%, hand-offs 2-3%.
//! - **Stateful share and instances.** Leaves are 39% of microservices and the fleet
//!   runs about 28 containers per microservice, heavy tailed (Winchester et al.,
//!   "Complexity at Scale: A Quantitative Analysis of an Alibaba Microservice
//!   Deployment", 2025). Here 35% of services are backends; instance counts are Pareto,
//!   scaled down tenfold.
//!
//! Every number, and which are ours where nothing is published, is in [`mix`]. The
//! offered load of every service is solved through the graph and each is sized to about
//! 50% utilisation ([`sizing`]), so a generated scenario runs without collapse at any
//! size; the run's duration is chosen so every size runs about [`DEFAULT_EVENTS`] events.
//! Generation is deterministic: the same parameters give the same bytes (one named
//! random stream per stage, Xoshiro256++ as everywhere in resim).

pub mod graph;
pub mod mix;
pub mod sizing;
pub mod stats;
pub mod write;

use crate::engine::Streams;

pub use graph::Graph;
pub use sizing::Sizing;
pub use stats::Stats;

/// Fewest services accepted.
pub const MIN_SERVICES: u64 = 10;
/// Most services accepted: as many as a scenario may have.
pub const MAX_SERVICES: u64 = crate::scenario::validate::MAX_SERVICES as u64;
/// Events a generated run aims at by default: the scale benches compare events/s over
/// the same work at every size.
pub const DEFAULT_EVENTS: f64 = 2e7;
/// Total request rate of the workloads by default, per second.
pub const DEFAULT_RATE: f64 = 1000.0;
/// Entry services (workloads) by default.
pub const DEFAULT_WORKLOADS: u32 = 5;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Services in all.
    pub services: u64,
    /// Seed of the graph's random draws, also the scenario's seed.
    pub seed: u64,
    /// Entry services, one workload each (at most a third of the stateless services).
    pub workloads: u32,
    /// Total request rate over the workloads, per second.
    pub rate: f64,
    /// Events the run should take; sets the duration unless `duration_ms` is given.
    pub events: f64,
    /// Measured duration, ms, instead of the one `events` implies.
    pub duration_ms: Option<u64>,
}

impl Params {
    /// The defaults for `services` services.
    pub fn new(services: u64) -> Params {
        Params {
            services,
            seed: 1,
            workloads: DEFAULT_WORKLOADS,
            rate: DEFAULT_RATE,
            events: DEFAULT_EVENTS,
            duration_ms: None,
        }
    }

    /// Refuses parameters out of range, saying what is accepted.
    pub fn check(&self) -> Result<(), String> {
        if !(MIN_SERVICES..=MAX_SERVICES).contains(&self.services) {
            return Err(format!(
                "--services {}: expected from {MIN_SERVICES} to {MAX_SERVICES} services (a graph past {MAX_SERVICES} \
                 would need gigabytes to load and run)",
                self.services
            ));
        }
        if !(1..=1000).contains(&self.workloads) {
            return Err(format!("--workloads {}: expected from 1 to 1000", self.workloads));
        }
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 1e7) {
            return Err(format!("--rate {}: expected a rate above 0 and at most 10000000/s", self.rate));
        }
        if !(self.events.is_finite() && (1e3..=1e12).contains(&self.events)) {
            return Err(format!("--events {}: expected from 1e3 to 1e12", self.events));
        }
        if self.duration_ms.is_some_and(|ms| ms < mix::WINDOWS) {
            return Err(format!("--duration: expected at least {}ms (one per report window)", mix::WINDOWS));
        }
        Ok(())
    }
}

/// A generated scenario: its text and what it measures.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The scenario file's text (YAML).
    pub yaml: String,
    /// Its statistics.
    pub stats: Stats,
    /// Events the run is expected to take.
    pub expected_events: f64,
}

/// Generates the scenario `p` describes.
pub fn generate(p: &Params) -> Result<Generated, String> {
    p.check()?;
    let streams = Streams::new(p.seed, 0);
    let graph = Graph::build(p, &mut streams.stream("topology/graph"));
    let sizing = Sizing::of(&graph, p, &mut streams.stream("topology/sizing"));
    let yaml = write::scenario(p, &graph, &sizing);
    let stats = Stats::of(&graph, &sizing);
    Ok(Generated { yaml, stats, expected_events: sizing.expected_events(p) })
}

#[cfg(test)]
mod tests;
