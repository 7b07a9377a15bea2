//! Priority classes in the engine: preemption at `priority_preemptive` stations, the
//! service time of a request that resumes, and priority-aware shedding.
//!
//! The queue disciplines themselves live in [`crate::model::queue_discipline`]; a station
//! whose discipline is not FIFO belongs to a service that is not plain, so the plain
//! fast path never reaches this file.

use crate::engine::SimTime;

use super::super::ServiceId;
use super::super::queue_discipline::Preempted;
use super::super::station::ReqId;
use super::Simulation;
use super::slots::Req;

impl Simulation<'_> {
    /// Arrival `r` at `station` (preemptive, not yet offered) takes the worker of the
    /// lowest-priority, most recently started request in its service time, if one ranks
    /// below it: that request goes back to the head of its class's line with the service
    /// time it has left, and the worker is free for `r`.
    pub(super) fn preempt_for(&mut self, r: ReqId, station: u32) {
        let now = self.now;
        let st = &mut self.stations[station as usize];
        if !st.preemptible() {
            return;
        }
        let reqs = &self.reqs;
        let rank = i32::from(reqs[r as usize].rank);
        let live = |q: ReqId, e: u32| reqs[q as usize].alive && reqs[q as usize].epoch == e;
        let Some(v) = st.preemption.victim(rank, &live) else {
            return;
        };
        // Forget preempted requests dropped from the line since (deadline, cancel): the
        // list stays as long as the preempted requests still waiting, not the run.
        st.preemption.resumed.retain(|p| live(p.req, p.epoch));
        let victim = &mut self.reqs[v.req as usize];
        // Back in line: a cancel or crash must find it waiting, not holding a worker.
        let started = std::mem::replace(&mut victim.started, SimTime::MAX);
        let kept = Preempted { req: v.req, epoch: v.epoch, left: v.done - now, started };
        st.preemption.resumed.push(kept);
        st.preempt(now, v.req, v.priority);
    }

    /// The service time `r` (its state `req`) starts now: what it had left if it was
    /// preempted, else a fresh draw (slowed by any fault on its instance). At a
    /// preemptive station the request becomes preemptible until its service time ends.
    pub(super) fn service_time(&mut self, r: ReqId, req: &Req) -> SimTime {
        let (now, s) = (self.now, req.service as usize);
        let t = match self.stations[req.station as usize].preemption.take_resumed(r, req.epoch) {
            Some(kept) => {
                self.reqs[r as usize].started = kept.started;
                kept.left
            }
            None => {
                self.reqs[r as usize].started = now;
                let t = self.model.services[s].service_time.sample(&mut self.service_rng[s].service_time);
                let t = self.faulted_time(s, req.instance as usize, t);
                self.cold_time(s, req.instance as usize, t)
            }
        };
        if self.model.services[s].priority.queue.is_preemptive() {
            let st = &mut self.stations[req.station as usize];
            st.preemption.started(r, req.epoch, i32::from(req.rank), now + t);
        }
        t
    }

    /// A service end of `r` at a preemptive station is current, unless the request was
    /// preempted since (its generation cannot tell: it is the same request, with a
    /// deadline timer that must stay live). At any other station every end is current:
    /// the caller asks only for a service whose arrival record says `preemptive`.
    pub(super) fn service_ends(&mut self, r: ReqId) -> bool {
        let req = &self.reqs[r as usize];
        debug_assert!(self.layout.hot[req.service as usize].preemptive);
        self.stations[req.station as usize].preemption.ended(r, self.now)
    }

    /// The waiting line as shedding should read it for `r` at service `s`: the line itself,
    /// or, with `by_priority`, the line scaled so that rank `k` of `n` is refused at
    /// `(k + 1) / n` of the rule's bound (Google SRE, "Handling Overload": a lower
    /// criticality is always rejected before a higher one).
    pub(super) fn ranked_line(&self, s: ServiceId, r: ReqId, line: u32) -> u32 {
        if !self.model.services[s].priority.shed_by_priority {
            return line;
        }
        let n = u64::from(self.model.priority_levels);
        let k = u64::from(self.reqs[r as usize].rank);
        // Integer division floors, and floor(x) < max exactly when x < max for a whole max.
        (u64::from(line) * n / (k + 1)).min(u64::from(u32::MAX)) as u32
    }

    /// Tokens of service `s`'s bucket that `r` must leave for more important requests:
    /// with `by_priority`, `burst · (n − 1 − k) / n` for rank `k` of `n` (the highest
    /// rank may take the last token, the lowest only the first `burst / n`), so that a
    /// lower priority is always refused before a higher one, as above; else none.
    pub(super) fn token_reserve(&self, s: ServiceId, r: ReqId) -> u32 {
        let svc = &self.model.services[s];
        let (true, Some(bucket)) = (svc.priority.rate_limit_by_priority, svc.rate_limit) else { return 0 };
        let n = u64::from(self.model.priority_levels);
        let k = u64::from(self.reqs[r as usize].rank);
        (u64::from(bucket.burst) * (n - 1 - k) / n) as u32
    }

    /// Whether `r` may take a slot of the adaptive concurrency limiter in slot `li`: with
    /// `by_priority`, rank `k` of `n` only while fewer than `limit · (k + 1) / n` are in
    /// flight (the lowest rank gets the first `1/n` of the limit, the highest all of it);
    /// else always (the limiter itself still decides).
    pub(super) fn concurrency_share(&self, s: ServiceId, r: ReqId, li: usize) -> bool {
        let Some(l) = self.limiters[li].as_ref().filter(|_| self.model.services[s].priority.concurrency_by_priority)
        else {
            return true;
        };
        let n = u64::from(self.model.priority_levels);
        let k = u64::from(self.reqs[r as usize].rank);
        u64::from(l.inflight()) * n < u64::from(l.limit()) * (k + 1)
    }
}
