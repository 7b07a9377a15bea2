//! A message queue's validated settings (`kind: queue` on a service), the knobs Amazon
//! SQS users know: the visibility timeout, the redrive policy's `maxReceiveCount` and its
//! dead-letter queue, and an optional bound on the backlog. How the engine runs them is
//! in `sim::mqueue`; the consumers are the service's workers (`servers`).

use crate::engine::SimTime;

use super::ServiceId;

/// SQS's default visibility timeout (Amazon SQS Developer Guide, "Amazon SQS visibility
/// timeout": 30 seconds, settable from 0 to 12 hours).
pub const DEFAULT_VISIBILITY_TIMEOUT: SimTime = SimTime(30_000_000_000);

/// A message queue's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MessageQueue {
    /// How long a received message stays invisible to other consumers; not deleted by
    /// then, it is delivered again.
    pub visibility_timeout: SimTime,
    /// Receives after which a message that comes back is moved to `dead_letter` (or
    /// dropped without one) instead (SQS redrive policy `maxReceiveCount`); `None`: never.
    pub max_receives: Option<u32>,
    /// The queue (a `kind: queue` service) that takes messages past `max_receives`.
    pub dead_letter: Option<ServiceId>,
    /// Most visible messages held; a send to a full queue is refused. `None`: unbounded.
    pub max_backlog: Option<u32>,
}
