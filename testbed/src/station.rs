//! A service instance as a real HTTP server: the M/M/c/K station of the model, built from
//! a socket, a fair semaphore of `servers` permits, a count of requests inside checked
//! against `capacity` (503 when full), a sleep of the drawn service time, and the
//! service's downstream calls made for real while the worker is held (the
//! thread-per-request model of DESIGN.md §2). `routes` are sent on afterwards without
//! waiting (fire and forget).
//!
//! Each request's work runs in a task of its own, so a caller that stops waiting (its
//! timeout fired, its hedge lost) does not cancel it: the callee keeps working, as the
//! model's callee does without deadline propagation.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use resim::engine::SimTime;
use resim::metrics::Outcome;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::client::{Answer, call_instance};
use crate::faults;
use crate::record::Admission;
use crate::world::{Instance, World, lock};

/// Header carrying the testbed's own time inside an answer (timer error, loopback and
/// dispatch time of the calls it made), in signed nanoseconds.
pub const OVERHEAD: &str = "x-resim-overhead-ns";
/// Header carrying how long the request was inside the callee, ns.
pub const SOJOURN: &str = "x-resim-sojourn-ns";
/// Header marking a degraded answer (a failed optional call or a fallback).
pub const DEGRADED: &str = "x-resim-degraded";

/// Serves instance `inst` on `listener` until the task is aborted. A crash closes the
/// listener (new connections are refused) and drops every open connection; at its end
/// the instance listens again on the same port.
pub async fn serve(world: Arc<World>, inst: Arc<Instance>, listener: TcpListener) {
    let Ok(addr) = listener.local_addr() else { return };
    let mut down = inst.faults.watch_down();
    let mut listener = Some(listener);
    loop {
        if let Some(l) = listener.take() {
            accept_until_down(&world, &inst, l, &mut down).await;
        }
        if down.wait_for(|d| !*d).await.is_err() {
            return;
        }
        match faults::rebind(addr).await {
            Ok(l) => listener = Some(l),
            Err(e) => {
                eprintln!("warning: {}#{} cannot listen on {addr} again: {e}", inst.service, inst.index);
                return;
            }
        }
    }
}

/// Accepts and serves connections on `listener` until the instance crashes; then the
/// listener and every connection are dropped.
async fn accept_until_down(
    world: &Arc<World>,
    inst: &Arc<Instance>,
    listener: TcpListener,
    down: &mut watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = down.wait_for(|d| *d) => break,
        };
        let _ = stream.set_nodelay(true);
        let (world, inst) = (world.clone(), inst.clone());
        conns.spawn(async move {
            let svc = service_fn(move |_req: Request<Incoming>| {
                let (world, inst) = (world.clone(), inst.clone());
                async move {
                    let waiting = Waiting(Arc::new(AtomicBool::new(true)));
                    let work = tokio::spawn(visit_unless_crashed(world, inst, waiting.0.clone()));
                    let answer = work.await.unwrap_or(Answer::failed(Outcome::Error));
                    drop(waiting);
                    Ok::<_, Infallible>(respond(answer))
                }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
        });
        while conns.try_join_next().is_some() {}
    }
    conns.abort_all();
}

/// Whether the caller still waits for the answer: cleared when the connection's handler
/// is dropped before the visit ends (hyper drops it when the caller closes the
/// connection: a timed-out or losing attempt), so the visit's completion counts as
/// `wasted`, as the engine counts work nobody waits for.
struct Waiting(Arc<AtomicBool>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// A visit that a crash of the instance ends: its work is dropped (and recorded lost).
async fn visit_unless_crashed(world: Arc<World>, inst: Arc<Instance>, waiting: Arc<AtomicBool>) -> Answer {
    let mut down = inst.faults.watch_down();
    tokio::select! {
        answer = visit(world, inst, waiting) => answer,
        _ = down.wait_for(|d| *d) => Answer::failed(Outcome::Error),
    }
}

fn respond(a: Answer) -> Response<Empty<Bytes>> {
    let status = match a.outcome {
        Outcome::Ok | Outcome::Degraded => StatusCode::OK,
        Outcome::Rejected | Outcome::ShortCircuited => StatusCode::SERVICE_UNAVAILABLE,
        Outcome::Timeout => StatusCode::GATEWAY_TIMEOUT,
        Outcome::Error => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut b = Response::builder().status(status).header(OVERHEAD, a.overhead_ns).header(SOJOURN, a.sojourn_ns);
    if a.outcome == Outcome::Degraded {
        b = b.header(DEGRADED, "1");
    }
    b.body(Empty::new()).unwrap_or_else(|_| Response::new(Empty::new()))
}

/// One request's visit: admission, a worker, the service time, the calls; then the
/// routes, without waiting.
async fn visit(world: Arc<World>, inst: Arc<Instance>, waiting: Arc<AtomicBool>) -> Answer {
    let (s, i) = (inst.service, inst.index);
    let rec = &world.rec;
    let (admission, arrived) = rec.arrive(s, i);
    if admission == Admission::Full {
        return Answer::failed(Outcome::Rejected);
    }
    let mut inside = Inside { world: &world, inst: &inst, arrived, started: None, done: false };
    let Ok(permit) = inst.workers.acquire().await else {
        return Answer::failed(Outcome::Error);
    };
    let started = rec.start(s, i);
    inside.started = Some(started);
    let svc = &world.model.services[s];
    let draw = svc.service_time.sample(&mut lock(&inst.rng));
    let draw = faults::service_time(&world, &inst, draw);
    let mut overhead = world.timer.sleep(Duration::from_nanos(draw.0)).await;
    let (outcome, calls_overhead) = steps(&world, &inst).await;
    overhead += calls_overhead;
    faults::release(&inst, permit);
    let outcome = faults::answer(&world, &inst, outcome);
    let done = rec.now();
    let over = SimTime(overhead.max(0).unsigned_abs());
    inside.done = true;
    let wasted = !waiting.load(Ordering::Relaxed);
    rec.complete(s, i, (arrived, started), (outcome, wasted), over);
    if outcome.is_success() {
        route(&world, &inst);
    }
    let sojourn = done.saturating_sub(arrived).0;
    let sojourn_ns = i64::try_from(sojourn).unwrap_or(i64::MAX);
    Answer { outcome, overhead_ns: overhead, sojourn_ns, answered: true }
}

/// A request inside an instance: if its visit is dropped before it ends (the instance
/// crashed), it is recorded as lost.
struct Inside<'a> {
    world: &'a World,
    inst: &'a Instance,
    arrived: SimTime,
    started: Option<SimTime>,
    done: bool,
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.world.rec.lose(self.inst.service, self.inst.index, self.arrived, self.started);
            faults::lost(self.world, self.inst);
        }
    }
}

/// The service's steps in order, each step's calls at once. The visit is an error when a
/// required call failed, degraded when an optional one failed or a fallback answered.
/// Returns the outcome and the overhead on the path that took longest in each step.
async fn steps(world: &Arc<World>, inst: &Arc<Instance>) -> (Outcome, i64) {
    let svc = &world.model.services[inst.service];
    let (mut failed, mut degraded, mut overhead) = (false, false, 0i64);
    for step in &svc.steps {
        let mut set = JoinSet::new();
        for (k, call) in step.calls.iter().enumerate() {
            if call.probability < 1.0 && world.draw(inst) >= call.probability {
                continue;
            }
            let (world, caller) = (world.clone(), inst.index);
            let (e, to) = (call.edge, call.to);
            set.spawn(async move { (k, world.edges[e][caller].call(&world, e, to).await) });
        }
        let mut last = 0i64;
        while let Some(Ok((k, answer))) = set.join_next().await {
            let call = &step.calls[k];
            last = answer.overhead_ns;
            match answer.outcome {
                Outcome::Ok => {}
                Outcome::Degraded => degraded = true,
                _ if call.optional => degraded = true,
                _ => failed = true,
            }
        }
        overhead += last;
    }
    let outcome = match (failed, degraded) {
        (true, _) => Outcome::Error,
        (false, true) => Outcome::Degraded,
        (false, false) => Outcome::Ok,
    };
    (outcome, overhead)
}

/// Hands the request on along one of the service's routes (at most one, by probability),
/// in a task of its own: the worker is already free.
fn route(world: &Arc<World>, inst: &Arc<Instance>) {
    let routes = &world.model.services[inst.service].routes;
    if routes.is_empty() {
        return;
    }
    let u = world.draw(inst);
    let Some(r) = routes.iter().find(|r| u < r.cumulative) else { return };
    let (world, to) = (world.clone(), r.to);
    tokio::spawn(async move {
        let i = world.pick(to);
        let _ = call_instance(&world, to, i).await;
    });
}
