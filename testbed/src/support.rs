//! What the testbed can deploy for real, checked before anything starts: every scenario
//! feature without a real counterpart here is refused by name, with what to do, so a
//! real run never silently differs from the model it is compared with.

use resim::model::fault::Effect;
use resim::model::{Arrivals, BulkheadRelease, CallPolicy, EdgePolicy, Model};
use resim::policy::Scope;
use resim::policy::breaker::BreakerConfig;
use resim::policy::rate_limit::LimiterConfig;
use resim::policy::retry::{BudgetConfig, HedgeDelay};

/// Why the testbed cannot run `model`, one line per feature; empty when it can.
pub fn unsupported(model: &Model) -> Vec<String> {
    let mut why = Vec::new();
    let mut no = |key: String, what: &str| why.push(format!("{key}: {what}"));
    for w in &model.workloads {
        if matches!(w.arrivals, Arrivals::Closed { .. }) {
            no(format!("workloads.{}.arrivals", w.name), "closed workloads are not deployed yet; use poisson");
        }
        if w.deadline.is_some() {
            no(format!("workloads.{}.deadline", w.name), "request deadlines are not propagated over HTTP here");
        }
    }
    for f in &model.faults {
        // Every kind is injected (faults.rs) but a partial answer's worth: a degraded
        // answer carries no value over HTTP here, so the workload's value would differ.
        if let Effect::Partial { degraded: Some(_), .. } = f.effect {
            no(format!("faults.{}", f.name), "a partial answer `as: degraded` has no value over HTTP; use `as: error`");
        }
    }
    for s in &model.services {
        let key = |k: &str| format!("services.{}.{k}", s.name);
        let server_side = [
            (s.pools.len() > 1, "pools"),
            (s.rate_limit.is_some(), "rate_limit"),
            (s.shed.is_some(), "shed"),
            (s.concurrency.is_some(), "concurrency"),
            (s.degradation.is_some(), "degradation"),
            (s.health_check.is_some(), "health_check"),
            (s.outlier.is_some(), "outlier_ejection"),
            (s.failover.is_some(), "failover"),
            (s.deadline_propagation, "deadline_propagation"),
            (s.prefer_local_zone, "prefer_local_zone"),
        ];
        for (on, k) in server_side {
            if on {
                no(key(k), "has no real counterpart in the testbed yet");
            }
        }
        // Keys as the scenario spells them: step i is `calls.i`, a member of a parallel
        // group `calls.i.parallel.j`.
        let sites = s.steps.iter().enumerate().flat_map(|(i, st)| {
            let group = st.calls.len() > 1;
            st.calls
                .iter()
                .enumerate()
                .map(move |(j, c)| (if group { format!("calls.{i}.parallel.{j}") } else { format!("calls.{i}") }, c))
        });
        for (site, call) in sites {
            let edge = &model.edges[call.edge];
            let key = |k: &str| format!("services.{}.{site}.{k}", s.name);
            match &call.policy.hedge {
                Some(h) if !matches!(h.delay, HedgeDelay::Tower { .. }) => {
                    no(key("hedge"), "the testbed hedges with tower's Hedge: use `preset: tower`")
                }
                Some(h) if h.cancel_losers => no(
                    key("hedge.cancel"),
                    "a losing copy keeps running in the callee here (the station does not see its caller leave): set cancel: false",
                ),
                _ => {}
            }
            if call.policy.fallback.is_some() {
                no(key("fallback"), "fallbacks are not deployed yet");
            }
            let p = &edge.policy;
            if let Some(r) = &call.policy.retry
                && let Some(b) = p.budget.or(r.budget)
                && !matches!(b, BudgetConfig::Tps(_))
            {
                no(key("retry.budget"), "the testbed's budget is tower's TpsBudget: use `retry: { preset: tower }`");
            }
            if p.breaker.as_ref().is_some_and(|b| !matches!(b, BreakerConfig::Failsafe(_))) {
                no(key("breaker"), "the testbed's breaker is failsafe's: use `breaker: { preset: failsafe }`");
            }
            match p.rate_limit {
                Some(LimiterConfig::Tower(_)) => rate_limit_beside(p, &call.policy, &mut no, key("rate_limit")),
                Some(_) => no(
                    key("rate_limit"),
                    "the testbed's rate limit is tower's RateLimit under load_shed: use `{ preset: tower, num, per }`",
                ),
                None => {}
            }
            if p.concurrency.is_some() || p.adaptive.is_some() || p.thresholds.is_some() {
                no(key("concurrency/adaptive/envoy thresholds"), "not deployed yet");
            }
            if let Some(b) = &p.bulkhead {
                if b.max_wait.0 != 0 || b.max_waiting.is_some() {
                    no(key("bulkhead.max_wait"), "tower's load_shed refuses at once: set max_wait 0");
                }
                if p.bulkhead_release != BulkheadRelease::OnTimeout {
                    no(
                        key("bulkhead.release"),
                        "tower's ConcurrencyLimit gives its permit back when the caller stops waiting: set release: on_timeout",
                    );
                }
            }
            if [p.scope.bulkhead, p.scope.budget, p.scope.rate_limit].contains(&Scope::Service) {
                no(key("scope"), "the testbed keeps every client policy per caller instance");
            }
        }
    }
    why
}

/// tower's rate limit beside the edge's other policies: the model gives an attempt's
/// breaker permission back when the limiter refuses it, and does not send a hedge it
/// refuses, where failsafe's breaker around it would count the refusal as a failure and
/// tower's hedge would take the refused backup as the first answer.
fn rate_limit_beside(p: &EdgePolicy, call: &CallPolicy, no: &mut impl FnMut(String, &str), key: String) {
    if p.breaker.is_some() {
        no(key.clone(), "failsafe's breaker would count a refusal as a failure; the model records none: drop one");
    }
    if call.hedge.is_some() {
        no(key, "tower's hedge would take a refused backup as its answer; the model does not send it: drop one");
    }
}
