//! What a run will cost, estimated before it starts: events per replication and peak
//! memory, compared with the budget the caller allows.
//!
//! **Events.** Requests enter at the workloads' mean rates over the run (a closed
//! workload at most `users / (think + the service times it waits for)`, and no faster
//! than its bottleneck serves); each visits services as often as the traffic equations
//! over calls and routes say ([`crate::theory::visits`]), and each visit costs about
//! [`EVENTS_PER_VISIT`] events. Periodic timers add their ticks: report windows, health
//! probes (a probe and its verdict per instance), heartbeats, outlier sweeps,
//! degradation ticks, and fault onsets and repairs. The engine stops a replication that
//! handles more than `--max-events` all the same ([`crate::model::RunLimits`]), so the
//! estimate only decides whether to start.
//!
//! **Memory.** Measured on this engine: rendering the report (JSON, charts, HTML) costs
//! about [`REPORT_BYTES`] per window per series it shows (a service, workload or call
//! edge: all of them with `--detail full`, else the top of each ranking and the members
//! SLOs and faults name) and [`GRAPH_BYTES`] per service for the service graph; every
//! replication kept for the confidence intervals about [`SUMMARY_BYTES`] per window per
//! series plus [`SUMMARY_FIXED_BYTES`] per series; each replication running (two at a
//! time are counted) [`SIM_SERVICE_BYTES`] per service and [`SIM_INSTANCE_BYTES`] per
//! instance of its own state; all on top of [`BASE_BYTES`]. The summary terms were set
//! from the largest counts measured (10⁵ replications of one service used 4.1 GB, about
//! 20 KB per series each at 100 windows, when a summary held its windows densely), so
//! smaller runs are overestimated by up to about 2×, never under (the 20,000-service
//! generated graph: 1.0 GB estimated, 623 MB measured). Each kept replication also
//! holds the latency histogram of every service and workload, pooled for the report's
//! percentiles: one entry per non-empty slot, so at most the smaller of the expected
//! samples (the service's visits, the workload's requests, over the measured
//! duration) and the histogram's slots ([`SlotCounts::MAX_ENTRIES`], about 310 KB).

use crate::engine::{RngStreams, SimTime};
use crate::metrics::SlotCounts;
use crate::model::fault::Schedule;
use crate::model::{Arrivals, Dist, Model};
use crate::theory::visits::Visits;

/// Events per visit to a service: its arrival and the end of its service time (a call's
/// answer or a route's hand-off is the next visit's arrival).
pub const EVENTS_PER_VISIT: f64 = 2.0;
/// Memory of a run before it holds any result, bytes.
pub const BASE_BYTES: f64 = 16e6;
/// Report rendering, per window per series, bytes.
pub const REPORT_BYTES: f64 = 5e3;
/// A kept replication's summary, per window per series, bytes: a service's gauges (24),
/// its outcome words (8 each) and its latency buckets (8 each).
pub const SUMMARY_BYTES: f64 = 100.0;
/// The service graph of a report, per service, bytes.
pub const GRAPH_BYTES: f64 = 1e3;
/// A running replication's own state per service (metrics, open windows and buffers,
/// streams), bytes: `tests/memory` measures a service with three instances and two calls
/// at 26 KB with its series.
pub const SIM_SERVICE_BYTES: f64 = 8e3;
/// A running replication's own state per instance (station, counters, a guard per call).
pub const SIM_INSTANCE_BYTES: f64 = 1.5e3;
/// Replications counted as running at once.
const RUNNING: u64 = 2;
/// A kept replication's summary, per series (quantiles, totals), bytes.
pub const SUMMARY_FIXED_BYTES: f64 = 5e3;

/// A run's expected cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Expected events of one replication.
    pub events: f64,
    /// Replications in all, counterfactual runs included.
    pub runs: u64,
    /// Expected peak memory, bytes.
    pub memory: f64,
}

impl Estimate {
    /// The estimate for `model` run as it is (its replications, and one counterfactual
    /// run of each fault when the blast-radius analysis is on).
    pub fn of(model: &Model) -> Self {
        let counterfactuals = if model.blast_radius.is_some() { model.faults.len() } else { 0 };
        let runs = u64::from(model.replications) * (1 + counterfactuals as u64);
        Estimate { events: events(model), runs, memory: memory(model, runs) }
    }

    /// Expected events over every replication.
    pub fn total_events(&self) -> f64 {
        self.events * self.runs as f64
    }
}

/// How much a run may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Most events per replication.
    pub max_events: u64,
    /// Most memory, bytes.
    pub max_memory: u64,
}

impl Budget {
    /// Refuses an estimate over the budget, saying by how much and how to raise it.
    pub fn check(&self, e: &Estimate) -> Result<(), String> {
        if e.events > self.max_events as f64 {
            return Err(format!(
                "this run would handle about {:.2e} events per replication, over the limit of {} \
                 (--max-events): at ~10^7 events/s that is {} of computing per replication\n\
                 help: shorten `duration`, lower the rates, or raise the limit with --max-events {:.1e}",
                e.events,
                self.max_events,
                wall(e.events / 1e7),
                e.events * 1.2
            ));
        }
        if e.memory > self.max_memory as f64 {
            return Err(format!(
                "this run would need about {} of memory, over the limit of {} (--max-memory)\n\
                 help: use fewer replications, a longer `window` or fewer services, or raise the limit with \
                 --max-memory {}",
                bytes(e.memory),
                bytes(self.max_memory as f64),
                bytes((e.memory * 1.2).ceil())
            ));
        }
        Ok(())
    }
}

/// `b` bytes in the largest whole unit: `3.2GB`, `512MB`.
pub fn bytes(b: f64) -> String {
    match b {
        b if b >= 1e9 => format!("{:.1}GB", b / 1e9),
        b if b >= 1e6 => format!("{:.0}MB", b / 1e6),
        b => format!("{:.0}KB", (b / 1e3).ceil()),
    }
}

/// `secs` of wall time, roughly: `3h 20m`, `4m 10s`, `12s`.
pub fn wall(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        s if s >= 86_400 => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m {}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// Mean rates of `model`, per second: each workload's requests, and each service's visits.
struct Rates {
    workloads: Vec<f64>,
    services: Vec<f64>,
}

impl Rates {
    fn of(model: &Model) -> Self {
        let visits = Visits::of(model);
        let mut external = vec![0.0; model.services.len()];
        let workloads: Vec<f64> = model
            .workloads
            .iter()
            .map(|w| {
                let rate = match &w.arrivals {
                    Arrivals::Poisson(p) => p.mean_rate(SimTime::ZERO, model.end()),
                    Arrivals::Closed { users, think } => closed_rate(model, &visits, w.target, *users, think),
                };
                external[w.target] += rate;
                rate
            })
            .collect();
        Rates { workloads, services: visits.solve(&external) }
    }
}

/// Expected events of one replication of `model`.
fn events(model: &Model) -> f64 {
    let horizon = model.end().as_secs_f64();
    let rates = Rates::of(model);
    let arrivals: f64 = rates.workloads.iter().sum();
    let visited: f64 = rates.services.iter().sum();
    (arrivals + visited * EVENTS_PER_VISIT) * horizon + timer_events(model, horizon)
}

/// The most requests per second a closed population can send: every user waits for the
/// service times of its visits and thinks, and the bottleneck bounds them all.
fn closed_rate(model: &Model, visits: &Visits, target: usize, users: u32, think: &Dist) -> f64 {
    let mut unit = vec![0.0; model.services.len()];
    unit[target] = 1.0;
    let per_request = visits.solve(&unit);
    let mut cycle = mean(think);
    let mut bottleneck = f64::INFINITY;
    for (s, &v) in model.services.iter().zip(&per_request) {
        let work = v * mean(&s.service_time);
        cycle += work;
        if work > 0.0 {
            bottleneck = bottleneck.min(f64::from(s.servers) * f64::from(s.instances) / work);
        }
    }
    let rate = f64::from(users) / cycle;
    // A population that waits on nothing and thinks for no time is refused by
    // validation; the cap only keeps a degenerate estimate finite.
    if rate.is_finite() { rate.min(bottleneck) } else { bottleneck.min(1e12) }
}

/// The mean of `d` in seconds: exact where known, else from 4,096 draws of a fixed stream.
fn mean(d: &Dist) -> f64 {
    d.mean_secs().unwrap_or_else(|| {
        let mut rng = RngStreams::new(0, 0).stream("budget");
        (0..4096).map(|_| d.sample(&mut rng).as_secs_f64()).sum::<f64>() / 4096.0
    })
}

/// Ticks of the periodic timers over `horizon` seconds.
fn timer_events(model: &Model, horizon: f64) -> f64 {
    let per = |t: SimTime| horizon / t.as_secs_f64().max(1e-9);
    let mut ticks = model.windows() as f64 + 2.0;
    for s in &model.services {
        let instances = f64::from(s.instances);
        ticks += s.health_check.as_ref().map_or(0.0, |h| 2.0 * instances * per(h.interval));
        ticks += s.failover.as_ref().map_or(0.0, |f| per(f.heartbeat));
        ticks += s.outlier.as_ref().map_or(0.0, |o| per(o.interval));
        ticks += s.degradation.as_ref().map_or(0.0, |(_, every)| per(*every));
    }
    for f in &model.faults {
        ticks += match &f.schedule {
            Schedule::Window { .. } => 2.0,
            Schedule::Random { up, down } => 2.0 * horizon / (mean(up) + mean(down)).max(1e-9),
        };
    }
    ticks
}

/// Expected peak memory of `model` over `runs` kept replications, bytes.
fn memory(model: &Model, runs: u64) -> f64 {
    let kinds = [model.services.len(), model.workloads.len(), model.edges.len()];
    let series = kinds.iter().sum::<usize>() as f64;
    let named = model.slos.len() + 2 * model.faults.len();
    // Past `top`, each of a kind's three rankings shows its top, and the named are kept.
    let shown: usize = kinds
        .iter()
        .map(|&n| if model.detail.full || n <= model.detail.top { n } else { n.min(3 * model.detail.top + named) })
        .sum();
    let instances: f64 = model.services.iter().map(|s| f64::from(s.instances)).sum();
    let windows = model.windows() as f64;
    BASE_BYTES
        + shown as f64 * windows * REPORT_BYTES
        + model.services.len() as f64 * GRAPH_BYTES
        + runs as f64 * (series * (windows * SUMMARY_BYTES + SUMMARY_FIXED_BYTES) + histogram_bytes(model))
        + runs.min(RUNNING) as f64 * (model.services.len() as f64 * SIM_SERVICE_BYTES + instances * SIM_INSTANCE_BYTES)
}

/// The latency histograms a kept replication of `model` holds, bytes: per service and
/// workload, one entry per expected sample, at most one per slot.
fn histogram_bytes(model: &Model) -> f64 {
    let rates = Rates::of(model);
    let measured = model.duration.as_secs_f64();
    let entries = |rate: &f64| (rate * measured).ceil().min(SlotCounts::MAX_ENTRIES as f64);
    let n: f64 = rates.workloads.iter().chain(&rates.services).map(entries).sum();
    n * SlotCounts::ENTRY_BYTES as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_in_their_unit() {
        assert_eq!(bytes(3.2e9), "3.2GB");
        assert_eq!(bytes(5.12e8), "512MB");
        assert_eq!(bytes(1.5e3), "2KB");
        assert_eq!(
            (wall(12.4), wall(250.0), wall(12_000.0), wall(200_000.0)),
            ("12s".into(), "4m 10s".into(), "3h 20m".into(), "2d 7h".into())
        );
    }

    #[test]
    fn over_either_limit_is_refused_with_the_flag() {
        let budget = Budget { max_events: 1000, max_memory: 1_000_000 };
        let fits = Estimate { events: 10.0, runs: 1, memory: 10.0 };
        assert!(budget.check(&fits).is_ok());
        let slow = budget.check(&Estimate { events: 1e6, ..fits }).unwrap_err();
        assert!(slow.contains("--max-events 1.2e6") && slow.contains("limit of 1000 "), "{slow}");
        let big = budget.check(&Estimate { memory: 2e9, ..fits }).unwrap_err();
        assert!(big.contains("--max-memory") && big.contains("2.0GB"), "{big}");
    }

    #[test]
    fn kept_histograms_grow_with_samples_up_to_every_slot() {
        let model = |rate: &str| {
            let text = format!(
                "name: m\nduration: 400s\nwarmup: 10s\nreplications: 10\n\
                 services:\n  s: {{ service_time: {{ exponential: {{ mean: 1us }} }} }}\n\
                 workloads:\n  - {{ name: w, target: s, arrivals: {{ poisson: {{ rate: {rate} }} }} }}\n"
            );
            crate::scenario::load_str(&text, std::path::Path::new("t.yaml"), &[]).expect("a valid scenario").model
        };
        // 5/s over the 400 measured seconds: 2000 samples for the workload and the service.
        let slow = model("5/s");
        assert_eq!(histogram_bytes(&slow), 2.0 * 2000.0 * 8.0);
        // 10^5/s: 4·10^7 samples, bounded by the histogram's slots.
        let fast = model("100000/s");
        assert_eq!(histogram_bytes(&fast), 2.0 * 38_912.0 * 8.0);
        let per_run = |m: &Model| memory(m, 2) - memory(m, 1);
        assert_eq!(per_run(&fast) - per_run(&slow), histogram_bytes(&fast) - histogram_bytes(&slow));
    }
}
