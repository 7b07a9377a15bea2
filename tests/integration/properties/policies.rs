//! The policies of a generated call site — retries, breakers, hedges, fallbacks, rate
//! limits and bulkheads — drawn and written as YAML flow mappings.

use proptest::collection::vec;
use proptest::option::weighted;
use proptest::prelude::*;

use super::render::EdgeMeta;

#[derive(Clone, Debug)]
pub(super) enum Backoff {
    None,
    Fixed(u32),
    Linear(u32, u32),
    /// base ms, multiplier, cap - base ms.
    Exponential(u32, f64, u32),
}

#[derive(Clone, Debug)]
pub(super) enum Jitter {
    None,
    Full,
    Equal,
    Decorrelated,
    Proportional(f64),
}

#[derive(Clone, Debug)]
pub(super) enum Budget {
    Ratio(f64, Option<f64>, Option<u32>),
    Active(f64, Option<u32>),
}

#[derive(Clone, Debug)]
pub(super) struct Retry {
    pub(super) preset: Option<usize>,
    pub(super) max_attempts: Option<u32>,
    pub(super) backoff: Option<Backoff>,
    pub(super) jitter: Option<Jitter>,
    pub(super) retry_on: Option<Vec<usize>>,
    pub(super) budget: Option<Budget>,
}

pub(super) const OUTCOME_KINDS: [&str; 4] = ["error", "timeout", "rejected", "short_circuited"];
pub(super) const PRESETS: [&str; 5] = ["envoy", "resilience4j", "finagle", "grpc", "aws_sdk"];

pub(super) fn kinds_yaml(list: &[usize]) -> String {
    let names: Vec<&str> = list.iter().map(|&k| OUTCOME_KINDS[k % 4]).collect();
    format!("[{}]", names.join(", "))
}

impl Retry {
    pub(super) fn yaml(&self) -> String {
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

pub(super) fn retry() -> impl Strategy<Value = Retry> {
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
pub(super) struct Window {
    pub(super) size: Option<u32>,
    pub(super) failure_rate: Option<f64>,
    pub(super) slow_call_rate: Option<f64>,
    pub(super) slow_call_ms: Option<u32>,
    pub(super) minimum_calls: Option<u32>,
    pub(super) half_open_calls: Option<u32>,
    pub(super) open_for_ms: Option<u32>,
    pub(super) automatic: Option<bool>,
    pub(super) max_wait_half_open_ms: Option<u32>,
}

#[derive(Clone, Debug)]
pub(super) enum BreakerKind {
    /// failures, successes, open_for ms, half-open calls.
    Consecutive(Option<u32>, Option<u32>, Option<u32>, Option<u32>),
    CountWindow(Window),
    TimeWindow(Window),
}

#[derive(Clone, Debug)]
pub(super) struct Breaker {
    pub(super) preset: bool,
    pub(super) kind: Option<BreakerKind>,
    pub(super) failure_on: Option<Vec<usize>>,
}

impl Breaker {
    pub(super) fn yaml(&self) -> String {
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

pub(super) fn breaker() -> impl Strategy<Value = Breaker> {
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
pub(super) struct Hedge {
    /// A fixed delay in ms, or else a percentile.
    pub(super) delay_ms: Option<u32>,
    pub(super) percentile: f64,
    pub(super) max: Option<u32>,
    pub(super) cancel: bool,
}

#[derive(Clone, Debug)]
pub(super) struct Fallback {
    pub(super) cache: bool,
    pub(super) value: Option<f64>,
    pub(super) latency_ms: Option<u32>,
}

/// The policies of one call site.
#[derive(Clone, Debug)]
pub(super) struct Policies {
    pub(super) timeout_ms: Option<u32>,
    pub(super) deadline_fraction: Option<f64>,
    pub(super) retry: Option<Retry>,
    pub(super) breaker: Option<Breaker>,
    /// rate per second, burst.
    pub(super) rate_limit: Option<(f64, Option<u32>)>,
    /// max concurrent, max wait ms.
    pub(super) bulkhead: Option<(u32, Option<u32>)>,
    pub(super) fallback: Option<Fallback>,
    pub(super) hedge: Option<Hedge>,
    pub(super) degraded_value: Option<f64>,
    /// The breaker, limiter and bulkhead are the caller fleet's (`scope: service`).
    pub(super) fleet: bool,
    /// Envoy's thresholds: max pending, max requests, max retries.
    pub(super) circuit_breakers: Option<(u32, u32, u32)>,
}

#[derive(Clone, Debug)]
pub(super) struct Call {
    /// Raw callee choice, resolved to a service after the caller.
    pub(super) to: usize,
    pub(super) optional: bool,
    pub(super) probability: Option<f64>,
    pub(super) policies: Policies,
}

pub(super) fn policies() -> impl Strategy<Value = Policies> {
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
        prop::bool::weighted(0.3),
        weighted(0.15, (1u32..8, 1u32..12, 0u32..4)),
    )
        .prop_map(
            |(
                timeout_ms,
                deadline_fraction,
                retry,
                breaker,
                rate_limit,
                bulkhead,
                fallback,
                hedge,
                degraded_value,
                fleet,
                circuit_breakers,
            )| {
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
                    fleet,
                    circuit_breakers,
                }
            },
        )
}

pub(super) fn call() -> impl Strategy<Value = Call> {
    (any::<usize>(), prop::bool::weighted(0.3), weighted(0.3, 0.0f64..=1.0), policies())
        .prop_map(|(to, optional, probability, policies)| Call { to, optional, probability, policies })
}

#[derive(Clone, Debug)]
pub(super) enum Step {
    One(Box<Call>),
    Parallel(Vec<Call>),
}

pub(super) fn step() -> impl Strategy<Value = Step> {
    prop_oneof![3 => call().prop_map(|c| Step::One(Box::new(c))), 1 => vec(call(), 1..=3).prop_map(Step::Parallel)]
}

/// A YAML flow mapping being built.
#[derive(Default)]
pub(super) struct Map(pub(super) Vec<(&'static str, String)>);

impl Map {
    pub(super) fn put(&mut self, key: &'static str, value: impl ToString) {
        self.0.push((key, value.to_string()));
    }
    pub(super) fn opt(&mut self, key: &'static str, value: Option<impl ToString>) {
        if let Some(v) = value {
            self.put(key, v);
        }
    }
    pub(super) fn yaml(&self) -> String {
        if self.0.is_empty() {
            return "{}".into();
        }
        let items: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("{{ {} }}", items.join(", "))
    }
}

pub(super) fn ms(x: u32) -> String {
    format!("{x}ms")
}

/// One call site; `first` is the first site of its edge, the only one that may declare
/// the edge's shared policies.
pub(super) fn render_call(c: &Call, to: &str, first: bool, edge: &mut EdgeMeta) -> String {
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
        // `scope: service` on each shared policy of a fleet edge, in its flow mapping.
        let scoped = |yaml: String| match (p.fleet, yaml.strip_suffix(" }")) {
            (true, Some(open)) => format!("{open}, scope: service }}"),
            (true, None) => "{ scope: service }".to_owned(),
            (false, _) => yaml,
        };
        if let Some(b) = &p.breaker {
            m.put("breaker", scoped(b.yaml()));
            edge.breaker = true;
        }
        if let Some((rate, burst)) = p.rate_limit {
            let mut r = Map::default();
            r.put("rate", format!("{rate:.2}/s"));
            r.opt("burst", burst);
            m.put("rate_limit", scoped(r.yaml()));
            edge.rate_limit = true;
        }
        if let Some((max, wait)) = p.bulkhead {
            let mut b = Map::default();
            b.put("max_concurrent", max);
            b.opt("max_wait", wait.map(ms));
            m.put("bulkhead", scoped(b.yaml()));
            edge.bulkhead = true;
        }
        if let Some((pending, requests, retries)) = p.circuit_breakers {
            let mut t = Map::default();
            t.put("max_pending_requests", pending);
            t.put("max_requests", requests);
            t.put("max_retries", retries);
            m.put("circuit_breakers", t.yaml());
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
