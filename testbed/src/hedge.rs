//! Hedged attempts: tower 0.5.3's `Hedge` middleware on a call edge. tower sends a
//! second copy of a request once the first has been out longer than a percentile of the
//! latencies of recent successful answers (a rotating pair of histograms, rotated every
//! `period`, read from the previous period's), and only once that histogram holds
//! `min_data_points`; the first answer wins, success or not, and the other is dropped
//! (here the callee keeps working on it: the station does not see the caller leave).
//!
//! tower's `Hedge` is not `Clone`: it is [`Shared`] by the edge's stack. Its inner
//! services are always ready (the bulkhead under it sheds rather than waits).

use std::time::Duration;

use tower::hedge::Hedge;

use crate::client::{CallReq, Stack};
use crate::shared::Shared;

/// tower's hedge policy for the testbed: every request may be hedged; each hedge sent is
/// counted on the edge.
#[derive(Clone, Copy, Debug)]
pub struct Policy;

impl tower::hedge::Policy<CallReq> for Policy {
    fn clone_request(&self, req: &CallReq) -> Option<CallReq> {
        Some(req.clone())
    }

    fn can_retry(&self, req: &CallReq) -> bool {
        req.world.rec.edge(req.edge, |m, _| m.hedges += 1);
        true
    }
}

/// tower's `Hedge::new(inner, policy, min_data_points, latency_percentile, period)`,
/// `quantile` in [0, 1], shared by the edge's stack.
pub fn hedged(inner: Stack, min_data_points: u64, quantile: f32, period: Duration) -> Shared<Hedge<Stack, Policy>> {
    Shared::new(Hedge::new(inner, Policy, min_data_points, quantile, period))
}
