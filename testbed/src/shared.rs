//! One tower service shared by every clone of a call edge's stack, for the tower layers
//! that are not `Clone` (`Hedge`, `RateLimit`) while every layer around them is cloned
//! per call. The service sits behind a mutex held only while a call is started, never
//! across an await, and its readiness is asked in the same lock as the call: between
//! the two, another caller could otherwise take what the first was promised (tower's
//! `RateLimit::call` panics when called while limited). Readiness is asked with a waker
//! that does nothing: what is shared here never waits to be ready (a `LoadShed` answers
//! at once, a `Hedge` over always-ready layers is ready), so nobody needs waking.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tower::{BoxError, Service};

use crate::client::{Answer, CallReq};
use crate::world::lock;

/// A shared handle on `S`.
pub struct Shared<S>(Arc<Mutex<S>>);

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<S> Shared<S> {
    /// `inner`, shared.
    pub fn new(inner: S) -> Self {
        Self(Arc::new(Mutex::new(inner)))
    }
}

impl<S> Service<CallReq> for Shared<S>
where
    S: Service<CallReq, Response = Answer, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = Answer;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, BoxError>> + Send>>;

    /// Always ready: the shared service's readiness is asked in `call`, under its lock.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: CallReq) -> Self::Future {
        let mut inner = lock(&self.0);
        match inner.poll_ready(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(())) => Box::pin(inner.call(req)),
            Poll::Ready(Err(err)) => Box::pin(std::future::ready(Err(err))),
            Poll::Pending => Box::pin(std::future::ready(Err("a shared layer was not ready".into()))),
        }
    }
}
