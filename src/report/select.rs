//! Which services, edges and workloads the report of a large model keeps.
//!
//! A person reads a table of a few dozen rows, and a report of 5,000 services' time
//! series is hundreds of megabytes nobody opens. So, unless [`Detail::full`] is set, a
//! kind with more than [`Detail::top`] members keeps, by rank over the whole run (summed
//! over replications):
//! - services: the top by arrivals (load), by failed visits (errors) and by time spent
//!   inside (sojourn sum: the latency it adds to the requests that pass through it);
//! - edges: the top by calls, by failed calls and by retries (amplification);
//! - workloads: the top by requests sent, by failed requests and by latency of their
//!   successes (mean × count: the share of the users' waiting they account for);
//!
//! and always what the scenario or the analysis names: the targets of SLOs and faults,
//! and every service and workload a fault's blast radius touched. A ranking skips members
//! that scored zero (the top 25 by errors of a run without errors is empty, not 25
//! arbitrary names); ties are broken by name, so the selection is deterministic. A kind
//! with at most `top` members is kept whole, so small scenarios' reports do not change.

use std::collections::BTreeMap;

use super::BlastRadiusReport;
use super::summary::{ReplicationSummary, ServiceSummary};
use crate::metrics::Outcome;
use crate::model::fault::Target;
use crate::model::{Detail, Model, SloTarget};

/// Per service, edge and workload of the model (by index): whether the report keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Kept {
    /// By service index.
    pub services: Vec<bool>,
    /// By edge index.
    pub edges: Vec<bool>,
    /// By workload index.
    pub workloads: Vec<bool>,
}

/// Failed outcomes (error, timeout, rejected, short-circuited) of an outcome array.
pub(super) fn failed(o: &[f64; 6]) -> f64 {
    o[Outcome::Error as usize..].iter().sum()
}

/// Served outcomes (ok or degraded) of an outcome array.
pub(super) fn served(o: &[f64; 6]) -> f64 {
    o[Outcome::Ok as usize] + o[Outcome::Degraded as usize]
}

/// A service's failed visits in one replication, over the measured windows.
pub(super) fn failed_visits(s: &ServiceSummary) -> f64 {
    failed(&s.windows.outcome_totals())
}

/// Seconds requests spent inside a service in one replication of `secs` measured
/// seconds (its mean sojourn times its departures).
pub(super) fn sojourn_secs(s: &ServiceSummary, secs: f64) -> f64 {
    s.mean_sojourn.unwrap_or(0.0) * s.departures * secs
}

/// Sums `f` over replications for each of `n` members.
fn totals(n: usize, reps: &[ReplicationSummary], f: impl Fn(&ReplicationSummary, usize) -> f64) -> Vec<f64> {
    (0..n).map(|i| reps.iter().map(|r| f(r, i)).sum()).collect()
}

/// Marks in `keep` the `top` members with the highest positive `scores`, ties broken by
/// `name`.
fn mark_top(keep: &mut [bool], top: usize, scores: &[f64], name: impl Fn(usize) -> String) {
    let mut ranked: Vec<usize> = (0..scores.len()).filter(|&i| scores[i] > 0.0).collect();
    ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then_with(|| name(a).cmp(&name(b))));
    for i in ranked.into_iter().take(top) {
        keep[i] = true;
    }
}

/// A kind's selection: everything when it has at most `top` members, else the top of
/// each ranking plus the members already marked in `keep`.
fn select(mut keep: Vec<bool>, top: usize, rankings: &[Vec<f64>], name: impl Fn(usize) -> String) -> Vec<bool> {
    if keep.len() <= top {
        return vec![true; keep.len()];
    }
    for scores in rankings {
        mark_top(&mut keep, top, scores, &name);
    }
    keep
}

impl Kept {
    /// Everything of `model`.
    pub(super) fn everything(model: &Model) -> Kept {
        Kept {
            services: vec![true; model.services.len()],
            edges: vec![true; model.edges.len()],
            workloads: vec![true; model.workloads.len()],
        }
    }

    /// What the report of `model` over `reps` keeps, with `blast` the blast radius
    /// already measured; `None` when it keeps everything.
    pub(super) fn of(model: &Model, reps: &[ReplicationSummary], blast: &[BlastRadiusReport]) -> Option<Kept> {
        let Detail { top, full } = model.detail;
        let (ns, ne, nw) = (model.services.len(), model.edges.len(), model.workloads.len());
        if full || (ns <= top && ne <= top && nw <= top) {
            return None;
        }
        let (mut services, mut edges, mut workloads) = (vec![false; ns], vec![false; ne], vec![false; nw]);
        named(model, blast, &mut services, &mut edges, &mut workloads);
        let secs = model.duration.as_secs_f64();
        let service_rankings = [
            totals(ns, reps, |r, i| r.services[i].arrivals),
            totals(ns, reps, |r, i| failed_visits(&r.services[i])),
            totals(ns, reps, |r, i| sojourn_secs(&r.services[i], secs)),
        ];
        let edge_rankings = [
            totals(ne, reps, |r, i| r.edges[i].calls),
            totals(ne, reps, |r, i| failed(&r.edges[i].outcomes)),
            totals(ne, reps, |r, i| r.edges[i].retries),
        ];
        let workload_rankings = [
            totals(nw, reps, |r, i| r.workloads[i].arrivals),
            totals(nw, reps, |r, i| failed(&r.workloads[i].outcomes)),
            totals(nw, reps, |r, i| {
                let w = &r.workloads[i];
                w.latency_mean_s.unwrap_or(0.0) * served(&w.outcomes)
            }),
        ];
        Some(Kept {
            services: select(services, top, &service_rankings, |i| model.services[i].name.clone()),
            edges: select(edges, top, &edge_rankings, |i| model.edges[i].name.clone()),
            workloads: select(workloads, top, &workload_rankings, |i| model.workloads[i].name.clone()),
        })
    }
}

/// Marks what the scenario and the blast radius name: SLO targets, fault targets (both
/// ends of a targeted edge, a targeted workload and its entry service) and every service
/// and workload a fault's blast radius put in its scope or affected.
fn named(
    model: &Model,
    blast: &[BlastRadiusReport],
    services: &mut [bool],
    edges: &mut [bool],
    workloads: &mut [bool],
) {
    for slo in &model.slos {
        match slo.target {
            SloTarget::Workload(w) => workloads[w] = true,
            SloTarget::Service(s) => services[s] = true,
        }
    }
    for fault in &model.faults {
        match &fault.target {
            Target::Instances(list) => list.iter().for_each(|&(s, _)| services[s] = true),
            Target::Edge(e) => {
                edges[*e] = true;
                services[model.edges[*e].from] = true;
                services[model.edges[*e].to] = true;
            }
            Target::Workload(w) => {
                workloads[*w] = true;
                services[model.workloads[*w].target] = true;
            }
        }
    }
    let service_ids: BTreeMap<&str, usize> = model.services.iter().map(|s| s.name.as_str()).zip(0..).collect();
    let workload_ids: BTreeMap<&str, usize> = model.workloads.iter().map(|w| w.name.as_str()).zip(0..).collect();
    for b in blast {
        for name in b.scope.iter().chain(&b.affected_services) {
            if let Some(&s) = service_ids.get(name.as_str()) {
                services[s] = true;
            }
        }
        for name in &b.affected_workloads {
            if let Some(&w) = workload_ids.get(name.as_str()) {
                workloads[w] = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ranking_takes_the_highest_ties_by_name_and_skips_zeros() {
        let names = ["d", "c", "b", "a"];
        let mut keep = vec![false; 4];
        // c and b tie at 5: b wins by name; a scored nothing and is never taken.
        mark_top(&mut keep, 2, &[9.0, 5.0, 5.0, 0.0], |i| names[i].to_string());
        assert_eq!(keep, [true, false, true, false]);
        let mut keep = vec![false; 4];
        mark_top(&mut keep, 10, &[0.0, 0.0, 1.0, 0.0], |i| names[i].to_string());
        assert_eq!(keep, [false, false, true, false], "a run without errors ranks nobody by errors");
    }

    #[test]
    fn a_kind_within_top_is_kept_whole_and_named_members_stay() {
        let name = |i: usize| format!("m{i}");
        assert_eq!(select(vec![false; 3], 3, &[vec![0.0; 3]], name), [true; 3]);
        let kept = select(vec![false, false, false, true], 1, &[vec![1.0, 2.0, 0.0, 0.0]], name);
        assert_eq!(kept, [false, true, false, true], "the top one and the named one");
    }

    #[test]
    fn failed_counts_the_four_failures_and_served_the_two_answers() {
        let o = [5.0, 1.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!((failed(&o), served(&o)), (10.0, 6.0));
    }
}
