//! Which stations of a scenario have an exact closed form, and what it predicts.
//!
//! A station is covered when its arrivals are Poisson and its service exponential:
//! - an entry service fed only by constant-rate Poisson workloads is an exact M/M/c/K,
//!   whatever its capacity and wherever it routes afterwards; with another service time
//!   (and no routes) it is an exact M/G/c/c or M/G/1, or an approximate M/G/c
//!   ([`super::general`]);
//! - services linked by `routes` form an open Jackson network when every one of them
//!   has unbounded capacity (a finite K inside a network blocks, and an M/M/c/K's
//!   departures are not Poisson);
//! - several instances are covered when the balancer is `random` (a random split of a
//!   Poisson stream is Poisson); round robin and load-aware balancers are not;
//! - a service fed by one closed workload (N users thinking Z between requests), with
//!   no routes and room for every user, is a closed network solved exactly by mean value
//!   analysis ([`super::mva`]).
//!
//! Services that make or receive synchronous calls, time-varying rates and
//! non-exponential service times in routed networks are outside, and so is every
//! station a fault, a recovery mechanism, zone preference, deadline propagation or a
//! refusing pool alters ([`super::coverage`]); [`predict`] says which rule excludes each
//! one.

use serde::Serialize;

use super::coverage::Coverage;
use super::general::{Fit, general_station};
use super::mva::{ClosedStation, mva};
use super::{JacksonNode, StationTheory, jackson, mmck};
use crate::model::{Arrivals, Balancer, Model};

/// The closed-form prediction for one service, or why there is none.
#[derive(Clone, Debug, Serialize)]
pub struct Prediction {
    /// Service name.
    pub service: String,
    /// The model used (`"M/M/c/K"`, `"Jackson network"`, `"closed network (MVA)"`), or
    /// null when not covered.
    pub model: Option<&'static str>,
    /// Service-level values (summed over instances for L, Lq, rates), when covered.
    pub values: Option<StationTheory>,
    /// True when the values are exact, false for an approximation or when not covered.
    pub exact: bool,
    /// Why the service is or is not covered.
    pub note: String,
}

impl Prediction {
    /// True when the values are an exact closed form, not an approximation.
    pub fn is_exact(&self) -> bool {
        self.values.is_some() && self.exact
    }
}

/// Aggregates one instance's values over `n` identical instances.
fn over_instances(t: StationTheory, n: u32) -> StationTheory {
    let n = f64::from(n);
    StationTheory {
        arrival_rate: t.arrival_rate * n,
        throughput: t.throughput * n,
        mean_in_system: t.mean_in_system * n,
        mean_queue_length: t.mean_queue_length * n,
        ..t
    }
}

/// What the coverage rules need to know of the whole model.
#[derive(Clone)]
struct Inputs<'m> {
    model: &'m Model,
    /// Constant Poisson rate offered to each service by workloads.
    external: Vec<f64>,
    /// False when a closed or time-varying workload feeds the service.
    external_ok: Vec<bool>,
    /// The service receives synchronous calls.
    called: Vec<bool>,
    /// Some service routes to it.
    routed_in: Vec<bool>,
    /// A representative of each service's connected component of the routing graph.
    roots: Vec<usize>,
}

impl<'m> Inputs<'m> {
    fn of(model: &'m Model) -> Self {
        let n = model.services.len();
        let mut external = vec![0.0; n];
        let mut external_ok = vec![true; n];
        for w in &model.workloads {
            match &w.arrivals {
                Arrivals::Poisson(p) => match p.as_constant() {
                    Some(rate) => external[w.target] += rate,
                    None => external_ok[w.target] = false,
                },
                Arrivals::Closed { .. } => external_ok[w.target] = false,
            }
        }
        let mut called = vec![false; n];
        for e in &model.edges {
            called[e.to] = true;
        }
        let mut routed_in = vec![false; n];
        for r in model.services.iter().flat_map(|s| &s.routes) {
            routed_in[r.to] = true;
        }
        Self { model, external, external_ok, called, routed_in, roots: routing_components(model) }
    }

    /// Why service `i` on its own is outside theory, if it is.
    fn exclusion(&self, i: usize) -> Option<String> {
        let s = &self.model.services[i];
        if !s.steps.is_empty() {
            return Some("makes synchronous calls: its workers wait on other services (no product form)".into());
        }
        if self.called[i] {
            return Some("receives synchronous calls: its arrivals depend on its callers".into());
        }
        if s.pools.len() > 1 {
            return Some("workers are split into pools by request class".into());
        }
        if s.rate_limit.is_some() || s.shed.is_some() || s.concurrency.is_some() || s.degradation.is_some() {
            return Some(
                "a server-side policy (rate limit, shedding, concurrency limit or degradation) shapes its arrivals"
                    .into(),
            );
        }
        if s.priority.queue.is_preemptive() && s.service_time.exponential_mean().is_none() {
            return Some("preemptive priority with a non-exponential service time: interrupted work changes the station's totals".into());
        }
        if s.service_time.exponential_mean().is_none() && (self.routed_in[i] || !s.routes.is_empty()) {
            return Some(
                "service time is not exponential in a routed network (Jackson networks need exponential service)"
                    .into(),
            );
        }
        if !self.external_ok[i] {
            return Some(
                "fed by a closed or time-varying workload: arrivals are not a stationary Poisson stream".into(),
            );
        }
        if s.instances > 1 && s.balancer != Balancer::Random {
            return Some(format!(
                "{} instances behind a {:?} balancer: each instance's arrivals are not Poisson (only `random` splits exactly)",
                s.instances, s.balancer
            ));
        }
        None
    }
}

/// The connected components of the routing graph (union-find): a representative per service.
fn routing_components(model: &Model) -> Vec<usize> {
    fn root(comp: &mut [usize], mut i: usize) -> usize {
        while comp[i] != i {
            comp[i] = comp[comp[i]];
            i = comp[i];
        }
        i
    }
    let n = model.services.len();
    let mut comp: Vec<usize> = (0..n).collect();
    for (i, s) in model.services.iter().enumerate() {
        for r in &s.routes {
            let (a, b) = (root(&mut comp, i), root(&mut comp, r.to));
            comp[a] = b;
        }
    }
    (0..n).map(|i| root(&mut comp, i)).collect()
}

/// A prediction of "outside theory" for `service`, and why.
fn outside(service: &str, note: String) -> Prediction {
    Prediction { service: service.to_owned(), model: None, values: None, exact: false, note }
}

/// Predicts every service of `model` that theory covers.
pub fn predict(model: &Model) -> Vec<Prediction> {
    let inputs = Inputs::of(model);
    let altered = Coverage::of(model);
    (0..model.services.len()).map(|i| station(&inputs, &altered, i)).collect()
}

/// The prediction for service `i`: every reason it is outside theory, or its closed form.
fn station(inputs: &Inputs, altered: &Coverage, i: usize) -> Prediction {
    let name = &inputs.model.services[i].name;
    let closed = inputs.model.workloads.iter().any(|w| w.target == i && matches!(w.arrivals, Arrivals::Closed { .. }));
    // A closed-fed station is ruled on by `closed_station`, which knows its arrivals.
    let base = if closed { None } else { inputs.exclusion(i) };
    match (base, altered.exclusion(i)) {
        (Some(a), Some(b)) => outside(name, format!("{a}; {b}")),
        (Some(why), None) | (None, Some(why)) => outside(name, why),
        (None, None) if closed => closed_station(inputs, i),
        (None, None) if !inputs.routed_in[i] => entry_station(inputs, i),
        (None, None) => routed_station(inputs, i),
    }
}

/// A service fed by a closed workload: exact by mean value analysis when that workload
/// is its only source and the service is the workload's only station (the think time is
/// a delay station, so only its mean matters: BCMP 1975).
fn closed_station(inputs: &Inputs, i: usize) -> Prediction {
    let model = inputs.model;
    let s = &model.services[i];
    let feeding: Vec<_> = model.workloads.iter().filter(|w| w.target == i).collect();
    let closed: Vec<_> = feeding
        .iter()
        .filter_map(|w| match &w.arrivals {
            Arrivals::Closed { users, think } => Some((*w, *users, think)),
            Arrivals::Poisson(_) => None,
        })
        .collect();
    let [(w, users, think)] = closed[..] else {
        return outside(
            &s.name,
            format!(
                "fed by {} closed workloads: a multi-class closed network (multi-chain MVA is not implemented)",
                closed.len()
            ),
        );
    };
    if feeding.len() > 1 {
        return outside(
            &s.name,
            "fed by open and closed workloads at once: a mixed network, which exact MVA here does not cover".into(),
        );
    }
    // Every rule of an open station except the one on its arrival process.
    let open = Inputs { external_ok: vec![true; model.services.len()], ..inputs.clone() };
    if let Some(why) = open.exclusion(i) {
        return outside(&s.name, why);
    }
    let why = if w.deadline.is_some() {
        Some(format!(
            "closed workload `{}` has a deadline: a user who gives up thinks and sends again while its request is still inside, so the station can hold more than N",
            w.name
        ))
    } else if !s.routes.is_empty() || inputs.routed_in[i] {
        Some(
            "routes: requests of a closed workload go on to other services, and MVA here covers a single station"
                .into(),
        )
    } else if s.capacity.is_some_and(|k| k < users) {
        Some(format!(
            "capacity K = {} < {users} users: requests can be rejected, which MVA does not model",
            s.capacity.unwrap_or(0)
        ))
    } else {
        None
    };
    if let Some(why) = why {
        return outside(&s.name, why);
    }
    let (Some(service_s), Some(think_s)) = (s.service_time.exponential_mean(), think.mean_secs()) else {
        return outside(
            &s.name,
            "MVA needs exponential service at a queueing station and a think time with a known mean".into(),
        );
    };
    let n = f64::from(s.instances);
    let station = ClosedStation { visits: 1.0 / n, service_s, servers: s.servers, copies: s.instances };
    match mva(users, think_s, &[station]) {
        Ok(r) => Prediction {
            service: s.name.clone(),
            model: Some("closed network (MVA)"),
            values: Some(over_instances(r.stations[0], s.instances)),
            exact: true,
            note: format!("{users} users thinking {think_s} s on average, by mean value analysis: exact"),
        },
        Err(e) => outside(&s.name, format!("no exact MVA: {e}")),
    }
}

/// A service fed only by constant-rate Poisson workloads, per instance: an exact M/M/c/K
/// when its service is exponential, else what [`general_station`] picks.
fn entry_station(inputs: &Inputs, i: usize) -> Prediction {
    let s = &inputs.model.services[i];
    let lambda = inputs.external[i] / f64::from(s.instances);
    let fit = match s.service_time.exponential_mean() {
        Some(mean) => mmck(lambda, 1.0 / mean, s.servers, s.capacity)
            .map(|values| Fit {
                model: "M/M/c/K",
                values,
                exact: true,
                note: "Poisson arrivals, exponential service: exact".into(),
            })
            .map_err(|e| format!("no steady state: {e}")),
        None => general_station(lambda, s.service_time.moments(), s.servers, s.capacity),
    };
    match fit {
        Ok(f) => Prediction {
            service: s.name.clone(),
            model: Some(f.model),
            values: Some(over_instances(f.values, s.instances)),
            exact: f.exact,
            note: f.note,
        },
        Err(why) => outside(&s.name, why),
    }
}

/// A routed service: the whole routing component must qualify as a Jackson network.
fn routed_station(inputs: &Inputs, i: usize) -> Prediction {
    let model = inputs.model;
    let s = &model.services[i];
    let members: Vec<usize> = (0..model.services.len()).filter(|&j| inputs.roots[j] == inputs.roots[i]).collect();
    if let Some(j) =
        members.iter().copied().find(|&j| inputs.exclusion(j).is_some() || model.services[j].capacity.is_some())
    {
        let other = &model.services[j].name;
        let why = match inputs.exclusion(j) {
            Some(w) => format!("in a routed network with `{other}`, which {w}"),
            None => format!("in a routed network where `{other}` has a finite capacity (blocking breaks product form)"),
        };
        return outside(&s.name, why);
    }
    let mu_of = |j: usize| 1.0 / model.services[j].service_time.exponential_mean().unwrap_or(f64::NAN);
    let nodes: Vec<JacksonNode> = members
        .iter()
        .map(|&j| {
            let m = &model.services[j];
            JacksonNode { external_rate: inputs.external[j], mu: mu_of(j), servers: m.servers * m.instances }
        })
        .collect();
    let routing: Vec<Vec<f64>> = members
        .iter()
        .map(|&j| {
            let mut row = vec![0.0; members.len()];
            for r in &model.services[j].routes {
                if let Some(k) = members.iter().position(|&x| x == r.to) {
                    row[k] += r.probability;
                }
            }
            row
        })
        .collect();
    let pos = members.iter().position(|&x| x == i).unwrap_or(0);
    let net = match jackson(&nodes, &routing) {
        Ok(net) => net,
        Err(e) => return outside(&s.name, format!("no steady state for the routed network: {e}")),
    };
    let lambda = net.nodes[pos].arrival_rate / f64::from(s.instances);
    match mmck(lambda, mu_of(i), s.servers, None) {
        Ok(t) => Prediction {
            service: s.name.clone(),
            model: Some("Jackson network"),
            values: Some(over_instances(t, s.instances)),
            exact: true,
            note: format!("open Jackson network of {} services: exact", members.len()),
        },
        Err(e) => outside(&s.name, format!("no steady state: {e}")),
    }
}

#[cfg(test)]
#[path = "predict_tests.rs"]
mod tests;
