//! Property tests (proptest) over generated valid scenarios.
//!
//! A strategy draws a random scenario — 1–5 services with random servers, capacity,
//! instances, balancers, service-time distributions of every family, synchronous calls
//! forming a DAG (service `s<i>` only calls `s<j>` with j > i) in sequential and
//! `parallel` steps with random client policies, routes that may loop but always leave
//! an exit, server-side policies, recovery mechanisms, 1–3 workloads (Poisson rate or
//! profile, or closed) and faults of every kind on valid targets — and writes it as YAML
//! text. The YAML is loaded with `load_str`, run, and the report is held to invariants
//! that hold for every scenario, not only for the ones theory covers:
//!
//! 1. a generated scenario always loads (otherwise the generator is wrong), and running
//!    it, rendering its summary and its JSON never panics;
//! 2. per workload, the outcomes add up to `requests`, and `requests <= arrivals`;
//! 3. per service, requests are conserved: every arrival completed, was dropped, lost,
//!    rejected or refused by a crashed instance, or is still inside at the end, and what
//!    is inside is bounded by the capacity; the sub-counters add up to `rejected`;
//! 4. Little's law per service, for the station and for its queue, with the exact
//!    finite-horizon bound derived below (no L = Lq + busy: that is how L is computed);
//! 5. per edge, calls, attempts, retries and outcomes account for each other;
//! 6. the report is byte-identical with 1 and 2 threads, and another seed changes it.
//!
//! Counts are exact per replication, so every check is made on a one-replication report
//! of each replication (`Report::build` over one summary) and, for the linear ones, on
//! the report of all replications (whose means must satisfy the same linear relations).
//!
//! Warm-up matters: every counter restarts at the end of the warm-up, so a request that
//! arrived before it and finishes after it is counted as finished but not as arrived.
//! Inequalities such as `requests <= arrivals` hold exactly only without a warm-up; with
//! one, what is checked is the two-sided version bounded by what can be inside.
//!
//! Some cases are `lockstep`: every service and think time is a round constant, so events
//! coincide (ties in the event queue, answers at exactly the end of the run).
//!
//! Cases are capped (128 per property; `PROPTEST_CASES` overrides it) and the proptest
//! seed is fixed so CI is reproducible; set `PROPTEST_RNG_SEED` to explore others. On
//! failure the message holds the scenario YAML proptest shrank to. No regression files
//! are written: what the properties found is kept below as regression tests.
//!
//! Product bugs these properties found are fixed, and their minimal scenarios stay as
//! regression tests: [`CRASH_WITH_A_ROUTE_BACK`] (a crash resumed a caller whose call had
//! been routed back into the crashed instance) and [`OUTCOME_AT_THE_END`] (an outcome at
//! exactly the end of the run was missing from the timeline). Every property, determinism
//! included, runs on every scenario the generator writes, those triggers included; the
//! wider properties run on more cases from another seed. `properties_generator_covers_the_format`
//! reports, per feature and per group, in how many of the cases drawn it appears (run it
//! with `--nocapture`), and fails when one never does.
//!
//! Run: `cargo test --release --test integration -- properties`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use proptest::collection::vec;
use proptest::option::weighted;
use proptest::prelude::*;
use proptest::test_runner::{RngSeed, TestCaseError};
use resim::report::{Report, Statistic, render_summary};
use resim::scenario::load_str;
use resim::{RunOptions, run_replications};

use crate::common::DIST_KINDS;

// ---------------------------------------------------------------------------------------
// The generated scenario.
// ---------------------------------------------------------------------------------------

/// A distribution of durations; times are in microseconds.
#[derive(Clone, Debug)]
enum Dist {
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
    fn yaml(&self) -> String {
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
    fn continuous(&self) -> bool {
        match self {
            Dist::Constant(_) | Dist::Empirical(_) => false,
            Dist::Mixture(parts) => parts.iter().any(|(_, d)| d.continuous()),
            _ => true,
        }
    }

    /// Has a mean the engine knows in closed form (what `shed: queue_time` needs).
    fn known_mean(&self) -> bool {
        matches!(self, Dist::Exponential(_) | Dist::Constant(_) | Dist::Uniform(..) | Dist::Empirical(_))
    }

    /// A constant of the same scale, rounded to one significant digit (`lockstep` cases).
    fn rounded(&self) -> Dist {
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

fn leaf_dist(lo: u32, hi: u32) -> impl Strategy<Value = Dist> {
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
fn dist(lo: u32, hi: u32) -> impl Strategy<Value = Dist> {
    prop_oneof![
        5 => leaf_dist(lo, hi),
        1 => vec((0.1f64..10.0, leaf_dist(lo, hi)), 2..=3).prop_map(Dist::Mixture),
    ]
}

#[derive(Clone, Debug)]
enum Backoff {
    None,
    Fixed(u32),
    Linear(u32, u32),
    /// base ms, multiplier, cap - base ms.
    Exponential(u32, f64, u32),
}

#[derive(Clone, Debug)]
enum Jitter {
    None,
    Full,
    Equal,
    Decorrelated,
    Proportional(f64),
}

#[derive(Clone, Debug)]
enum Budget {
    Ratio(f64, Option<f64>, Option<u32>),
    Active(f64, Option<u32>),
}

#[derive(Clone, Debug)]
struct Retry {
    preset: Option<usize>,
    max_attempts: Option<u32>,
    backoff: Option<Backoff>,
    jitter: Option<Jitter>,
    retry_on: Option<Vec<usize>>,
    budget: Option<Budget>,
}

const OUTCOME_KINDS: [&str; 4] = ["error", "timeout", "rejected", "short_circuited"];
const PRESETS: [&str; 5] = ["envoy", "resilience4j", "finagle", "grpc", "aws_sdk"];

fn kinds_yaml(list: &[usize]) -> String {
    let names: Vec<&str> = list.iter().map(|&k| OUTCOME_KINDS[k % 4]).collect();
    format!("[{}]", names.join(", "))
}

impl Retry {
    fn yaml(&self) -> String {
        let mut m = Map::default();
        m.opt("preset", self.preset.map(|p| PRESETS[p % PRESETS.len()].to_owned()));
        m.opt("max_attempts", self.max_attempts);
        m.opt(
            "backoff",
            self.backoff.as_ref().map(|b| match b {
                Backoff::None => "none".to_owned(),
                Backoff::Fixed(d) => format!("{{ fixed: {{ delay: {d}ms }} }}"),
                Backoff::Linear(b, s) => format!("{{ linear: {{ base: {b}ms, step: {s}ms }} }}"),
                Backoff::Exponential(b, k, c) => {
                    format!("{{ exponential: {{ base: {b}ms, multiplier: {k:.2}, cap: {}ms }} }}", b + c)
                }
            }),
        );
        m.opt(
            "jitter",
            self.jitter.as_ref().map(|j| match j {
                Jitter::None => "none".to_owned(),
                Jitter::Full => "full".to_owned(),
                Jitter::Equal => "equal".to_owned(),
                Jitter::Decorrelated => "decorrelated".to_owned(),
                Jitter::Proportional(f) => format!("{{ proportional: {{ fraction: {f:.3} }} }}"),
            }),
        );
        m.opt("retry_on", self.retry_on.as_deref().map(kinds_yaml));
        m.opt(
            "budget",
            self.budget.as_ref().map(|b| match b {
                Budget::Ratio(r, min, ttl) => {
                    let mut b = Map::default();
                    b.put("ratio", format!("{r:.3}"));
                    b.opt("min_per_s", min.map(|x| format!("{x:.2}")));
                    b.opt("ttl", ttl.map(|t| format!("{t}ms")));
                    b.yaml()
                }
                Budget::Active(p, min) => {
                    let mut b = Map::default();
                    b.put("percent_of_active", format!("{p:.3}"));
                    b.opt("min_concurrency", *min);
                    b.yaml()
                }
            }),
        );
        m.yaml()
    }
}

fn retry() -> impl Strategy<Value = Retry> {
    let backoff = prop_oneof![
        Just(Backoff::None),
        (0u32..200).prop_map(Backoff::Fixed),
        (0u32..100, 0u32..100).prop_map(|(b, s)| Backoff::Linear(b, s)),
        (1u32..100, 1.0f64..4.0, 0u32..500).prop_map(|(b, k, c)| Backoff::Exponential(b, k, c)),
    ];
    let jitter = prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        Just(Jitter::Decorrelated),
        (0.0f64..1.0).prop_map(Jitter::Proportional),
    ];
    let budget = prop_oneof![
        (0.0f64..1.0, weighted(0.5, 0.0f64..20.0), weighted(0.5, 100u32..20_000))
            .prop_map(|(r, m, t)| Budget::Ratio(r, m, t)),
        (0.0f64..1.0, weighted(0.5, 0u32..5)).prop_map(|(p, m)| Budget::Active(p, m)),
    ];
    (
        weighted(0.2, 0usize..5),
        weighted(0.7, 1u32..=3),
        weighted(0.6, backoff),
        weighted(0.5, jitter),
        weighted(0.3, vec(0usize..4, 0..4)),
        weighted(0.3, budget),
    )
        .prop_map(|(preset, max_attempts, backoff, jitter, retry_on, budget)| Retry {
            preset,
            max_attempts,
            backoff,
            jitter,
            retry_on,
            budget,
        })
}

#[derive(Clone, Debug)]
struct Window {
    size: Option<u32>,
    failure_rate: Option<f64>,
    slow_call_rate: Option<f64>,
    slow_call_ms: Option<u32>,
    minimum_calls: Option<u32>,
    half_open_calls: Option<u32>,
    open_for_ms: Option<u32>,
    automatic: Option<bool>,
    max_wait_half_open_ms: Option<u32>,
}

#[derive(Clone, Debug)]
enum BreakerKind {
    /// failures, successes, open_for ms, half-open calls.
    Consecutive(Option<u32>, Option<u32>, Option<u32>, Option<u32>),
    CountWindow(Window),
    TimeWindow(Window),
}

#[derive(Clone, Debug)]
struct Breaker {
    preset: bool,
    kind: Option<BreakerKind>,
    failure_on: Option<Vec<usize>>,
}

impl Breaker {
    fn yaml(&self) -> String {
        let window = |w: &Window| {
            let mut m = Map::default();
            m.opt("size", w.size);
            m.opt("failure_rate", w.failure_rate.map(|x| format!("{x:.1}")));
            m.opt("slow_call_rate", w.slow_call_rate.map(|x| format!("{x:.1}")));
            m.opt("slow_call_duration", w.slow_call_ms.map(|x| format!("{x}ms")));
            m.opt("minimum_calls", w.minimum_calls);
            m.opt("half_open_calls", w.half_open_calls);
            m.opt("open_for", w.open_for_ms.map(|x| format!("{x}ms")));
            m.opt("automatic_transition", w.automatic);
            m.opt("max_wait_in_half_open", w.max_wait_half_open_ms.map(|x| format!("{x}ms")));
            m.yaml()
        };
        let mut m = Map::default();
        // A breaker needs a kind or the preset.
        if self.preset || self.kind.is_none() {
            m.put("preset", "resilience4j");
        }
        match &self.kind {
            None => {}
            Some(BreakerKind::Consecutive(f, s, o, h)) => {
                let mut c = Map::default();
                c.opt("failures", *f);
                c.opt("successes", *s);
                c.opt("open_for", o.map(|x| format!("{x}ms")));
                c.opt("half_open_calls", *h);
                m.put("consecutive", c.yaml());
            }
            Some(BreakerKind::CountWindow(w)) => m.put("count_window", window(w)),
            Some(BreakerKind::TimeWindow(w)) => m.put("time_window", window(w)),
        }
        m.opt("failure_on", self.failure_on.as_deref().map(kinds_yaml));
        m.yaml()
    }
}

fn breaker() -> impl Strategy<Value = Breaker> {
    let window = (
        weighted(0.5, 1u32..50),
        weighted(0.5, 1.0f64..100.0),
        weighted(0.3, 1.0f64..100.0),
        weighted(0.3, 1u32..500),
        weighted(0.5, 1u32..30),
        weighted(0.3, 1u32..5),
        weighted(0.5, 100u32..10_000),
        weighted(0.3, any::<bool>()),
        weighted(0.2, 0u32..5_000),
    )
        .prop_map(|(size, fr, sr, sd, mc, ho, of, auto, mw)| Window {
            size,
            failure_rate: fr,
            slow_call_rate: sr,
            slow_call_ms: sd,
            minimum_calls: mc,
            half_open_calls: ho,
            open_for_ms: of,
            automatic: auto,
            max_wait_half_open_ms: mw,
        });
    let kind = prop_oneof![
        (weighted(0.7, 1u32..6), weighted(0.5, 1u32..4), weighted(0.7, 100u32..10_000), weighted(0.3, 1u32..4))
            .prop_map(|(f, s, o, h)| BreakerKind::Consecutive(f, s, o, h)),
        window.clone().prop_map(BreakerKind::CountWindow),
        window.prop_map(BreakerKind::TimeWindow),
    ];
    (any::<bool>(), weighted(0.85, kind), weighted(0.3, vec(0usize..4, 0..4)))
        .prop_map(|(preset, kind, failure_on)| Breaker { preset, kind, failure_on })
}

#[derive(Clone, Debug)]
struct Hedge {
    /// A fixed delay in ms, or else a percentile.
    delay_ms: Option<u32>,
    percentile: f64,
    max: Option<u32>,
    cancel: bool,
}

#[derive(Clone, Debug)]
struct Fallback {
    cache: bool,
    value: Option<f64>,
    latency_ms: Option<u32>,
}

/// The policies of one call site.
#[derive(Clone, Debug)]
struct Policies {
    timeout_ms: Option<u32>,
    deadline_fraction: Option<f64>,
    retry: Option<Retry>,
    breaker: Option<Breaker>,
    /// rate per second, burst.
    rate_limit: Option<(f64, Option<u32>)>,
    /// max concurrent, max wait ms.
    bulkhead: Option<(u32, Option<u32>)>,
    fallback: Option<Fallback>,
    hedge: Option<Hedge>,
    degraded_value: Option<f64>,
}

#[derive(Clone, Debug)]
struct Call {
    /// Raw callee choice, resolved to a service after the caller.
    to: usize,
    optional: bool,
    probability: Option<f64>,
    policies: Policies,
}

fn policies() -> impl Strategy<Value = Policies> {
    let hedge = (weighted(0.6, 1u32..100), 0.05f64..0.99, weighted(0.5, 1u32..=2), any::<bool>())
        .prop_map(|(delay_ms, percentile, max, cancel)| Hedge { delay_ms, percentile, max, cancel });
    let fallback = (any::<bool>(), weighted(0.6, 0.0f64..1.0), weighted(0.5, 0u32..20))
        .prop_map(|(cache, value, latency_ms)| Fallback { cache, value, latency_ms });
    (
        weighted(0.35, 1u32..500),
        weighted(0.15, 0.05f64..1.0),
        weighted(0.3, retry()),
        weighted(0.25, breaker()),
        weighted(0.15, (1.0f64..200.0, weighted(0.5, 1u32..20))),
        weighted(0.2, (1u32..10, weighted(0.5, 0u32..50))),
        weighted(0.2, fallback),
        weighted(0.15, hedge),
        weighted(0.1, 0.0f64..1.0),
    )
        .prop_map(
            |(timeout_ms, deadline_fraction, retry, breaker, rate_limit, bulkhead, fallback, hedge, degraded_value)| {
                Policies {
                    timeout_ms,
                    deadline_fraction,
                    retry,
                    breaker,
                    rate_limit,
                    bulkhead,
                    fallback,
                    hedge,
                    degraded_value,
                }
            },
        )
}

fn call() -> impl Strategy<Value = Call> {
    (any::<usize>(), prop::bool::weighted(0.3), weighted(0.3, 0.0f64..=1.0), policies())
        .prop_map(|(to, optional, probability, policies)| Call { to, optional, probability, policies })
}

#[derive(Clone, Debug)]
enum Step {
    One(Box<Call>),
    Parallel(Vec<Call>),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![3 => call().prop_map(|c| Step::One(Box::new(c))), 1 => vec(call(), 1..=3).prop_map(Step::Parallel)]
}

#[derive(Clone, Debug)]
struct Pool {
    servers: u32,
    capacity_extra: Option<u32>,
    borrow: bool,
}

#[derive(Clone, Debug)]
struct Pools {
    pools: Vec<Pool>,
    /// Pool 0 takes every class no other pool lists.
    catch_all: bool,
    /// Raw owner of each request class (the pool index, or none when out of range).
    owners: [usize; 3],
}

#[derive(Clone, Debug)]
enum Shed {
    QueueLength(u32),
    QueueTime(u32),
    Codel(Option<u32>, Option<u32>),
}

#[derive(Clone, Debug)]
struct Limit {
    gradient: bool,
    min: u32,
    initial_extra: u32,
    max_extra: u32,
    /// backoff_ratio (aimd) or smoothing (gradient).
    a: Option<f64>,
    /// timeout ms (aimd) or rtt_tolerance × 100 (gradient).
    b: Option<u32>,
}

#[derive(Clone, Debug)]
struct Level {
    value: f64,
    disable_optional: Option<bool>,
    error_rate: Option<f64>,
    p99_ms: Option<u32>,
    utilization: Option<f64>,
    /// Exit thresholds are enter × this (hysteresis).
    exit_factor: f64,
}

#[derive(Clone, Debug)]
struct Degradation {
    interval_ms: Option<u32>,
    min_dwell_ms: Option<u32>,
    levels: Option<Vec<Level>>,
}

#[derive(Clone, Debug)]
struct ServerPolicies {
    pools: Option<Pools>,
    rate_limit: Option<(f64, Option<u32>)>,
    shed: Option<Shed>,
    limit: Option<Limit>,
    degradation: Option<Degradation>,
    deadline_propagation: bool,
}

fn server_policies() -> impl Strategy<Value = ServerPolicies> {
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
enum Outlier {
    Empty,
    Preset,
    Keys(Option<u32>, Option<u32>, Option<f64>),
}

/// Interval ms, timeout ms, unhealthy threshold, healthy threshold.
type HealthCheck = (Option<u32>, Option<u32>, Option<u32>, Option<u32>);

/// Active-active, heartbeat ms, missed, shift back ms.
type Failover = (bool, Option<u32>, Option<u32>, Option<u32>);

#[derive(Clone, Debug)]
struct Recovery {
    zones: Option<usize>,
    prefer_local_zone: bool,
    health_check: Option<HealthCheck>,
    outlier: Option<Outlier>,
    failover: Option<Failover>,
}

fn recovery() -> impl Strategy<Value = Recovery> {
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
struct Service {
    servers: u32,
    capacity_extra: Option<u32>,
    instances: u32,
    balancer: usize,
    service_time: Dist,
    steps: Vec<Step>,
    /// Raw target, probability.
    routes: Vec<(usize, f64)>,
    server: ServerPolicies,
    recovery: Recovery,
}

const BALANCERS: [&str; 4] = ["round_robin", "random", "least_outstanding", "power_of_two"];

fn service() -> impl Strategy<Value = Service> {
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
enum Arrivals {
    Rate(f64),
    /// Points: seconds after the previous point (the first: after 0), rate, ramp.
    Profile(Vec<(u32, f64, bool)>),
    Closed(u32, Dist),
}

#[derive(Clone, Debug)]
struct Workload {
    target: usize,
    arrivals: Arrivals,
    class: Option<usize>,
    zone: Option<usize>,
    deadline_ms: Option<u32>,
}

const CLASSES: [&str; 3] = ["default", "gold", "bulk"];

fn workload() -> impl Strategy<Value = Workload> {
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
enum Schedule {
    /// at ms, for ms.
    Window(u32, u32),
    /// mtbf ms, mttr ms, Weibull onset shape.
    Random(u32, u32, Option<f64>),
}

#[derive(Clone, Debug)]
enum Add {
    Fixed(u32),
    Dist(Dist),
}

/// A fault; every kind's keys are drawn, and those of the resolved kind are written.
#[derive(Clone, Debug)]
struct Fault {
    kind: usize,
    /// Target mode (service, instance, zone) and two raw choices.
    target: (usize, usize, usize),
    schedule: Schedule,
    enabled: bool,
    add: Option<Add>,
    multiply: Option<f64>,
    probability: f64,
    partial_degraded: Option<bool>,
    value: Option<f64>,
    cold_start: Option<(f64, u32)>,
    servers: Option<u32>,
    factor: Option<f64>,
    refuse: Option<bool>,
}

const FAULT_KINDS: [&str; 9] =
    ["latency", "error", "partial", "crash", "zone_outage", "capacity", "partition", "spike", "ramp"];

fn fault() -> impl Strategy<Value = Fault> {
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
struct Case {
    duration_s: u32,
    warmup_s: u32,
    replications: u32,
    seed: u64,
    window_ms: Option<u32>,
    services: Vec<Service>,
    workloads: Vec<Workload>,
    faults: Vec<Fault>,
    /// Every service and think time a round constant: events coincide (ties in the event
    /// queue, completions exactly at the end of the run).
    lockstep: bool,
}

/// Every scenario the generator writes, routes back into crashing instances included (the
/// trigger of [`CRASH_WITH_A_ROUTE_BACK`]).
fn case() -> impl Strategy<Value = Case> {
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

// ---------------------------------------------------------------------------------------
// Writing it as YAML, and what the checks need to know about it.
// ---------------------------------------------------------------------------------------

/// A YAML flow mapping being built.
#[derive(Default)]
struct Map(Vec<(&'static str, String)>);

impl Map {
    fn put(&mut self, key: &'static str, value: impl ToString) {
        self.0.push((key, value.to_string()));
    }
    fn opt(&mut self, key: &'static str, value: Option<impl ToString>) {
        if let Some(v) = value {
            self.put(key, v);
        }
    }
    fn yaml(&self) -> String {
        if self.0.is_empty() {
            return "{}".into();
        }
        let items: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("{{ {} }}", items.join(", "))
    }
}

/// What the checks need to know about a service.
#[derive(Clone, Debug, Default)]
struct ServiceMeta {
    /// Most requests inside all its instances; `None` when some pool is unbounded.
    bound: Option<f64>,
    /// Its service time is drawn from a continuous law.
    continuous: bool,
    /// CoDel sheds at dequeue (counted in `dropped`, not `rejected`).
    codel: bool,
    /// Some route leads to it.
    routed_into: bool,
}

#[derive(Clone, Debug)]
struct WorkloadMeta {
    target: String,
    users: Option<u32>,
}

/// Which policies some call site of an edge declares.
#[derive(Clone, Debug, Default)]
struct EdgeMeta {
    retry: bool,
    hedge: bool,
    breaker: bool,
    rate_limit: bool,
    bulkhead: bool,
    fallback: bool,
}

#[derive(Clone, Debug, Default)]
struct Meta {
    warmup_s: f64,
    duration_s: f64,
    services: BTreeMap<String, ServiceMeta>,
    workloads: BTreeMap<String, WorkloadMeta>,
    edges: BTreeMap<String, EdgeMeta>,
    /// Some enabled fault crashes instances (calls of lost callers are dropped unanswered).
    crashes: bool,
    /// Some route leads to the service itself or to an earlier one (which may call it).
    route_back: bool,
}

fn ms(x: u32) -> String {
    format!("{x}ms")
}

impl Case {
    /// The scenario as YAML text, and what the checks need to know about it.
    fn render(&self) -> (String, Meta) {
        let n = self.services.len();
        let name = |i: usize| format!("s{i}");
        let mut meta =
            Meta { warmup_s: f64::from(self.warmup_s), duration_s: f64::from(self.duration_s), ..Meta::default() };
        let mut routed_into = BTreeSet::new();
        let zone_names = ["a", "b", "c"];
        let mut all_zones: Vec<&str> =
            self.services.iter().filter_map(|s| s.recovery.zones).flat_map(|z| zone_names[..z].to_vec()).collect();
        all_zones.sort_unstable();
        all_zones.dedup();
        // Zones some instance is in (instance i in zone i mod n): what a fault may target.
        let mut populated: Vec<&str> = self
            .services
            .iter()
            .filter_map(|s| s.recovery.zones.map(|z| (z, s.instances as usize)))
            .flat_map(|(z, i)| zone_names[..z.min(i)].to_vec())
            .collect();
        populated.sort_unstable();
        populated.dedup();
        let class_of = |w: &Workload| CLASSES[w.class.unwrap_or(0)];
        let mut classes: Vec<&str> = self.workloads.iter().map(class_of).collect();
        classes.sort_unstable();
        classes.dedup();

        let mut y = String::new();
        let _ = writeln!(y, "name: generated");
        let _ = writeln!(y, "duration: {}s", self.duration_s);
        let _ = writeln!(y, "warmup: {}s", self.warmup_s);
        let _ = writeln!(y, "replications: {}", self.replications);
        let _ = writeln!(y, "seed: {}", self.seed);
        if let Some(w) = self.window_ms {
            let _ = writeln!(y, "window: {}", ms(w));
        }
        let _ = writeln!(y, "services:");
        // Edges in the order the validator meets them; only the first call site of an edge
        // declares the edge's shared policies (breaker, limiter, bulkhead).
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for (i, s) in self.services.iter().enumerate() {
            let _ = writeln!(y, "  {}:", name(i));
            let mut bound = None;
            match &s.server.pools {
                None => {
                    let _ = writeln!(y, "    servers: {}", s.servers);
                    if let Some(k) = s.capacity_extra {
                        let _ = writeln!(y, "    capacity: {}", s.servers + k);
                        bound = Some(f64::from((s.servers + k) * s.instances));
                    }
                }
                Some(p) => {
                    let _ = writeln!(y, "    pools:");
                    let caps: Option<u32> = p.pools.iter().map(|q| q.capacity_extra.map(|k| q.servers + k)).sum();
                    bound = caps.map(|c| f64::from(c * s.instances));
                    for (k, q) in p.pools.iter().enumerate() {
                        let mut m = Map::default();
                        m.put("servers", q.servers);
                        m.opt("capacity", q.capacity_extra.map(|e| q.servers + e));
                        if !(k == 0 && p.catch_all) {
                            let owned: Vec<&str> = classes
                                .iter()
                                .enumerate()
                                .filter(|&(c, _)| p.owners[c % 3] % (p.pools.len() + 1) == k)
                                .map(|(_, name)| *name)
                                .collect();
                            m.put("classes", format!("[{}]", owned.join(", ")));
                        }
                        if q.borrow {
                            m.put("borrow", true);
                        }
                        let _ = writeln!(y, "      p{k}: {}", m.yaml());
                    }
                }
            }
            let _ = writeln!(y, "    instances: {}", s.instances);
            let _ = writeln!(y, "    load_balancer: {}", BALANCERS[s.balancer % 4]);
            let service_time = if self.lockstep { s.service_time.rounded() } else { s.service_time.clone() };
            let _ = writeln!(y, "    service_time: {}", service_time.yaml());
            if let Some(z) = s.recovery.zones {
                let _ = writeln!(y, "    zones: [{}]", zone_names[..z].join(", "));
                if s.recovery.prefer_local_zone {
                    let _ = writeln!(y, "    prefer_local_zone: true");
                }
            }
            if s.server.deadline_propagation {
                let _ = writeln!(y, "    deadline_propagation: true");
            }
            if i + 1 < n && !s.steps.is_empty() {
                let _ = writeln!(y, "    calls:");
                for st in &s.steps {
                    let mut one = |c: &Call| {
                        let j = i + 1 + c.to % (n - i - 1);
                        let first = !edges.contains(&(i, j));
                        if first {
                            edges.push((i, j));
                        }
                        let e = meta.edges.entry(format!("{}->{}", name(i), name(j))).or_default();
                        render_call(c, &name(j), first, e)
                    };
                    match st {
                        Step::One(c) => {
                            let _ = writeln!(y, "      - {}", one(c));
                        }
                        Step::Parallel(cs) => {
                            let _ = writeln!(y, "      - parallel:");
                            for c in cs {
                                let _ = writeln!(y, "          - {}", one(c));
                            }
                        }
                    }
                }
            }
            let routes: Vec<(usize, f64)> = s.routes.iter().map(|&(to, p)| (to % n, p)).collect();
            // A route to itself or an earlier service can bring a callee's request back into
            // an instance its caller is inside.
            meta.route_back |= routes.iter().any(|&(to, _)| to <= i);
            if !routes.is_empty() {
                let _ = writeln!(y, "    routes:");
                for (to, p) in &routes {
                    let _ = writeln!(y, "      - {{ to: {}, probability: {p:.3} }}", name(*to));
                    routed_into.insert(*to);
                }
            }
            if let Some((rate, burst)) = s.server.rate_limit {
                let mut m = Map::default();
                m.put("rate", format!("{rate:.2}/s"));
                m.opt("burst", burst);
                let _ = writeln!(y, "    rate_limit: {}", m.yaml());
            }
            let mut codel = false;
            if let Some(shed) = &s.server.shed {
                let text = match shed {
                    Shed::QueueTime(w) if service_time.known_mean() => {
                        format!("{{ queue_time: {{ max_wait: {} }} }}", ms(*w))
                    }
                    Shed::QueueLength(max) | Shed::QueueTime(max) => format!("{{ queue_length: {{ max: {max} }} }}"),
                    Shed::Codel(t, i) => {
                        codel = true;
                        let mut m = Map::default();
                        m.opt("target", t.map(ms));
                        m.opt("interval", i.map(ms));
                        format!("{{ codel: {} }}", m.yaml())
                    }
                };
                let _ = writeln!(y, "    shed: {text}");
            }
            if let Some(l) = &s.server.limit {
                let mut m = Map::default();
                m.put("initial", l.min + l.initial_extra);
                m.put("min", l.min);
                m.put("max", l.min + l.initial_extra + l.max_extra);
                if l.gradient {
                    m.opt("smoothing", l.a.map(|a| format!("{a:.3}")));
                    m.opt("rtt_tolerance", l.b.map(|b| format!("{:.2}", 1.0 + f64::from(b % 300) / 100.0)));
                    let _ = writeln!(y, "    concurrency_limit: {{ gradient: {} }}", m.yaml());
                } else {
                    m.opt("backoff_ratio", l.a.map(|a| format!("{a:.3}")));
                    m.opt("timeout", l.b.map(ms));
                    let _ = writeln!(y, "    concurrency_limit: {{ aimd: {} }}", m.yaml());
                }
            }
            if let Some(d) = &s.server.degradation {
                let mut m = Map::default();
                m.opt("interval", d.interval_ms.map(ms));
                m.opt("min_dwell", d.min_dwell_ms.map(ms));
                if let Some(levels) = &d.levels {
                    let mut items = vec!["{ name: full, value: 1 }".to_owned()];
                    for (k, l) in levels.iter().enumerate() {
                        let mut lm = Map::default();
                        lm.put("name", format!("level{k}"));
                        lm.put("value", format!("{:.3}", l.value));
                        lm.opt("disable_optional", l.disable_optional);
                        let (mut enter, mut exit) = (Map::default(), Map::default());
                        if let Some(e) = l.error_rate {
                            enter.put("error_rate", format!("{e:.4}"));
                            exit.put("error_rate", format!("{:.4}", e * l.exit_factor));
                        }
                        if let Some(p) = l.p99_ms {
                            enter.put("p99", ms(p));
                            exit.put("p99", ms((f64::from(p) * l.exit_factor) as u32));
                        }
                        if let Some(u) = l.utilization {
                            enter.put("utilization", format!("{u:.4}"));
                            exit.put("utilization", format!("{:.4}", u * l.exit_factor));
                        }
                        if !enter.0.is_empty() {
                            lm.put("enter", enter.yaml());
                            lm.put("exit", exit.yaml());
                        }
                        items.push(lm.yaml());
                    }
                    m.put("levels", format!("[{}]", items.join(", ")));
                }
                let _ = writeln!(y, "    degradation: {}", m.yaml());
            }
            if let Some((interval, timeout, unhealthy, healthy)) = s.recovery.health_check {
                let mut m = Map::default();
                m.opt("interval", interval.map(ms));
                m.opt("timeout", timeout.map(ms));
                m.opt("unhealthy_threshold", unhealthy);
                m.opt("healthy_threshold", healthy);
                let _ = writeln!(y, "    health_check: {}", m.yaml());
            }
            if let Some(o) = &s.recovery.outlier {
                let text = match o {
                    Outlier::Empty => "{}".to_owned(),
                    Outlier::Preset => "{ preset: envoy }".to_owned(),
                    Outlier::Keys(c, b, p) => {
                        let mut m = Map::default();
                        m.opt("consecutive_errors", *c);
                        m.opt("base_ejection_time", b.map(ms));
                        m.opt("max_ejection_percent", p.map(|p| format!("{p:.1}")));
                        m.yaml()
                    }
                };
                let _ = writeln!(y, "    outlier_ejection: {text}");
            }
            if let Some((active_active, heartbeat, missed, shift_back)) = s.recovery.failover
                && s.instances >= 2
            {
                let mut m = Map::default();
                m.opt("heartbeat", heartbeat.map(ms));
                m.opt("missed", missed);
                if active_active {
                    m.opt("shift_back", shift_back.map(ms));
                }
                let kind = if active_active { "active_active" } else { "active_passive" };
                let _ = writeln!(y, "    failover: {{ {kind}: {} }}", m.yaml());
            }
            meta.services.insert(
                name(i),
                ServiceMeta { bound, continuous: service_time.continuous(), codel, routed_into: false },
            );
        }
        for to in routed_into {
            if let Some(m) = meta.services.get_mut(&name(to)) {
                m.routed_into = true;
            }
        }

        let _ = writeln!(y, "workloads:");
        let mut poisson = Vec::new();
        for (k, w) in self.workloads.iter().enumerate() {
            let mut m = Map::default();
            m.put("name", format!("w{k}"));
            m.put("target", name(w.target % n));
            let mut users = None;
            let arrivals = match &w.arrivals {
                Arrivals::Rate(r) => {
                    poisson.push(k);
                    format!("{{ poisson: {{ rate: {r:.3}/s }} }}")
                }
                Arrivals::Profile(points) => {
                    poisson.push(k);
                    let mut at = 0;
                    let items: Vec<String> = points
                        .iter()
                        .enumerate()
                        .map(|(p, &(gap, rate, ramp))| {
                            // Strictly increasing times: gaps after the first are at least 1 s.
                            at += if p == 0 { gap } else { gap.max(1) };
                            let ramp = if ramp && p > 0 { ", ramp: true" } else { "" };
                            format!("{{ at: {at}s, rate: {rate:.3}/s{ramp} }}")
                        })
                        .collect();
                    format!("{{ poisson: {{ profile: [{}] }} }}", items.join(", "))
                }
                Arrivals::Closed(u, think) => {
                    users = Some(*u);
                    let think = if self.lockstep { think.rounded() } else { think.clone() };
                    format!("{{ closed: {{ users: {u}, think_time: {} }} }}", think.yaml())
                }
            };
            m.put("arrivals", arrivals);
            m.opt("class", w.class.map(|c| CLASSES[c]));
            if !all_zones.is_empty() {
                m.opt("zone", w.zone.map(|z| all_zones[z % all_zones.len()]));
            }
            m.opt("deadline", w.deadline_ms.map(ms));
            let _ = writeln!(y, "  - {}", m.yaml());
            meta.workloads.insert(format!("w{k}"), WorkloadMeta { target: name(w.target % n), users });
        }

        if !self.faults.is_empty() {
            let _ = writeln!(y, "faults:");
        }
        for f in &self.faults {
            let mut kind = f.kind % FAULT_KINDS.len();
            if kind == 4 && populated.is_empty() {
                kind = 3;
            }
            if kind == 6 && edges.is_empty() {
                kind = 0;
            }
            if (kind == 7 || kind == 8) && poisson.is_empty() {
                kind = 1;
            }
            let mut m = Map::default();
            m.put("kind", FAULT_KINDS[kind]);
            let (mode, a, b) = f.target;
            let target = match kind {
                4 => format!("zone:{}", populated[a % populated.len()]),
                6 => {
                    let (i, j) = edges[a % edges.len()];
                    format!("{}->{}", name(i), name(j))
                }
                7 | 8 => format!("w{}", poisson[a % poisson.len()]),
                _ => match mode {
                    1 => {
                        let s = a % n;
                        format!("{}#{}", name(s), b % self.services[s].instances as usize)
                    }
                    2 if !populated.is_empty() => format!("zone:{}", populated[a % populated.len()]),
                    _ => name(a % n),
                },
            };
            m.put("target", format!("\"{target}\""));
            match (&f.schedule, kind) {
                (Schedule::Window(at, dur), _) => {
                    m.put("at", ms(*at % (self.duration_s * 1000)));
                    m.put("for", ms(*dur));
                }
                // Load faults need a window.
                (Schedule::Random(up, down, _), 7 | 8) => {
                    m.put("at", ms(*up % (self.duration_s * 1000)));
                    m.put("for", ms(*down));
                }
                (Schedule::Random(up, down, shape), _) => {
                    m.put("mtbf", ms(*up));
                    m.put("mttr", ms(*down));
                    m.opt("onset", shape.map(|k| format!("{{ weibull: {{ shape: {k:.2} }} }}")));
                }
            }
            if !f.enabled {
                m.put("enabled", false);
            }
            match kind {
                0 => {
                    m.opt(
                        "add",
                        f.add.as_ref().map(|a| match a {
                            Add::Fixed(us) => format!("{us}us"),
                            Add::Dist(d) => d.yaml(),
                        }),
                    );
                    if f.add.is_none() || f.multiply.is_some() {
                        m.put("multiply", format!("{:.3}", f.multiply.unwrap_or(2.0)));
                    }
                }
                1 => m.put("probability", format!("{:.3}", f.probability)),
                2 => {
                    m.put("probability", format!("{:.3}", f.probability));
                    match f.partial_degraded {
                        Some(true) => {
                            m.put("as", "degraded");
                            m.opt("value", f.value.map(|v| format!("{v:.3}")));
                        }
                        Some(false) => m.put("as", "error"),
                        None => {}
                    }
                }
                3 | 4 => {
                    m.opt("cold_start", f.cold_start.map(|(k, d)| format!("{{ factor: {k:.2}, for: {} }}", ms(d))));
                    meta.crashes |= f.enabled;
                }
                5 => {
                    m.opt("servers", f.servers);
                    if f.servers.is_none() || f.factor.is_some() {
                        m.put("factor", format!("{:.3}", f.factor.unwrap_or(0.5)));
                    }
                }
                6 => m.opt("mode", f.refuse.map(|r| if r { "refuse" } else { "timeout" })),
                _ => m.opt("factor", f.factor.map(|x| format!("{:.3}", x * 10.0))),
            }
            let _ = writeln!(y, "  - {}", m.yaml());
        }
        (y, meta)
    }
}

/// One call site; `first` is the first site of its edge, the only one that may declare
/// the edge's shared policies.
fn render_call(c: &Call, to: &str, first: bool, edge: &mut EdgeMeta) -> String {
    let p = &c.policies;
    let mut m = Map::default();
    m.put("to", to);
    if c.optional {
        m.put("optional", true);
    }
    m.opt("probability", c.probability.map(|x| format!("{x:.3}")));
    m.opt("timeout", p.timeout_ms.map(ms));
    m.opt("deadline_fraction", p.deadline_fraction.map(|x| format!("{x:.3}")));
    if let Some(r) = &p.retry {
        m.put("retry", r.yaml());
        edge.retry = true;
    }
    if first {
        if let Some(b) = &p.breaker {
            m.put("breaker", b.yaml());
            edge.breaker = true;
        }
        if let Some((rate, burst)) = p.rate_limit {
            let mut r = Map::default();
            r.put("rate", format!("{rate:.2}/s"));
            r.opt("burst", burst);
            m.put("rate_limit", r.yaml());
            edge.rate_limit = true;
        }
        if let Some((max, wait)) = p.bulkhead {
            let mut b = Map::default();
            b.put("max_concurrent", max);
            b.opt("max_wait", wait.map(ms));
            m.put("bulkhead", b.yaml());
            edge.bulkhead = true;
        }
    }
    if let Some(f) = &p.fallback {
        let mut v = Map::default();
        v.opt("value", f.value.map(|x| format!("{x:.3}")));
        v.opt("latency", f.latency_ms.map(ms));
        m.put("fallback", format!("{{ {}: {} }}", if f.cache { "cache" } else { "default" }, v.yaml()));
        edge.fallback = true;
    }
    if let Some(h) = &p.hedge {
        let mut v = Map::default();
        match h.delay_ms {
            Some(d) => v.put("delay", ms(d)),
            None => v.put("percentile", format!("{:.3}", h.percentile)),
        }
        v.opt("max", h.max);
        if h.cancel {
            v.put("cancel", true);
        }
        m.put("hedge", v.yaml());
        edge.hedge = true;
    }
    m.opt("degraded_value", p.degraded_value.map(|x| format!("{x:.3}")));
    m.yaml()
}

// ---------------------------------------------------------------------------------------
// Running it.
// ---------------------------------------------------------------------------------------

/// A generated scenario, run: one report per replication and the report of all.
struct Sim {
    yaml: String,
    meta: Meta,
    /// Per replication (exact counts).
    reps: Vec<Report>,
    /// All replications (means).
    all: Report,
}

fn simulate(case: &Case) -> Result<Sim, TestCaseError> {
    let (yaml, meta) = case.render();
    let scenario = load_str(&yaml, Path::new("generated.yaml"), &[]).map_err(|e| {
        TestCaseError::fail(format!("a generated scenario does not load (generator bug?):\n{e}\n{yaml}"))
    })?;
    let summaries = run_replications(&scenario.model, &RunOptions { jobs: Some(1) });
    let reps = summaries.iter().map(|s| Report::build(&scenario.model, std::slice::from_ref(s))).collect();
    let all = Report::build(&scenario.model, &summaries);
    Ok(Sim { yaml, meta, reps, all })
}

/// Turns a failed check into a proptest failure that shows the scenario.
fn verdict(result: Result<(), String>, yaml: &str) -> Result<(), TestCaseError> {
    result.map_err(|e| TestCaseError::fail(format!("{e}\n--- scenario ---\n{yaml}")))
}

/// A count or mean, 0 when undefined.
fn v(s: &Statistic) -> f64 {
    s.mean.unwrap_or(0.0)
}

/// Slack for floating-point rounding: counts are integers (or means of at most two),
/// gauges are integer integrals divided once, so 1e-9 relative is generous.
fn slack(a: f64, b: f64) -> f64 {
    1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what()) }
}

fn le(a: f64, b: f64, what: &str) -> Result<(), String> {
    check(a <= b + slack(a, b), || format!("{what}: {a} > {b}"))
}

fn eq(a: f64, b: f64, what: &str) -> Result<(), String> {
    check((a - b).abs() <= slack(a, b), || format!("{what}: {a} != {b}"))
}

// ---------------------------------------------------------------------------------------
// The invariants. `single` is true for a one-replication report: ratios and products are
// only exact per replication (the mean of a product is not the product of means).
// ---------------------------------------------------------------------------------------

/// Property 2: outcomes add up per workload.
fn workload_outcomes(r: &Report, meta: &Meta, single: bool) -> Result<(), String> {
    let warm = meta.warmup_s > 0.0;
    for (name, w) in &r.workloads {
        let outcomes = [&w.ok, &w.degraded, &w.error, &w.timeout, &w.rejected, &w.short_circuited];
        let sum: f64 = outcomes.iter().map(|s| v(s)).sum();
        eq(
            sum,
            v(&w.requests),
            &format!("workload {name}: ok + degraded + error + timeout + rejected + short_circuited vs requests"),
        )?;
        timeline(name, w, false)?;
        let (arrivals, requests) = (v(&w.arrivals), v(&w.requests));
        if !warm {
            le(requests, arrivals, &format!("workload {name}: requests vs arrivals (no warm-up)"))?;
        }
        // A closed user has at most one request unanswered (a timed-out one is answered).
        if let Some(users) = meta.workloads[name].users {
            le(arrivals - requests, f64::from(users), &format!("workload {name}: unanswered vs users"))?;
            if warm {
                le(
                    requests - arrivals,
                    f64::from(users),
                    &format!("workload {name}: answered before arriving vs users"),
                )?;
            }
        }
        if single {
            let served = v(&w.ok) + v(&w.degraded);
            if requests > 0.0 {
                eq(v(&w.availability), served / requests, &format!("workload {name}: availability"))?;
            }
            let p = &w.latency_s;
            check(p.p50.mean.is_some() == (served > 0.0), || format!("workload {name}: latency defined iff served"))?;
            let qs = [&p.p50, &p.p90, &p.p95, &p.p99, &p.p999];
            for pair in qs.windows(2) {
                le(v(pair[0]), v(pair[1]), &format!("workload {name}: latency percentiles in order"))?;
            }
        }
    }
    Ok(())
}

/// The timeline's windows count the outcomes; `exact` asks for all of them (see
/// [`OUTCOME_AT_THE_END`] for why that fails), otherwise for no more than all of them.
fn timeline(name: &str, w: &resim::report::WorkloadReport, exact: bool) -> Result<(), String> {
    let t = &w.timeline;
    let failed = v(&w.error) + v(&w.timeout) + v(&w.rejected) + v(&w.short_circuited);
    let sums = [
        (t.requests.iter().sum::<f64>(), v(&w.requests), "requests"),
        (t.ok.iter().sum(), v(&w.ok), "ok"),
        (t.degraded.iter().sum(), v(&w.degraded), "degraded"),
        (t.failed.iter().sum(), failed, "failed"),
    ];
    for (windows, total, what) in sums {
        let what = format!("workload {name}: sum of the timeline's {what} vs the count");
        if exact { eq(windows, total, &what)? } else { le(windows, total, &what)? }
    }
    Ok(())
}

/// Requests still inside service `s` at the end, minus those inside at the end of the
/// warm-up: arrivals not accounted for by any way out.
fn in_flight(s: &resim::report::ServiceReport) -> f64 {
    v(&s.arrivals) - (v(&s.completed) + v(&s.dropped) + v(&s.lost) + v(&s.rejected) + v(&s.refused_down))
}

/// Property 3: conservation per service, and the counters that make up `rejected`.
fn service_conservation(r: &Report, meta: &Meta) -> Result<(), String> {
    let warm = meta.warmup_s > 0.0;
    for (name, s) in &r.services {
        let m = &meta.services[name];
        let net = in_flight(s);
        // Without a warm-up nothing was inside at the start, so `net` is what is inside at
        // the end: at least 0, at most the capacity of all instances. With a warm-up it is
        // a difference of two such numbers.
        if !warm {
            le(0.0, net, &format!("service {name}: completed + dropped + lost + rejected + refused_down vs arrivals"))?;
        }
        if let Some(k) = m.bound {
            le(net, k, &format!("service {name}: still inside at the end vs capacity"))?;
            if warm {
                le(-net, k, &format!("service {name}: inside at the warm-up's end vs capacity"))?;
            }
        }
        // Counted at the same instants, so exact whatever the warm-up.
        let pools = |f: &dyn Fn(&resim::report::PoolReport) -> f64| s.pools.values().map(f).sum::<f64>();
        let pool_arrivals = pools(&|p| v(&p.arrivals));
        eq(
            pool_arrivals,
            v(&s.arrivals) - v(&s.rate_limited) - v(&s.no_pool),
            &format!("service {name}: pool arrivals"),
        )?;
        let instance_arrivals: f64 = s.instance_arrivals.iter().map(v).sum();
        eq(instance_arrivals, pool_arrivals, &format!("service {name}: instance arrivals vs pool arrivals"))?;
        eq(pools(&|p| v(&p.completed)), v(&s.completed), &format!("service {name}: pool completions"))?;
        let refused = v(&s.rate_limited) + v(&s.no_pool) + v(&s.concurrency_limited) + pools(&|p| v(&p.rejected));
        if m.codel {
            eq(
                v(&s.rejected),
                refused,
                &format!("service {name}: rejected = rate_limited + no_pool + concurrency_limited + pool rejections"),
            )?;
            le(v(&s.shed), v(&s.dropped), &format!("service {name}: CoDel drops vs dropped"))?;
        } else {
            eq(
                v(&s.rejected),
                refused + v(&s.shed),
                &format!(
                    "service {name}: rejected = rate_limited + no_pool + concurrency_limited + shed + pool rejections"
                ),
            )?;
        }
        le(v(&s.wasted), v(&s.completed), &format!("service {name}: wasted vs completed"))?;
        check(s.instance_arrivals.len() == s.instances as usize, || format!("service {name}: instance_arrivals"))?;
        for (pool, p) in &s.pools {
            if !warm {
                le(
                    v(&p.completed) + v(&p.rejected),
                    v(&p.arrivals),
                    &format!("service {name}: pool {pool} conservation"),
                )?;
            }
            le(v(&p.utilization), 1.0, &format!("service {name}: pool {pool} utilization"))?;
        }
        if let Some(d) = &s.degradation {
            let total: f64 = d.time_in_level_s.values().map(v).sum();
            eq(total, r.duration_s, &format!("service {name}: time in the degradation levels vs duration"))?;
            check((0.0..=1.0 + 1e-9).contains(&v(&d.mean_value)), || {
                format!("service {name}: mean degradation value")
            })?;
        }
        // L = Lq + busy, throughput = completed / T and blocking = rejected / arrivals are
        // how the report computes them, so they are not checked here: Little's law checks
        // L and Lq against the sojourn and wait sums instead (property 4).
        le(v(&s.utilization), 1.0, &format!("service {name}: utilization"))?;
        le(0.0, v(&s.mean_queue_length), &format!("service {name}: Lq"))?;
        // Users' requests enter their target at once.
        let sent: f64 =
            r.workloads.iter().filter(|(w, _)| meta.workloads[*w].target == *name).map(|(_, w)| v(&w.arrivals)).sum();
        le(sent, v(&s.arrivals), &format!("service {name}: workload arrivals vs arrivals"))?;
        // Without routes into it, everything that arrives was sent by a user or a call.
        if !warm && !m.routed_into {
            let called: f64 = r
                .edges
                .iter()
                .filter(|(e, _)| e.ends_with(&format!("->{name}")))
                .map(|(_, e)| v(&e.attempts) + v(&e.hedges))
                .sum();
            le(
                v(&s.arrivals),
                sent + called,
                &format!("service {name}: arrivals vs users' requests + attempts + hedges"),
            )?;
        }
    }
    Ok(())
}

/// Property 4: Little's law per service, exact on a finite horizon.
///
/// Over the measured window [0, T], the area under the number inside, L·T, is the time
/// every request spent inside during the window. `departures_per_s × mean_sojourn_s × T`
/// is S, the whole sojourns of the requests that left during the window. They differ by
/// the requests inside at the end (each adds its time inside so far, at most T, to L·T
/// but nothing to S) and the requests inside at the start that left (each adds its time
/// before the start, at most the warm-up, to S but not to L·T):
///
/// `-N_start × warmup / T <= L - λW <= N_end`.
///
/// Without a warm-up N_start = 0 and N_end is known exactly from the counts (`in_flight`);
/// with one, both are at most the capacity when it is finite, and nothing is claimed when
/// it is not. The remaining slack is only floating-point rounding.
///
/// The same holds for the queue alone, `Lq` against the waits (a request dropped while
/// waiting counts its whole time inside as wait), with the requests waiting at either end,
/// which are among those inside. Not where instances crash: a request lost while waiting
/// is recorded with a wait of 0 (its `started` is its arrival until it starts), which this
/// check found (`generated` scenario: one service, `crash` for 7.4 s, Lq − λWq = 1e-5 with
/// nothing inside at the end).
fn littles_law(r: &Report, meta: &Meta) -> Result<(), String> {
    for (name, s) in &r.services {
        let x = v(&s.departures_per_s);
        let queue = (!meta.crashes).then_some(("Lq - λWq", &s.mean_queue_length, &s.mean_wait_s));
        for (what, l, w) in std::iter::once(("L - λW", &s.mean_in_system, &s.mean_sojourn_s)).chain(queue) {
            let (l, lw) = (v(l), x * v(w));
            let gap = l - lw;
            let what = format!("service {name}: Little's law, {what} = {l} - {lw}");
            if meta.warmup_s == 0.0 {
                le(0.0, gap, &what)?;
                le(gap, in_flight(s), &format!("{what} vs inside at the end"))?;
            } else if let Some(k) = meta.services[name].bound {
                le(-k * meta.warmup_s / meta.duration_s, gap, &what)?;
                le(gap, k, &format!("{what} vs capacity"))?;
            }
        }
    }
    Ok(())
}

/// Property 5: per edge, calls, attempts, retries, hedges and outcomes account for each
/// other.
///
/// The engine counts a call when it starts and its outcome when it ends (a call whose
/// caller was lost in a crash ends with no outcome); an attempt when it starts (the first
/// at once, each retry when its backoff ends), a retry when it is scheduled. So a call
/// has at most one retry counted but not yet started (pending at the end, or dropped with
/// its lost caller), and such a call has no outcome.
fn edge_accounting(r: &Report, meta: &Meta) -> Result<(), String> {
    let warm = meta.warmup_s > 0.0;
    for (name, e) in &r.edges {
        let m = &meta.edges[name];
        let sum = |o: &BTreeMap<&'static str, Statistic>| o.values().map(v).sum::<f64>();
        let (calls, attempts, retries, hedges) = (v(&e.calls), v(&e.attempts), v(&e.retries), v(&e.hedges));
        let (outcomes, attempt_outcomes) = (sum(&e.outcomes), sum(&e.attempt_outcomes));
        let at = |k: &str| e.attempt_outcomes.get(k).map_or(0.0, v);
        let out = |k: &str| e.outcomes.get(k).map_or(0.0, v);
        if !warm {
            le(outcomes, calls, &format!("edge {name}: sum of outcomes vs calls"))?;
            le(calls, attempts, &format!("edge {name}: calls vs attempts"))?;
            le(attempts - calls, retries, &format!("edge {name}: attempts - calls vs retries"))?;
            le(
                retries - (attempts - calls),
                calls - outcomes,
                &format!("edge {name}: retries not started vs calls without an outcome"),
            )?;
            le(attempt_outcomes, attempts, &format!("edge {name}: sum of attempt outcomes vs attempts"))?;
            le(v(&e.abandoned), attempts + hedges, &format!("edge {name}: abandoned vs requests sent"))?;
            if !m.retry {
                eq(attempts, calls, &format!("edge {name}: attempts without retries"))?;
            }
        }
        le(v(&e.fallbacks), out("degraded"), &format!("edge {name}: fallbacks vs degraded"))?;
        le(out("short_circuited"), at("short_circuited"), &format!("edge {name}: short-circuited calls vs attempts"))?;
        if !meta.crashes {
            le(
                v(&e.rate_limited) + v(&e.bulkhead_rejected),
                at("rejected"),
                &format!("edge {name}: limiter and bulkhead refusals vs rejected attempts"),
            )?;
        }
        check(e.breaker.is_some() == m.breaker, || format!("edge {name}: breaker record iff a breaker"))?;
        match &e.breaker {
            Some(b) => {
                let total: f64 = b.time_in_state_s.values().map(v).sum();
                eq(total, r.duration_s, &format!("edge {name}: time in the breaker's states vs duration"))?;
                if !warm {
                    le(v(&b.failures), v(&b.calls_permitted), &format!("edge {name}: breaker failures vs permitted"))?;
                }
                eq(
                    v(&b.calls_permitted) + v(&b.short_circuited),
                    attempts,
                    &format!("edge {name}: breaker permitted + short-circuited vs attempts"),
                )?;
                eq(
                    v(&b.short_circuited),
                    at("short_circuited"),
                    &format!("edge {name}: breaker short-circuits vs attempt outcomes"),
                )?;
            }
            None => eq(at("short_circuited"), 0.0, &format!("edge {name}: short-circuits without a breaker"))?,
        }
        let absent = [
            (m.retry, retries, "retries without retry"),
            (m.hedge, hedges, "hedges without hedge"),
            (m.rate_limit, v(&e.rate_limited), "rate_limited without a rate limit"),
            (m.bulkhead, v(&e.bulkhead_rejected), "bulkhead_rejected without a bulkhead"),
            (m.fallback, v(&e.fallbacks), "fallbacks without a fallback"),
        ];
        for (declared, count, what) in absent {
            if !declared {
                eq(count, 0.0, &format!("edge {name}: {what}"))?;
            }
        }
    }
    Ok(())
}

/// Checks `f` on each replication's report, then (if `linear`) on the report of all.
fn each(sim: &Sim, linear: bool, f: impl Fn(&Report, bool) -> Result<(), String>) -> Result<(), TestCaseError> {
    for (i, r) in sim.reps.iter().enumerate() {
        verdict(f(r, true).map_err(|e| format!("replication {i}: {e}")), &sim.yaml)?;
    }
    if linear {
        verdict(f(&sim.all, false).map_err(|e| format!("all replications: {e}")), &sim.yaml)?;
    }
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        // Minimal failing scenarios go into the failure message (and into a regression
        // test by hand); no files are written next to the sources.
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(20_250_601),
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// 1. A generated scenario loads; running it and rendering its report never panic.
    #[test]
    fn properties_generated_scenarios_load_and_run(case in case()) {
        let sim = simulate(&case)?;
        let json = sim.all.to_json();
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(&json);
        prop_assert!(parsed.is_ok(), "report.json is not JSON\n{}", sim.yaml);
        let _ = render_summary(&sim.all);
        let _ = sim.all.events_jsonl();
        prop_assert_eq!(sim.reps.len(), case.replications as usize);
        for f in &sim.all.faults {
            prop_assert!(
                v(&f.active_s) <= sim.all.duration_s + 1e-9 && (0.0..=1.0 + 1e-9).contains(&v(&f.active_fraction)),
                "fault {} active for {} s of {}\n{}", f.name, v(&f.active_s), sim.all.duration_s, sim.yaml
            );
        }
    }

    /// 2. Per workload: the outcomes add up to `requests`, and `requests <= arrivals`.
    #[test]
    fn properties_workload_outcomes_add_up(case in case()) {
        let sim = simulate(&case)?;
        each(&sim, true, |r, single| workload_outcomes(r, &sim.meta, single))?;
    }

    /// 3. Per service: arrivals are conserved and the refusal counters add up.
    #[test]
    fn properties_service_conservation(case in case()) {
        let sim = simulate(&case)?;
        each(&sim, true, |r, _| service_conservation(r, &sim.meta))?;
    }

    /// 4. Little's law per service, per replication.
    #[test]
    fn properties_littles_law(case in case()) {
        let sim = simulate(&case)?;
        each(&sim, false, |r, _| littles_law(r, &sim.meta))?;
    }

    /// 5. Per edge: calls, attempts, retries and outcomes account for each other.
    #[test]
    fn properties_edge_accounting(case in case()) {
        let sim = simulate(&case)?;
        each(&sim, true, |r, _| edge_accounting(r, &sim.meta))?;
    }

    /// 6. Same scenario: the same bytes on 1 and 2 threads. Another seed: another report,
    /// whenever a continuous service time was drawn at all.
    #[test]
    fn properties_deterministic(case in case()) {
        let (yaml, meta) = case.render();
        let model = load_str(&yaml, Path::new("generated.yaml"), &[])
            .map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?
            .model;
        let one = resim::run(&model, &RunOptions { jobs: Some(1) });
        let two = resim::run(&model, &RunOptions { jobs: Some(2) });
        prop_assert!(one.to_json() == two.to_json(), "1 and 2 threads gave different reports\n{}", yaml);
        let drew = one.services.iter().any(|(name, s)| meta.services[name].continuous && v(&s.completed) > 0.0);
        if drew {
            let other = Case { seed: case.seed.wrapping_add(1), ..case.clone() }.render().0;
            let model = load_str(&other, Path::new("generated.yaml"), &[])
                .map_err(|e| TestCaseError::fail(format!("{e}\n{other}")))?
                .model;
            let mut b = resim::run(&model, &RunOptions { jobs: Some(2) });
            b.seed = one.seed;
            prop_assert!(one.to_json() != b.to_json(), "another seed gave the same report\n{}", yaml);
        }
    }
}

/// The wider properties over the full generator: more cases.
fn config_wide() -> ProptestConfig {
    ProptestConfig { cases: 300, rng_seed: RngSeed::Fixed(20_250_602), ..config() }
}

proptest! {
    #![proptest_config(config_wide())]

    /// 2b. Per workload: the timeline's windows hold every outcome.
    #[test]
    fn properties_timeline_adds_up(case in case()) {
        let sim = simulate(&case)?;
        each(&sim, true, |r, _| r.workloads.iter().try_for_each(|(name, w)| timeline(name, w, true)))?;
    }

    /// Properties 2–5 on more cases (another seed).
    #[test]
    fn properties_all_invariants_on_more_cases(case in case()) {
        let sim = simulate(&case)?;
        each(&sim, true, |r, single| workload_outcomes(r, &sim.meta, single))?;
        each(&sim, true, |r, _| r.workloads.iter().try_for_each(|(name, w)| timeline(name, w, true)))?;
        each(&sim, true, |r, _| service_conservation(r, &sim.meta))?;
        each(&sim, false, |r, _| littles_law(r, &sim.meta))?;
        each(&sim, true, |r, _| edge_accounting(r, &sim.meta))?;
    }
}

/// What the generator writes, looked up in the YAML of each case: every policy, recovery
/// mechanism, workload and fault kind of the format.
/// The distributions are [`DIST_KINDS`].
const FORMAT_KEYS: [&str; 46] = [
    "parallel",
    "optional",
    "probability",
    "timeout",
    "retry",
    "backoff",
    "jitter",
    "budget",
    "consecutive",
    "count_window",
    "time_window",
    "bulkhead",
    "fallback",
    "hedge",
    "rate_limit",
    "routes",
    "pools",
    "queue_length",
    "queue_time",
    "codel",
    "aimd",
    "gradient",
    "degradation",
    "zones",
    "health_check",
    "outlier_ejection",
    "active_passive",
    "active_active",
    "profile",
    "closed",
    "deadline",
    "class",
    "kind: latency",
    "kind: error",
    "kind: partial",
    "kind: crash",
    "kind: zone_outage",
    "kind: capacity",
    "kind: partition",
    "kind: spike",
    "kind: ramp",
    "mtbf",
    "cold_start",
    "random",
    "least_outstanding",
    "power_of_two",
];

/// Whether a case (with its metadata) has a combination.
type Has = fn(&Case, &Meta) -> bool;

/// Combinations the properties exist for, looked up in a case and its metadata.
const COMBINATIONS: [(&str, Has); 5] = [
    ("crash + route back (CRASH_WITH_A_ROUTE_BACK)", |_, m| m.crashes && m.route_back),
    ("warm-up + finite capacity (Little's law with a warm-up)", |c, m| {
        c.warmup_s > 0 && m.services.values().any(|s| s.bound.is_some())
    }),
    ("no warm-up (exact conservation)", |c, _| c.warmup_s == 0),
    ("lockstep (coinciding events)", |c, _| c.lockstep),
    ("2 replications (linear checks on means)", |c, _| c.replications == 2),
];

/// How many of the `config.cases` cases drawn as `config`'s runner draws them have each
/// feature.
fn coverage(config: ProptestConfig) -> BTreeMap<&'static str, usize> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::new(config.clone());
    let strategy = case();
    let keys = || DIST_KINDS.iter().chain(&FORMAT_KEYS);
    let mut counts: BTreeMap<&str, usize> =
        keys().chain(COMBINATIONS.iter().map(|(k, _)| k)).map(|&k| (k, 0)).collect();
    for _ in 0..config.cases {
        let case = strategy.new_tree(&mut runner).expect("a case").current();
        let (yaml, meta) = case.render();
        for key in keys().filter(|k| yaml.contains(*k)) {
            *counts.entry(key).or_default() += 1;
        }
        for (name, _) in COMBINATIONS.iter().filter(|(_, has)| has(&case, &meta)) {
            *counts.entry(name).or_default() += 1;
        }
    }
    counts
}

/// The generator's report: per feature, in how many of the cases each group of properties
/// draws (same seed, same count) it appears; each must appear, or the properties above
/// would not exercise it.
#[test]
fn properties_generator_covers_the_format() {
    for (what, config) in [("properties 1-6", config()), ("wider properties", config_wide())] {
        let counts = coverage(config.clone());
        println!("{what}: features over {} cases", config.cases);
        for (feature, n) in &counts {
            println!("  {n:>4}  {feature}");
        }
        let missing: Vec<&str> = counts.iter().filter(|&(_, &n)| n == 0).map(|(&k, _)| k).collect();
        assert!(missing.is_empty(), "{what}: the generator never wrote {missing:?} in {} cases", config.cases);
    }
}

/// Found by `properties_workload_outcomes_add_up` (249 outcomes in the timeline of a
/// workload with 250 requests) and shrunk by hand.
///
/// The measured window is closed, [warm-up, end]: an event at exactly `end` is handled and
/// its outcome counted in `requests`, but the timeline's windows are half-open, and
/// `Timeline::add` drops an outcome whose window index is the number of windows. Here the
/// user's tenth request completes at exactly 20 s.
const OUTCOME_AT_THE_END: &str = "
name: outcome-at-the-end
duration: 20s
services:
  api: { service_time: { constant: { value: 1s } } }
workloads:
  - { name: users, target: api, arrivals: { closed: { users: 1, think_time: { constant: { value: 1s } } } } }
";

#[test]
fn properties_regression_outcome_at_the_end() {
    let model = load_str(OUTCOME_AT_THE_END, Path::new("end.yaml"), &[]).unwrap_or_else(|e| panic!("{e}")).model;
    let r = resim::run(&model, &RunOptions { jobs: Some(1) });
    let w = &r.workloads["users"];
    assert_eq!(v(&w.requests), 10.0);
    assert_eq!(w.timeline.requests.iter().sum::<f64>(), 10.0, "the last completion is missing from the timeline");
}

/// Found by `properties_service_conservation` (utilization 6.2e8 at a crashed service)
/// and shrunk by hand to two services.
///
/// When an instance crashes, `crash_instance` fails the requests inside it one at a time
/// (in slab order), and failing a callee's request answers its caller's call at once. If
/// that caller is inside the same crashed instance — a request it called was routed back
/// to it — and has not been failed yet, it resumes, completes its visit, and releases a
/// worker of the crashed station, whose busy count the crash already set to 0: the `u32`
/// count wraps around (a panic with overflow checks on). From then on the station looks
/// saturated forever: every later arrival waits and is never served, utilization and L
/// are about 4e9, and the caller is counted `completed` instead of `lost`.
const CRASH_WITH_A_ROUTE_BACK: &str = "
name: crash-route-back
duration: 20s
services:
  api:
    service_time: { exponential: { mean: 200us } }
    calls: [ { to: db } ]
  db:
    service_time: { exponential: { mean: 200us } }
    routes: [ { to: api, probability: 0.5 } ]
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 10/s } } }
faults:
  - { kind: crash, target: api, mtbf: 2s, mttr: 100ms }
";

#[test]
fn properties_regression_crash_with_a_route_back() {
    let model = load_str(CRASH_WITH_A_ROUTE_BACK, Path::new("crash.yaml"), &[]).unwrap_or_else(|e| panic!("{e}")).model;
    let r = resim::run(&model, &RunOptions { jobs: Some(1) });
    let api = &r.services["api"];
    assert!(v(&api.utilization) <= 1.0, "utilization {}", v(&api.utilization));
    // Little's law without a warm-up: 0 <= L - λW <= inside at the end, for the station and
    // for its queue (with the busy count wrapped, arrivals waited and were never served).
    for (l, w) in [(&api.mean_in_system, &api.mean_sojourn_s), (&api.mean_queue_length, &api.mean_wait_s)] {
        let gap = v(l) - v(&api.departures_per_s) * v(w);
        assert!((0.0..=in_flight(api) + 1e-9).contains(&gap), "L - λW = {gap}");
    }
}
