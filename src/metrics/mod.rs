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

pub use halt::Halt;
pub use histogram::{LatencyHistogram, SlotCounts};

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

/// Outcome counts in fixed windows of simulated time: the shape of an incident, in
/// memory fixed by the number of windows.
///
/// For latency SLOs it also counts, per window and in all, the successful requests slower
/// than each of a few thresholds (`slow`, window-major: `slow[window * k + threshold]`).
/// With no thresholds that costs one branch per answer.
///
/// The window that simulated time is in is counted apart, in fixed places, and added into
/// `windows` and `latency` when time leaves it: an answer costs one range check, not a
/// lookup. Call [`Timeline::flush`] before reading those two.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    /// Start of the first window.
    pub start: SimTime,
    /// Window length.
    pub window: SimTime,
    /// Counts per window.
    pub windows: Vec<OutcomeCounts>,
    /// Latency thresholds of the SLOs on this workload or service.
    pub thresholds: Vec<SimTime>,
    /// Successful requests slower than each threshold, per window (window-major).
    pub slow: Vec<u64>,
    /// Successful requests slower than each threshold, in all.
    pub slow_total: Vec<u64>,
    /// Latencies of successful requests per window in coarse log buckets (window-major:
    /// `latency[window * BUCKETS + bucket]`); empty unless asked for.
    pub latency: Vec<u32>,
    /// The open window as `[lo, hi)` in ns, and its index (`None`: outside the timeline,
    /// its counts are dropped). Simulated time only moves forward, so most answers fall in it.
    lo: u64,
    hi: u64,
    open: Option<usize>,
    /// The open window's counts and latency buckets (`BUCKETS` of them, or none).
    open_counts: OutcomeCounts,
    open_latency: Vec<u32>,
}

impl Timeline {
    /// `n` empty windows of length `window` from `start`.
    pub fn new(start: SimTime, window: SimTime, n: usize) -> Self {
        Self { start, window: window.max(SimTime(1)), windows: vec![OutcomeCounts::default(); n], ..Self::default() }
    }

    /// The same timeline, also counting successful requests slower than each of `thresholds`.
    pub fn with_thresholds(mut self, thresholds: Vec<SimTime>) -> Self {
        self.slow = vec![0; self.windows.len() * thresholds.len()];
        self.slow_total = vec![0; thresholds.len()];
        self.thresholds = thresholds;
        self
    }

    /// The same timeline, also keeping a coarse latency histogram per window.
    pub fn with_latency(mut self) -> Self {
        self.latency = vec![0; self.windows.len() * buckets::BUCKETS];
        self.open_latency = vec![0; buckets::BUCKETS];
        self
    }

    /// The latency histogram of window `i` (empty without [`Timeline::with_latency`]).
    pub fn latency_window(&self, i: usize) -> &[u32] {
        self.latency.get(i * buckets::BUCKETS..(i + 1) * buckets::BUCKETS).unwrap_or(&[])
    }

    /// Index of the window containing `now`, if inside the timeline; opens that window.
    #[inline(always)]
    fn index(&mut self, now: SimTime) -> Option<usize> {
        if !(self.lo..self.hi).contains(&now.0) {
            self.open_at(now);
        }
        self.open
    }

    /// Closes the open window and opens the one containing `now` (once per window).
    #[cold]
    #[inline(never)]
    fn open_at(&mut self, now: SimTime) {
        self.flush();
        if self.windows.is_empty() {
            (self.lo, self.hi, self.open) = (0, u64::MAX, None);
        } else if now < self.start {
            (self.lo, self.hi, self.open) = (0, self.start.0, None);
        } else {
            // An outcome at exactly the end of the run (or later) belongs to the last window.
            let last = self.windows.len() - 1;
            let i = (((now - self.start).0 / self.window.0) as usize).min(last);
            let lo = self.start.0 + i as u64 * self.window.0;
            (self.lo, self.hi, self.open) = (lo, if i == last { u64::MAX } else { lo + self.window.0 }, Some(i));
        }
    }

    /// Adds the open window's counts into `windows` and `latency` (idempotent: they restart
    /// from zero). Everything recorded so far can be read after this.
    pub fn flush(&mut self) {
        if let Some(i) = self.open {
            let w = &mut self.windows[i];
            for (total, c) in w.0.iter_mut().zip(&self.open_counts.0) {
                *total += c;
            }
            if !self.open_latency.is_empty() {
                let dense = &mut self.latency[i * buckets::BUCKETS..(i + 1) * buckets::BUCKETS];
                dense.iter_mut().zip(&self.open_latency).for_each(|(total, c)| *total += c);
            }
        }
        self.open_counts = OutcomeCounts::default();
        self.open_latency.iter_mut().for_each(|c| *c = 0);
    }

    /// Counts `outcome` in the window containing `now` (ignored outside the timeline).
    #[inline]
    pub fn add(&mut self, now: SimTime, outcome: Outcome) {
        self.index(now);
        self.open_counts.add(outcome);
    }

    /// Counts a successful request answered at `now` after `latency` against every
    /// threshold it exceeds.
    #[inline]
    pub fn add_latency(&mut self, now: SimTime, latency: SimTime) {
        self.index(now);
        self.add_latency_open(latency);
    }

    /// [`Timeline::add`] and [`Timeline::add_latency`] with one window lookup.
    #[inline(always)]
    pub fn add_success(&mut self, now: SimTime, outcome: Outcome, latency: SimTime) {
        self.index(now);
        self.open_counts.add(outcome);
        self.add_latency_open(latency);
    }

    #[inline(always)]
    fn add_latency_open(&mut self, latency: SimTime) {
        // Without latency buckets the vector is empty: the bounds check is the test.
        if let Some(c) = self.open_latency.get_mut(buckets::bucket(latency)) {
            *c += 1;
        }
        if !self.thresholds.is_empty() {
            self.count_slow(latency);
        }
    }

    fn count_slow(&mut self, latency: SimTime) {
        let k = self.thresholds.len();
        for (j, &t) in self.thresholds.iter().enumerate() {
            if latency > t {
                self.slow_total[j] += 1;
                if let Some(i) = self.open {
                    self.slow[i * k + j] += 1;
                }
            }
        }
    }

    /// Slow requests over threshold `j`, window by window.
    pub fn slow_series(&self, j: usize) -> impl Iterator<Item = u64> + '_ {
        let k = self.thresholds.len().max(1);
        self.slow.iter().skip(j).step_by(k).copied()
    }

    /// Zeroes every window.
    pub fn reset(&mut self) {
        (self.lo, self.hi, self.open) = (0, 0, None);
        self.open_counts = OutcomeCounts::default();
        self.open_latency.iter_mut().for_each(|c| *c = 0);
        self.windows.iter_mut().for_each(|w| *w = OutcomeCounts::default());
        self.slow.iter_mut().for_each(|c| *c = 0);
        self.slow_total.iter_mut().for_each(|c| *c = 0);
        self.latency.iter_mut().for_each(|c| *c = 0);
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
    /// Finished calls by outcome, per window.
    pub timeline: Timeline,
    /// Retries per window.
    pub retries_windows: Vec<u64>,
}

impl EdgeMetrics {
    /// Empty metrics with `windows` windows of length `window` from `start`.
    pub fn new(start: SimTime, window: SimTime, windows: usize) -> Self {
        Self { timeline: Timeline::new(start, window, windows), retries_windows: vec![0; windows], ..Self::default() }
    }

    /// Zeroes everything.
    pub fn reset(&mut self) {
        let (mut timeline, mut retries_windows) =
            (std::mem::take(&mut self.timeline), std::mem::take(&mut self.retries_windows));
        timeline.reset();
        retries_windows.iter_mut().for_each(|c| *c = 0);
        *self = EdgeMetrics { timeline, retries_windows, ..EdgeMetrics::default() };
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
        if let Some(i) = self.timeline.index(now) {
            self.retries_windows[i] += 1;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_counts_slow_answers_per_threshold_and_window() {
        let ms = |x: u64| SimTime(x * 1_000_000);
        let mut t = Timeline::new(ms(1000), ms(100), 3).with_thresholds(vec![ms(50), ms(200)]);
        t.add_latency(ms(1010), ms(50)); // at the threshold: good for both
        t.add_latency(ms(1020), ms(51)); // slow for 50 ms only
        t.add_latency(ms(1150), ms(300)); // slow for both, window 1
        t.add_latency(ms(999), ms(300)); // before the timeline: counted in all, no window
        t.add_latency(ms(1300), ms(300)); // exactly at the end: the last window
        assert_eq!(t.slow_total, vec![4, 3]);
        assert_eq!(t.slow_series(0).collect::<Vec<_>>(), vec![1, 1, 1]);
        assert_eq!(t.slow_series(1).collect::<Vec<_>>(), vec![0, 1, 1]);
        t.reset();
        assert_eq!(t.slow_total, vec![0, 0]);
        assert!(t.slow.iter().all(|&c| c == 0));
        // Without thresholds nothing is kept.
        let mut plain = Timeline::new(SimTime::ZERO, ms(100), 3);
        plain.add_latency(ms(10), ms(500));
        assert!(plain.slow.is_empty() && plain.slow_total.is_empty());
    }

    #[test]
    fn timeline_open_window_lands_in_its_window_when_flushed() {
        let ms = |x: u64| SimTime(x * 1_000_000);
        let mut t = Timeline::new(ms(1000), ms(100), 3).with_latency();
        t.add_success(ms(999), Outcome::Ok, ms(5)); // before the timeline: dropped
        t.add_success(ms(1000), Outcome::Ok, ms(5));
        t.add(ms(1099), Outcome::Error);
        t.add_success(ms(1100), Outcome::Degraded, ms(7)); // leaves window 0: it is added in
        assert_eq!(t.windows[0].total(), 2);
        assert_eq!(t.windows[1].total(), 0, "the open window is counted apart until a flush");
        t.flush();
        t.flush(); // idempotent
        assert_eq!((t.windows[1].get(Outcome::Degraded), t.windows[1].total()), (1, 1));
        t.add(ms(5000), Outcome::Timeout); // past the end: the last window
        t.add(ms(1001), Outcome::Ok); // back in an earlier window: still counted there
        t.flush();
        assert_eq!(t.windows.iter().map(OutcomeCounts::total).collect::<Vec<_>>(), vec![3, 1, 1]);
        let b = buckets::bucket(ms(5));
        assert_eq!(t.latency_window(0)[b], 1);
        assert_eq!(t.latency_window(1)[buckets::bucket(ms(7))], 1);
        assert_eq!(t.latency.iter().map(|&c| u64::from(c)).sum::<u64>(), 2);
        t.add(ms(1000), Outcome::Ok);
        t.reset();
        t.flush();
        assert!(t.windows.iter().all(|w| w.total() == 0) && t.latency.iter().all(|&c| c == 0));
    }
}
