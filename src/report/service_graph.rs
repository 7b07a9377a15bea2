//! Every service's headline numbers and the call graph, in a compact column layout, for
//! models with more services than the report's `top`: report.html draws its service-graph
//! view from it, and report.json keeps, for the services whose full record was left out,
//! what a person checks first (load, utilisation, failures) — about 200 bytes a service.

use serde::Serialize;

use super::select::failed_visits;
use super::summary::ReplicationSummary;
use crate::model::Model;

/// The services (in model order) and the calls between them; the per-service arrays are
/// indexed like `services`.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceGraphReport {
    /// Service names.
    pub services: Vec<String>,
    /// Call depth: 0 for a service nobody calls, else one more than its deepest caller
    /// (longest path; a cycle stops growing at the service count).
    pub depth: Vec<u32>,
    /// Requests that reached the service, mean over replications.
    pub arrivals: Vec<f64>,
    /// Busy workers / workers, mean over replications.
    pub utilization: Vec<f64>,
    /// Failed visits / visits over the measured windows, pooled over replications
    /// (null: no visit finished).
    pub failed_share: Vec<Option<f64>>,
    /// Whether the report holds the service's full record under `services`.
    pub kept: Vec<bool>,
    /// Calls and asynchronous routes as `[caller, callee]` indices into `services`.
    pub links: Vec<[usize; 2]>,
}

/// Call depth of every service over `links` (see [`ServiceGraphReport::depth`]).
pub(crate) fn depths(n: usize, links: &[[usize; 2]]) -> Vec<u32> {
    let mut depth = vec![0u32; n];
    // Longest-path relaxation: a DAG settles in (its depth + 1) passes; a cycle is cut
    // off after n passes.
    for _ in 0..n {
        let mut changed = false;
        for &[a, b] in links {
            let next = depth[a] + 1;
            if depth[b] < next && (next as usize) < n {
                depth[b] = next;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    depth
}

impl ServiceGraphReport {
    /// The graph of `model` over `reps`, `kept[i]` telling whether service `i` has its
    /// full record in the report.
    pub(super) fn of(model: &Model, reps: &[ReplicationSummary], kept: Vec<bool>) -> Self {
        let n = reps.len().max(1) as f64;
        let mean = |f: &dyn Fn(&ReplicationSummary) -> f64| reps.iter().map(f).sum::<f64>() / n;
        let mut links: Vec<[usize; 2]> = model.edges.iter().map(|e| [e.from, e.to]).collect();
        for (i, s) in model.services.iter().enumerate() {
            links.extend(s.routes.iter().map(|r| [i, r.to]));
        }
        let ns = model.services.len();
        ServiceGraphReport {
            services: model.services.iter().map(|s| s.name.clone()).collect(),
            depth: depths(ns, &links),
            arrivals: (0..ns).map(|i| mean(&|r| r.services[i].arrivals)).collect(),
            utilization: (0..ns).map(|i| mean(&|r| r.services[i].utilization)).collect(),
            failed_share: (0..ns)
                .map(|i| {
                    let visits: f64 =
                        reps.iter().map(|r| r.services[i].windows.outcome_totals().iter().sum::<f64>()).sum();
                    let bad: f64 = reps.iter().map(|r| failed_visits(&r.services[i])).sum();
                    (visits > 0.0).then(|| bad / visits)
                })
                .collect(),
            kept,
            links,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_the_longest_call_path_and_a_cycle_stops() {
        // 0 -> 1 -> 2 and 0 -> 2: 2 sits below 1; 3 is alone.
        assert_eq!(depths(4, &[[0, 1], [1, 2], [0, 2]]), [0, 1, 2, 0]);
        // 0 -> 1 -> 0: bounded by the service count.
        let d = depths(2, &[[0, 1], [1, 0]]);
        assert!(d.iter().all(|&x| x < 2), "{d:?}");
    }
}
