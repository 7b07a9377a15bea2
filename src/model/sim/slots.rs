//! The slab slots of one replication: a request in flight ([`Req`]) and a logical call
//! with all its attempts ([`CallState`]). Events name them by 32-bit index and
//! generation number; these types are all the other files of `sim/` share.

use crate::engine::SimTime;
use crate::policy::retry::RetryState;
use crate::trace::TraceId;

use super::super::station::ReqId;
use super::guard::GuardAt;

/// Who is waiting for a request's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    /// A user of a workload (its index; 32 bits keep `Req` small).
    Workload(u32),
    /// A call of a caller's worker.
    Call(CallId),
    /// Nobody any more: the caller or user gave up. The work goes on, wasted.
    Orphan,
    /// Nobody any more, but the request still holds a bulkhead permit of guard `g` (a
    /// [`crate::policy::Scope`]d guard index): the semaphore comes back when the work
    /// ends (`release: on_answer`, resilience4j's semaphore around a call that keeps
    /// running).
    Holding(u32),
    /// A message queue's delivery of message `.0` (a [`super::mqueue::MessageId`]): the
    /// message is deleted when the job ends well.
    Message(u32),
}

impl Origin {
    /// True when nobody waits for the answer.
    #[inline]
    pub(super) fn is_orphan(self) -> bool {
        matches!(self, Origin::Orphan | Origin::Holding(_))
    }
}

/// A request in flight.
#[derive(Clone, Copy, Debug)]
pub(super) struct Req {
    pub(super) origin: Origin,
    /// Bumped each time the slot is reused, so stale events can be recognised.
    pub(super) epoch: u32,
    /// When the job entered (the workload's or the caller's clock starts here).
    pub(super) job_start: SimTime,
    /// When it reached its current station.
    pub(super) arrived: SimTime,
    /// When a worker took it.
    pub(super) started: SimTime,
    /// Give up (user) or drop (propagating callee) after this; `MAX` = none.
    pub(super) deadline: SimTime,
    pub(super) service: u32,
    /// Global station index.
    pub(super) station: u32,
    /// Next step of the service's calls.
    pub(super) step: u16,
    /// Calls of the current step not yet answered (+1 while they are being sent).
    pub(super) pending: u16,
    /// A required call failed.
    pub(super) failed: bool,
    /// Share of full value this answer carries (1 = ok; below 1 = degraded).
    pub(super) value: f64,
    /// Request class (selects the worker pool).
    pub(super) class: u16,
    /// Pool and instance of the current station.
    pub(super) pool: u16,
    pub(super) instance: u32,
    /// The caller cancelled it while it waited in line: the worker that reaches it drops it.
    pub(super) cancelled: bool,
    /// Zone of the instance serving it (or of its users before that).
    pub(super) zone: u16,
    /// In flight (false once its slot is freed).
    pub(super) alive: bool,
    /// The sampled trace it belongs to, or `NO_TRACE` (the one check untraced requests pay).
    pub(super) trace: TraceId,
    /// Rank of its priority among the model's (0 the lowest; see
    /// [`crate::model::queue_discipline::RequestPriority`]): 8 bits, copied to every
    /// request it causes.
    pub(super) rank: u8,
}

/// Index of a call in the call slab.
pub(super) type CallId = u32;

/// Most requests in flight for one attempt: the original and up to 3 hedges.
pub(super) const MAX_LIVE: usize = 4;

/// A logical call: every attempt, hedge, backoff and fallback of one call site.
#[derive(Clone, Copy, Debug)]
pub(super) struct CallState {
    pub(super) parent: ReqId,
    /// The parent's generation when the call started; a mismatch means the parent was
    /// lost (its instance crashed) and nobody waits for this call.
    pub(super) parent_epoch: u32,
    pub(super) service: u32,
    pub(super) step: u16,
    pub(super) index: u16,
    pub(super) edge: u32,
    /// Bumped when an attempt ends, invalidating its timers.
    pub(super) epoch: u32,
    pub(super) attempt_start: SimTime,
    /// The attempt's deadline, inherited by its requests.
    pub(super) deadline: SimTime,
    /// When the whole call times out (`overall_timeout`); `MAX` = never.
    pub(super) call_deadline: SimTime,
    pub(super) retry: RetryState,
    /// Requests of the current attempt still in flight.
    pub(super) live: [ReqId; MAX_LIVE],
    pub(super) n_live: u8,
    pub(super) hedges_sent: u8,
    /// Bulkhead permits the attempt holds: one per request sent (the original and each
    /// hedge), until each request ends or is handed its permit as an orphan.
    pub(super) permits: u8,
    /// When each live request was sent (for the percentile window's own latencies).
    pub(super) sent: [SimTime; MAX_LIVE],
    /// The attempt waits for a bulkhead permit.
    pub(super) waiting: bool,
    /// The attempt was admitted by the breaker (its result must be recorded).
    pub(super) breaker_admitted: bool,
    /// A retry budget slot is held (Envoy style).
    pub(super) budget_slot: bool,
    /// The attempt holds one of Envoy's `max_pending_requests` while it waits (for a
    /// bulkhead permit or the rate limiter).
    pub(super) pending: bool,
    /// The attempt is a retry holding one of Envoy's `max_retries`.
    pub(super) retry_slot: bool,
    /// The attempt holds a slot of the client-side concurrency limit.
    pub(super) limit_slot: bool,
    /// The slot holds a call (false once it is freed).
    pub(super) in_use: bool,
    /// Its edge keeps no policy state: the guards are not asked (see
    /// [`crate::model::EdgePolicy::is_plain`]).
    pub(super) plain: bool,
    /// The guards whose policies this call passes: its edge's fleet guard and its
    /// caller instance's.
    pub(super) guard: GuardAt,
}
