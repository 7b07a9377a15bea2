//! resim-testbed: a resim scenario deployed for real on 127.0.0.1, so that the
//! simulation's predictions can be checked against real sockets, real timers and the
//! resilience middleware people deploy (tower, hyper).
//!
//! Every service instance is an HTTP server ([`station`]), every call edge a hyper client
//! under tower's middleware ([`client`]), the load an open-loop Poisson generator
//! ([`load`]). What the run measures is recorded in resim's own per-replication shape
//! ([`record`]), so the report is built by resim's report code and `resim compare` sets
//! it beside the simulated one. The testbed's own time (loopback, timer error) is
//! measured and taken off every latency ([`overhead`], [`timer`]).
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod breaker;
pub mod client;
pub mod faults;
pub mod hedge;
pub mod load;
pub mod overhead;
pub mod ratelimit;
pub mod record;
pub mod recovery;
pub mod shared;
pub mod station;
pub mod support;
pub mod timer;
pub mod validate;
pub mod world;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use resim::Report;
use resim::engine::SimTime;
use resim::metrics::ReplicationResult;
use resim::model::Model;
use resim::report::summary::ReplicationSummary;

use crate::load::Lateness;
use crate::overhead::Overhead;
use crate::world::{Sockets, World};

/// Runs replication `replication` of `model` for real, in a runtime of its own (dropped
/// at the end, which ends every task still in flight).
pub fn run_replication(model: &Arc<Model>, replication: u32) -> std::io::Result<(ReplicationResult, Overhead)> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let out = rt.block_on(replicate(model.clone(), replication));
    rt.shutdown_background();
    out
}

async fn replicate(model: Arc<Model>, replication: u32) -> std::io::Result<(ReplicationResult, Overhead)> {
    let rtt_s = overhead::loopback_rtt().await?;
    let sockets = Sockets::bind(&model).await?;
    let world = Arc::new(World::new(model.clone(), replication, &sockets)?);
    for (s, listeners) in sockets.listeners.into_iter().enumerate() {
        for (i, l) in listeners.into_iter().enumerate() {
            tokio::spawn(station::serve(world.clone(), world.instances[s][i].clone(), l));
        }
    }
    faults::start(&world).await?;
    let end = model.warmup + model.duration;
    let late = Arc::new(Lateness::default());
    for w in 0..model.workloads.len() {
        tokio::spawn(load::generate(world.clone(), w, end, late.clone()));
    }
    let clock = world.clone();
    tokio::spawn(async move {
        let m = &clock.model;
        tokio::time::sleep_until(clock.rec.instant(m.warmup).into()).await;
        clock.rec.end_warmup();
        let now = clock.rec.now();
        clock.edges.iter().flatten().filter_map(|c| c.breaker.as_ref()).for_each(|b| world::lock(b).reset(now));
        for k in 1..m.windows() as u64 {
            tokio::time::sleep_until(clock.rec.instant(m.warmup + SimTime(m.window.0 * k)).into()).await;
            clock.rec.close_window();
        }
    });
    tokio::time::sleep_until(world.rec.instant(end).into()).await;
    let mut result = world.rec.take(&model, end);
    for (e, callers) in world.edges.iter().enumerate() {
        let logs: Vec<_> = callers.iter().filter_map(|c| c.breaker.clone()).collect();
        result.breakers[e] = breaker::merged(&logs, end);
    }
    faults::finish(&world, &mut result, end);
    let (timer_late_s, timer_residual_s, sleeps) = world.timer.stats();
    let sent = late.sent.load(Ordering::Relaxed);
    let generator_late_s = if sent == 0 { 0.0 } else { late.sum_ns.load(Ordering::Relaxed) as f64 / sent as f64 / 1e9 };
    Ok((result, Overhead { rtt_s, timer_late_s, timer_residual_s, sleeps, generator_late_s, sent }))
}

/// The report of replications measured for real, and its JSON text with the testbed's
/// overhead under `testbed`.
pub fn report(model: &Model, results: &[ReplicationResult], overhead: &[Overhead]) -> (Report, String) {
    let summaries: Vec<ReplicationSummary> = results.iter().map(|r| ReplicationSummary::of(model, r.clone())).collect();
    let report = Report::build(model, &summaries);
    let json = report.to_json();
    let note = "measured on real HTTP servers on 127.0.0.1 by resim-testbed; latencies have the testbed's own \
                time (loopback, timer error) taken off, shown under overhead";
    let testbed = serde_json::json!({ "note": note, "overhead": Overhead::to_json(overhead) });
    let body = serde_json::to_string_pretty(&testbed).unwrap_or_default().replace('\n', "\n  ");
    // The report's own key order kept: `testbed` goes in as the last key.
    let text = match json.trim_end().strip_suffix('}') {
        Some(head) => format!("{},\n  \"testbed\": {body}\n}}\n", head.trim_end()),
        None => json,
    };
    (report, text)
}
