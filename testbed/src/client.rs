//! A call edge as a real client: hyper's pooled HTTP client under tower's middleware, in
//! the order DESIGN.md §3 composes the policies (outermost first): overall timeout →
//! retry (tower's `Retry`, budgeted by tower's `TpsBudget`) → per-attempt record →
//! rate limit (tower's `LoadShed` over `RateLimit`: [`crate::ratelimit`]) →
//! per-try timeout (tower's `Timeout`) → bulkhead (tower's `LoadShed` over
//! `ConcurrencyLimit`: no permit free, refused at once) → one HTTP attempt on the
//! instance the balancer picks.
//!
//! The retry policy is the one tower's documentation gives for a budget
//! (tower 0.5.3, `retry/budget/mod.rs`): a success deposits, a failure withdraws and is
//! retried only if the budget had the token; on top, the scenario's attempt limit,
//! `retry_on` and backoff (drawn by resim's own ladder and jitter), so the real and the
//! simulated policy take the same decisions.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use resim::engine::SimTime;
use resim::engine::{Stream, Streams};
use resim::metrics::Outcome;
use resim::model::{CallPolicy, Model};
use resim::policy::breaker::BreakerConfig;
use resim::policy::rate_limit::LimiterConfig;
use resim::policy::retry::{BackoffState, BudgetConfig, HedgeConfig, HedgeDelay, RetryConfig, next_delay};

use crate::breaker::Policy;
use tower::retry::budget::{Budget, TpsBudget};
use tower::util::BoxCloneSyncService;
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};

use crate::record::Clock;
use crate::station::{DEGRADED, OVERHEAD, SOJOURN};
use crate::world::{World, lock};

/// How a call or attempt ended, and how much of its time was the testbed's own.
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    /// The outcome.
    pub outcome: Outcome,
    /// Loopback, dispatch and timer time inside it, signed ns.
    pub overhead_ns: i64,
    /// Time inside the callee, ns (0 when it never got in).
    pub sojourn_ns: i64,
    /// An HTTP answer came back (whatever its status); false for a refused or reset
    /// connection, and for failures no request was sent for.
    pub answered: bool,
}

impl Answer {
    /// A failure with no time of its own.
    pub fn failed(outcome: Outcome) -> Self {
        Self { outcome, overhead_ns: 0, sojourn_ns: 0, answered: false }
    }
}

/// A failed attempt as an error, so tower's retry and timeout see it.
#[derive(Debug, thiserror::Error)]
#[error("the attempt ended as {}", .0.outcome.key())]
pub struct Failed(pub Answer);

/// What every layer carries: the world and the callee.
#[derive(Clone)]
pub struct CallReq {
    pub(crate) world: Arc<World>,
    pub(crate) to: usize,
    pub(crate) edge: usize,
}

/// A layer of the client, type-erased so layers can be added as the policy says.
pub type Stack = BoxCloneSyncService<CallReq, Answer, BoxError>;

/// One edge's client at one caller instance.
pub struct EdgeStack {
    stack: Stack,
    /// The breaker's record, when the edge has one.
    pub breaker: Option<Arc<Mutex<crate::breaker::Log>>>,
}

impl EdgeStack {
    /// One call on edge `e` to service `to`: counted, sent through the middleware, and its
    /// outcome recorded.
    pub async fn call(&self, world: &Arc<World>, e: usize, to: usize) -> Answer {
        world.rec.edge(e, |m, _| m.calls += 1);
        let req = CallReq { world: world.clone(), to, edge: e };
        let answer = self.stack.clone().oneshot(req).await.unwrap_or_else(|err| answer_of(&err));
        world.rec.edge(e, |m, now| m.record(now, answer.outcome));
        answer
    }
}

/// The outcome of an attempt or call, answered or failed.
pub fn outcome_of(r: &Result<Answer, BoxError>) -> Outcome {
    match r {
        Ok(a) => a.outcome,
        Err(err) => answer_of(err).outcome,
    }
}

/// The outcome an error stands for: a failed answer, a timeout, a bulkhead refusal.
pub fn answer_of(err: &BoxError) -> Answer {
    if let Some(Failed(a)) = err.downcast_ref::<Failed>() {
        *a
    } else if err.is::<tower::timeout::error::Elapsed>() {
        Answer::failed(Outcome::Timeout)
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        Answer::failed(Outcome::Rejected)
    } else {
        Answer::failed(Outcome::Error)
    }
}

/// Builds every edge's stack for every caller instance (`scope: instance`: each caller
/// instance has its own budget and bulkhead, as a library inside each process does).
pub fn build_edges(model: &Model, streams: &Streams, clock: Clock) -> Vec<Vec<EdgeStack>> {
    model
        .edges
        .iter()
        .enumerate()
        .map(|(e, edge)| {
            let policy = call_policy(model, e);
            let instances = model.services[edge.from].instances;
            (0..instances)
                .map(|i| {
                    let rng = streams.stream(&format!("testbed/retry/{}/{i}", edge.name));
                    stack(model, e, &policy, rng, (clock, i))
                })
                .collect()
        })
        .collect()
}

/// The call policy of edge `e` (its first call site).
fn call_policy(model: &Model, e: usize) -> CallPolicy {
    let from = &model.services[model.edges[e].from];
    let calls = from.steps.iter().flat_map(|s| s.calls.iter());
    calls.filter(|c| c.edge == e).map(|c| c.policy).next().unwrap_or_default()
}

/// The layers the scenario asks for, innermost first, as DESIGN.md §3 orders them; the
/// hedge (tower's, under `hedge: { preset: tower }`) sits inside the breaker and outside
/// the per-try timeout, so each copy has its own timeout and the breaker sees one result.
/// The rate limit sits between the per-try timeout and the hedge: each attempt asks it,
/// as the engine's does, and its refusal takes no time off the timeout.
fn stack(model: &Model, e: usize, policy: &CallPolicy, rng: Stream, at: (Clock, u32)) -> EdgeStack {
    let edge = &model.edges[e].policy;
    let mut s: Stack = BoxCloneSyncService::new(Attempt);
    if let Some(b) = &edge.bulkhead {
        let limit = ServiceBuilder::new().load_shed().concurrency_limit(b.max_concurrent as usize);
        s = BoxCloneSyncService::new(limit.service(s).map_err(|e: BoxError| e));
    }
    if let Some(t) = policy.timeout {
        s = BoxCloneSyncService::new(tower::timeout::Timeout::new(s, duration(t)));
    }
    if let Some(LimiterConfig::Tower(r)) = edge.rate_limit {
        s = BoxCloneSyncService::new(crate::ratelimit::RateLimited::new(s, r.num, duration(r.per)));
    }
    if let Some(HedgeConfig { delay: HedgeDelay::Tower { quantile, min_data_points, period }, .. }) = policy.hedge {
        s = BoxCloneSyncService::new(crate::hedge::hedged(s, min_data_points, quantile, duration(period)));
    }
    let mut breaker = None;
    if let Some(BreakerConfig::Failsafe(cfg)) = &edge.breaker {
        let b = crate::breaker::Breaker::new(s, Policy::of(cfg), edge.breaker_outcomes, at.0, at.1);
        breaker = Some(b.log.clone());
        s = BoxCloneSyncService::new(b);
    }
    s = BoxCloneSyncService::new(Observe { inner: s });
    if let Some(cfg) = &policy.retry {
        let budget = match edge.budget.or(cfg.budget) {
            Some(BudgetConfig::Tps(t)) => {
                Some(Arc::new(TpsBudget::new(duration(t.ttl), t.min_per_sec, t.retry_percent)))
            }
            _ => None,
        };
        let p = RetryPolicy {
            cfg: *cfg,
            budget,
            attempts: 0,
            backoff: BackoffState::new(),
            rng: Arc::new(Mutex::new(rng)),
        };
        s = BoxCloneSyncService::new(tower::retry::Retry::new(p, s));
    }
    if let Some(t) = policy.overall_timeout {
        s = BoxCloneSyncService::new(tower::timeout::Timeout::new(s, duration(t)));
    }
    EdgeStack { stack: s, breaker }
}

fn duration(t: SimTime) -> Duration {
    Duration::from_nanos(t.0)
}

/// Counts every attempt and its outcome on the edge.
#[derive(Clone)]
struct Observe {
    inner: Stack,
}

impl Service<CallReq> for Observe {
    type Response = Answer;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: CallReq) -> Self::Future {
        let (world, e) = (req.world.clone(), req.edge);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let r = fut.await;
            let outcome = outcome_of(&r);
            let shed = matches!(&r, Err(err) if err.is::<tower::load_shed::error::Overloaded>());
            world.rec.edge(e, |m, _| {
                m.attempts += 1;
                m.attempt_outcomes.add(outcome);
                m.bulkhead_rejected += u64::from(shed);
            });
            r
        })
    }
}

/// One HTTP attempt on the instance the balancer picks.
#[derive(Clone, Copy)]
struct Attempt;

impl Service<CallReq> for Attempt {
    type Response = Answer;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), BoxError>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: CallReq) -> Self::Future {
        Box::pin(async move {
            crate::faults::partition(&req.world, req.edge).await?;
            let i = req.world.pick(req.to);
            let a = call_instance(&req.world, req.to, i).await;
            // An HTTP answer is a response to tower whatever its status (its `Latency`
            // layer records it, its hedge's select takes it); only a failed connection
            // is an error. The policies read the outcome from either.
            if a.answered { Ok(a) } else { Err(Failed(a).into()) }
        })
    }
}

/// One HTTP request to instance `i` of service `to`. The testbed's own time in it is
/// what the caller waited beyond the callee's sojourn, plus the callee's own overhead.
pub async fn call_instance(world: &World, to: usize, i: usize) -> Answer {
    let uri: hyper::Uri = match format!("http://{}/", world.addrs[to][i]).parse() {
        Ok(u) => u,
        Err(_) => return Answer::failed(Outcome::Error),
    };
    let counter = &world.outstanding[to][i];
    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let start = Instant::now();
    let res = world.http.get(uri).await;
    let waited = i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX);
    counter.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    if let Err(e) = &res {
        crate::faults::refused(world, to, i, e);
    }
    let Ok(resp) = res else {
        // Connection refused or reset: the instance is down. The model answers at once.
        return Answer { outcome: Outcome::Error, overhead_ns: waited, sojourn_ns: 0, answered: false };
    };
    let header = |name: &str| -> i64 {
        resp.headers().get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
    };
    let (sojourn, inner) = (header(SOJOURN), header(OVERHEAD));
    let outcome = match resp.status().as_u16() {
        200 if resp.headers().contains_key(DEGRADED) => Outcome::Degraded,
        200 => Outcome::Ok,
        503 => Outcome::Rejected,
        504 => Outcome::Timeout,
        _ => Outcome::Error,
    };
    Answer { outcome, overhead_ns: waited - sojourn + inner, sojourn_ns: sojourn, answered: true }
}

/// Retries as the scenario says, within tower's `TpsBudget`.
#[derive(Clone)]
struct RetryPolicy {
    cfg: RetryConfig,
    budget: Option<Arc<TpsBudget>>,
    attempts: u32,
    backoff: BackoffState,
    rng: Arc<Mutex<Stream>>,
}

impl tower::retry::Policy<CallReq, Answer, BoxError> for RetryPolicy {
    type Future = Pin<Box<dyn Future<Output = ()> + Send>>;

    fn retry(&mut self, req: &mut CallReq, result: &mut Result<Answer, BoxError>) -> Option<Self::Future> {
        self.attempts += 1;
        let outcome = outcome_of(result);
        if outcome.is_success() {
            if let Some(b) = &self.budget {
                b.deposit();
            }
            return None;
        }
        if !self.cfg.should_retry(self.attempts, outcome) {
            return None;
        }
        if let Some(b) = &self.budget
            && !b.withdraw()
        {
            req.world.rec.edge(req.edge, |m, _| m.budget_exhausted += 1);
            return None;
        }
        let delay = {
            let mut rng = lock(&self.rng);
            next_delay(&self.cfg.backoff, &self.cfg.jitter, self.attempts, &mut self.backoff, &mut rng)
        };
        req.world.rec.edge(req.edge, |m, now| m.record_retry(now));
        Some(Box::pin(tokio::time::sleep(duration(delay))))
    }

    fn clone_request(&mut self, req: &CallReq) -> Option<CallReq> {
        Some(req.clone())
    }
}
