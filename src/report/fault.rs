//! What the chaos schedule did: each fault's activity, and replication 0's recovery
//! events (health changes, ejections, heartbeats, failovers, degradation levels).

use serde::Serialize;

use super::aggregate::stat;
use super::statistic::Statistic;
use super::summary::ReplicationSummary;
use crate::engine::SimTime;
use crate::metrics::{FaultMetrics, LogEntry};
use crate::model::Model;
use crate::model::fault::Schedule;

/// One fault of the chaos schedule.
#[derive(Clone, Debug, Serialize)]
pub struct FaultReport {
    /// Name.
    pub name: String,
    /// Kind (`latency`, `crash`, ...).
    pub kind: &'static str,
    /// Target as written.
    pub target: String,
    /// Scheduled start and end, seconds from the end of the warm-up (null for random onsets).
    pub window_s: Option<[f64; 2]>,
    /// Times it became active in the measured window.
    pub activations: Statistic,
    /// Seconds active in the measured window.
    pub active_s: Statistic,
    /// Share of the measured window it was active.
    pub active_fraction: Statistic,
    /// Requests it affected (failed, lost or slowed).
    pub injected: Statistic,
    /// Replication 0's starts and ends: `[time_s, "start" | "end"]`, seconds from the end of the warm-up.
    pub events: Vec<(f64, &'static str)>,
}

impl FaultReport {
    /// Fault `f` of `model` over the replications `reps` (its events from replication 0).
    pub(super) fn of(model: &Model, reps: &[ReplicationSummary], f: usize) -> Self {
        let fault = &model.faults[f];
        let fs = |g: &dyn Fn(&FaultMetrics) -> f64| stat(reps, |r| Some(g(&r.faults[f])));
        let count = |g: &dyn Fn(&FaultMetrics) -> f64| Statistic::of_counts(reps.iter().map(|r| g(&r.faults[f])));
        let w = model.warmup.as_secs_f64();
        FaultReport {
            name: fault.name.clone(),
            kind: fault.kind,
            target: fault.target_text.clone(),
            window_s: match fault.schedule {
                Schedule::Window { start, end } => Some([start.as_secs_f64() - w, end.as_secs_f64() - w]),
                Schedule::Random { .. } => None,
            },
            activations: count(&|m| m.activations as f64),
            active_s: fs(&|m| m.active.as_secs_f64()),
            active_fraction: Statistic::of_fraction(
                reps.iter().map(|r| Some(r.faults[f].active.as_secs_f64() / model.duration.as_secs_f64())),
            ),
            injected: count(&|m| m.injected as f64),
            events: reps.first().map(|r0| fault_events(&r0.log, f, w)).unwrap_or_default(),
        }
    }
}

/// Fault `f`'s starts and ends in an event log, seconds from the end of the warm-up `w`.
fn fault_events(log: &[(SimTime, LogEntry)], f: usize, w: f64) -> Vec<(f64, &'static str)> {
    log.iter()
        .filter_map(|&(t, e)| match e {
            LogEntry::Fault(g, on) if g as usize == f => Some((t.as_secs_f64() - w, if on { "start" } else { "end" })),
            _ => None,
        })
        .collect()
}

/// The non-fault entries of an event log as JSON objects: recovery events and
/// degradation level changes.
pub(super) fn recovery_events(model: &Model, log: &[(SimTime, LogEntry)]) -> Vec<serde_json::Value> {
    use serde_json::json;
    let w = model.warmup.as_secs_f64();
    let svc = |s: u32| model.services[s as usize].name.as_str();
    log.iter()
        .filter_map(|&(t, e)| {
            let t = t.as_secs_f64() - w;
            Some(match e {
                LogEntry::Fault(..) => return None,
                LogEntry::Health(s, i, ok) => {
                    json!({ "t": t, "type": if ok { "healthy" } else { "unhealthy" }, "service": svc(s), "instance": i })
                }
                LogEntry::Ejected(s, i, until) => {
                    json!({ "t": t, "type": "ejected", "service": svc(s), "instance": i, "until": until.as_secs_f64() - w })
                }
                LogEntry::Heartbeat(s, i, ok) => json!({
                    "t": t, "type": if ok { "recovered" } else { "failed" }, "service": svc(s), "instance": i
                }),
                LogEntry::Failover(s, from, to) => {
                    json!({ "t": t, "type": "failover", "service": svc(s), "from": from, "to": to })
                }
                LogEntry::Degradation(s, from, to) => {
                    let level = |i: u32| {
                        model.services[s as usize]
                            .degradation
                            .as_ref()
                            .and_then(|(c, _)| c.levels.get(i as usize))
                            .map_or("", |l| l.name.as_str())
                    };
                    json!({ "t": t, "type": "degradation", "service": svc(s), "from": level(from), "to": level(to) })
                }
            })
        })
        .collect()
}
