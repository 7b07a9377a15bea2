//! Service times, load, and the workers and instances that carry it.
//!
//! The offered load of every service follows from the traffic equations over the graph
//! (visits per request times the workloads' rates), and its holding time from the
//! expected response times of what it waits for, solved bottom-up. Each service then gets
//! enough workers that they are busy about [`mix::TARGET_UTILISATION`] of the time
//! (queueing delay is ignored in the holding times; at that utilisation it adds little),
//! so a generated scenario runs without collapse at any size. The run's duration is set
//! from the expected events per request so every size runs the same number of events.

use crate::engine::{Stream, unit};
use crate::run::budget::EVENTS_PER_VISIT;

use super::graph::{Graph, Kind};
use super::{Params, mix};

/// A service time, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ServiceTime {
    /// Exponential with this mean.
    Exponential {
        /// Mean, µs.
        mean_us: u64,
    },
    /// Lognormal with this median and 99th percentile.
    Lognormal {
        /// Median, µs.
        median_us: u64,
        /// 99th percentile, µs.
        p99_us: u64,
    },
}

impl ServiceTime {
    /// The mean, µs.
    pub fn mean_us(self) -> f64 {
        match self {
            ServiceTime::Exponential { mean_us } => mean_us as f64,
            ServiceTime::Lognormal { median_us, p99_us } => {
                // sigma from the 99th percentile's z-score (2.3263); mean = median e^(s²/2).
                let sigma = (p99_us as f64 / median_us as f64).ln() / 2.326_347_874;
                median_us as f64 * (sigma * sigma / 2.0).exp()
            }
        }
    }
}

/// Everything the scenario needs beyond the graph's shape.
#[derive(Clone, Debug)]
pub struct Sizing {
    /// Each service's service time.
    pub service_time: Vec<ServiceTime>,
    /// Each service's instances.
    pub instances: Vec<u32>,
    /// Each service's workers per instance.
    pub servers: Vec<u32>,
    /// Each service's expected response time (its own work, what it waits for, and what
    /// it hands on), µs.
    pub response_us: Vec<f64>,
    /// Each service's expected visits per second.
    pub rates: Vec<f64>,
    /// Each service's offered load, in busy workers.
    pub erlangs: Vec<f64>,
    /// Each workload's rate, per second (workload i targets entry i).
    pub workload_rates: Vec<f64>,
    /// Expected service visits per request.
    pub visits_per_request: f64,
    /// Measured duration of the run, ms (a multiple of [`mix::WINDOWS`]).
    pub duration_ms: u64,
}

impl Sizing {
    /// Sizes `g` for `p`, drawing service times and base instance counts from `rng`.
    pub fn of(g: &Graph, p: &Params, rng: &mut Stream) -> Sizing {
        let service_time: Vec<ServiceTime> = g.nodes.iter().map(|n| draw_service_time(n.kind, rng)).collect();
        let base: Vec<u32> = g.nodes.iter().map(|_| draw_instances(rng)).collect();
        // Workload i targets entry i; popularity of the entries falls as 1/(i+1) (Zipf).
        let weights: Vec<f64> = (0..g.entries).map(|i| 1.0 / (i as f64 + 1.0)).collect();
        let total: f64 = weights.iter().sum();
        let workload_rates: Vec<f64> = weights.iter().map(|w| p.rate * w / total).collect();
        let rates = visit_rates(g, &workload_rates);
        let Loads { erlangs, response_us, instances, servers } = Loads::solve(g, &service_time, &rates, &base);
        let visits_per_request = rates.iter().sum::<f64>() / p.rate;
        let per_request = (1.0 + EVENTS_PER_VISIT * visits_per_request) * mix::EVENTS_MEASURED_RATIO;
        let duration_ms = match p.duration_ms {
            Some(ms) => ms.div_ceil(mix::WINDOWS) * mix::WINDOWS,
            None => round_to_windows((p.events / (p.rate * per_request) * 1e3).round() as u64),
        };
        Sizing {
            service_time,
            instances,
            servers,
            response_us,
            rates,
            erlangs,
            workload_rates,
            visits_per_request,
            duration_ms,
        }
    }

    /// The capacity (Kendall's K) of service `s`'s instances: room for four times its
    /// workers, at least eight more, so a burst waits rather than being refused.
    pub fn capacity(&self, s: usize) -> u32 {
        (self.servers[s] * 4).max(self.servers[s] + 8)
    }

    /// The per-attempt timeout of a call to `to`, ms: [`mix::TIMEOUT_FACTOR`] times its
    /// expected response time (queueing included), at least 20 ms.
    pub fn timeout_ms(&self, to: usize) -> u64 {
        ((self.response_us[to] * mix::TIMEOUT_FACTOR / 1e3).ceil() as u64).max(20)
    }

    /// Expected events of the run: an arrival per request and [`EVENTS_PER_VISIT`] per
    /// visit, as `resim run`'s budget counts them, times [`mix::EVENTS_MEASURED_RATIO`].
    pub fn expected_events(&self, p: &Params) -> f64 {
        let per_request = (1.0 + EVENTS_PER_VISIT * self.visits_per_request) * mix::EVENTS_MEASURED_RATIO;
        p.rate * per_request * self.duration_ms as f64 / 1e3
    }
}

/// `ms` rounded to whole report windows of a round length: windows of whole seconds,
/// tenths or hundredths of a second, or milliseconds, the coarsest that moves the
/// duration by at most half a percent; at least one window of each.
fn round_to_windows(ms: u64) -> u64 {
    let step = [1000, 100, 10, 1].into_iter().find(|s| s * mix::WINDOWS * 100 <= ms).unwrap_or(1);
    let unit = step * mix::WINDOWS;
    (((ms as f64 / unit as f64).round() as u64) * unit).max(unit)
}

/// Stateless work: exponential, mean log-uniform in 1-8 ms. Memcached: exponential,
/// mean 0.3-0.8 ms. Databases: lognormal, median 2-5 ms, p99 ten times the median.
/// Ours: Luo et al. report sub-millisecond Memcached and millisecond-scale RPC response
/// times but no per-service distribution.
fn draw_service_time(kind: Kind, rng: &mut Stream) -> ServiceTime {
    let u = unit(rng);
    match kind {
        Kind::Stateless => ServiceTime::Exponential { mean_us: (1000.0 * 8f64.powf(u)).round() as u64 },
        Kind::Memcached => ServiceTime::Exponential { mean_us: (300.0 + 500.0 * u).round() as u64 },
        Kind::Database => {
            let median_us = (2000.0 + 3000.0 * u).round() as u64;
            ServiceTime::Lognormal { median_us, p99_us: median_us * 10 }
        }
    }
}

/// A base instance count: see [`mix::INSTANCE_SCALE`].
fn draw_instances(rng: &mut Stream) -> u32 {
    let u = 1.0 - unit(rng); // in (0, 1]
    let x = mix::INSTANCE_SCALE * u.powf(-1.0 / mix::INSTANCE_SHAPE);
    (x.round().min(f64::from(mix::MAX_INSTANCES)) as u32).max(2)
}

/// Instances and workers per instance for `erlangs` of offered load on at least `base`
/// instances, at [`mix::TARGET_UTILISATION`].
fn workers(erlangs: f64, base: u32) -> (u32, u32) {
    let needed = erlangs / mix::TARGET_UTILISATION;
    let per_max = f64::from(mix::MAX_SERVERS);
    let instances = base.max((needed / per_max).ceil() as u32);
    let servers = ((needed / f64::from(instances)).ceil() as u32).max(1);
    (instances, servers)
}

/// Expected wait in line at an instance of `servers` workers busy `rho` of the time, for
/// a holding time `holding`: Sakasegawa's approximation of the M/M/c wait,
/// `holding * rho^(sqrt(2(c+1)) - 1) / (c (1 - rho))` (Sakasegawa 1977).
fn queue_wait(holding: f64, servers: u32, rho: f64) -> f64 {
    if rho <= 0.0 || rho >= 1.0 {
        return 0.0;
    }
    let c = f64::from(servers);
    holding * rho.powf((2.0 * (c + 1.0)).sqrt() - 1.0) / (c * (1.0 - rho))
}

/// Every service's load, sizing and response time, solved bottom-up so a caller's
/// holding time includes its callees' queueing.
struct Loads {
    erlangs: Vec<f64>,
    response_us: Vec<f64>,
    instances: Vec<u32>,
    servers: Vec<u32>,
}

impl Loads {
    fn solve(g: &Graph, service_time: &[ServiceTime], rates: &[f64], base: &[u32]) -> Loads {
        let n = g.nodes.len();
        let mut l =
            Loads { erlangs: vec![0.0; n], response_us: vec![0.0; n], instances: vec![0; n], servers: vec![0; n] };
        for s in (0..n).rev() {
            let node = &g.nodes[s];
            let waited: f64 = node.calls.iter().map(|c| c.probability * l.response_us[c.to]).sum();
            let handed: f64 = node.routes.iter().map(|r| r.probability * l.response_us[r.to]).sum();
            let holding = service_time[s].mean_us() + waited;
            let erlangs = rates[s] * holding * 1e-6;
            let (instances, servers) = workers(erlangs, base[s]);
            let rho = erlangs / f64::from(instances * servers);
            l.response_us[s] = holding + queue_wait(holding, servers, rho) + handed;
            (l.erlangs[s], l.instances[s], l.servers[s]) = (erlangs, instances, servers);
        }
        l
    }
}

/// Visits per second of every service, in index (topological) order.
fn visit_rates(g: &Graph, workload_rates: &[f64]) -> Vec<f64> {
    let mut rates = vec![0.0; g.nodes.len()];
    rates[..g.entries].copy_from_slice(workload_rates);
    for s in 0..g.nodes.len() {
        let here = rates[s];
        let node = &g.nodes[s];
        for c in &node.calls {
            rates[c.to] += here * c.probability;
        }
        for r in &node.routes {
            rates[r.to] += here * r.probability;
        }
    }
    rates
}
