//! The open-loop load generator: each workload's requests are sent at the times its
//! arrival process draws (a Poisson process following the workload's rate profile,
//! drawn by resim's own `RateProfile`), whether or not earlier requests were answered.
//! A closed-loop generator such as wrk waits for an answer before the next request, so a
//! slow server slows its own load down and the tail it should measure is never sent
//! (Gil Tene's "coordinated omission").
//!
//! Load faults need nothing here: a `spike` or `ramp` is folded into the workload's
//! `RateProfile` as a multiplier over its window when the scenario is validated, and
//! `next_arrival` draws from the profile with its multipliers (by thinning), so the
//! generator follows the modified rate as the engine does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use resim::engine::SimTime;
use resim::engine::Streams;
use resim::model::Arrivals;

use crate::client::call_instance;
use crate::world::World;

/// How late the generator sent its requests: sum of lateness (ns) and count.
#[derive(Debug, Default)]
pub struct Lateness {
    /// Sum of (actual − scheduled) send times, ns.
    pub sum_ns: AtomicU64,
    /// Requests sent.
    pub sent: AtomicU64,
}

/// Sends workload `w`'s requests from time 0 until `end`.
pub async fn generate(world: Arc<World>, w: usize, end: SimTime, late: Arc<Lateness>) {
    let workload = &world.model.workloads[w];
    let Arrivals::Poisson(profile) = &workload.arrivals else { return };
    let streams = Streams::new(world.model.seed, world.rec.replication().into());
    let mut rng = streams.stream(&format!("testbed/arrivals/{}", workload.name));
    let mut t = SimTime::ZERO;
    while let Some(next) = profile.next_arrival(t, &mut rng) {
        if next > end {
            break;
        }
        t = next;
        tokio::time::sleep_until(world.rec.instant(t).into()).await;
        let lateness = world.rec.now().saturating_sub(t).0;
        late.sum_ns.fetch_add(lateness, Ordering::Relaxed);
        late.sent.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(request(world.clone(), w));
    }
}

/// One user request: sent to the workload's target through its balancer, without
/// client-side policies (a workload is the outside world), and recorded end to end.
async fn request(world: Arc<World>, w: usize) {
    let target = world.model.workloads[w].target;
    world.rec.workload_sent(w);
    let start = world.rec.now();
    let i = world.pick(target);
    let answer = call_instance(&world, target, i).await;
    let elapsed = world.rec.now().saturating_sub(start);
    let latency = SimTime(elapsed.0.saturating_sub(answer.overhead_ns.max(0).unsigned_abs()));
    world.rec.workload_answered(w, answer.outcome, latency);
}
