//! Hedged attempts: tower 0.5.3's `Hedge` middleware on a call edge. tower sends a
//! second copy of a request once the first has been out longer than a percentile of the
//! latencies of recent successful answers (a rotating pair of histograms, rotated every
//! `period`, read from the previous period's), and only once that histogram holds
//! `min_data_points`; the first answer wins, success or not, and the other is dropped
//! (here the callee keeps working on it: the station does not see the caller leave).
//!
//! tower's `Hedge` is not `Clone`, and every layer around it is cloned per call: it is
//! shared behind a mutex held only while a call is started, never across an await. Its
//! inner services are always ready (the bulkhead under it sheds rather than waits), so
//! any handle may start a call.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tower::{BoxError, Service};

use crate::client::{Answer, CallReq, Stack};
use crate::world::lock;

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

/// A shared handle on one edge's tower `Hedge`.
#[derive(Clone)]
pub struct Hedged(Arc<Mutex<tower::hedge::Hedge<Stack, Policy>>>);

impl Hedged {
    /// tower's `Hedge::new(inner, policy, min_data_points, latency_percentile, period)`,
    /// `quantile` in [0, 1].
    pub fn new(inner: Stack, min_data_points: u64, quantile: f32, period: Duration) -> Self {
        Self(Arc::new(Mutex::new(tower::hedge::Hedge::new(inner, Policy, min_data_points, quantile, period))))
    }
}

impl Service<CallReq> for Hedged {
    type Response = Answer;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        lock(&self.0).poll_ready(cx)
    }

    fn call(&mut self, req: CallReq) -> Self::Future {
        Box::pin(lock(&self.0).call(req))
    }
}
