//! Resolving priority classes: a workload's `priority:` or `criticality:` (one of the
//! two), a service's `queue:` discipline, and the ranks the engine carries.
//!
//! Requests carry a rank, not the written integer: the engine only compares priorities,
//! and 8 bits keep the request small. The ranks are the distinct priorities of the
//! workloads in increasing order (every request's priority comes from a workload).

use super::error::{Result, err};
use super::priority_spec::{QueueKind, QueueSpec};
use super::spec::{ScenarioSpec, ServiceSpec, WorkloadSpec};
use crate::engine::SimTime;
use crate::model::Workload;
use crate::model::queue_discipline::{Discipline, LIFO_INTERVAL, Priority, ServicePriority};

/// Largest priority magnitude accepted: Kubernetes' highest (`system-node-critical`,
/// 2,000,001,000); user classes stay at or below 1,000,000,000.
pub const MAX_PRIORITY: i64 = 2_000_001_000;
/// Most distinct priorities over the workloads (a request carries its rank in 8 bits).
pub const MAX_LEVELS: usize = 256;
/// Longest adaptive-LIFO interval: an hour without an empty queue is not "overload
/// starting", it is a different system.
pub const MAX_LIFO_INTERVAL: SimTime = SimTime(3_600_000_000_000);

/// The priority of workload `w` at `key`: its `priority`, its `criticality`'s integer, or 0.
pub fn workload_priority(w: &WorkloadSpec, key: &str) -> Result<Priority> {
    match (w.priority, w.criticality) {
        (Some(_), Some(_)) => err(format!("{key}.criticality"), "give either `priority` or `criticality`, not both")
            .map_err(|e| e.with_help("criticality stands for a priority: critical_plus 1000, critical 0, sheddable_plus -1000, sheddable -2000")),
        (Some(p), None) if i64::from(p).abs() > MAX_PRIORITY => {
            err(format!("{key}.priority"), format!("priority {p} is out of range (at most ±{MAX_PRIORITY})"))
                .map_err(|e| e.with_help("Kubernetes' user priority classes go up to 1000000000"))
        }
        (Some(p), None) => Ok(p),
        (None, Some(c)) => Ok(c.priority()),
        (None, None) => Ok(0),
    }
}

/// Gives each workload its rank among the distinct priorities; refuses more than
/// [`MAX_LEVELS`] of them.
pub fn rank_workloads(workloads: &mut [Workload]) -> Result<()> {
    let mut values: Vec<Priority> = workloads.iter().map(|w| w.priority.value).collect();
    values.sort_unstable();
    values.dedup();
    if values.len() > MAX_LEVELS {
        return err("workloads", format!("{} distinct priorities; at most {MAX_LEVELS} are supported", values.len()))
            .map_err(|e| e.with_help("group the workloads into fewer priority classes"));
    }
    for w in workloads {
        w.priority.rank = values.partition_point(|&v| v < w.priority.value) as u8;
    }
    Ok(())
}

/// The number of distinct priorities among ranked `workloads` (at least 1).
pub fn levels(workloads: &[Workload]) -> u8 {
    workloads.iter().map(|w| w.priority.rank).max().unwrap_or(0).saturating_add(1)
}

/// The priority settings of service `s` at `key`: its queue discipline, and whether its
/// shedding goes by priority.
pub fn service_priority(s: &ServiceSpec, key: &str) -> Result<ServicePriority> {
    let queue = match &s.queue {
        None => Discipline::Fifo,
        Some(QueueSpec::Named(kind)) => discipline(*kind, None, key)?,
        Some(QueueSpec::Tuned(t)) => discipline(t.discipline, t.interval.map(|i| i.time()), key)?,
    };
    if queue.is_preemptive() && s.cache.is_some() {
        // A preempted request resumes its service; a cache would look its key up again.
        return err(
            format!("{key}.queue"),
            "a cached service cannot preempt (a resumed request would look up its key twice)",
        )
        .map_err(|e| e.with_help("use `queue: priority` (non-preemptive) on a cached service"));
    }
    Ok(ServicePriority {
        queue,
        shed_by_priority: s.shed.as_ref().is_some_and(|x| x.by_priority()),
        rate_limit_by_priority: s.rate_limit.as_ref().is_some_and(|r| r.by_priority),
        concurrency_by_priority: s.concurrency_limit.as_ref().is_some_and(|c| c.limit_spec().by_priority),
    })
}

/// Refuses `by_priority` on a call's client-side `rate_limit` or `concurrency_limit`: the
/// priority-aware limits are a service's (server-side), where requests of every priority
/// meet.
pub fn check_call_limits(spec: &ScenarioSpec) -> Result<()> {
    for (name, s) in &spec.services {
        for (i, c) in s.calls.iter().enumerate() {
            let key = format!("services.{name}.calls.{i}");
            let members = c.parallel.iter().flatten().enumerate().map(|(j, m)| (format!("{key}.parallel.{j}"), m));
            for (key, call) in std::iter::once((key.clone(), c)).chain(members) {
                let which = if call.rate_limit.as_ref().is_some_and(|r| r.by_priority) {
                    "rate_limit"
                } else if call.concurrency_limit.as_ref().is_some_and(|l| l.limit_spec().by_priority) {
                    "concurrency_limit"
                } else {
                    continue;
                };
                return err(
                    format!("{key}.{which}.by_priority"),
                    "`by_priority` applies to a service's own limits, not a call's",
                )
                .map_err(|e| e.with_help(format!("move the limit to the callee: services.<callee>.{which}")));
            }
        }
    }
    Ok(())
}

/// The discipline `kind`, with the adaptive LIFO's `interval` if given.
fn discipline(kind: QueueKind, interval: Option<SimTime>, key: &str) -> Result<Discipline> {
    let ikey = format!("{key}.queue.interval");
    Ok(match (kind, interval) {
        (QueueKind::Lifo, i) => {
            let interval = i.unwrap_or(LIFO_INTERVAL);
            if interval == SimTime::ZERO || interval > MAX_LIFO_INTERVAL {
                return err(ikey, "the interval must be longer than 0 and at most 1h")
                    .map_err(|e| e.with_help("Facebook's servers use 100ms (folly's codel_interval)"));
            }
            Discipline::AdaptiveLifo { interval }
        }
        (_, Some(_)) => {
            return err(ikey, "only the `lifo` discipline takes an interval")
                .map_err(|e| e.with_help("write `queue: priority` (or fifo, priority_preemptive) alone"));
        }
        (QueueKind::Fifo, None) => Discipline::Fifo,
        (QueueKind::Priority, None) => Discipline::Priority,
        (QueueKind::PriorityPreemptive, None) => Discipline::PriorityPreemptive,
    })
}
