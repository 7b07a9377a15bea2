//! The live watchdog of one replication: a deadlock stops the run instead of idling to
//! its end, a zero-time loop stops it instead of spinning forever.
//!
//! A *stall* is work inside the stations (busy workers or queued requests) while no
//! request leaves a worker for [`Watchdog::after`] of simulated time, and nothing
//! pending could move that work: no service time running, no call timer (timeout,
//! backoff, hedge, fallback, bulkhead or rate-limiter wait) due, no fault active. That is
//! the shape of a resource deadlock: `a`'s workers all wait on calls to `b`, whose
//! requests route back into `a`'s queue behind them. A long service time or a slow
//! timeout is no stall (its event is pending); a failure is progress (the request left);
//! an idle system is no stall (nothing inside). The checks run on the engine's
//! checkpoints (every few tens of thousands of events), at each time-series window's end
//! and once at the end of the run, so the hot path pays nothing: progress is read from
//! the counters the services keep anyway.
//!
//! A *spin* (the clock stuck for [`crate::engine::SPIN_EVENTS`] events) is found by the
//! engine; this file names what spun from the last events it shows us.

use std::fmt::Write;

use crate::engine::SimTime;
use crate::metrics::Halt;
use crate::model::Model;

use super::{Event, Simulation};

/// The shortest default stall window: a minute of simulated time without a request
/// leaving a worker, while nothing could move the work inside, is no queueing delay.
const MIN_STALL: SimTime = SimTime(60_000_000_000);

/// The default window is also at least this many of the slowest mean service time, so a
/// model of hour-long batch jobs is judged on its own time scale.
const SERVICE_TIMES: f64 = 100.0;

/// Services listed by name in a message; the rest are counted.
const NAMED: usize = 4;

/// What the watchdog remembers between checks.
pub(super) struct Watchdog {
    /// How long without progress counts as a stall (`SimTime::MAX`: never).
    after: SimTime,
    /// The last time progress was seen.
    progress: SimTime,
    /// Requests that had left a worker (completed, dropped or lost, all services) then.
    left: u64,
    /// The spin's last events by description, in first-seen order.
    spin: Vec<(String, u64)>,
}

impl Watchdog {
    /// The watchdog of a replication of `model`.
    pub(super) fn of(model: &Model) -> Self {
        Watchdog {
            after: model.limits.stall_after.unwrap_or_else(|| stall_window(model)),
            progress: SimTime::ZERO,
            left: 0,
            spin: Vec::new(),
        }
    }

    /// The counters restarted from zero (the warm-up's end): no progress.
    pub(super) fn counters_reset(&mut self) {
        self.left = 0;
    }

    /// Progress at `now`, with `left` requests having left the workers so far.
    pub(super) fn moved(&mut self, now: SimTime, left: u64) {
        self.progress = now;
        self.left = left;
    }
}

/// The default stall window of `model`: [`MIN_STALL`], or [`SERVICE_TIMES`] times its
/// slowest mean service time if that is longer. Distributions without a closed-form mean
/// here add nothing: their long draws are pending events, which no stall can have.
pub fn stall_window(model: &Model) -> SimTime {
    let slowest = model.services.iter().filter_map(|s| s.service_time.mean_secs()).fold(0.0, f64::max);
    MIN_STALL.max(SimTime::from_secs_f64(slowest * SERVICE_TIMES))
}

impl Simulation<'_> {
    /// The engine's checkpoint (or a window's end) at `now`: halts on a stall (see the
    /// module doc). A moving clock also clears a spin sample that turned out to be a burst.
    pub(super) fn watch(&mut self, now: SimTime, clock_moved: bool) {
        if clock_moved {
            self.watchdog.spin.clear();
        }
        self.judge(now, now);
    }

    /// The last check, at the end of the run: a deadlock may have left no event at all.
    pub(super) fn watch_end(&mut self) {
        // Requests leave while events are handled, so none left after the last one.
        self.judge(self.end, self.now);
    }

    /// Halts when work has been stuck since before `now - after`; progress seen since the
    /// last check happened no later than `last_event`.
    fn judge(&mut self, now: SimTime, last_event: SimTime) {
        if self.watchdog.after == SimTime::MAX || self.halt.is_some() {
            return;
        }
        let left = self.services.iter().map(|m| m.completed + m.dropped + m.lost).sum();
        if left != self.watchdog.left {
            self.watchdog.moved(last_event, left);
        }
        if now - self.watchdog.progress < self.watchdog.after {
            return;
        }
        let idle = self.stations.iter().all(|s| s.in_system() == 0);
        if idle || self.work_pending() || self.faults.active_spans(SimTime::ZERO, now).next().is_some() {
            return self.watchdog.moved(now, left);
        }
        let detail = self.holding_work();
        self.halt = Some(Halt::Stall { since: self.watchdog.progress, at: now, detail });
    }

    /// True when a pending event moves a request on: a service time ending, or a live
    /// call's timer (timeout, backoff, hedge, fallback, permit or limiter wait).
    fn work_pending(&self) -> bool {
        let call = |c: u32, epoch: u32| {
            let cs = &self.calls[c as usize];
            cs.in_use && cs.epoch == epoch
        };
        self.events.iter().any(|(_, e)| match *e {
            Event::ServiceDone(r, epoch) => self.reqs[r as usize].epoch == epoch,
            Event::AttemptTimeout(c, epoch)
            | Event::BulkheadTimeout(c, epoch)
            | Event::Retry(c, epoch)
            | Event::Hedge(c, epoch)
            | Event::Fallback(c, epoch)
            | Event::BulkheadGrant(c, epoch)
            | Event::RateLimitWait(c, epoch) => call(c, epoch),
            _ => false,
        })
    }

    /// The services holding work, for a message: busy workers, queued requests, and the
    /// callees their workers wait on (`` `a`: 4 busy, 170 queued, 4 waiting on `b` ``).
    fn holding_work(&self) -> String {
        let services = &self.model.services;
        let mut waits = vec![vec![0u32; services.len()]; services.len()];
        for cs in self.calls.iter().filter(|cs| cs.in_use && self.reqs[cs.parent as usize].epoch == cs.parent_epoch) {
            waits[cs.service as usize][self.model.edges[cs.edge as usize].to] += 1;
        }
        let mut parts = Vec::new();
        for (s, svc) in services.iter().enumerate() {
            let first = self.layout.first_station(s);
            let stations = &self.stations[first..first + svc.instances as usize * svc.pools.len()];
            let queued: u32 = stations.iter().map(|st| st.queue_len()).sum();
            let busy = stations.iter().map(|st| st.in_system()).sum::<u32>() - queued;
            if busy + queued == 0 {
                continue;
            }
            let mut part = format!("`{}`: {busy} busy, {queued} queued", svc.name);
            for (to, &n) in waits[s].iter().enumerate().filter(|(_, n)| **n > 0) {
                let _ = write!(part, ", {n} waiting on `{}`", services[to].name);
            }
            parts.push(part);
        }
        named(parts, "services")
    }

    /// One of the last events of a spin, tallied by what it is.
    pub(super) fn spin_event(&mut self, event: &Event) {
        let what = self.describe(event);
        match self.watchdog.spin.iter_mut().find(|(d, _)| *d == what) {
            Some((_, n)) => *n += 1,
            None => self.watchdog.spin.push((what, 1)),
        }
    }

    /// The clock stood at `now` for `events` events: halt, naming what spun.
    pub(super) fn spun(&mut self, now: SimTime, events: u64) {
        let mut spin = std::mem::take(&mut self.watchdog.spin);
        spin.sort_by_key(|s| std::cmp::Reverse(s.1));
        let total: u64 = spin.iter().map(|(_, n)| n).sum();
        let kinds = named(spin.into_iter().map(|(d, n)| format!("{n} × {d}")).collect(), "kinds");
        let mut detail = format!("the last {total} events: {kinds}");
        if self.stations.iter().any(|s| s.in_system() > 0) {
            let _ = write!(detail, "; holding work: {}", self.holding_work());
        }
        self.halt = Some(Halt::Spin { events, at: now, detail });
    }

    /// What an event is, for a message.
    fn describe(&self, event: &Event) -> String {
        let model = self.model;
        let service = |s: u32| &model.services[s as usize].name;
        let caller = |c: u32| service(self.calls[c as usize].service);
        match *event {
            Event::Arrival(w) => format!("arrivals of workload `{}`", model.workloads[w as usize].name),
            Event::Think(w) => format!("users of workload `{}` sending again", model.workloads[w as usize].name),
            Event::ServiceDone(r, _) => format!("service ends at `{}`", service(self.reqs[r as usize].service)),
            Event::AttemptTimeout(c, _) => format!("call timeouts at `{}`", caller(c)),
            Event::Retry(c, _) => format!("retries from `{}`", caller(c)),
            Event::Hedge(c, _) => format!("hedges from `{}`", caller(c)),
            Event::Fallback(c, _) => format!("fallbacks at `{}`", caller(c)),
            Event::BulkheadTimeout(c, _) | Event::BulkheadGrant(c, _) => format!("bulkhead events at `{}`", caller(c)),
            Event::RateLimitWait(c, _) => format!("rate-limiter waits at `{}`", caller(c)),
            Event::HealthProbe(s, _) => format!("health probes of `{}`", service(s)),
            Event::Heartbeat(s) => format!("heartbeats of `{}`", service(s)),
            Event::OutlierSweep(s) => format!("outlier sweeps of `{}`", service(s)),
            Event::DegradeTick(s) => format!("degradation ticks of `{}`", service(s)),
            Event::AutoscaleTick(s) => format!("autoscaler ticks of `{}`", service(s)),
            Event::InstanceReady(s, _) => format!("instances of `{}` becoming ready", service(s)),
            Event::InstanceEvict(s, _) => format!("evictions of `{}`", service(s)),
            Event::FaultStart(f) | Event::FaultEnd(f) => format!("fault changes of `faults[{f}]`"),
            Event::HealthResult(..) => "health probe results".to_owned(),
            Event::UserDeadline(..) => "user deadlines".to_owned(),
            Event::BreakerTimer(_) => "breaker timers".to_owned(),
            Event::VisibilityTimeout(..) => "message visibility timeouts".to_owned(),
            Event::WarmupEnd | Event::WindowClose => "window ends".to_owned(),
        }
    }
}

/// The first [`NAMED`] of `parts` joined, and how many more there are.
fn named(parts: Vec<String>, what: &str) -> String {
    let more = parts.len().saturating_sub(NAMED);
    let mut text = parts.into_iter().take(NAMED).collect::<Vec<_>>().join("; ");
    if more > 0 {
        let _ = write!(text, "; and {more} more {what}");
    }
    text
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::run_replication;
    use super::*;

    /// The model `front -> back` (two users) with `back`'s `extra` lines, run for `duration`.
    fn model_of(back: &str, duration: &str) -> crate::model::Model {
        let text = format!(
            "name: t\nduration: {duration}\nservices:\n  front: {{ servers: 1, service_time: {{ constant: {{ value: 1ms }} }}, calls: [ {{ to: back }} ] }}\n  back: {{ servers: 1, {back} }}\nworkloads:\n  - {{ name: u, target: front, arrivals: {{ closed: {{ users: 2, think_time: {{ constant: {{ value: 1s }} }} }} }} }}\n"
        );
        crate::scenario::load_str(&text, Path::new("t.yaml"), &[]).expect("a valid scenario").model
    }

    /// How a run of [`model_of`] stops, if it does.
    fn halt_of(back: &str, duration: &str) -> Option<Halt> {
        run_replication(&model_of(back, duration), 0).halt
    }

    /// [`halt_of`] with `back` routing every request back to `front`: validation refuses
    /// that loop, so the route is set on the checked model (the watchdog is the guard
    /// behind validation, for the loops it cannot see).
    fn halt_of_route_back(duration: &str) -> Option<Halt> {
        let mut model = model_of(
            "service_time: { constant: { value: 1ms } }, routes: [ { to: front, probability: 0.5 } ]",
            duration,
        );
        let back = model.service_id("back").expect("back");
        let route = &mut model.services[back].routes[0];
        (route.probability, route.cumulative) = (1.0, 1.0);
        run_replication(&model, 0).halt
    }

    #[test]
    fn a_route_back_into_the_busy_callers_queue_is_a_stall_since_the_last_progress() {
        // The first request's call reaches `back`, which routes it into `front`'s queue,
        // behind the one worker waiting for it: stuck from the first second on. The
        // first window's end (36 s) sees that progress, the third (108 s) a minute without.
        let halt = halt_of_route_back("1h");
        let Some(Halt::Stall { since, at, detail }) = halt else { panic!("no stall: {halt:?}") };
        assert_eq!((since, at), (SimTime::from_secs_f64(36.0), SimTime::from_secs_f64(108.0)));
        assert_eq!(detail, "`front`: 1 busy, 2 queued, 1 waiting on `back`");
    }

    #[test]
    fn a_service_time_longer_than_the_window_is_no_stall() {
        // One 2 h service time: nothing leaves a worker for 2 h, but its end is pending.
        assert_eq!(halt_of("service_time: { constant: { value: 2h } }", "10h"), None);
        assert_eq!(halt_of("service_time: { lognormal: { median: 1h, p99: 5h } }", "10h"), None);
    }

    #[test]
    fn the_default_window_is_a_minute_or_a_hundred_mean_service_times() {
        let model = |mean: &str| {
            let text = format!(
                "name: t\nduration: 1h\nservices:\n  a: {{ service_time: {{ exponential: {{ mean: {mean} }} }} }}\nworkloads:\n  - {{ name: u, target: a, arrivals: {{ poisson: {{ rate: 1/s }} }} }}\n"
            );
            crate::scenario::load_str(&text, Path::new("t.yaml"), &[]).expect("a valid scenario").model
        };
        assert_eq!(stall_window(&model("10ms")), MIN_STALL);
        assert_eq!(stall_window(&model("30s")), SimTime::from_secs_f64(3000.0));
    }

    #[test]
    fn halts_in_the_warm_up_say_so_instead_of_a_negative_time() {
        let s = SimTime::from_secs_f64;
        let m = Halt::Events { events: 5, at: s(2.0) }.message(s(10.0));
        assert!(m.contains("2.000s into the warm-up (measurement starts at 10.000s)"), "{m}");
        let m = Halt::Events { events: 5, at: s(12.5) }.message(s(10.0));
        assert!(m.contains("2.500s into the run"), "{m}");
    }

    #[test]
    fn named_lists_the_first_few_and_counts_the_rest() {
        let parts = |n: usize| (0..n).map(|i| format!("s{i}")).collect::<Vec<_>>();
        assert_eq!(named(parts(2), "services"), "s0; s1");
        assert_eq!(named(parts(6), "services"), "s0; s1; s2; s3; and 2 more services");
    }
}
