//! Running a generated scenario, and the invariants its reports are held to (properties
//! 2–5 of the `properties` module).

use std::collections::BTreeMap;
use std::path::Path;

use proptest::test_runner::TestCaseError;
use resim::report::{Report, ServiceReport, Statistic};
use resim::scenario::load_str;
use resim::{RunOptions, run_replications};

use super::generator::Case;
use super::render::{Meta, ServiceMeta};

// ---------------------------------------------------------------------------------------
// Running it.
// ---------------------------------------------------------------------------------------

/// A generated scenario, run: one report per replication and the report of all.
pub(super) struct Sim {
    pub(super) yaml: String,
    pub(super) meta: Meta,
    /// Per replication (exact counts).
    pub(super) reps: Vec<Report>,
    /// All replications (means).
    pub(super) all: Report,
    /// Per replication, the client-side permits unaccounted for at the end.
    pub(super) unaccounted_permits: Vec<u64>,
}

pub(super) fn simulate(case: &Case) -> Result<Sim, TestCaseError> {
    let (yaml, meta) = case.render();
    let scenario = load(&yaml)?;
    let summaries = run_replications(&scenario.model, &RunOptions { jobs: Some(1) });
    let reps = summaries.iter().map(|s| Report::build(&scenario.model, std::slice::from_ref(s))).collect();
    let all = Report::build(&scenario.model, &summaries);
    let unaccounted_permits = summaries.iter().map(|s| s.unaccounted_permits).collect();
    Ok(Sim { yaml, meta, reps, all, unaccounted_permits })
}

/// Loads a generated scenario. Routes back through a fan-out of calls can make a loop
/// that requests leave too rarely (more than one visit back per visit, on average):
/// validation refuses it, and the case is skipped; any other refusal is a generator bug.
pub(super) fn load(yaml: &str) -> Result<resim::scenario::Scenario, TestCaseError> {
    load_str(yaml, Path::new("generated.yaml"), &[]).map_err(|e| {
        let text = e.to_string();
        if text.contains("requests circle through") {
            TestCaseError::reject(text)
        } else {
            TestCaseError::fail(format!("a generated scenario does not load (generator bug?):\n{text}\n{yaml}"))
        }
    })
}

/// Turns a failed check into a proptest failure that shows the scenario.
pub(super) fn verdict(result: Result<(), String>, yaml: &str) -> Result<(), TestCaseError> {
    result.map_err(|e| TestCaseError::fail(format!("{e}\n--- scenario ---\n{yaml}")))
}

/// A count or mean, 0 when undefined.
pub(super) fn v(s: &Statistic) -> f64 {
    s.mean.unwrap_or(0.0)
}

/// Slack for floating-point rounding: counts are integers (or means of at most two),
/// gauges are integer integrals divided once, so 1e-9 relative is generous.
pub(super) fn slack(a: f64, b: f64) -> f64 {
    1e-9 * (1.0 + a.abs().max(b.abs()))
}

pub(super) fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what()) }
}

pub(super) fn le(a: f64, b: f64, what: &str) -> Result<(), String> {
    check(a <= b + slack(a, b), || format!("{what}: {a} > {b}"))
}

pub(super) fn eq(a: f64, b: f64, what: &str) -> Result<(), String> {
    check((a - b).abs() <= slack(a, b), || format!("{what}: {a} != {b}"))
}

// ---------------------------------------------------------------------------------------
// The invariants. `single` is true for a one-replication report: ratios and products are
// only exact per replication (the mean of a product is not the product of means).
// ---------------------------------------------------------------------------------------

/// Property 2: outcomes add up per workload.
pub(super) fn workload_outcomes(r: &Report, meta: &Meta, single: bool) -> Result<(), String> {
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
pub(super) fn timeline(name: &str, w: &resim::report::WorkloadReport, exact: bool) -> Result<(), String> {
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
pub(super) fn in_flight(s: &resim::report::ServiceReport) -> f64 {
    v(&s.arrivals) - (v(&s.completed) + v(&s.dropped) + v(&s.lost) + v(&s.rejected) + v(&s.refused_down))
}

/// Property 3: conservation per service, and the counters that make up `rejected`.
pub(super) fn service_conservation(r: &Report, meta: &Meta) -> Result<(), String> {
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
        service_counters(r, name, s, m, warm)?;
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

/// Property 3, the counters of service `name`: they are counted at the same instants, so
/// they add up exactly whatever the warm-up.
fn service_counters(r: &Report, name: &str, s: &ServiceReport, m: &ServiceMeta, warm: bool) -> Result<(), String> {
    let pools = |f: &dyn Fn(&resim::report::PoolReport) -> f64| s.pools.values().map(f).sum::<f64>();
    let pool_arrivals = pools(&|p| v(&p.arrivals));
    eq(pool_arrivals, v(&s.arrivals) - v(&s.rate_limited) - v(&s.no_pool), &format!("service {name}: pool arrivals"))?;
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
            le(v(&p.completed) + v(&p.rejected), v(&p.arrivals), &format!("service {name}: pool {pool} conservation"))?;
        }
        le(v(&p.utilization), 1.0, &format!("service {name}: pool {pool} utilization"))?;
    }
    if let Some(d) = &s.degradation {
        let total: f64 = d.time_in_level_s.values().map(v).sum();
        eq(total, r.duration_s, &format!("service {name}: time in the degradation levels vs duration"))?;
        check((0.0..=1.0 + 1e-9).contains(&v(&d.mean_value)), || format!("service {name}: mean degradation value"))?;
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
/// which are among those inside. Crashes included: a request lost while waiting counts
/// its whole time inside as wait (this check once found it recorded as 0).
pub(super) fn littles_law(r: &Report, meta: &Meta) -> Result<(), String> {
    for (name, s) in &r.services {
        let x = v(&s.departures_per_s);
        let queue = Some(("Lq - λWq", &s.mean_queue_length, &s.mean_wait_s));
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
pub(super) fn edge_accounting(r: &Report, meta: &Meta) -> Result<(), String> {
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
pub(super) fn each(
    sim: &Sim,
    linear: bool,
    f: impl Fn(&Report, bool) -> Result<(), String>,
) -> Result<(), TestCaseError> {
    for (i, r) in sim.reps.iter().enumerate() {
        verdict(f(r, true).map_err(|e| format!("replication {i}: {e}")), &sim.yaml)?;
    }
    if linear {
        verdict(f(&sim.all, false).map_err(|e| format!("all replications: {e}")), &sim.yaml)?;
    }
    Ok(())
}
