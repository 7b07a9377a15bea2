//! What one replication measures: counters, time-averaged gauges and latency
//! histograms.
//!
//! Memory is fixed by the model's size, never by simulated duration: latencies go into
//! HDR histograms (3 significant digits), gauges into running time integrals, and
//! nothing is kept per finished request. Everything is reset at the end of the warm-up,
//! so the event loop records unconditionally and pays no branch for it.

mod histogram;

pub use histogram::LatencyHistogram;

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
    /// Integral of requests inside (L).
    pub in_system: u128,
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
    /// Sum of sojourn times of completed requests, ns.
    pub sojourn_sum: u128,
    /// Sum of waiting times of completed requests, ns.
    pub wait_sum: u128,
    /// Sojourn times of completed requests.
    pub sojourn: LatencyHistogram,
    /// Gauge integrals, summed over instances.
    pub areas: Areas,
}

impl ServiceMetrics {
    /// Zeroes everything (the end of the warm-up).
    pub fn reset(&mut self) {
        self.arrivals = 0;
        self.rejected = 0;
        self.completed = 0;
        self.sojourn_sum = 0;
        self.wait_sum = 0;
        self.sojourn.reset();
        self.areas = Areas::default();
    }

    /// Records a request leaving a worker.
    #[inline]
    pub fn record_completion(&mut self, sojourn: SimTime, wait: SimTime) {
        self.completed += 1;
        self.sojourn_sum += u128::from(sojourn.0);
        self.wait_sum += u128::from(wait.0);
        self.sojourn.record(sojourn);
    }
}

/// One workload, one replication.
#[derive(Clone, Debug, Default)]
pub struct WorkloadMetrics {
    /// Requests sent.
    pub arrivals: u64,
    /// Finished requests by outcome.
    pub outcomes: OutcomeCounts,
    /// End-to-end latency of successful (ok or degraded) requests.
    pub latency: LatencyHistogram,
}

impl WorkloadMetrics {
    /// Zeroes everything.
    pub fn reset(&mut self) {
        self.arrivals = 0;
        self.outcomes = OutcomeCounts::default();
        self.latency.reset();
    }
}

/// One call edge, one replication.
#[derive(Clone, Debug, Default)]
pub struct EdgeMetrics {
    /// Calls made.
    pub calls: u64,
    /// Attempts sent (calls plus retries and hedges).
    pub attempts: u64,
    /// Finished calls by outcome.
    pub outcomes: OutcomeCounts,
}

impl EdgeMetrics {
    /// Zeroes everything.
    pub fn reset(&mut self) {
        *self = EdgeMetrics::default();
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
}
