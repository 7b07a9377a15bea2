//! A call edge's rate limit: tower 0.5.3's `RateLimit` under `LoadShed`, as
//! `rate_limit: { preset: tower, num, per }` asks. tower's `RateLimit` admits `num` calls
//! per window of `per`; once the last is taken it is not ready until the window ends
//! (`limit/rate/service.rs`), and `LoadShed` refuses a call that finds it not ready
//! (`Overloaded`) instead of waiting. A refusal is counted in the edge's `rate_limited`
//! and ends the attempt as `rejected`, as the engine does.
//!
//! tower's `RateLimit` is not `Clone`: it is [`Shared`] by the edge's stack, which asks
//! its readiness and calls it under one lock (tower's `RateLimit::call` panics when
//! called while limited); the limiter's sleep is polled again by the next call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use resim::metrics::Outcome;
use tower::limit::RateLimit;
use tower::limit::rate::Rate;
use tower::load_shed::LoadShed;
use tower::{BoxError, Service};

use crate::client::{Answer, CallReq, Failed, Stack};
use crate::shared::Shared;

/// tower's `RateLimit::new(inner, Rate::new(num, per))` under `LoadShed::new`, shared;
/// its first window starts at the first call (its `until` is its creation time).
#[derive(Clone)]
pub struct RateLimited(Shared<LoadShed<RateLimit<Stack>>>);

impl RateLimited {
    /// The limiter over `inner`.
    pub fn new(inner: Stack, num: u64, per: Duration) -> Self {
        Self(Shared::new(LoadShed::new(RateLimit::new(inner, Rate::new(num, per)))))
    }
}

impl Service<CallReq> for RateLimited {
    type Response = Answer;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: CallReq) -> Self::Future {
        let (world, e) = (req.world.clone(), req.edge);
        let fut = self.0.call(req);
        Box::pin(async move {
            match fut.await {
                Err(err) if err.is::<tower::load_shed::error::Overloaded>() => {
                    world.rec.edge(e, |m, _| m.rate_limited += 1);
                    Err(Failed(Answer::failed(Outcome::Rejected)).into())
                }
                r => r,
            }
        })
    }
}
