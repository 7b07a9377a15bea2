//! The call pipeline: one logical call of a caller's worker, with all its attempts,
//! hedges, backoffs and its fallback.
//!
//! An attempt passes, in resilience4j's order, the breaker and the rate limiter
//! ([`EdgeGuard::enter`]), the timeout (its own, bounded by a share of what remains of
//! the caller's deadline), the bulkhead, then the callee. When it ends
//! ([`Simulation::attempt_done`]) the breaker records it, then the retry policy (with
//! the budget) decides on another attempt, then a fallback may answer instead, and the
//! call answers its caller. Timers carry the call's generation number, bumped whenever
//! an attempt ends, so stale timers are ignored without searching the heap.
//!
//! [`EdgeGuard::enter`]: super::guard::EdgeGuard::enter

use crate::engine::SimTime;
use crate::metrics::Outcome;
use crate::policy::bulkhead::Acquire;
use crate::policy::retry::{Admit, GiveUpReason, RetryDecision, RetryState};
use crate::trace::{NO_TRACE, SpanKind, Track};

use super::super::station::ReqId;
use super::super::{BulkheadRelease, Call};
use super::guard::{Entry, GuardAt};
use super::slots::{CallId, CallState, MAX_LIVE, Origin};
use super::{Event, Simulation};

impl<'m> Simulation<'m> {
    /// The call site of call `c` in the model.
    fn call_site(&self, c: CallId) -> &'m Call {
        let cs = &self.calls[c as usize];
        &self.model.services[cs.service as usize].steps[usize::from(cs.step)].calls[usize::from(cs.index)]
    }

    /// The worker of request `parent` calls `call` (step `step`, `index` within it).
    pub(super) fn start_call(&mut self, parent: ReqId, service: u32, step: u16, index: u16, call: &Call) {
        let state = CallState {
            parent,
            parent_epoch: self.reqs[parent as usize].epoch,
            service,
            step,
            index,
            edge: call.edge as u32,
            epoch: 0,
            attempt_start: self.now,
            deadline: SimTime::MAX,
            call_deadline: call.policy.overall_timeout.map_or(SimTime::MAX, |t| self.now + t),
            retry: RetryState::new(),
            live: [0; MAX_LIVE],
            n_live: 0,
            hedges_sent: 0,
            permits: 0,
            sent: [SimTime::ZERO; MAX_LIVE],
            waiting: false,
            breaker_admitted: false,
            budget_slot: false,
            pending: false,
            retry_slot: false,
            limit_slot: false,
            in_use: true,
            plain: self.model.edges[call.edge].policy.is_plain(),
            guard: self.guards.at(call.edge, self.reqs[parent as usize].instance),
        };
        let c = match self.free_calls.pop() {
            Some(id) => {
                let epoch = self.calls[id as usize].epoch.wrapping_add(1);
                self.calls[id as usize] = CallState { epoch, ..state };
                id
            }
            None => {
                self.calls.push(state);
                (self.calls.len() - 1) as CallId
            }
        };
        self.edges[call.edge].calls += 1;
        if !state.plain {
            self.guards.call_started(state.guard, self.now);
        }
        self.attempt(c);
    }

    /// True when the worker that made call `c` was lost in a crash.
    pub(super) fn parent_lost(&self, c: CallId) -> bool {
        let cs = &self.calls[c as usize];
        self.reqs[cs.parent as usize].epoch != cs.parent_epoch
    }

    /// Frees call `c` whose caller is gone, abandoning whatever it has in flight and
    /// giving back every permit it holds: its place in the bulkhead's queue or its
    /// permit, the breaker's (a half-open trial's) permission, its budget slot.
    pub(super) fn drop_call(&mut self, c: CallId) {
        self.abandon_live(c, false);
        let cs = &mut self.calls[c as usize];
        let g = cs.guard;
        if cs.waiting {
            cs.waiting = false;
            self.guards.leave_queue(g, c, false);
        }
        self.release_permits(c);
        let cs = &mut self.calls[c as usize];
        if cs.breaker_admitted {
            cs.breaker_admitted = false;
            self.guards.release_breaker(g, self.now);
            self.schedule_breaker_timer(g);
        }
        self.end_pending(c);
        self.end_retry_slot(c);
        self.end_limit_slot(c, None);
        let cs = &mut self.calls[c as usize];
        cs.in_use = false;
        cs.epoch = cs.epoch.wrapping_add(1);
        if cs.budget_slot {
            cs.budget_slot = false;
            self.guards.end_retry(g);
        }
        if !self.calls[c as usize].plain {
            self.guards.call_ended(g);
        }
        self.free_calls.push(c);
    }

    /// One attempt through breaker, limiter, timeout and bulkhead.
    pub(super) fn attempt(&mut self, c: CallId) {
        if self.parent_lost(c) {
            return self.drop_call(c);
        }
        let now = self.now;
        if now >= self.calls[c as usize].call_deadline {
            return self.call_expired(c);
        }
        // The AWS adaptive pacer (botocore's `ClientRateLimiter`) may hold the attempt back,
        // before its timeout starts: it asks again after the wait.
        let (g, epoch) = (self.calls[c as usize].guard, self.calls[c as usize].epoch);
        let plain = self.calls[c as usize].plain;
        if !plain && let Admit::Wait(d) = self.guards.send_admit(g, now) {
            return self.events.push(now + d, Event::Retry(c, epoch));
        }
        let call = self.call_site(c);
        let e = call.edge;
        self.edges[e].attempts += 1;
        let cs = &mut self.calls[c as usize];
        let g = cs.guard;
        cs.attempt_start = now;
        cs.n_live = 0;
        cs.hedges_sent = 0;
        cs.breaker_admitted = false;
        let entry = if plain { Entry::Pass { breaker: false } } else { self.guards.enter(g, now) };
        if !plain {
            self.schedule_breaker_timer(g);
        }
        match entry {
            Entry::ShortCircuited => return self.attempt_done(c, Outcome::ShortCircuited),
            Entry::RateLimited => {
                self.edges[e].rate_limited += 1;
                return self.attempt_done(c, Outcome::Rejected);
            }
            Entry::Pass { breaker } => self.calls[c as usize].breaker_admitted = breaker,
            Entry::Wait { breaker, wait } => {
                self.calls[c as usize].breaker_admitted = breaker;
                if !self.start_pending(c) {
                    return self.attempt_done(c, Outcome::Rejected);
                }
                let epoch = self.calls[c as usize].epoch;
                return self.events.push(now + wait, Event::RateLimitWait(c, epoch));
            }
        }
        self.past_limiter(c, call);
    }

    /// A rate limiter's wait ended: the attempt goes on to its timeout and bulkhead, unless
    /// its caller is gone.
    pub(super) fn on_rate_limit_wait(&mut self, c: CallId, epoch: u32) {
        if self.calls[c as usize].epoch != epoch {
            return;
        }
        if self.parent_lost(c) {
            return self.drop_call(c);
        }
        self.end_pending(c);
        self.past_limiter(c, self.call_site(c));
    }

    /// The rest of an attempt the breaker and the rate limiter let through: the
    /// client-side concurrency limit, its timeout, then the bulkhead.
    fn past_limiter(&mut self, c: CallId, call: &Call) {
        let now = self.now;
        let e = call.edge;
        let g = self.calls[c as usize].guard;
        let plain = self.calls[c as usize].plain;
        if !plain && !self.guards.acquire_slot(g) {
            return self.attempt_done(c, Outcome::Rejected);
        }
        self.calls[c as usize].limit_slot = !plain;
        if !self.set_attempt_deadline(c, call) {
            return self.attempt_done(c, Outcome::Timeout);
        }
        let epoch = self.calls[c as usize].epoch;
        match if plain { None } else { self.guards.acquire_permit(g, now, c) } {
            None => self.send(c),
            Some(Acquire::Granted) => {
                self.calls[c as usize].permits = 1;
                self.send(c);
            }
            Some(Acquire::Queued { deadline }) => {
                self.calls[c as usize].waiting = true;
                if !self.start_pending(c) {
                    self.calls[c as usize].waiting = false;
                    self.guards.leave_queue(g, c, false);
                    return self.attempt_done(c, Outcome::Rejected);
                }
                self.events.push(deadline, Event::BulkheadTimeout(c, epoch));
            }
            Some(Acquire::Rejected) => {
                self.edges[e].bulkhead_rejected += 1;
                self.attempt_done(c, Outcome::Rejected);
            }
        }
    }

    /// Sets the attempt's deadline and schedules its timeout: its own timeout, and at most
    /// a fraction of what remains of the caller's deadline. False when no time remains.
    fn set_attempt_deadline(&mut self, c: CallId, call: &Call) -> bool {
        let now = self.now;
        let policy = &call.policy;
        let parent_deadline = self.reqs[self.calls[c as usize].parent as usize].deadline;
        let call_deadline = self.calls[c as usize].call_deadline;
        let mut budget = policy.timeout;
        if call_deadline < SimTime::MAX {
            // `attempt` only starts attempts before the call's deadline.
            let left = call_deadline - now;
            budget = Some(budget.map_or(left, |t| t.min(left)));
        }
        if parent_deadline < SimTime::MAX {
            let remaining = parent_deadline - now;
            if remaining == SimTime::ZERO {
                return false;
            }
            let share = SimTime::from_secs_f64(remaining.as_secs_f64() * policy.deadline_fraction).max(SimTime(1));
            budget = Some(budget.map_or(share, |t| t.min(share)));
        }
        let cs = &mut self.calls[c as usize];
        let deadline = budget.map_or(parent_deadline, |t| now + t);
        cs.deadline = deadline;
        if budget.is_some() {
            self.events.push(deadline, Event::AttemptTimeout(c, cs.epoch));
        }
        true
    }

    /// Sends one request of the current attempt (the original or a hedge).
    fn send(&mut self, c: CallId) {
        let call = self.call_site(c);
        match self.faults.partition[call.edge] {
            None => {}
            // The request vanishes: the attempt waits for its timeout (forever without one).
            Some(false) => return,
            // Refused at once.
            Some(true) => {
                self.release_one_permit(c);
                if self.calls[c as usize].n_live == 0 {
                    self.attempt_done(c, Outcome::Error);
                }
                return;
            }
        }
        let cs = &self.calls[c as usize];
        let (plain, g, n_live, parent, deadline) = (cs.plain, cs.guard, cs.n_live, cs.parent, cs.deadline);
        if !plain && !self.guards.acquire_request(g) {
            // Envoy's `max_requests` overflowed: an attempt fails at once, a hedge is not sent.
            self.release_one_permit(c);
            if n_live == 0 {
                self.attempt_done(c, Outcome::Rejected);
            }
            return;
        }
        let parent = &self.reqs[parent as usize];
        let (class, zone, trace, rank) = (parent.class, parent.zone, parent.trace, parent.rank);
        let child = self.new_req(Origin::Call(c), deadline, class, zone, trace, rank);
        if trace != NO_TRACE {
            self.trace_sent(c, child);
        }
        let cs = &mut self.calls[c as usize];
        let g = cs.guard;
        cs.live[usize::from(cs.n_live)] = child;
        cs.sent[usize::from(cs.n_live)] = self.now;
        cs.n_live += 1;
        if let Some(h) = call.policy.hedge
            && u32::from(cs.hedges_sent) < h.max_hedges
            && let Some(d) = self.guards.hedge_delay(g, &h, self.now)
        {
            self.events.push(self.now + d, Event::Hedge(c, cs.epoch));
        }
        self.arrive_from_call(child, call, c);
    }

    /// Request `child` of call `c` answered with `outcome`.
    pub(super) fn child_answered(&mut self, c: CallId, child: ReqId, outcome: Outcome) {
        let cs = &mut self.calls[c as usize];
        let n = usize::from(cs.n_live);
        let mut sent = cs.attempt_start;
        if let Some(i) = cs.live[..n].iter().position(|&x| x == child) {
            sent = cs.sent[i];
            (cs.live[i], cs.sent[i]) = (cs.live[n - 1], cs.sent[n - 1]);
            cs.n_live -= 1;
            if !cs.plain {
                self.guards.release_request(cs.guard);
                // Its bulkhead permit comes back with its answer.
                self.release_one_permit(c);
            }
        }
        let cs = &mut self.calls[c as usize];
        if !cs.plain {
            // Its own latency, from its own send (Finagle's BackupRequestFilter).
            self.guards.record_latency(cs.guard, self.now, self.now - sent, Some(outcome));
        }
        if !outcome.is_success() && self.attempt_goes_on(c, outcome) {
            return;
        }
        let cancel = self.call_site(c).policy.hedge.is_some_and(|h| h.cancel_losers);
        self.abandon_live(c, cancel);
        self.release_permits(c);
        self.attempt_done(c, outcome);
    }

    /// A request of call `c`'s attempt failed with `outcome`: true when the attempt goes
    /// on. Without `non_fatal_status_codes` it goes on while another request is out. With
    /// them (gRPC's hedging policy, gRFC A6), a non-fatal failure sends the next hedge at
    /// once and the attempt goes on while any request is out; a fatal one ends it.
    fn attempt_goes_on(&mut self, c: CallId, outcome: Outcome) -> bool {
        let live = self.calls[c as usize].n_live > 0;
        match self.call_site(c).policy.hedge.and_then(|h| h.non_fatal) {
            None => live,
            Some(non_fatal) if non_fatal[outcome as usize] => self.hedge_now(c) || live,
            Some(_) => false,
        }
    }

    /// Orphans every request of the current attempt still in flight: their work is
    /// wasted, or cancelled when `cancel` is set. Each takes its bulkhead permit along
    /// when the edge releases permits on the answer (`release: on_answer`); the
    /// percentile window records how long each had been out (Finagle records its
    /// interrupted requests too).
    fn abandon_live(&mut self, c: CallId, cancel: bool) {
        if self.calls[c as usize].n_live == 0 {
            return;
        }
        let on_answer =
            self.model.edges[self.calls[c as usize].edge as usize].policy.bulkhead_release == BulkheadRelease::OnAnswer;
        let cs = &mut self.calls[c as usize];
        let n = usize::from(cs.n_live);
        cs.n_live = 0;
        let (live, sent, e, g) = (cs.live, cs.sent, cs.edge as usize, cs.guard);
        let holder = self.guards.bulkhead_holder(g);
        for (&r, &at) in live[..n].iter().zip(&sent[..n]) {
            let cs = &mut self.calls[c as usize];
            let keeps = on_answer && cs.permits > 0;
            cs.permits -= u8::from(keeps);
            let req = &mut self.reqs[r as usize];
            req.origin = if keeps { Origin::Holding(holder) } else { Origin::Orphan };
            self.edges[e].abandoned += 1;
            if !self.calls[c as usize].plain {
                // Over for the caller: Envoy resets the stream.
                self.guards.release_request(g);
                self.guards.record_latency(g, self.now, self.now - at, None);
            }
        }
        if cancel {
            self.cancel_requests(&live[..n]);
        }
    }

    /// Returns every bulkhead permit the attempt still holds.
    fn release_permits(&mut self, c: CallId) {
        while self.calls[c as usize].permits > 0 {
            self.release_one_permit(c);
        }
    }

    /// Returns one of the attempt's bulkhead permits, if it holds any.
    fn release_one_permit(&mut self, c: CallId) {
        let cs = &mut self.calls[c as usize];
        if cs.permits == 0 {
            return;
        }
        cs.permits -= 1;
        let holder = self.guards.bulkhead_holder(cs.guard);
        self.permit_back(holder);
    }

    /// A permit comes back to guard `g`'s bulkhead and goes to the oldest waiter, if any.
    pub(super) fn permit_back(&mut self, g: u32) {
        if let Some(next) = self.guards.release_permit(g, self.now) {
            let w = &mut self.calls[next as usize];
            w.waiting = false;
            w.permits = 1;
            // Sent through the event queue, not by recursion: a refused send would hand
            // the permit on again, one stack frame per waiter.
            self.events.push(self.now, Event::BulkheadGrant(next, w.epoch));
        }
    }

    /// The current attempt of `c` ended with `outcome`: record it, then retry, fall
    /// back or answer the caller.
    fn attempt_done(&mut self, c: CallId, outcome: Outcome) {
        if self.parent_lost(c) {
            // Nobody waits for this call: no breaker record, retry or fallback.
            return self.drop_call(c);
        }
        let now = self.now;
        let call = self.call_site(c);
        let e = call.edge;
        let cs = &mut self.calls[c as usize];
        let g = cs.guard;
        cs.epoch = cs.epoch.wrapping_add(1);
        self.edges[e].attempt_outcomes.add(outcome);
        if !cs.plain {
            self.guards.attempt_outcome(g, now, outcome, &cs.retry);
        }
        if self.reqs[cs.parent as usize].trace != NO_TRACE {
            self.trace_attempt(c, outcome.key());
        }
        let cs = &mut self.calls[c as usize];
        if cs.breaker_admitted {
            self.guards.record(g, now, outcome, now - cs.attempt_start);
            self.schedule_breaker_timer(g);
        }
        self.end_pending(c);
        self.end_retry_slot(c);
        self.end_limit_slot(c, Some(outcome));
        let cs = &mut self.calls[c as usize];
        cs.breaker_admitted = false;
        if cs.budget_slot {
            cs.budget_slot = false;
            self.guards.end_retry(g);
        }
        if !outcome.is_success() && self.retry_or_fall_back(c, call, outcome) {
            return;
        }
        self.finish_call(c, outcome, 1.0);
    }

    /// After a failed attempt: schedules a retry (with the budget's consent and time
    /// left before the caller's deadline) or the fallback. False when neither applies.
    fn retry_or_fall_back(&mut self, c: CallId, call: &Call, outcome: Outcome) -> bool {
        let now = self.now;
        let e = call.edge;
        let cs = &mut self.calls[c as usize];
        let g = cs.guard;
        let trace = self.reqs[cs.parent as usize].trace;
        if let Some(cfg) = &call.policy.retry {
            let parent_deadline = self.reqs[cs.parent as usize].deadline;
            let guards = &mut self.guards;
            match guards.retry(g, &mut cs.retry, cfg, outcome, now) {
                // The backoff outlasts the call's overall timeout: the call waits for it and
                // ends then, timed out (Envoy's route timeout, a gRPC deadline).
                RetryDecision::Retry { delay, .. }
                    if now + delay >= cs.call_deadline
                        && now < cs.call_deadline
                        && cs.call_deadline < parent_deadline =>
                {
                    if guards.retries_hold_slots(g) {
                        guards.end_retry(g);
                    }
                    self.events.push(cs.call_deadline, Event::Retry(c, cs.epoch));
                    return true;
                }
                RetryDecision::Retry { delay, .. }
                    if now + delay < parent_deadline.min(cs.call_deadline) && guards.acquire_retry(g) =>
                {
                    cs.retry_slot = true;
                    cs.budget_slot = guards.retries_hold_slots(g);
                    self.edges[e].record_retry(now);
                    self.events.push(now + delay, Event::Retry(c, cs.epoch));
                    let next = SpanKind::Backoff { next: cs.retry.attempts() };
                    self.tracer.span(trace, Track::Edge(e as u32), next, now, now + delay, "backoff");
                    return true;
                }
                // No time left before the caller's deadline: give up now, and give back the
                // budget slot the granted retry took.
                RetryDecision::Retry { .. } if guards.retries_hold_slots(g) => guards.end_retry(g),
                RetryDecision::GiveUp(GiveUpReason::BudgetExhausted) => self.edges[e].budget_exhausted += 1,
                _ => {}
            }
        }
        let Some(f) = call.policy.fallback else { return false };
        self.events.push(now + f.latency, Event::Fallback(c, cs.epoch));
        let kind = SpanKind::Fallback { value: f.value };
        self.tracer.span(trace, Track::Edge(e as u32), kind, now, now + f.latency, "fallback");
        true
    }

    /// Envoy's `max_pending_requests`: attempt `c` starts waiting to be sent. False when
    /// the threshold overflowed (the attempt fails `rejected`).
    fn start_pending(&mut self, c: CallId) -> bool {
        let ok = self.guards.acquire_pending(self.calls[c as usize].guard);
        self.calls[c as usize].pending = ok;
        ok
    }

    /// Attempt `c` stops waiting: its pending slot, if it holds one, comes back.
    fn end_pending(&mut self, c: CallId) {
        let cs = &mut self.calls[c as usize];
        if cs.pending {
            cs.pending = false;
            self.guards.release_pending(cs.guard);
        }
    }

    /// The attempt's slot of the client-side concurrency limit comes back, teaching the
    /// limit its round trip (`outcome` `None`: dropped with its caller, ignored).
    fn end_limit_slot(&mut self, c: CallId, outcome: Option<Outcome>) {
        let cs = &mut self.calls[c as usize];
        if cs.limit_slot {
            cs.limit_slot = false;
            let (g, rtt) = (cs.guard, self.now - cs.attempt_start);
            self.guards.release_slot(g, self.now, rtt, outcome);
        }
    }

    /// The retry that held one of Envoy's `max_retries` is over.
    fn end_retry_slot(&mut self, c: CallId) {
        let cs = &mut self.calls[c as usize];
        if cs.retry_slot {
            cs.retry_slot = false;
            self.guards.release_retry(cs.guard);
        }
    }

    /// Call `c`'s overall timeout passed between attempts: it ends timed out, or its
    /// fallback answers.
    fn call_expired(&mut self, c: CallId) {
        let call = self.call_site(c);
        self.edges[call.edge].call_timeouts += 1;
        match call.policy.fallback {
            Some(f) => {
                let epoch = self.calls[c as usize].epoch;
                self.events.push(self.now + f.latency, Event::Fallback(c, epoch));
            }
            None => self.finish_call(c, Outcome::Timeout, 1.0),
        }
    }

    /// Call `c` is over: answer the caller's worker and free the slot.
    fn finish_call(&mut self, c: CallId, outcome: Outcome, value: f64) {
        let call = self.call_site(c);
        self.edges[call.edge].record(self.now, outcome);
        let cs = &mut self.calls[c as usize];
        cs.epoch = cs.epoch.wrapping_add(1);
        cs.in_use = false;
        let (plain, g, parent, parent_epoch) = (cs.plain, cs.guard, cs.parent, cs.parent_epoch);
        if !plain {
            self.guards.call_ended(g);
        }
        self.free_calls.push(c);
        let p = &mut self.reqs[parent as usize];
        if p.epoch != parent_epoch {
            return; // the caller was lost in a crash
        }
        match outcome {
            Outcome::Ok => {}
            Outcome::Degraded => p.value *= value,
            _ if call.optional => p.value *= call.policy.degraded_value,
            _ => p.failed = true,
        }
        p.pending -= 1;
        if p.pending == 0 {
            self.advance(parent);
        }
    }

    /// Schedules the breaker's next timed transition, if one is due and not yet scheduled.
    fn schedule_breaker_timer(&mut self, g: GuardAt) {
        if let Some((guard, at)) = self.guards.breaker_timer(g) {
            self.events.push(at, Event::BreakerTimer(guard));
        }
    }

    /// The attempt's timeout fired: stop waiting for a permit, or abandon what is in flight.
    pub(super) fn on_attempt_timeout(&mut self, c: CallId, epoch: u32) {
        let cs = self.calls[c as usize];
        if cs.epoch != epoch {
            return;
        }
        let call = self.call_site(c);
        // Envoy's `hedge_on_per_try_timeout`: the timed-out request stays out, a hedge
        // joins it under a new per-try timeout, and the first answer wins.
        if !cs.waiting
            && cs.n_live > 0
            && call.policy.hedge.is_some_and(|h| h.on_per_try_timeout)
            && self.set_attempt_deadline(c, call)
            && self.hedge_now(c)
        {
            return;
        }
        if cs.waiting {
            self.calls[c as usize].waiting = false;
            self.guards.leave_queue(cs.guard, c, false);
        } else {
            self.note_attempt_timeout(c);
            self.abandon_live(c, false);
            self.release_permits(c);
        }
        self.attempt_done(c, Outcome::Timeout);
    }

    /// The attempt waited for a bulkhead permit longer than the bulkhead allows.
    pub(super) fn on_bulkhead_timeout(&mut self, c: CallId, epoch: u32) {
        let cs = self.calls[c as usize];
        if cs.epoch != epoch || !cs.waiting {
            return;
        }
        self.calls[c as usize].waiting = false;
        self.guards.leave_queue(cs.guard, c, true);
        self.edges[cs.edge as usize].bulkhead_rejected += 1;
        self.attempt_done(c, Outcome::Rejected);
    }

    /// A waiting attempt was handed a permit: send it, unless its caller is gone.
    pub(super) fn on_bulkhead_grant(&mut self, c: CallId, epoch: u32) {
        if self.calls[c as usize].epoch == epoch && self.calls[c as usize].permits > 0 {
            if self.parent_lost(c) {
                self.drop_call(c);
            } else {
                self.end_pending(c);
                self.send(c);
            }
        }
    }

    /// The hedging delay passed: send a backup request for the current attempt.
    pub(super) fn on_hedge(&mut self, c: CallId, epoch: u32) {
        if self.calls[c as usize].epoch == epoch && self.parent_lost(c) {
            return self.drop_call(c);
        }
        let cs = &self.calls[c as usize];
        if cs.epoch != epoch || cs.n_live == 0 {
            return;
        }
        self.hedge_now(c);
    }

    /// Sends a hedge of call `c`'s attempt now, if it may have another. True when one was
    /// sent, or will be once the AWS adaptive pacer's wait is over.
    fn hedge_now(&mut self, c: CallId) -> bool {
        let cs = &self.calls[c as usize];
        let max = self.call_site(c).policy.hedge.map_or(0, |h| h.max_hedges);
        if u32::from(cs.hedges_sent) >= max || usize::from(cs.n_live) >= MAX_LIVE {
            return false;
        }
        // The AWS adaptive pacer may hold the hedge back: it asks again after the wait.
        if let Admit::Wait(d) = self.guards.send_admit(cs.guard, self.now) {
            self.events.push(self.now + d, Event::Hedge(c, cs.epoch));
            return true;
        }
        let cs = &mut self.calls[c as usize];
        if !self.guards.try_hedge(cs.guard, self.now) {
            return false;
        }
        // A hedge is a request of its own: it passes the breaker, the rate limiter and the
        // bulkhead (without waiting for any), as resilience4j's decorators wrap each call.
        let Some(permit) = self.guards.admit_hedge(cs.guard, self.now, c) else { return false };
        let cs = &mut self.calls[c as usize];
        cs.permits += u8::from(permit);
        cs.hedges_sent += 1;
        let e = cs.edge as usize;
        self.edges[e].hedges += 1;
        let (trace, attempt) = (self.reqs[cs.parent as usize].trace, cs.retry.attempts());
        self.tracer.span(trace, Track::Edge(e as u32), SpanKind::Instant { attempt }, self.now, self.now, "hedge");
        self.send(c);
        true
    }

    /// The fallback's answer is ready: the call ends degraded, worth the fallback's value.
    pub(super) fn on_fallback(&mut self, c: CallId, epoch: u32) {
        if self.calls[c as usize].epoch == epoch {
            let f = self.call_site(c).policy.fallback.map_or(1.0, |f| f.value);
            self.edges[self.calls[c as usize].edge as usize].fallbacks += 1;
            self.finish_call(c, Outcome::Degraded, f);
        }
    }
}
