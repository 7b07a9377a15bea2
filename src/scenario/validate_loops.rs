//! Loops that would keep a run busy forever: requests that circle through calls and
//! routes without leaving, and closed users who resend at the same instant.
//!
//! Both are refused before the run, as the engine would otherwise spin (or deadlock)
//! with nothing to show for it.
//!
//! - **Calls and routes.** The expected visits of a request entering a group of services
//!   it can circle through are solved from the traffic equations over calls and routes
//!   ([`crate::theory::visits`]). Infinite (a call back through a route taken every
//!   time) or above [`MAX_VISITS`] (a route back with probability 0.9999999999), the
//!   scenario is refused, naming the loop and the route that keeps requests in it. A loop
//!   of zero-time services is therefore bounded too: it costs at most [`MAX_VISITS`]
//!   visits per request, each an event, however little time it takes.
//! - **Zero-time closed loops.** A closed user thinks, sends, waits for the answer and
//!   thinks again. When the think time is 0 and the answer can come at once (the target,
//!   or everything it waits on, can refuse a request without queueing it, or takes no
//!   time), users resend at the same instant forever and simulated time never advances.
//!   "Is 0" is judged by the share of draws that are exactly 0 ns ([`zero_share`]): a
//!   user whose think time is 0 with probability q resends 1 / (1 − q) times in a row on
//!   average, so the loop is refused when that exceeds [`MAX_VISITS`], as a route loop
//!   would be. Constant 0, `uniform {0s, 0s}` and an empirical list of zeros are always
//!   0; an empirical list with some zeros is 0 that often; the continuous distributions
//!   (exponential, lognormal, gamma, Weibull, Pareto) round to 0 ns only when a draw is
//!   below half a nanosecond, which for an exponential of mean m happens with
//!   probability 1 − e^(−0.5 ns / m) — negligible at any mean the scenario can express.

use super::error::{Result, err};
use super::spec::ScenarioSpec;
use crate::model::fault::{Effect, Target};
use crate::model::{Arrivals, Dist, Model};
use crate::theory::visits::Visits;

/// Most expected visits of one request inside a loop of services (or zero-time resends
/// of one closed user in a row).
pub const MAX_VISITS: f64 = 1e4;

/// Refuses loops of calls and routes that requests cannot leave, or leave only after
/// more than [`MAX_VISITS`] visits on average.
pub fn check_visit_loops(model: &Model) -> Result<()> {
    let visits = Visits::of(model);
    let Some(worst) = visits
        .loops()
        .into_iter()
        .filter(|l| l.visits > MAX_VISITS)
        .max_by(|a, b| a.visits.total_cmp(&b.visits).then(b.entry.cmp(&a.entry)))
    else {
        return Ok(());
    };
    let cycle = visits.cycle(&worst.services, worst.entry);
    let name = |i: usize| model.services[i].name.as_str();
    let path: Vec<&str> = cycle.iter().map(|&i| name(i)).collect();
    // The route of the cycle most likely taken keeps requests in it; a call cannot be
    // the only edge (synchronous call loops are refused earlier).
    let route = cycle
        .windows(2)
        .filter_map(|w| {
            let routes = &model.services[w[0]].routes;
            routes.iter().position(|r| r.to == w[1]).map(|k| (w[0], k, routes[k].probability))
        })
        .max_by(|a, b| a.2.total_cmp(&b.2));
    let waits =
        cycle.windows(2).find(|w| model.services[w[0]].steps.iter().flat_map(|s| &s.calls).any(|c| c.to == w[1]));
    let how = if worst.visits.is_finite() {
        format!(
            "a request entering at `{}` visits them {:.3e} times on average (at most {MAX_VISITS} are allowed)",
            name(worst.entry),
            worst.visits
        )
    } else {
        format!("a request entering at `{}` never leaves (its expected visits are infinite)", name(worst.entry))
    };
    let wait = waits.map_or(String::new(), |w| {
        format!("; `{}` calls `{}` and its worker waits while the request comes back round", name(w[0]), name(w[1]))
    });
    let (key, help) = match route {
        Some((s, k, p)) => (
            format!("services.{}.routes.{k}.probability", name(s)),
            format!("lower this route's probability ({p}) so that requests leave the loop"),
        ),
        None => (format!("services.{}.routes", name(cycle[0])), "give the loop a way out".to_owned()),
    };
    err(key, format!("requests circle through {}: {how}{wait}", path.join(" -> "))).map_err(|e| e.with_help(help))
}

/// Share of `d`'s draws that are exactly 0 ns after rounding to the nearest nanosecond.
pub fn zero_share(d: &Dist) -> f64 {
    const HALF_NS: f64 = 0.5e-9;
    match d {
        Dist::Constant(t) => f64::from(u8::from(t.0 == 0)),
        Dist::Uniform { lo, width } if *lo < HALF_NS => {
            if *width <= HALF_NS - lo {
                1.0
            } else {
                (HALF_NS - lo) / width
            }
        }
        Dist::Exponential(mean) => -(-HALF_NS / mean.max(f64::MIN_POSITIVE)).exp_m1(),
        Dist::Empirical(samples) => samples.iter().filter(|s| s.0 == 0).count() as f64 / samples.len().max(1) as f64,
        Dist::Mixture { cumulative, parts } => {
            let weights = cumulative.iter().scan(0.0, |prev, &c| Some(c - std::mem::replace(prev, c)));
            weights.zip(parts).map(|(w, part)| w * zero_share(part)).sum()
        }
        Dist::Uniform { .. } | Dist::Lognormal(_) | Dist::Gamma(_) | Dist::Weibull(_) | Dist::Pareto(_) => 0.0,
    }
}

/// True when `d` is 0 so often that a loop through it alone would spin: more than
/// [`MAX_VISITS`] zero draws in a row on average.
fn spins(d: &Dist) -> bool {
    zero_share(d) > 1.0 - 1.0 / MAX_VISITS
}

/// Refuses closed workloads whose users would resend at the same instant forever: think
/// time (almost) always 0 and an answer that can come at once.
pub fn check_closed_loops(spec: &ScenarioSpec, model: &Model) -> Result<()> {
    for (i, w) in model.workloads.iter().enumerate() {
        let Arrivals::Closed { think, .. } = &w.arrivals else { continue };
        if !spins(think) {
            continue;
        }
        let mut seen = vec![false; model.services.len()];
        let Some(why) = instant(model, w.target, &mut seen) else { continue };
        let key = format!("workloads.{i}.arrivals.closed.think_time");
        let name = spec.workloads.get(i).map_or("", |w| w.name.as_str());
        return err(
            key,
            format!(
                "the users of `{name}` think for 0s and {why}: they would resend at the same instant forever and \
                 simulated time would never advance"
            ),
        )
        .map_err(|e| {
            e.with_help("give the users a think time above 0, e.g. think_time: { exponential: { mean: 1s } }")
        });
    }
    Ok(())
}

/// Why a request sent to service `s` can be answered without simulated time passing, if
/// it can: `s` refuses at once, or takes no time and so does everything it waits on.
fn instant(model: &Model, s: usize, seen: &mut [bool]) -> Option<String> {
    let svc = &model.services[s];
    if let Some(how) = refuses(model, s) {
        return Some(format!("`{}` can refuse a request at once ({how})", svc.name));
    }
    if seen[s] || !spins(&svc.service_time) {
        return seen[s].then(|| format!("`{}` takes no time", svc.name));
    }
    seen[s] = true;
    let calls = svc.steps.iter().flat_map(|st| &st.calls);
    let mut waits_on = calls.map(|c| c.to).chain(svc.routes.iter().filter(|r| r.probability > 0.0).map(|r| r.to));
    let all_instant = waits_on.all(|t| instant(model, t, seen).is_some());
    all_instant.then(|| format!("`{}` takes no time", svc.name))
}

/// How service `s` can answer a request without serving it, if it can.
fn refuses(model: &Model, s: usize) -> Option<&'static str> {
    let svc = &model.services[s];
    // A crash refuses arrivals at once; a partition refuses calls on its edge.
    let faulted = model.faults.iter().any(|f| match (&f.target, &f.effect) {
        (Target::Instances(v), Effect::Crash { .. }) => v.iter().any(|&(t, _)| t == s),
        (Target::Edge(e), Effect::Partition { refuse: true }) => model.edges[*e].from == s,
        _ => false,
    });
    [
        (svc.capacity.is_some() || svc.pools.iter().any(|p| p.capacity.is_some()), "it has a finite capacity"),
        (svc.pool_of_class.iter().any(Option::is_none), "a worker pool refuses some classes"),
        (svc.rate_limit.is_some(), "it has a rate limit"),
        (svc.shed.is_some(), "it sheds load"),
        (svc.concurrency.is_some(), "it has a concurrency limit"),
        (svc.deadline_propagation, "it drops requests past their deadline"),
        (faulted, "a crash or a refusing partition acts on it"),
        (edge_refuses(model, s), "a call it makes can be refused by a client-side policy"),
    ]
    .into_iter()
    .find_map(|(yes, how)| yes.then_some(how))
}

/// True when a call made by service `s` can fail at once: a breaker, limiter, bulkhead
/// or threshold on its edge.
fn edge_refuses(model: &Model, s: usize) -> bool {
    model.edges.iter().filter(|e| e.from == s).any(|e| {
        let p = &e.policy;
        p.breaker.is_some()
            || p.rate_limit.is_some()
            || p.bulkhead.is_some()
            || p.thresholds.is_some()
            || p.concurrency.is_some()
            || p.adaptive.is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;

    #[test]
    fn zero_share_of_each_kind() {
        assert_eq!(zero_share(&Dist::Constant(SimTime::ZERO)), 1.0);
        assert_eq!(zero_share(&Dist::Constant(SimTime(1))), 0.0);
        assert_eq!(zero_share(&Dist::Uniform { lo: 0.0, width: 0.0 }), 1.0);
        assert!((zero_share(&Dist::Uniform { lo: 0.0, width: 1e-9 }) - 0.5).abs() < 1e-12);
        assert_eq!(zero_share(&Dist::Uniform { lo: 1e-3, width: 0.0 }), 0.0);
        assert_eq!(zero_share(&Dist::Empirical(vec![SimTime::ZERO, SimTime(5)])), 0.5);
        assert!(zero_share(&Dist::Exponential(1e-3)) < 1e-6);
        let mix = Dist::Mixture {
            cumulative: vec![0.25, 1.0],
            parts: vec![Dist::Constant(SimTime::ZERO), Dist::Constant(SimTime(7))],
        };
        assert!((zero_share(&mix) - 0.25).abs() < 1e-12);
        assert!(spins(&Dist::Empirical(vec![SimTime::ZERO; 3])));
        assert!(!spins(&Dist::Empirical(vec![SimTime::ZERO, SimTime(1)])));
    }
}
