//! The generated scenario: distributions of every family, services with their servers,
//! pools, server-side policies and recovery mechanisms, workloads, faults, and the
//! strategy that draws a whole [`Case`].

use proptest::collection::vec;
use proptest::option::weighted;
use proptest::prelude::*;

use super::policies::{Step, step};

// ---------------------------------------------------------------------------------------
// The generated scenario.
// ---------------------------------------------------------------------------------------

/// A distribution of durations; times are in microseconds.
#[derive(Clone, Debug)]
pub(super) enum Dist {
    Exponential(u32),
    Constant(u32),
    /// min, width (> 0).
    Uniform(u32, u32),
    LognormalMeanSd(u32, u32),
    /// median, p99 - median (> 0).
    LognormalMedianP99(u32, u32),
    Gamma(f64, u32),
    Erlang(u32, u32),
    Weibull(f64, u32),
    Pareto(f64, u32),
    Empirical(Vec<u32>),
    Mixture(Vec<(f64, Dist)>),
}

impl Dist {
    pub(super) fn yaml(&self) -> String {
        match self {
            Dist::Exponential(m) => format!("{{ exponential: {{ mean: {m}us }} }}"),
            Dist::Constant(v) => format!("{{ constant: {{ value: {v}us }} }}"),
            Dist::Uniform(a, w) => format!("{{ uniform: {{ min: {a}us, max: {}us }} }}", a + w),
            Dist::LognormalMeanSd(m, s) => format!("{{ lognormal: {{ mean: {m}us, sd: {s}us }} }}"),
            Dist::LognormalMedianP99(m, e) => format!("{{ lognormal: {{ median: {m}us, p99: {}us }} }}", m + e),
            Dist::Gamma(k, m) => format!("{{ gamma: {{ shape: {k:.3}, mean: {m}us }} }}"),
            Dist::Erlang(k, m) => format!("{{ erlang: {{ k: {k}, mean: {m}us }} }}"),
            Dist::Weibull(k, s) => format!("{{ weibull: {{ shape: {k:.3}, scale: {s}us }} }}"),
            Dist::Pareto(a, s) => format!("{{ pareto: {{ shape: {a:.3}, scale: {s}us }} }}"),
            Dist::Empirical(xs) => {
                let xs: Vec<String> = xs.iter().map(|x| format!("{x}us")).collect();
                format!("{{ empirical: {{ samples: [{}] }} }}", xs.join(", "))
            }
            Dist::Mixture(parts) => {
                let parts: Vec<String> =
                    parts.iter().map(|(w, d)| format!("{{ weight: {w:.3}, dist: {} }}", d.yaml())).collect();
                format!("{{ mixture: [{}] }}", parts.join(", "))
            }
        }
    }

    /// Draws from a continuous law: two seeds give different sums of draws (almost surely).
    pub(super) fn continuous(&self) -> bool {
        match self {
            Dist::Constant(_) | Dist::Empirical(_) => false,
            Dist::Mixture(parts) => parts.iter().any(|(_, d)| d.continuous()),
            _ => true,
        }
    }

    /// Has a mean the engine knows in closed form (what `shed: queue_time` needs).
    pub(super) fn known_mean(&self) -> bool {
        matches!(self, Dist::Exponential(_) | Dist::Constant(_) | Dist::Uniform(..) | Dist::Empirical(_))
    }

    /// A constant of the same scale, rounded to one significant digit (`lockstep` cases).
    pub(super) fn rounded(&self) -> Dist {
        let x = match self {
            Dist::Exponential(x) | Dist::Constant(x) | Dist::Uniform(x, _) | Dist::LognormalMeanSd(x, _) => *x,
            Dist::LognormalMedianP99(x, _) | Dist::Gamma(_, x) | Dist::Erlang(_, x) => *x,
            Dist::Weibull(_, x) | Dist::Pareto(_, x) => *x,
            Dist::Empirical(xs) => xs.first().copied().unwrap_or(1),
            Dist::Mixture(parts) => return parts.first().map_or(Dist::Constant(1), |(_, d)| d.rounded()),
        }
        .max(1);
        let unit = 10u32.pow(x.ilog10());
        Dist::Constant(x / unit * unit)
    }
}

pub(super) fn leaf_dist(lo: u32, hi: u32) -> impl Strategy<Value = Dist> {
    prop_oneof![
        (lo..hi).prop_map(Dist::Exponential),
        // Round constants too: they make events coincide, at the end of the run among others.
        prop_oneof![lo..hi, (1u32..10).prop_map(move |k| k * 10u32.pow(lo.max(1).ilog10()))].prop_map(Dist::Constant),
        (lo..hi, 1..hi).prop_map(|(a, w)| Dist::Uniform(a, w)),
        (lo..hi, lo..hi).prop_map(|(m, s)| Dist::LognormalMeanSd(m, s)),
        (lo..hi, 1..hi).prop_map(|(m, e)| Dist::LognormalMedianP99(m, e)),
        (0.2f64..5.0, lo..hi).prop_map(|(k, m)| Dist::Gamma(k, m)),
        (1u32..6, lo..hi).prop_map(|(k, m)| Dist::Erlang(k, m)),
        (0.5f64..3.0, lo..hi).prop_map(|(k, s)| Dist::Weibull(k, s)),
        (1.1f64..4.0, lo..hi).prop_map(|(a, s)| Dist::Pareto(a, s)),
        vec(lo..hi, 1..6).prop_map(Dist::Empirical),
    ]
}

/// A distribution with values mostly in `lo..hi` microseconds.
pub(super) fn dist(lo: u32, hi: u32) -> impl Strategy<Value = Dist> {
    prop_oneof![
        5 => leaf_dist(lo, hi),
        1 => vec((0.1f64..10.0, leaf_dist(lo, hi)), 2..=3).prop_map(Dist::Mixture),
    ]
}

#[derive(Clone, Debug)]
pub(super) struct Pool {
    pub(super) servers: u32,
    pub(super) capacity_extra: Option<u32>,
    pub(super) borrow: bool,
}

#[derive(Clone, Debug)]
pub(super) struct Pools {
    pub(super) pools: Vec<Pool>,
    /// Pool 0 takes every class no other pool lists.
    pub(super) catch_all: bool,
    /// Raw owner of each request class (the pool index, or none when out of range).
    pub(super) owners: [usize; 3],
}

#[derive(Clone, Debug)]
pub(super) enum Shed {
    QueueLength(u32),
    QueueTime(u32),
    Codel(Option<u32>, Option<u32>),
}

#[derive(Clone, Debug)]
pub(super) struct Limit {
    pub(super) gradient: bool,
    pub(super) min: u32,
    pub(super) initial_extra: u32,
    pub(super) max_extra: u32,
    /// backoff_ratio (aimd) or smoothing (gradient).
    pub(super) a: Option<f64>,
    /// timeout ms (aimd) or rtt_tolerance × 100 (gradient).
    pub(super) b: Option<u32>,
}

#[derive(Clone, Debug)]
pub(super) struct Level {
    pub(super) value: f64,
    pub(super) disable_optional: Option<bool>,
    pub(super) error_rate: Option<f64>,
    pub(super) p99_ms: Option<u32>,
    pub(super) utilization: Option<f64>,
    /// Exit thresholds are enter × this (hysteresis).
    pub(super) exit_factor: f64,
}

#[derive(Clone, Debug)]
pub(super) struct Degradation {
    pub(super) interval_ms: Option<u32>,
    pub(super) min_dwell_ms: Option<u32>,
    pub(super) levels: Option<Vec<Level>>,
}

#[derive(Clone, Debug)]
pub(super) struct ServerPolicies {
    pub(super) pools: Option<Pools>,
    pub(super) rate_limit: Option<(f64, Option<u32>)>,
    pub(super) shed: Option<Shed>,
    pub(super) limit: Option<Limit>,
    pub(super) degradation: Option<Degradation>,
    pub(super) deadline_propagation: bool,
}

pub(super) fn server_policies() -> impl Strategy<Value = ServerPolicies> {
    let pool = (1u32..=4, weighted(0.6, 0u32..6), any::<bool>()).prop_map(|(servers, capacity_extra, borrow)| Pool {
        servers,
        capacity_extra,
        borrow,
    });
    let pools = (vec(pool, 1..=3), any::<bool>(), [any::<usize>(), any::<usize>(), any::<usize>()])
        .prop_map(|(pools, catch_all, owners)| Pools { pools, catch_all, owners });
    let shed = prop_oneof![
        (0u32..10).prop_map(Shed::QueueLength),
        (0u32..100).prop_map(Shed::QueueTime),
        (weighted(0.5, 1u32..20), weighted(0.5, 1u32..300)).prop_map(|(t, i)| Shed::Codel(t, i)),
    ];
    let limit =
        (any::<bool>(), 1u32..10, 0u32..10, 0u32..30, weighted(0.5, 0.5f64..0.99), weighted(0.5, 1u32..500)).prop_map(
            |(gradient, min, initial_extra, max_extra, a, b)| Limit { gradient, min, initial_extra, max_extra, a, b },
        );
    let level = (
        0.0f64..=1.0,
        weighted(0.3, any::<bool>()),
        weighted(0.5, 0.01f64..0.5),
        weighted(0.5, 1u32..500),
        weighted(0.5, 0.3f64..1.0),
        0.3f64..=1.0,
    )
        .prop_map(|(value, disable_optional, error_rate, p99_ms, utilization, exit_factor)| Level {
            value,
            disable_optional,
            error_rate,
            p99_ms,
            utilization,
            exit_factor,
        });
    let degradation = (weighted(0.7, 200u32..5_000), weighted(0.5, 0u32..10_000), weighted(0.5, vec(level, 1..=2)))
        .prop_map(|(interval_ms, min_dwell_ms, levels)| Degradation { interval_ms, min_dwell_ms, levels });
    (
        weighted(0.15, pools),
        weighted(0.15, (1.0f64..100.0, weighted(0.5, 1u32..20))),
        weighted(0.2, shed),
        weighted(0.15, limit),
        weighted(0.15, degradation),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(pools, rate_limit, shed, limit, degradation, deadline_propagation)| ServerPolicies {
            pools,
            rate_limit,
            shed,
            limit,
            degradation,
            deadline_propagation,
        })
}

#[derive(Clone, Debug)]
pub(super) enum Outlier {
    Empty,
    Preset,
    Keys(Option<u32>, Option<u32>, Option<f64>),
}

/// Interval ms, timeout ms, unhealthy threshold, healthy threshold.
pub(super) type HealthCheck = (Option<u32>, Option<u32>, Option<u32>, Option<u32>);

/// Active-active, heartbeat ms, missed, shift back ms.
pub(super) type Failover = (bool, Option<u32>, Option<u32>, Option<u32>);

#[derive(Clone, Debug)]
pub(super) struct Recovery {
    pub(super) zones: Option<usize>,
    pub(super) prefer_local_zone: bool,
    pub(super) health_check: Option<HealthCheck>,
    pub(super) outlier: Option<Outlier>,
    pub(super) failover: Option<Failover>,
}

pub(super) fn recovery() -> impl Strategy<Value = Recovery> {
    let outlier = prop_oneof![
        Just(Outlier::Empty),
        Just(Outlier::Preset),
        (weighted(0.7, 1u32..6), weighted(0.7, 100u32..10_000), weighted(0.7, 0.0f64..=100.0))
            .prop_map(|(c, b, p)| Outlier::Keys(c, b, p)),
    ];
    (
        weighted(0.25, 1usize..=3),
        any::<bool>(),
        weighted(
            0.15,
            (weighted(0.7, 100u32..5_000), weighted(0.5, 0u32..2_000), weighted(0.5, 1u32..4), weighted(0.5, 1u32..4)),
        ),
        weighted(0.15, outlier),
        weighted(
            0.15,
            (any::<bool>(), weighted(0.7, 100u32..5_000), weighted(0.5, 1u32..4), weighted(0.5, 0u32..20_000)),
        ),
    )
        .prop_map(|(zones, prefer_local_zone, health_check, outlier, failover)| Recovery {
            zones,
            prefer_local_zone,
            health_check,
            outlier,
            failover,
        })
}

#[derive(Clone, Debug)]
pub(super) struct Service {
    pub(super) servers: u32,
    pub(super) capacity_extra: Option<u32>,
    pub(super) instances: u32,
    pub(super) balancer: usize,
    pub(super) service_time: Dist,
    pub(super) steps: Vec<Step>,
    /// Raw target, probability.
    pub(super) routes: Vec<(usize, f64)>,
    pub(super) server: ServerPolicies,
    pub(super) recovery: Recovery,
}

pub(super) const BALANCERS: [&str; 4] = ["round_robin", "random", "least_outstanding", "power_of_two"];

pub(super) fn service() -> impl Strategy<Value = Service> {
    (
        1u32..=8,
        weighted(0.5, 0u32..20),
        1u32..=3,
        0usize..4,
        dist(100, 50_000),
        vec(step(), 0..=2),
        // At most 2 × 0.3: every service keeps at least a 40% chance of leaving.
        vec((any::<usize>(), 0.0f64..0.3), 0..=2),
        server_policies(),
        recovery(),
    )
        .prop_map(
            |(servers, capacity_extra, instances, balancer, service_time, steps, routes, server, recovery)| Service {
                servers,
                capacity_extra,
                instances,
                balancer,
                service_time,
                steps,
                routes,
                server,
                recovery,
            },
        )
}

#[derive(Clone, Debug)]
pub(super) enum Arrivals {
    Rate(f64),
    /// Points: seconds after the previous point (the first: after 0), rate, ramp.
    Profile(Vec<(u32, f64, bool)>),
    Closed(u32, Dist),
}

#[derive(Clone, Debug)]
pub(super) struct Workload {
    pub(super) target: usize,
    pub(super) arrivals: Arrivals,
    pub(super) class: Option<usize>,
    pub(super) zone: Option<usize>,
    pub(super) deadline_ms: Option<u32>,
}

pub(super) const CLASSES: [&str; 3] = ["default", "gold", "bulk"];

pub(super) fn workload() -> impl Strategy<Value = Workload> {
    let arrivals = prop_oneof![
        2 => (0.2f64..100.0).prop_map(Arrivals::Rate),
        1 => vec((0u32..20, 0.0f64..100.0, any::<bool>()), 1..=4).prop_map(Arrivals::Profile),
        // Think time > 0: at least 10 ms.
        1 => (1u32..=30, dist(10_000, 1_000_000)).prop_map(|(u, d)| Arrivals::Closed(u, d)),
    ];
    (any::<usize>(), arrivals, weighted(0.3, 0usize..3), weighted(0.3, any::<usize>()), weighted(0.25, 5u32..1_000))
        .prop_map(|(target, arrivals, class, zone, deadline_ms)| Workload {
            target,
            arrivals,
            class,
            zone,
            deadline_ms,
        })
}

#[derive(Clone, Debug)]
pub(super) enum Schedule {
    /// at ms, for ms.
    Window(u32, u32),
    /// mtbf ms, mttr ms, Weibull onset shape.
    Random(u32, u32, Option<f64>),
}

#[derive(Clone, Debug)]
pub(super) enum Add {
    Fixed(u32),
    Dist(Dist),
}

/// A fault; every kind's keys are drawn, and those of the resolved kind are written.
#[derive(Clone, Debug)]
pub(super) struct Fault {
    pub(super) kind: usize,
    /// Target mode (service, instance, zone) and two raw choices.
    pub(super) target: (usize, usize, usize),
    pub(super) schedule: Schedule,
    pub(super) enabled: bool,
    pub(super) add: Option<Add>,
    pub(super) multiply: Option<f64>,
    pub(super) probability: f64,
    pub(super) partial_degraded: Option<bool>,
    pub(super) value: Option<f64>,
    pub(super) cold_start: Option<(f64, u32)>,
    pub(super) servers: Option<u32>,
    pub(super) factor: Option<f64>,
    pub(super) refuse: Option<bool>,
}

pub(super) const FAULT_KINDS: [&str; 9] =
    ["latency", "error", "partial", "crash", "zone_outage", "capacity", "partition", "spike", "ramp"];

pub(super) fn fault() -> impl Strategy<Value = Fault> {
    let schedule = prop_oneof![
        (0u32..60_000, 100u32..20_000).prop_map(|(a, f)| Schedule::Window(a, f)),
        (2_000u32..60_000, 100u32..10_000, weighted(0.3, 0.5f64..3.0)).prop_map(|(u, d, s)| Schedule::Random(u, d, s)),
    ];
    let add = prop_oneof![(0u32..100_000).prop_map(Add::Fixed), dist(100, 50_000).prop_map(Add::Dist)];
    (
        (0usize..9, (0usize..3, any::<usize>(), any::<usize>()), schedule, prop::bool::weighted(0.9)),
        (weighted(0.6, add), weighted(0.5, 0.1f64..5.0), 0.0f64..=1.0, weighted(0.5, any::<bool>())),
        (
            weighted(0.5, 0.0f64..=1.0),
            weighted(0.4, (1.0f64..5.0, 0u32..10_000)),
            weighted(0.5, 0u32..4),
            weighted(0.5, 0.0f64..=1.0),
            weighted(0.5, any::<bool>()),
        ),
    )
        .prop_map(
            |(
                (kind, target, schedule, enabled),
                (add, multiply, probability, partial_degraded),
                (value, cold_start, servers, factor, refuse),
            )| Fault {
                kind,
                target,
                schedule,
                enabled,
                add,
                multiply,
                probability,
                partial_degraded,
                value,
                cold_start,
                servers,
                factor,
                refuse,
            },
        )
}

#[derive(Clone, Debug)]
pub(super) struct Case {
    pub(super) duration_s: u32,
    pub(super) warmup_s: u32,
    pub(super) replications: u32,
    pub(super) seed: u64,
    pub(super) window_ms: Option<u32>,
    pub(super) services: Vec<Service>,
    pub(super) workloads: Vec<Workload>,
    pub(super) faults: Vec<Fault>,
    /// Every service and think time a round constant: events coincide (ties in the event
    /// queue, completions exactly at the end of the run).
    pub(super) lockstep: bool,
}

/// Every scenario the generator writes, routes back into crashing instances included (the
/// trigger of [`CRASH_WITH_A_ROUTE_BACK`]).
pub(super) fn case() -> impl Strategy<Value = Case> {
    (
        20u32..=60,
        prop_oneof![Just(0u32), 1u32..=5],
        1u32..=2,
        any::<u64>(),
        weighted(0.2, 100u32..5_000),
        vec(service(), 1..=5),
        vec(workload(), 1..=3),
        prop_oneof![2 => Just(Vec::new()), 3 => vec(fault(), 1..=3)],
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(duration_s, warmup_s, replications, seed, window_ms, services, workloads, faults, lockstep)| Case {
                lockstep,
                duration_s,
                warmup_s,
                replications,
                seed,
                window_ms,
                services,
                workloads,
                faults,
            },
        )
}
