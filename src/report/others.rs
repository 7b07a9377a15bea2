//! The summary of what a report of a large model left out (see [`super::select`]), so
//! nothing is lost silently: how many services, edges and workloads, their totals as
//! statistics over replications (each replication's sum over the members left out), and
//! the worst of them by utilisation and by failures.
//!
//! The totals add up: a kept member's statistic plus the left-out total is the total of
//! the whole model (as means over replications; the intervals do not add).

use serde::Serialize;

use super::select::{Kept, failed, failed_visits, served, sojourn_secs};
use super::statistic::Statistic;
use super::summary::ReplicationSummary;
use super::text::{Section, num};
use crate::model::Model;

/// What the report left out, per kind; a kind kept whole is absent.
#[derive(Clone, Debug, Serialize)]
pub struct OthersReport {
    /// Members kept per ranking (`--top`).
    pub top: usize,
    /// The services left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services: Option<ServicesLeftOut>,
    /// The call edges left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edges: Option<EdgesLeftOut>,
    /// The workloads left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workloads: Option<WorkloadsLeftOut>,
}

/// One member left out, named with its value (the worst of them by some measure).
#[derive(Clone, Debug, Serialize)]
pub struct Worst {
    /// Its name.
    pub name: String,
    /// Its value, mean over replications.
    pub value: f64,
}

/// The services left out, together.
#[derive(Clone, Debug, Serialize)]
pub struct ServicesLeftOut {
    /// How many.
    pub count: usize,
    /// Requests that reached them.
    pub arrivals: Statistic,
    /// Requests that left their workers.
    pub completed: Statistic,
    /// Requests they refused at a full instance.
    pub rejected: Statistic,
    /// Visits that failed (error, timeout, rejected, short-circuited), as in the services'
    /// `timeline.failed`.
    pub failed: Statistic,
    /// Seconds requests spent inside them (the sum of their sojourns).
    pub sojourn_s: Statistic,
    /// The busiest of them by mean utilisation.
    pub max_utilization: Option<Worst>,
    /// The one with the most failed visits (absent when none failed).
    pub max_failed: Option<Worst>,
}

/// The call edges left out, together.
#[derive(Clone, Debug, Serialize)]
pub struct EdgesLeftOut {
    /// How many.
    pub count: usize,
    /// Calls made.
    pub calls: Statistic,
    /// Attempts started.
    pub attempts: Statistic,
    /// Retries.
    pub retries: Statistic,
    /// Calls that failed after retries and fallbacks.
    pub failed: Statistic,
    /// The one with the most failed calls (absent when none failed).
    pub max_failed: Option<Worst>,
}

/// The workloads left out, together.
#[derive(Clone, Debug, Serialize)]
pub struct WorkloadsLeftOut {
    /// How many.
    pub count: usize,
    /// Requests sent.
    pub arrivals: Statistic,
    /// Requests finished.
    pub requests: Statistic,
    /// Requests served (ok or degraded).
    pub served: Statistic,
    /// Requests failed.
    pub failed: Statistic,
    /// The one with the most failed requests (absent when none failed).
    pub max_failed: Option<Worst>,
}

/// The indices not kept.
fn left_out(keep: &[bool]) -> Vec<usize> {
    (0..keep.len()).filter(|&i| !keep[i]).collect()
}

/// Per replication, the sum of `f` over `members`.
fn total(reps: &[ReplicationSummary], members: &[usize], f: impl Fn(&ReplicationSummary, usize) -> f64) -> Statistic {
    Statistic::of_counts(reps.iter().map(|r| members.iter().map(|&i| f(r, i)).sum()))
}

/// The member with the highest mean of `f` over replications (ties: the first by
/// name), if any has a positive one.
fn worst(
    reps: &[ReplicationSummary],
    members: &[usize],
    name: impl Fn(usize) -> String,
    f: impl Fn(&ReplicationSummary, usize) -> f64,
) -> Option<Worst> {
    let n = reps.len().max(1) as f64;
    members
        .iter()
        .map(|&i| Worst { name: name(i), value: reps.iter().map(|r| f(r, i)).sum::<f64>() / n })
        .filter(|w| w.value > 0.0)
        .min_by(|a, b| b.value.total_cmp(&a.value).then_with(|| a.name.cmp(&b.name)))
}

impl OthersReport {
    /// The summary of what `kept` leaves out of `model`'s report over `reps`.
    pub(super) fn of(model: &Model, reps: &[ReplicationSummary], kept: &Kept) -> Self {
        let secs = model.duration.as_secs_f64();
        let s = left_out(&kept.services);
        let e = left_out(&kept.edges);
        let w = left_out(&kept.workloads);
        let service = |i: usize| model.services[i].name.clone();
        let services = (!s.is_empty()).then(|| ServicesLeftOut {
            count: s.len(),
            arrivals: total(reps, &s, |r, i| r.services[i].arrivals),
            completed: total(reps, &s, |r, i| r.services[i].completed),
            rejected: total(reps, &s, |r, i| r.services[i].rejected),
            failed: total(reps, &s, |r, i| failed_visits(&r.services[i])),
            sojourn_s: total(reps, &s, |r, i| sojourn_secs(&r.services[i], secs)),
            max_utilization: worst(reps, &s, service, |r, i| r.services[i].utilization),
            max_failed: worst(reps, &s, service, |r, i| failed_visits(&r.services[i])),
        });
        let edges = (!e.is_empty()).then(|| EdgesLeftOut {
            count: e.len(),
            calls: total(reps, &e, |r, i| r.edges[i].calls),
            attempts: total(reps, &e, |r, i| r.edges[i].attempts),
            retries: total(reps, &e, |r, i| r.edges[i].retries),
            failed: total(reps, &e, |r, i| failed(&r.edges[i].outcomes)),
            max_failed: worst(reps, &e, |i| model.edges[i].name.clone(), |r, i| failed(&r.edges[i].outcomes)),
        });
        let workloads = (!w.is_empty()).then(|| WorkloadsLeftOut {
            count: w.len(),
            arrivals: total(reps, &w, |r, i| r.workloads[i].arrivals),
            requests: total(reps, &w, |r, i| r.workloads[i].outcomes.iter().sum()),
            served: total(reps, &w, |r, i| served(&r.workloads[i].outcomes)),
            failed: total(reps, &w, |r, i| failed(&r.workloads[i].outcomes)),
            max_failed: worst(reps, &w, |i| model.workloads[i].name.clone(), |r, i| failed(&r.workloads[i].outcomes)),
        });
        OthersReport { top: model.detail.top, services, edges, workloads }
    }
}

/// "name (value)" of a worst member, `-` without one.
fn named(w: &Option<Worst>, value: impl Fn(f64) -> String) -> String {
    w.as_ref().map_or("-".into(), |w| format!("{} ({})", w.name, value(w.value)))
}

/// The summary's table of what was left out; `None` when nothing was.
pub(super) fn section(others: Option<&OthersReport>) -> Option<Section> {
    let o = others?;
    let header = ["left out", "count", "arrivals/calls", "failed", "busiest", "most failed"];
    let mut rows = vec![header.map(String::from).to_vec()];
    if let Some(s) = &o.services {
        let busiest = named(&s.max_utilization, |u| format!("{:.1}% util", u * 100.0));
        let row = [s.count.to_string(), num(s.arrivals.value()), num(s.failed.value()), busiest];
        rows.push([vec!["services".into()], row.to_vec(), vec![named(&s.max_failed, num)]].concat());
    }
    if let Some(e) = &o.edges {
        let row = [e.count.to_string(), num(e.calls.value()), num(e.failed.value()), "-".into()];
        rows.push([vec!["edges".into()], row.to_vec(), vec![named(&e.max_failed, num)]].concat());
    }
    if let Some(w) = &o.workloads {
        let row = [w.count.to_string(), num(w.arrivals.value()), num(w.failed.value()), "-".into()];
        rows.push([vec!["workloads".into()], row.to_vec(), vec![named(&w.max_failed, num)]].concat());
    }
    let title = format!("Left out: all but the top {} per ranking (--top; --detail full keeps all)", o.top);
    Some(Section { title, rows })
}
