//! The keys of a message-queue service as written (`kind: queue`, `consumers`,
//! `visibility_timeout`, `max_receives`, `dead_letter`, `max_backlog`): the kind of
//! service here; the other keys sit flat on [`super::spec::ServiceSpec`] beside the
//! service's own, as an SQS queue's attributes sit beside its consumer's code, and
//! [`super::validate_mqueue`] checks them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a service is: a station of workers (the default), or a message queue whose
/// consumers take the messages producers send to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// Requests are served by the service's workers, and the sender waits for the answer.
    #[default]
    Service,
    /// A message queue (Amazon SQS style): a send is answered as soon as the message is
    /// stored; `consumers` take the oldest visible message, run `service_time` and
    /// `calls`, and delete it; one not deleted within `visibility_timeout` is delivered
    /// again.
    Queue,
}

impl ServiceKind {
    /// True for the default kind (kept out of a written scenario).
    pub fn is_service(&self) -> bool {
        *self == ServiceKind::Service
    }
}
