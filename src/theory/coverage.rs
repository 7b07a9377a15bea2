//! Which features of a scenario alter a station beyond what the closed forms describe.
//!
//! The closed forms of [`super::predict`] assume a stationary station: one constant
//! exponential service rate, a fixed number of workers, every arrival admitted (up to
//! K), served, and sent on by its routes, and a balancer that splits arrivals evenly
//! and at random. Every key below breaks one of those, and [`Coverage`] records which,
//! and why, for each service it touches:
//!
//! - faults on instances: `latency` (the service rate changes while active), `error`
//!   and `partial` (failed requests leave instead of following routes), `crash` and
//!   `zone_outage` (work lost, arrivals refused until the restart), `capacity` (c changes);
//!   on an edge, `partition` (both ends); on a workload, `spike` and `ramp` (the rate
//!   changes on a window);
//! - a message queue (`kind: queue`): consumers take messages only when free, and a
//!   message not deleted in time comes back;
//! - recovery: `health_check`, `outlier_ejection` and `failover` take instances out of
//!   the balancer (active-passive failover sends everything to one instance);
//! - `autoscale`: the controller changes the number of instances (and so c) over time,
//!   new instances start cold, and evictions move them between zones;
//! - `prefer_local_zone` over several instances: each zone's users go to their zone's
//!   instances, not 1/n to each;
//! - `deadline_propagation` when some workload sets a `deadline`: queued requests past
//!   it are dropped unserved (reneging). Without any deadline the key does nothing, and a
//!   workload `deadline` alone only changes what the user sees: the station serves an
//!   abandoned request all the same;
//! - pools that refuse a workload's request class.
//!
//! Zones alone, SLOs, alerting, blast radius and run limits change no station. Calls,
//! pools, server-side policies, balancers and time-varying rates are ruled on by
//! `predict` itself. A station is altered by its own features and by those of every
//! service whose requests reach it along `routes` (their output is its input). A
//! station upstream is not: routes are hand-offs that never block or answer, so what
//! happens downstream does not change its arrivals.

use crate::model::Model;
use crate::model::fault::{Effect, Fault, Target};

/// Per service, each feature that alters it, with why the closed forms miss it.
pub(super) struct Coverage {
    reasons: Vec<Vec<String>>,
}

impl Coverage {
    /// The alterations of every service of `model`.
    pub(super) fn of(model: &Model) -> Self {
        let n = model.services.len();
        let reach = reachable(model);
        let mut own: Vec<Vec<String>> = (0..n).map(|i| service_reasons(model, &reach, i)).collect();
        for f in &model.faults {
            let why = fault_reason(f);
            for s in fault_services(model, f) {
                if !own[s].contains(&why) {
                    own[s].push(why.clone());
                }
            }
        }
        let reasons = (0..n)
            .map(|i| {
                let mut r = own[i].clone();
                for j in (0..n).filter(|&j| j != i && reach[j][i]) {
                    if let Some(first) = own[j].first() {
                        r.push(format!("fed by routes from `{}`, which is altered: {first}", model.services[j].name));
                    }
                }
                r
            })
            .collect();
        Self { reasons }
    }

    /// Why service `i` is outside theory, every alteration joined by `; `; `None` if unaltered.
    pub(super) fn exclusion(&self, i: usize) -> Option<String> {
        let r = &self.reasons[i];
        (!r.is_empty()).then(|| r.join("; "))
    }
}

/// `reach[j][i]`: requests leaving service `j` can arrive at `i` by following routes
/// (every service reaches itself).
fn reachable(model: &Model) -> Vec<Vec<bool>> {
    let n = model.services.len();
    (0..n)
        .map(|j| {
            let mut seen = vec![false; n];
            let mut stack = vec![j];
            seen[j] = true;
            while let Some(k) = stack.pop() {
                for r in &model.services[k].routes {
                    if !seen[r.to] {
                        seen[r.to] = true;
                        stack.push(r.to);
                    }
                }
            }
            seen
        })
        .collect()
}

/// The services a fault acts on: its instances' services, both ends of its edge, or its
/// workload's target.
fn fault_services(model: &Model, f: &Fault) -> Vec<usize> {
    let mut out: Vec<usize> = match &f.target {
        Target::Instances(v) => v.iter().map(|&(s, _)| s).collect(),
        Target::Edge(e) => vec![model.edges[*e].from, model.edges[*e].to],
        Target::Workload(w) => vec![model.workloads[*w].target],
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// What fault `f` does that the closed forms do not describe.
fn fault_reason(f: &Fault) -> String {
    let what = match &f.effect {
        Effect::Latency { .. } => {
            "lengthens service times while active, so the service rate changes over time (the closed forms assume one constant exponential rate)"
        }
        Effect::Error(_) | Effect::Partial { .. } => {
            "fails responses while active: failed requests leave instead of following their routes, and the closed forms count no failures"
        }
        Effect::Crash { .. } => {
            "takes instances down: their work is lost and arrivals are refused until they restart (the closed forms assume every instance always up)"
        }
        Effect::Capacity { .. } => "takes workers away while active, so c changes over time",
        Effect::Partition { .. } => "cuts the call edge: calls vanish or are refused",
        Effect::CacheFlush | Effect::CacheDown => {
            "empties or cuts off the service's cache, so its hit ratio (and the load its misses send on) changes over time"
        }
        Effect::Load(_) => {
            "multiplies the workload's rate on a window, so arrivals are not a stationary Poisson stream"
        }
    };
    format!("{} fault `{}` on `{}` {what}", f.kind, f.name, f.target_text)
}

/// The features of service `i` itself (recovery, zones, deadlines, pools) that alter it;
/// `reach` as [`reachable`] gives it.
fn service_reasons(model: &Model, reach: &[Vec<bool>], i: usize) -> Vec<String> {
    let s = &model.services[i];
    let mut out = Vec::new();
    if let Some(f) = &s.failover {
        out.push(if f.active_passive {
            "failover (active-passive): only the active instance takes traffic and heartbeats move it, so instances do not split arrivals evenly".to_string()
        } else {
            "failover (active-active): heartbeats take failed instances out and ramp them back, so each instance's share changes over time".to_string()
        });
    }
    if s.cache.is_some() {
        out.push("cache: a hit takes hit_time and makes no calls, so the service time is a mixture and its callees see only the misses (see the cache's Che approximation)".into());
    }
    if s.message_queue.is_some() {
        out.push("a message queue (`kind: queue`): its workers take messages only when free and a message can come back after its visibility timeout, so its station sees neither its sends nor a Poisson stream".into());
    }
    if s.health_check.is_some() {
        out.push("health_check: failed probes take instances out of the balancer, so each instance's share of arrivals can change".into());
    }
    if s.outlier.is_some() {
        out.push("outlier_ejection: instances are ejected on errors and timeouts, so each instance's share of arrivals can change".into());
    }
    if s.autoscale.is_some() {
        out.push(
            "autoscaled: the autoscaler changes the number of instances over time, so the workers are not a fixed c"
                .into(),
        );
    }
    if s.prefer_local_zone && s.instances > 1 && !s.zones.is_empty() {
        out.push("prefer_local_zone: requests go to the instances in the caller's zone, not 1/n to each".into());
    }
    if s.deadline_propagation
        && let Some(w) = model.workloads.iter().find(|w| w.deadline.is_some())
    {
        out.push(format!(
            "deadline_propagation with a deadline (workload `{}`): queued requests past their deadline are dropped unserved (reneging, not in M/M/c/K)",
            w.name
        ));
    }
    // Only workloads whose requests can reach `i`.
    for w in model.workloads.iter().filter(|w| reach[w.target][i]) {
        if s.pool_of_class.get(usize::from(w.class)).is_some_and(Option::is_none) {
            let class = model.classes.get(usize::from(w.class)).map_or("?", String::as_str);
            out.push(format!(
                "pools: no pool serves class `{class}` (workload `{}`), so those requests are refused",
                w.name
            ));
        }
    }
    out
}
