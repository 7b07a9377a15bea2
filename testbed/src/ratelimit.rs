//! A call edge's rate limit: tower 0.5.3's `RateLimit` under `LoadShed`, as
//! `rate_limit: { preset: tower, num, per }` asks. tower's `RateLimit` admits `num` calls
//! per window of `per`; once the last is taken it is not ready until the window ends
//! (`limit/rate/service.rs`), and `LoadShed` refuses a call that finds it not ready
//! (`Overloaded`) instead of waiting. A refusal is counted in the edge's `rate_limited`
//! and ends the attempt as `rejected`, as the engine does.
//!
//! tower's `RateLimit` is not `Clone`, and every layer around it is cloned per call, so it
//! is shared behind a mutex, as the hedge is ([`crate::hedge`]). Its readiness and the
//! call must be asked under one lock: between the two, another caller could take the last
//! permit, and tower's `RateLimit::call` panics when called while limited. Readiness is
//! asked once per call, when it arrives, with a waker that does nothing: `LoadShed` never
//! waits, so nobody needs waking; the limiter's sleep is polled again by the next call.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use resim::metrics::Outcome;
use tower::limit::RateLimit;
use tower::limit::rate::Rate;
use tower::load_shed::LoadShed;
use tower::{BoxError, Service};

use crate::client::{Answer, CallReq, Failed, Stack};
use crate::world::lock;

/// A shared handle on one edge's `LoadShed<RateLimit<..>>` at one caller instance.
#[derive(Clone)]
pub struct RateLimited(Arc<Mutex<LoadShed<RateLimit<Stack>>>>);

impl RateLimited {
    /// tower's `RateLimit::new(inner, Rate::new(num, per))` under `LoadShed::new`; its
    /// first window starts at the first call (its `until` is its creation time).
    pub fn new(inner: Stack, num: u64, per: Duration) -> Self {
        Self(Arc::new(Mutex::new(LoadShed::new(RateLimit::new(inner, Rate::new(num, per))))))
    }
}

impl Service<CallReq> for RateLimited {
    type Response = Answer;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, BoxError>> + Send>>;

    /// Always ready: the limiter's readiness is asked in `call`, under the same lock.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: CallReq) -> Self::Future {
        let (world, e) = (req.world.clone(), req.edge);
        let fut = {
            let mut shed = lock(&self.0);
            // `LoadShed::poll_ready` is always ready; it notes whether `RateLimit` was,
            // and its `call` answers `Overloaded` if not. An error here is the inner
            // stack's own (its layers are always ready), passed on as tower would.
            if let Poll::Ready(Err(err)) = shed.poll_ready(&mut Context::from_waker(Waker::noop())) {
                return Box::pin(std::future::ready(Err(err)));
            }
            shed.call(req)
        };
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
