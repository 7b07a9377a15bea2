//! The request lifecycle: arrive, queue, serve, make the calls, finish, answer.
//!
//! A request reaches a service ([`Simulation::arrive`]): the service's rate limit, the
//! pool of its class, the balancer, then (unless the service is plain) a crashed
//! instance, the adaptive concurrency limit and shedding, then the station's own
//! capacity. A worker serves it ([`Simulation::begin_service`]), makes its calls step by
//! step ([`Simulation::advance`]), and at the end of the visit
//! ([`Simulation::complete_visit`]) the request takes a route or its job ends
//! ([`Simulation::finish_job`]), answering a workload's user or a caller's call.

use crate::engine::{SimTime, unit};
use crate::metrics::{Halt, Outcome};
use crate::policy::Scope;
use crate::trace::{NO_TRACE, TraceId};

use super::super::station::{Admission, ReqId};
use super::super::{Arrivals, Call, ServiceId, Workload, WorkloadId};
use super::balance::Avoid;
use super::slots::{CallId, MAX_LIVE, Origin, Req};
use super::{Event, Routing, Simulation};

impl<'m> Simulation<'m> {
    /// A new request in a free slot (or a new one), its clocks started now.
    #[inline(always)]
    pub(super) fn new_req(
        &mut self,
        origin: Origin,
        deadline: SimTime,
        class: u16,
        zone: u16,
        trace: TraceId,
        rank: u8,
    ) -> ReqId {
        let now = self.now;
        let mut req = Req {
            origin,
            epoch: 0,
            job_start: now,
            arrived: now,
            started: now,
            deadline,
            service: 0,
            station: 0,
            step: 0,
            pending: 0,
            failed: false,
            value: 1.0,
            class,
            pool: 0,
            instance: 0,
            cancelled: false,
            alive: true,
            zone,
            trace,
            rank,
        };
        match self.free.pop() {
            Some(id) => {
                // `finish_job` already bumped the slot's generation when it freed it.
                req.epoch = self.reqs[id as usize].epoch;
                self.reqs[id as usize] = req;
                id
            }
            None => {
                if self.reqs.len() >= self.model.limits.max_in_flight {
                    self.halt = Some(Halt::InFlight { requests: self.reqs.len() + 1, at: self.now });
                }
                self.reqs.push(req);
                (self.reqs.len() - 1) as ReqId
            }
        }
    }

    /// An open workload's arrival: schedule the next one, then start this job.
    #[inline(always)]
    pub(super) fn on_arrival(&mut self, w: WorkloadId) {
        let wl = &self.model.workloads[w];
        if let Arrivals::Poisson(profile) = &wl.arrivals
            && let Some(t) = profile.next_arrival(self.now, &mut self.workload_rng[w])
            && t <= self.end
        {
            self.events.push_lane(t, Event::Arrival(w as u32));
        }
        self.start_job_of(w, wl);
    }

    /// A user of workload `w` sends a request.
    pub(super) fn start_job(&mut self, w: WorkloadId) {
        self.start_job_of(w, &self.model.workloads[w]);
    }

    /// [`Simulation::start_job`] with the workload's model at hand.
    #[inline]
    fn start_job_of(&mut self, w: WorkloadId, wl: &'m Workload) {
        self.workloads[w].arrivals += 1;
        let deadline = wl.deadline.map_or(SimTime::MAX, |d| self.now + d);
        let trace = self.tracer.on_arrival(self.now, w as u32, self.workloads[w].arrivals);
        let req = self.new_req(Origin::Workload(w as u32), deadline, wl.class, wl.zone, trace, wl.priority.rank);
        if deadline < SimTime::MAX {
            let epoch = self.reqs[req as usize].epoch;
            self.events.push(deadline, Event::UserDeadline(req, epoch));
        }
        self.arrive(req, wl.target);
    }

    /// Refuses `r` at service `s` before it entered a station.
    pub(super) fn refuse(&mut self, r: ReqId, s: ServiceId) {
        self.services[s].rejected += 1;
        self.services[s].record_outcome(self.now, Outcome::Rejected);
        self.finish_job(r, Outcome::Rejected);
    }

    /// Refuses `r` at service `s` by its rate limit or concurrency limit: the refusal
    /// carries the service's pushback, if it has one, to the call waiting for `r`.
    fn refuse_pushing_back(&mut self, r: ReqId, s: ServiceId) {
        if let Some(p) = self.model.services[s].pushback
            && let Origin::Call(c) = self.reqs[r as usize].origin
        {
            self.calls[c as usize].retry.pushed_back(p);
        }
        self.refuse(r, s);
    }

    /// Request `r` of call `c` reaches its callee. With `previous_hosts` on the call's
    /// retry, the balancer steers clear of the instances the call's earlier attempts and
    /// hedges went to, and the instance it picks is remembered.
    pub(super) fn arrive_from_call(&mut self, r: ReqId, call: &Call, c: CallId) {
        match call.policy.retry.as_ref().and_then(|p| p.previous_hosts) {
            None => self.arrive(r, call.to),
            Some(a) => self.arrive_via(r, call.to, Some((c, a.reselects))),
        }
    }

    /// The balancer's pick for a request of call `c` that avoids earlier attempts' hosts
    /// (at most `reselects` re-picks); the pick joins them.
    fn pick_for_call(&mut self, s: ServiceId, pool: usize, zone: u16, c: CallId, reselects: u32) -> u32 {
        let hosts = *self.calls[c as usize].retry.attempted_hosts();
        let avoid = (!hosts.is_empty()).then_some(Avoid { hosts, reselects });
        let instance = self.pick_instance(s, pool, zone, avoid.as_ref());
        self.calls[c as usize].retry.host_attempted(instance);
        instance
    }

    /// Request `r` reaches service `s`: rate limit, pool, balancer, concurrency limit,
    /// shedding, then the station's own capacity.
    pub(super) fn arrive(&mut self, r: ReqId, s: ServiceId) {
        self.arrive_via(r, s, None);
    }

    /// [`Simulation::arrive`]; `via` is the call (and its re-picks) whose earlier attempts'
    /// instances the balancer should avoid.
    fn arrive_via(&mut self, r: ReqId, s: ServiceId, via: Option<(CallId, u32)>) {
        let now = self.now;
        self.services[s].arrivals += 1;
        let (class, zone, rank) = {
            let req = &mut self.reqs[r as usize];
            req.service = s as u32;
            req.arrived = now;
            // Not started yet: a request lost in a crash before a worker took it waited
            // from its arrival to the crash.
            req.started = SimTime::MAX;
            req.step = 0;
            req.pending = 0;
            (req.class, req.zone, req.rank)
        };
        let hot = &self.layout.hot[s];
        let (plain, instances, first_station, pools, zoned) =
            (hot.plain, hot.instances, hot.first_station, hot.pools, hot.zoned);
        let pool_of_class = if class == 0 { hot.pool_of_class0 } else { self.pool_of_class(s, class) };
        if !plain && self.mq.is_queue(s) {
            return self.send_message(r, s);
        }
        // A fleet-wide limit (or a lone instance's) refuses before the balancer picks;
        // each instance's own limit, once the balancer has picked it. (A plain service
        // reads nothing of the model's `Service` here: a cache miss at scale.)
        let fleet_limit = plain || self.model.services[s].rate_limit_scope == Scope::Service || instances == 1;
        if !plain && fleet_limit && !self.pass_rate_limit(s, 0, r) {
            return self.refuse_pushing_back(r, s);
        }
        let Some(pool) = pool_of_class else {
            self.services[s].no_pool += 1;
            return self.refuse(r, s);
        };
        let mut pool = usize::from(pool);
        let instance = match via {
            // One instance, the common case, without a call.
            None if instances == 1 => 0,
            None => self.pick_instance(s, pool, zone, None),
            Some((c, reselects)) => self.pick_for_call(s, pool, zone, c, reselects),
        };
        if !plain && !fleet_limit && !self.pass_rate_limit(s, instance as usize, r) {
            return self.refuse_pushing_back(r, s);
        }
        let base = first_station + instance * u32::from(pools);
        let mut station = base + pool as u32;
        if !plain && self.model.services[s].pools[pool].borrow && self.stations[station as usize].saturated() {
            (pool, station) = self.borrow_worker(s, base, pool, station);
        }
        let req = &mut self.reqs[r as usize];
        req.station = station;
        req.pool = pool as u16;
        req.instance = instance;
        if zoned && let Some(&z) = self.model.services[s].zone_ids.get(instance as usize) {
            req.zone = z;
        }
        self.stations[station as usize].arrivals += 1;
        if !plain && !self.admit_policies(r, s, instance, station) {
            return;
        }
        match self.stations[station as usize].offer(now, r, rank.into()) {
            // A plain service's fresh arrival (never cancelled yet) starts at once.
            Admission::Started if plain => self.start_plain(r, s),
            Admission::Started => self.begin_service(r),
            Admission::Queued => {}
            Admission::Rejected => {
                self.services[s].pools[pool].rejected += 1;
                if let Some(l) = self.limiter(s, instance as usize) {
                    l.release_ignored();
                }
                self.refuse(r, s);
            }
        }
    }

    /// The pool serving class `class` at service `s`, if any (class 0's is in `Hot`).
    fn pool_of_class(&self, s: ServiceId, class: u16) -> Option<u16> {
        self.model.services[s].pool_of_class[usize::from(class)]
    }

    /// Work-conserving pools: at saturated `station` (pool `pool` of the instance whose
    /// first station is `base`), an idle worker of a sibling pool with an empty line takes
    /// the request instead. Returns the pool and station that serve it.
    fn borrow_worker(&mut self, s: ServiceId, base: u32, pool: usize, station: u32) -> (usize, u32) {
        let np = self.model.services[s].pools.len();
        let sibling = (0..np).find(|&p| {
            let st = &self.stations[(base + p as u32) as usize];
            p != pool && !st.saturated() && st.queue_len() == 0
        });
        match sibling {
            Some(p) => {
                self.services[s].borrowed += 1;
                (p, base + p as u32)
            }
            None => (pool, station),
        }
    }

    /// The service's rate limiter (the fleet's, or instance `instance`'s) lets a request
    /// in; a refusal is counted.
    fn pass_rate_limit(&mut self, s: ServiceId, instance: usize, r: ReqId) -> bool {
        let slot = self.server_slot(s, instance, self.model.services[s].rate_limit_scope);
        let reserve = self.token_reserve(s, r);
        let Some(l) = self.service_limiters[slot].as_mut() else { return true };
        if (reserve == 0 || l.available(self.now) > reserve) && l.try_acquire(self.now) {
            return true;
        }
        self.services[s].rate_limited += 1;
        false
    }

    /// The admission checks of a service that is not plain, after its balancer chose
    /// `instance` and `station`: a crashed instance, the adaptive concurrency limit and
    /// load shedding. Returns false when `r` was refused (and its job ended).
    fn admit_policies(&mut self, r: ReqId, s: ServiceId, instance: u32, station: u32) -> bool {
        let gi = self.layout.instance(s, instance as usize);
        if self.faults.fx[gi].down {
            self.refuse_down(r, s, instance);
            return false;
        }
        let li = self.limiter_slot(s, instance as usize);
        let share = self.concurrency_share(s, r, li);
        if let Some(l) = self.limiters[li].as_mut()
            && !(share && l.try_acquire())
        {
            self.services[s].concurrency_limited += 1;
            self.refuse_pushing_back(r, s);
            return false;
        }
        if self.stations[station as usize].saturated() && !self.shed_admits(s, station, r) {
            self.services[s].shed += 1;
            if let Some(l) = self.limiters[li].as_mut() {
                l.release_ignored();
            }
            self.refuse(r, s);
            return false;
        }
        if self.model.services[s].priority.queue.is_preemptive() {
            self.preempt_for(r, station);
        }
        true
    }

    /// A worker takes `r`. Requests whose deadline has passed (with deadline
    /// propagation) or that CoDel sheds are dropped instead, and the worker takes the
    /// next one.
    #[inline(always)]
    pub(super) fn begin_service(&mut self, r: ReqId) {
        let q = &self.reqs[r as usize];
        let s = q.service as usize;
        if self.layout.hot[s].plain && !q.cancelled {
            return self.start_plain(r, s);
        }
        self.begin_service_policies(r);
    }

    /// A worker of plain service `s` takes `r` (not cancelled): its service time starts.
    #[inline(always)]
    fn start_plain(&mut self, r: ReqId, s: ServiceId) {
        let now = self.now;
        let q = &mut self.reqs[r as usize];
        q.started = now;
        let epoch = q.epoch;
        let t = self.layout.hot[s].service_time.sample(&mut self.service_rng[s].service_time);
        self.events.push(now + t, Event::ServiceDone(r, epoch));
    }

    /// [`Simulation::begin_service`] at a service that is not plain, or of a cancelled
    /// request.
    #[inline(never)]
    fn begin_service_policies(&mut self, mut r: ReqId) {
        let now = self.now;
        loop {
            let req = self.reqs[r as usize];
            let s = req.service as usize;
            let service = &self.model.services[s];
            let expired = req.cancelled || (service.deadline_propagation && req.deadline <= now);
            let shed = !expired
                && self.shedders[req.station as usize].as_mut().is_some_and(|sh| sh.on_dequeue(now, req.arrived));
            if !expired && !shed {
                self.reqs[r as usize].started = now;
                if self.model.services[s].cache.is_some() && !self.cache_begin(r, s) {
                    return;
                }
                let t = self.service_time(r, &req);
                self.events.push(now + t, Event::ServiceDone(r, req.epoch));
                return;
            }
            let metrics = &mut self.services[s];
            metrics.record_drop(now - req.arrived);
            metrics.shed += u64::from(shed);
            metrics.record_outcome(now, if expired { Outcome::Timeout } else { Outcome::Rejected });
            if let Some(l) = self.limiter(s, req.instance as usize) {
                l.release(now, now - req.arrived, true);
            }
            let next = self.release_worker(req.station);
            self.finish_job(r, if expired { Outcome::Timeout } else { Outcome::Rejected });
            match next {
                Some(n) => r = n,
                None => return,
            }
        }
    }

    /// The service's shedding rule admits an arrival at saturated `station`: its own
    /// line's, or the fleet's (the pool's lines of all instances together).
    fn shed_admits(&self, s: ServiceId, station: u32, r: ReqId) -> bool {
        let svc = &self.model.services[s];
        if svc.shed_scope == Scope::Instance {
            let st = &self.stations[station as usize];
            let line = self.ranked_line(s, r, st.queue_len());
            return self.shedders[station as usize].as_ref().is_none_or(|sh| sh.admit(line));
        }
        let (first, np) = (self.layout.first_station(s), svc.pools.len());
        let pool = (station as usize - first) % np;
        let line: u32 = (0..svc.instances as usize).map(|i| self.stations[first + i * np + pool].queue_len()).sum();
        let line = self.ranked_line(s, r, line);
        self.shedders[first + pool].as_ref().is_none_or(|sh| sh.admit(line))
    }

    /// Frees a worker of `station`; returns the waiting request it takes next, if any.
    fn release_worker(&mut self, station: u32) -> Option<ReqId> {
        let next = self.stations[station as usize].release(self.now);
        if next.is_none()
            && let Some(sh) = self.shedders[station as usize].as_mut()
        {
            sh.on_queue_empty();
        }
        next
    }

    /// The caller cancelled the requests `rs` (the losing hedges of an attempt, with
    /// `cancel: true`), and their work stops as gRPC's cancellation, Envoy's stream reset
    /// or a Finagle interrupt stops it. The cancel arrives at once (no network delay).
    /// Each is checked against its generation first: cancelling one may end a sibling
    /// queued behind it (a worker freed, the sibling's deadline found passed) and hand its
    /// slot to a new request.
    pub(super) fn cancel_requests(&mut self, rs: &[ReqId]) {
        debug_assert!(rs.len() <= MAX_LIVE, "one attempt's requests at most");
        let mut epochs = [0; MAX_LIVE];
        for (e, &r) in epochs.iter_mut().zip(rs) {
            *e = self.reqs[r as usize].epoch;
        }
        for (&r, &epoch) in rs.iter().zip(&epochs) {
            let req = &self.reqs[r as usize];
            if req.alive && req.epoch == epoch {
                self.cancel_request(r);
            }
        }
    }

    /// Cancels `r`; a bulkhead permit it kept for its caller comes back at once. Still in
    /// line, it keeps its place until a worker reaches it and drops
    /// it at no cost ([`Simulation::begin_service_policies`]), as a thread-pool server's
    /// task finds its call cancelled and returns. Held by a worker (in service, or waiting
    /// on its own calls) its job ends now, counted as dropped at the service (outcome
    /// `timeout`, as one dropped in line): the worker takes the next in line, the pending
    /// service end goes stale with the slot's generation, the adaptive concurrency limit
    /// gets its slot back without a sample (Netflix concurrency-limits' `onIgnore`, what
    /// its gRPC interceptor does on a cancel), and its calls are cancelled in turn, down
    /// the call tree, as gRPC's cancellation travels through the context.
    fn cancel_request(&mut self, r: ReqId) {
        let now = self.now;
        let req = &mut self.reqs[r as usize];
        req.cancelled = true;
        if let Origin::Holding(g) = req.origin {
            // The caller's call is over once cancelled: the bulkhead permit the request
            // kept (`release: on_answer`) comes back now, wherever the request is.
            req.origin = Origin::Orphan;
            self.permit_back(g);
        }
        let req = self.reqs[r as usize];
        if req.started == SimTime::MAX {
            return;
        }
        let s = req.service as usize;
        let metrics = &mut self.services[s];
        metrics.record_cancelled(now - req.arrived, req.started - req.arrived);
        metrics.record_outcome(now, Outcome::Timeout);
        if let Some(l) = self.limiter(s, req.instance as usize) {
            l.release_ignored();
        }
        let next = self.release_worker(req.station);
        self.cache_visit_abandoned(r);
        self.finish_job(r, Outcome::Timeout);
        if req.pending > 0 {
            self.cancel_calls(r, req.epoch);
        }
        if let Some(next) = next {
            self.begin_service(next);
        }
    }

    /// The calls the worker of `parent` (generation `epoch`, now over) waits on end, giving
    /// back their permits as a crashed caller's do, and their requests are cancelled. A
    /// scan of the call slab: only a cancelled request that waits on calls pays it.
    fn cancel_calls(&mut self, parent: ReqId, epoch: u32) {
        for c in 0..self.calls.len() as CallId {
            let cs = self.calls[c as usize];
            if cs.in_use && cs.parent == parent && cs.parent_epoch == epoch {
                self.drop_call(c);
                self.cancel_requests(&cs.live[..usize::from(cs.n_live)]);
            }
        }
    }

    /// Sends the calls of the request's next step, or completes the visit when no step
    /// is left or a required call has failed.
    pub(super) fn advance(&mut self, r: ReqId) {
        let model = self.model;
        loop {
            let req = &self.reqs[r as usize];
            let service = &model.services[req.service as usize];
            if req.failed || usize::from(req.step) >= service.steps.len() {
                self.complete_visit(r);
                return;
            }
            let req = *req;
            let step = req.step;
            self.reqs[r as usize].step += 1;
            // The +1 guard keeps calls answered at once (rejections) from resuming
            // this request while its step is still being sent.
            self.reqs[r as usize].pending = 1;
            let optional_on = !self.layout.hot[req.service as usize].degradable
                || self.degrade[req.service as usize].optional_enabled();
            for (i, call) in service.steps[usize::from(step)].calls.iter().enumerate() {
                if call.optional && !optional_on {
                    continue;
                }
                if call.probability < 1.0 && unit(&mut self.service_rng[req.service as usize].calls) >= call.probability
                {
                    continue;
                }
                self.reqs[r as usize].pending += 1;
                self.start_call(r, req.service, step, i as u16, call);
            }
            let req = &mut self.reqs[r as usize];
            req.pending -= 1;
            if req.pending > 0 {
                return;
            }
        }
    }

    /// True when nobody waits for the job of `r` any more (its root was abandoned).
    fn is_orphaned(&self, mut r: ReqId) -> bool {
        loop {
            match self.reqs[r as usize].origin {
                Origin::Orphan | Origin::Holding(_) => return true,
                Origin::Workload(_) | Origin::Message(_) => return false,
                Origin::Call(c) => {
                    let cs = &self.calls[c as usize];
                    if self.reqs[cs.parent as usize].epoch != cs.parent_epoch {
                        return true;
                    }
                    r = cs.parent;
                }
            }
        }
    }

    /// The worker is done with `r`: release it, then route the request on or end it.
    pub(super) fn complete_visit(&mut self, r: ReqId) {
        let now = self.now;
        let q = &self.reqs[r as usize];
        let (s, station, arrived, started) = (q.service as usize, q.station as usize, q.arrived, q.started);
        // A user's or a message's request is never orphaned; a call's may be.
        let wasted = !matches!(q.origin, Origin::Workload(_) | Origin::Message(_)) && self.is_orphaned(r);
        let metrics = &mut self.services[s];
        metrics.record_completion(now.since(arrived), started.since(arrived));
        metrics.wasted += u64::from(wasted);
        self.stations[station].completed += 1;
        let hot = &self.layout.hot[s];
        let routes = hot.routes;
        let req = if hot.plain {
            let next = self.stations[station].release(now);
            if let Some(next) = next {
                self.begin_service(next);
            }
            &self.reqs[r as usize]
        } else {
            let instance = self.reqs[r as usize].instance as usize;
            self.complete_policies(r, s, instance);
            &self.reqs[r as usize]
        };
        let (failed, value, trace) = (req.failed, req.value, req.trace);
        let visit = match (failed, value < 1.0) {
            (true, _) => Outcome::Error,
            (false, true) => Outcome::Degraded,
            (false, false) => Outcome::Ok,
        };
        let metrics = &mut self.services[s];
        if visit.is_success() {
            metrics.record_success(now, visit, now.since(arrived));
        } else {
            metrics.record_outcome(now, visit);
        }
        if failed {
            return self.finish_job(r, Outcome::Error);
        }
        if routes && let Some(to) = self.route(s) {
            if trace != NO_TRACE {
                self.trace_route(r, visit.key(), to);
            }
            return self.arrive(r, to);
        }
        let outcome = if value < 1.0 { Outcome::Degraded } else { Outcome::Ok };
        self.finish_job_inline(r, outcome);
    }

    /// The service a request leaving service `s` (which has routes) goes to, if any.
    #[inline(always)]
    fn route(&mut self, s: ServiceId) -> Option<ServiceId> {
        let u = unit(&mut self.service_rng[s].routing);
        // The first route whose cumulative probability passes `u` is the number of those
        // that do not (they only grow): counted without a branch, which on a random draw
        // would be mispredicted half the time.
        let routing = &self.layout.routing[s];
        if routing.n <= Routing::IN_PLACE {
            let k = routing.cumulative.iter().map(|&c| usize::from(u >= c)).sum::<usize>();
            return (k < routing.n).then(|| routing.to[k] as ServiceId);
        }
        let routes = &self.model.services[s].routes;
        let k = routes.iter().map(|route| usize::from(u >= route.cumulative)).sum::<usize>();
        routes.get(k).map(|route| route.to)
    }

    /// The server-side policies at the end of a visit to a service that is not plain:
    /// the concurrency limiter and the degradation controller learn of it, the worker
    /// moves on, response faults and outlier ejection act. Returns the request as it leaves.
    fn complete_policies(&mut self, r: ReqId, s: usize, instance: usize) {
        let now = self.now;
        let req = self.reqs[r as usize];
        if let Some(l) = self.limiter(s, instance) {
            l.release(now, now - req.arrived, req.failed);
        }
        if let Some(v) = self.degrade[s].on_visit(now - req.arrived, req.failed)
            && v < 1.0
        {
            self.reqs[r as usize].value *= v;
        }
        if let Some(next) = self.release_worker(req.station) {
            self.begin_service(next);
        } else {
            // A queue's freed consumer takes the next message.
            self.wake_queue(s);
        }
        self.inject_response_faults(r, s, instance);
        if self.model.services[s].cache.is_some() {
            self.cache_visit_end(r, s);
        }
        let req = self.reqs[r as usize];
        self.note_answer(s, instance, &req);
    }

    /// The job of `r` ends with `outcome`: tell whoever waits, free the slot.
    #[inline(never)]
    pub(super) fn finish_job(&mut self, r: ReqId, outcome: Outcome) {
        self.finish_job_inline(r, outcome);
    }

    /// [`Simulation::finish_job`] inline, for the end of a visit (the common case).
    #[inline(always)]
    fn finish_job_inline(&mut self, r: ReqId, outcome: Outcome) {
        let q = &mut self.reqs[r as usize];
        // A new generation now, so timers aimed at this request are stale from here on.
        q.epoch = q.epoch.wrapping_add(1);
        q.alive = false;
        let (trace, origin, value) = (q.trace, q.origin, q.value);
        self.free.push(r);
        if trace != NO_TRACE {
            self.trace_visit(r, outcome.key());
            self.tracer.closed(trace);
        }
        match origin {
            Origin::Workload(w) => self.answer_user(w as usize, r, outcome),
            Origin::Call(c) => {
                // Pass the callee's value on through a degraded answer.
                if outcome == Outcome::Degraded {
                    self.reqs[self.calls[c as usize].parent as usize].value *= value;
                }
                self.child_answered(c, r, outcome);
            }
            Origin::Orphan => {}
            // Its caller gave up; the bulkhead permit it kept comes back now.
            Origin::Holding(g) => self.permit_back(g),
            Origin::Message(m) => self.message_handled(m, r, outcome),
        }
    }

    /// A workload's user gets the answer of request `r` (or gives up on it). The slot
    /// may already be freed: its fields are still those of the request.
    #[inline(always)]
    fn answer_user(&mut self, w: WorkloadId, r: ReqId, outcome: Outcome) {
        let req = &self.reqs[r as usize];
        let (trace, value, job_start) = (req.trace, req.value, req.job_start);
        if trace != NO_TRACE {
            if self.tracer.answered(trace, self.now, outcome.key(), value) {
                self.close_traced(Some(trace), "orphaned");
            }
            self.tracer.seal(trace);
        }
        let metrics = &mut self.workloads[w];
        if outcome.is_success() {
            metrics.record_success(self.now, outcome, self.now.since(job_start));
            metrics.value += value;
        } else {
            metrics.record(self.now, outcome);
        }
        if self.closed_workloads
            && let Arrivals::Closed { think, .. } = &self.model.workloads[w].arrivals
        {
            let t = self.now + think.sample(&mut self.workload_rng[w]);
            if t <= self.end {
                self.events.push(t, Event::Think(w as u32));
            }
        }
    }

    /// A user's deadline passed: the user stops waiting; the request goes on, orphaned.
    pub(super) fn on_user_deadline(&mut self, r: ReqId, epoch: u32) {
        let req = self.reqs[r as usize];
        if req.epoch != epoch {
            return;
        }
        if let Origin::Workload(w) = req.origin {
            self.reqs[r as usize].origin = Origin::Orphan;
            self.answer_user(w as usize, r, Outcome::Timeout);
        }
    }
}
