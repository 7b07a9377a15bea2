//! What one replication measures: counters, time-averaged gauges and latency
//! histograms.
//!
//! Memory is fixed by the model's size, never by simulated duration: latencies go into
//! HDR histograms (3 significant digits), gauges into running time integrals, and
//! nothing is kept per finished request. Everything is reset at the end of the warm-up,
//! so the event loop records unconditionally and pays no branch for it.

pub mod autoscale;
pub mod buckets;
pub mod cache;
mod halt;
mod histogram;
pub mod mqueue;
mod timeline;

pub use halt::Halt;
pub use histogram::{LatencyHistogram, SlotCounts};
pub use timeline::Timeline;

use crate::engine::SimTime;

/// How a request or a call ended. Every request and call ends as exactly one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// Served fully.
    Ok,
    /// Served, but with something missing (an optional call failed, a fallback answered).
    Degraded,
    /// A required downstream call failed.
    Error,
    /// The caller stopped waiting.
    Timeout,
    /// Refused: capacity full, bulkhead full, rate limited or shed.
    Rejected,
    /// Refused by an open circuit breaker.
    ShortCircuited,
}

impl Outcome {
    /// All outcomes, in report order.
    pub const ALL: [Outcome; 6] =
        [Outcome::Ok, Outcome::Degraded, Outcome::Error, Outcome::Timeout, Outcome::Rejected, Outcome::ShortCircuited];

    /// The report key.
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Degraded => "degraded",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
            Outcome::Rejected => "rejected",
            Outcome::ShortCircuited => "short_circuited",
        }
    }

    /// True for answers a user counts as served.
    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Ok | Outcome::Degraded)
    }
}

/// Counts per outcome, indexed by `Outcome as usize`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutcomeCounts(pub [u64; 6]);

impl OutcomeCounts {
    /// Adds one `outcome`.
    #[inline]
    pub fn add(&mut self, outcome: Outcome) {
        self.0[outcome as usize] += 1;
    }
    /// The count of `outcome`.
    pub fn get(&self, outcome: Outcome) -> u64 {
        self.0[outcome as usize]
    }
    /// All outcomes together.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// Running integrals of a station's gauges, in request-nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    /// Integral of requests waiting (Lq).
    pub queue: u128,
    /// Integral of busy workers.
    pub busy: u128,
}

/// One service, one replication.
#[derive(Clone, Debug, Default)]
pub struct ServiceMetrics {
    /// Requests that reached the service.
    pub arrivals: u64,
    /// Requests refused because the chosen instance was full.
    pub rejected: u64,
    /// Requests that left a worker (whatever their outcome).
    pub completed: u64,
    /// Requests that left unserved: queued past their deadline with deadline propagation
    /// on, shed by CoDel at dequeue, or cancelled by their caller (in line or in service).
    pub dropped: u64,
    /// Completed requests whose answer nobody waited for any more (a caller timed out).
    pub wasted: u64,
    /// Requests lost inside a crashed instance.
    pub lost: u64,
    /// Sum of sojourn times of completed and dropped requests, ns.
    pub sojourn_sum: u128,
    /// Sum of waiting times of completed requests, ns.
    pub wait_sum: u128,
    /// Sojourn times of completed requests.
    pub sojourn: LatencyHistogram,
    /// Refused by the service's token bucket.
    pub rate_limited: u64,
    /// Refused or dropped by load shedding.
    pub shed: u64,
    /// Refused by the adaptive concurrency limit.
    pub concurrency_limited: u64,
    /// Refused because no pool serves the request's class.
    pub no_pool: u64,
    /// Served by an idle worker borrowed from another pool.
    pub borrowed: u64,
    /// Refused because the chosen instance was down (crashed): outcome `error`.
    pub refused_down: u64,
    /// Arrivals per instance (after the balancer).
    pub instance_arrivals: Vec<u64>,
    /// Per worker pool (one pool when none are declared), summed over instances.
    pub pools: Vec<PoolMetrics>,
    /// How visits ended, as the service's callers saw it: ok or degraded (completed),
    /// error (completed with a failure, lost in a crash, refused by a crashed instance),
    /// timeout (dropped past its deadline), rejected (refused or shed).
    pub outcomes: OutcomeCounts,
    /// The same per window, with the sojourn times of successful visits.
    pub timeline: Timeline,
    /// Gauge integrals of the whole service from the end of the warm-up to the end of
    /// each window, as each window closes (per-window averages are the differences).
    pub gauge_marks: Vec<Areas>,
    /// The service's cache counters, if it has a cache.
    pub cache: Option<Box<cache::CacheMetrics>>,
    /// The instance count of an autoscaled service (`None` without autoscaling).
    pub autoscaling: Option<autoscale::AutoscaleMetrics>,
}

/// One worker pool of a service, summed over its instances.
#[derive(Clone, Debug, Default)]
pub struct PoolMetrics {
    /// Requests offered to the pool.
    pub arrivals: u64,
    /// Refused because the pool was full.
    pub rejected: u64,
    /// Served.
    pub completed: u64,
    /// Gauge integrals.
    pub areas: Areas,
}

impl Areas {
    /// Integral of requests inside (L): those waiting and those in service, so it is
    /// the sum of the other two, exactly, and is not kept apart.
    pub fn in_system(&self) -> u128 {
        self.queue + self.busy
    }

    /// Adds `other`.
    pub fn add(&mut self, other: &Areas) {
        self.queue += other.queue;
        self.busy += other.busy;
    }
}

impl ServiceMetrics {
    /// Zeroes everything (the end of the warm-up).
    pub fn reset(&mut self) {
        self.arrivals = 0;
        self.rejected = 0;
        self.completed = 0;
        self.dropped = 0;
        self.wasted = 0;
        self.lost = 0;
        self.sojourn_sum = 0;
        self.wait_sum = 0;
        self.sojourn.reset();
        self.rate_limited = 0;
        self.shed = 0;
        self.concurrency_limited = 0;
        self.no_pool = 0;
        self.borrowed = 0;
        self.refused_down = 0;
        self.instance_arrivals.iter_mut().for_each(|a| *a = 0);
        self.pools.iter_mut().for_each(|p| *p = PoolMetrics::default());
        self.outcomes = OutcomeCounts::default();
        self.timeline.reset();
        self.gauge_marks.clear();
    }

    /// Records how a visit ended (for the service's SLOs).
    #[inline]
    pub fn record_outcome(&mut self, now: SimTime, outcome: Outcome) {
        self.outcomes.add(outcome);
        self.timeline.add(now, outcome);
    }

    /// Empty metrics for a service with `pools` pools and `instances` instances.
    pub fn new(pools: usize, instances: usize) -> Self {
        Self { pools: vec![PoolMetrics::default(); pools], instance_arrivals: vec![0; instances], ..Self::default() }
    }

    /// Gauge integrals of the whole service.
    pub fn areas(&self) -> Areas {
        let mut a = Areas::default();
        self.pools.iter().for_each(|p| a.add(&p.areas));
        a
    }

    /// Records a visit that ended with a success (ok or degraded) after `latency`.
    #[inline(always)]
    pub fn record_success(&mut self, now: SimTime, outcome: Outcome, latency: SimTime) {
        self.outcomes.add(outcome);
        self.timeline.add_success(now, outcome, latency);
    }

    /// Records a request leaving a worker.
    #[inline]
    pub fn record_completion(&mut self, sojourn: SimTime, wait: SimTime) {
        self.completed += 1;
        self.sojourn_sum += u128::from(sojourn.0);
        self.wait_sum += u128::from(wait.0);
        self.sojourn.record(sojourn);
    }

    /// Records a request lost in a crash after `sojourn` inside (a departure for Little's law).
    pub fn record_lost(&mut self, sojourn: SimTime, wait: SimTime) {
        self.lost += 1;
        self.sojourn_sum += u128::from(sojourn.0);
        self.wait_sum += u128::from(wait.0);
    }

    /// Records a request its caller cancelled while a worker held it (serving it or
    /// waiting on its calls), after `sojourn` inside of which `wait` in line: a
    /// departure for Little's law, counted as dropped.
    pub fn record_cancelled(&mut self, sojourn: SimTime, wait: SimTime) {
        self.dropped += 1;
        self.sojourn_sum += u128::from(sojourn.0);
        self.wait_sum += u128::from(wait.0);
    }

    /// Records a request that left its queue unserved after `sojourn`.
    #[inline]
    pub fn record_drop(&mut self, sojourn: SimTime) {
        self.dropped += 1;
        self.sojourn_sum += u128::from(sojourn.0);
        self.wait_sum += u128::from(sojourn.0);
    }
}

/// One workload, one replication.
#[derive(Clone, Debug, Default)]
pub struct WorkloadMetrics {
    /// Requests sent.
    pub arrivals: u64,
    /// Finished requests by outcome.
    pub outcomes: OutcomeCounts,
    /// Sum of the value of served requests (1 for ok, below 1 for degraded).
    pub value: f64,
    /// End-to-end latency of successful (ok or degraded) requests.
    pub latency: LatencyHistogram,
    /// Their exact sum (ns), for the mean: the histogram's slots would bias it by up to
    /// 0.1% (as [`ServiceMetrics::sojourn_sum`] for a service).
    pub latency_sum: u128,
    /// Outcomes per time window of the measured period.
    pub timeline: Timeline,
}

impl WorkloadMetrics {
    /// Empty metrics with a timeline of `windows` windows of length `window` from `start`.
    pub fn new(start: SimTime, window: SimTime, windows: usize) -> Self {
        Self { timeline: Timeline::new(start, window, windows), ..Self::default() }
    }

    /// Zeroes everything.
    pub fn reset(&mut self) {
        self.arrivals = 0;
        self.outcomes = OutcomeCounts::default();
        self.value = 0.0;
        self.latency.reset();
        self.latency_sum = 0;
        self.timeline.reset();
    }

    /// Records a finished request.
    #[inline]
    pub fn record(&mut self, now: SimTime, outcome: Outcome) {
        self.outcomes.add(outcome);
        self.timeline.add(now, outcome);
    }

    /// Records a request answered at `now` with a success after `latency`.
    #[inline(always)]
    pub fn record_success(&mut self, now: SimTime, outcome: Outcome, latency: SimTime) {
        self.outcomes.add(outcome);
        self.latency.record(latency);
        self.latency_sum += u128::from(latency.0);
        self.timeline.add_success(now, outcome, latency);
    }
}

/// One call edge, one replication.
#[derive(Clone, Debug, Default)]
pub struct EdgeMetrics {
    /// Calls made (each may take several attempts).
    pub calls: u64,
    /// Attempts started, retries included (hedges not).
    pub attempts: u64,
    /// Attempts beyond the first of a call.
    pub retries: u64,
    /// Backup (hedged) requests sent.
    pub hedges: u64,
    /// Finished calls by final outcome (after retries and fallbacks).
    pub outcomes: OutcomeCounts,
    /// Finished attempts by outcome.
    pub attempt_outcomes: OutcomeCounts,
    /// Calls answered by a fallback.
    pub fallbacks: u64,
    /// Retries refused by the retry budget.
    pub budget_exhausted: u64,
    /// Attempts refused by the bulkhead (full, or waited too long).
    pub bulkhead_rejected: u64,
    /// Attempts refused by the client-side rate limiter.
    pub rate_limited: u64,
    /// Requests abandoned in flight by this edge's caller (timeouts, losing hedges).
    pub abandoned: u64,
    /// Calls ended by their overall timeout between attempts (during a backoff).
    pub call_timeouts: u64,
    /// Overflows of Envoy's thresholds (pending requests, requests, retries), summed over
    /// the caller's instances; `None` without thresholds. Filled in at the end of the run.
    pub envoy_overflows: Option<[u64; 3]>,
    /// Finished calls and retries, per window.
    pub timeline: Timeline,
}

impl EdgeMetrics {
    /// Empty metrics with `windows` windows of length `window` from `start`.
    pub fn new(start: SimTime, window: SimTime, windows: usize) -> Self {
        Self { timeline: Timeline::new(start, window, windows), ..Self::default() }
    }

    /// Zeroes everything.
    pub fn reset(&mut self) {
        let mut timeline = std::mem::take(&mut self.timeline);
        timeline.reset();
        *self = EdgeMetrics { timeline, ..EdgeMetrics::default() };
    }

    /// Records a finished call.
    #[inline]
    pub fn record(&mut self, now: SimTime, outcome: Outcome) {
        self.outcomes.add(outcome);
        self.timeline.add(now, outcome);
    }

    /// Records a retry started at `now`.
    #[inline]
    pub fn record_retry(&mut self, now: SimTime) {
        self.retries += 1;
        self.timeline.add_retry(now);
    }
}

/// Everything one replication measured.
#[derive(Clone, Debug)]
pub struct ReplicationResult {
    /// Replication index.
    pub replication: u32,
    /// Events handled, warm-up included.
    pub events: u64,
    /// Length of the measured window, seconds.
    pub measured_secs: f64,
    /// Per service, in model order.
    pub services: Vec<ServiceMetrics>,
    /// Per workload, in model order.
    pub workloads: Vec<WorkloadMetrics>,
    /// Per edge, in model order.
    pub edges: Vec<EdgeMetrics>,
    /// Per edge, the breaker's record (None without a breaker).
    pub breakers: Vec<Option<BreakerSnapshot>>,
    /// Per service, the degradation record (None without degradation levels).
    pub degradation: Vec<Option<DegradationSnapshot>>,
    /// Per service, the mean concurrency limit over instances at the end (None without one).
    pub concurrency_limit: Vec<Option<f64>>,
    /// Per fault.
    pub faults: Vec<FaultMetrics>,
    /// What happened when (fault starts and ends, health changes, ejections,
    /// failovers, degradation level changes), kept for replication 0 only.
    pub log: Vec<(SimTime, LogEntry)>,
    /// Sampled request traces (replication 0 with tracing on only).
    pub trace: Option<crate::trace::Trace>,
    /// Why the run stopped early, when a resource guard tripped.
    pub halt: Option<Halt>,
    /// Client-side permits (bulkhead, breaker trial, budget slot) the policies count as
    /// taken that no call in flight holds at the end, or the reverse: 0 unless one leaked.
    pub unaccounted_permits: u64,
    /// Per service, its message queue's record (None unless `kind: queue`).
    pub queues: Vec<Option<mqueue::QueueMetrics>>,
}

/// One entry of a replication's event log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogEntry {
    /// A fault started (`true`) or ended.
    Fault(u32, bool),
    /// Health checks took an instance (service, instance) out (`false`) or put it back.
    Health(u32, u32, bool),
    /// Outlier ejection ejected an instance until the given time.
    Ejected(u32, u32, SimTime),
    /// Heartbeats declared an instance failed (`false`) or recovered.
    Heartbeat(u32, u32, bool),
    /// Active-passive failover moved the active role from one instance to another.
    Failover(u32, u32, u32),
    /// A service's degradation ladder moved from one level (index) to another; only
    /// changes after the warm-up, as counted in its [`DegradationSnapshot`].
    Degradation(u32, u32, u32),
}

/// One fault, one replication (measured window only).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FaultMetrics {
    /// Times it became active.
    pub activations: u64,
    /// Time active.
    pub active: SimTime,
    /// Requests it affected: failed, lost, refused or slowed.
    pub injected: u64,
}

/// Time spent at each degradation level.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DegradationSnapshot {
    /// Level names, in order.
    pub levels: Vec<String>,
    /// Time at each level.
    pub time_in_level: Vec<SimTime>,
    /// Time-weighted mean value of the levels.
    pub mean_value: f64,
    /// Level changes.
    pub transitions: u64,
}

/// A circuit breaker's record over the measured window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BreakerSnapshot {
    /// Calls the breaker let through.
    pub calls_permitted: u64,
    /// Calls it refused.
    pub short_circuited: u64,
    /// Results recorded as successes.
    pub successes: u64,
    /// Results recorded as failures.
    pub failures: u64,
    /// Results slower than the slow-call threshold.
    pub slow_calls: u64,
    /// Transitions into open.
    pub openings: u64,
    /// Time in each breaker state, in the order of `BreakerState::ALL` (the mean over
    /// the breakers).
    pub time_in_state: [SimTime; 6],
    /// State at the end of the run (of the first breaker, when there are several).
    pub final_state: &'static str,
    /// Transitions: time, from, to, and the caller instance whose breaker moved (`None`
    /// for a breaker the caller's fleet shares), in time order.
    pub transitions: Vec<(SimTime, &'static str, &'static str, Option<u32>)>,
    /// Breakers behind these numbers: one per caller instance, or one for the fleet.
    pub breakers: u32,
}

impl BreakerSnapshot {
    /// The breakers of one edge (one per caller instance, in instance order) as one
    /// record: counts summed, time in each state the mean, transitions in time order
    /// (then instance), the first breaker's final state; `None` without breakers.
    pub fn merged(parts: impl IntoIterator<Item = BreakerSnapshot>) -> Option<Self> {
        let (mut out, mut n) = (None::<Self>, 0u64);
        for s in parts {
            n += 1;
            let m = out.get_or_insert_with(|| BreakerSnapshot { final_state: s.final_state, ..Default::default() });
            m.calls_permitted += s.calls_permitted;
            m.short_circuited += s.short_circuited;
            m.successes += s.successes;
            m.failures += s.failures;
            m.slow_calls += s.slow_calls;
            m.openings += s.openings;
            m.time_in_state.iter_mut().zip(s.time_in_state).for_each(|(total, t)| *total += t);
            m.transitions.extend(s.transitions);
        }
        let mut m = out?;
        m.breakers = n as u32;
        m.time_in_state.iter_mut().for_each(|t| *t = SimTime(t.0 / n));
        m.transitions.sort_by_key(|t| (t.0, t.3));
        Some(m)
    }
}
