//! Message queues at run time (`kind: queue`), as Amazon SQS standard queues behave
//! (Amazon SQS Developer Guide: "Amazon SQS visibility timeout", "Using dead-letter
//! queues in Amazon SQS" for the redrive policy's `maxReceiveCount`, and "Available
//! CloudWatch metrics for Amazon SQS" for `ApproximateAgeOfOldestMessage`).
//!
//! A send is a hand-off. A request reaching a queue (by a producer's `routes`, a call, or
//! a workload aimed at it) stores a message and its job ends there, answered `ok`: the
//! producer, and the user behind it, wait only for the store, not for the consumer
//! ([`Simulation::send_message`]). A full queue (`max_backlog` visible messages) refuses
//! the send instead. The message is then its own unit of work: when a consumer (one of
//! the service's workers) is free it takes the oldest visible message, whose receive
//! count goes up by one and which turns invisible for `visibility_timeout`; the delivery
//! is a new request whose origin is the message ([`Origin::Message`]), which runs the
//! service's `service_time`, `calls` and `routes` as any request does. When that job
//! ends well the consumer deletes the message (the ack); when it fails the message is
//! left alone and comes back when its timeout ends, as SQS's is.
//!
//! The receipt. Each receive gives the message a new receipt; only the holder of the
//! latest one may delete it, and only while its visibility timeout lasts. SQS documents
//! that a delete with an older receipt handle "might not" delete the message; resim
//! takes the conservative reading: once the timeout has ended the receipt is stale, and a
//! late ack deletes nothing (counted as `stale_acks`, work done twice). So every
//! handling that outlasts the visibility timeout puts the message back exactly once: as
//! a redelivery, or, once it has been received `max_receives` times, as a move to the
//! `dead_letter` queue (or a drop without one).
//!
//! State is allocation-free in the steady state: one slab of messages for all queues
//! (32-bit ids; each queue keeps its own free slots, so a slot always belongs to the same
//! queue and a late ack is counted where it happened), a binary heap per queue of the visible messages keyed by
//! send order (the oldest first, including those that came back), a deque in send order
//! for the oldest message not yet deleted (stale entries skipped lazily), and each
//! visibility timeout an event carrying the receipt it was set for, so a timer whose
//! message was deleted or received again is recognised as stale.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::engine::SimTime;
use crate::metrics::Outcome;
use crate::metrics::mqueue::QueueMetrics;
use crate::trace::NO_TRACE;

use super::super::mqueue::MessageQueue;
use super::super::station::{Admission, ReqId};
use super::super::{Model, ServiceId};
use super::slots::Origin;
use super::{Event, Simulation};

/// Index of a message in the slab shared by all queues.
pub(super) type MessageId = u32;

/// No request holds the message's receipt.
const NO_HOLDER: ReqId = ReqId::MAX;

/// Where a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    /// The slot is free.
    Free,
    /// Waiting for a consumer.
    Visible,
    /// Received, invisible until its timeout.
    InFlight,
}

/// One message in the slab.
#[derive(Clone, Copy, Debug)]
struct Message {
    /// Its queue (a service id).
    queue: u32,
    /// Send order within all queues: the heap's key and the oldest-message deque's check.
    serial: u64,
    /// When it was stored.
    sent: SimTime,
    /// Receives so far.
    receives: u32,
    /// Bumped at each receive, expiry and delete: a timer set for another receipt is stale.
    receipt: u32,
    /// The request holding the current receipt.
    holder: ReqId,
    at: Where,
    /// The priority rank of the request that sent it, carried to each delivery as any
    /// request passes its rank to the work it causes.
    rank: u8,
}

/// One queue's lines and record.
#[derive(Debug)]
pub(super) struct QueueState {
    config: MessageQueue,
    /// Its free slots in the slab.
    free: Vec<MessageId>,
    /// Visible messages, the oldest (lowest serial) first.
    visible: BinaryHeap<Reverse<(u64, MessageId)>>,
    /// Messages in send order; entries of deleted ones are skipped when they reach the front.
    order: VecDeque<(u64, MessageId)>,
    in_flight: u64,
    /// When the integrals were last brought up to date.
    last: SimTime,
    metrics: QueueMetrics,
}

/// What a visibility timeout did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expiry {
    /// The timer was stale (the message was deleted or received again).
    Stale,
    /// The message is visible again in queue `.0`.
    Visible(ServiceId),
    /// The message left queue `.0` after its last receive, for dead-letter queue `.1` if any.
    DeadLetter(ServiceId, Option<ServiceId>),
}

/// Every queue of a replication and the message slab they share.
#[derive(Debug)]
pub(super) struct MessageQueues {
    msgs: Vec<Message>,
    next_serial: u64,
    /// Per service: its queue, if it is one.
    queues: Vec<Option<QueueState>>,
}

impl MessageQueues {
    /// Empty queues for the services of `model` that are queues.
    pub(super) fn of(model: &Model) -> Self {
        let queues = model.services.iter().map(|s| s.message_queue.map(QueueState::new)).collect();
        MessageQueues { msgs: Vec::new(), next_serial: 0, queues }
    }

    /// True when service `s` is a queue.
    #[inline]
    pub(super) fn is_queue(&self, s: ServiceId) -> bool {
        self.queues[s].is_some()
    }

    /// Brings queue `s`'s integrals up to `now`, the oldest message's age included.
    fn accrue(&mut self, s: ServiceId, now: SimTime) {
        let Some(q) = self.queues[s].as_mut() else { return };
        let msgs = &self.msgs;
        while let Some(&(serial, m)) = q.order.front() {
            let msg = &msgs[m as usize];
            if msg.at != Where::Free && msg.serial == serial {
                break;
            }
            q.order.pop_front();
        }
        let age = q.order.front().map(|&(_, m)| q.last - msgs[m as usize].sent);
        q.metrics.accrue(now - q.last, q.visible.len() as u64, q.in_flight, age);
        q.last = now;
    }

    /// The age of queue `s`'s oldest message not yet deleted, as of its last accrual.
    fn oldest_age(&self, s: ServiceId) -> SimTime {
        let q = self.queues[s].as_ref().expect("a queue");
        q.order.front().map_or(SimTime::ZERO, |&(_, m)| q.last - self.msgs[m as usize].sent)
    }

    /// Stores a message in queue `s` at `now`; false when its backlog is full.
    pub(super) fn store(&mut self, s: ServiceId, now: SimTime, rank: u8) -> bool {
        self.accrue(s, now);
        let serial = self.next_serial;
        let q = self.queues[s].as_mut().expect("a queue");
        if q.config.max_backlog.is_some_and(|k| q.visible.len() as u64 >= u64::from(k)) {
            q.metrics.refused += 1;
            return false;
        }
        let msg = Message {
            queue: s as u32,
            serial,
            sent: now,
            receives: 0,
            receipt: 0,
            holder: NO_HOLDER,
            at: Where::Visible,
            rank,
        };
        let m = match q.free.pop() {
            Some(m) => {
                let receipt = self.msgs[m as usize].receipt;
                self.msgs[m as usize] = Message { receipt, ..msg };
                m
            }
            None => {
                self.msgs.push(msg);
                (self.msgs.len() - 1) as MessageId
            }
        };
        self.next_serial += 1;
        q.visible.push(Reverse((serial, m)));
        q.order.push_back((serial, m));
        q.metrics.sent += 1;
        q.metrics.backlog_now(q.visible.len() as u64);
        true
    }

    /// A consumer of queue `s` takes its oldest visible message at `now`: returns it and
    /// the receipt its visibility timer must carry.
    pub(super) fn receive(&mut self, s: ServiceId, now: SimTime) -> Option<(MessageId, u32)> {
        self.accrue(s, now);
        let q = self.queues[s].as_mut().expect("a queue");
        let Reverse((_, m)) = q.visible.pop()?;
        q.in_flight += 1;
        q.metrics.delivered += 1;
        let msg = &mut self.msgs[m as usize];
        msg.receives += 1;
        msg.receipt = msg.receipt.wrapping_add(1);
        msg.at = Where::InFlight;
        Some((m, msg.receipt))
    }

    /// The priority rank message `m` carries.
    pub(super) fn rank(&self, m: MessageId) -> u8 {
        self.msgs[m as usize].rank
    }

    /// Request `r` holds message `m`'s current receipt.
    pub(super) fn hold(&mut self, m: MessageId, r: ReqId) {
        self.msgs[m as usize].holder = r;
    }

    /// The visibility timeout set for receipt `receipt` of message `m` ends at `now`.
    pub(super) fn expire(&mut self, m: MessageId, receipt: u32, now: SimTime) -> Expiry {
        let msg = self.msgs[m as usize];
        if msg.at != Where::InFlight || msg.receipt != receipt {
            return Expiry::Stale;
        }
        let s = msg.queue as usize;
        self.accrue(s, now);
        let q = self.queues[s].as_mut().expect("a queue");
        q.in_flight -= 1;
        let msg = &mut self.msgs[m as usize];
        msg.receipt = msg.receipt.wrapping_add(1);
        msg.holder = NO_HOLDER;
        if q.config.max_receives.is_some_and(|n| msg.receives >= n) {
            let dead_letter = q.config.dead_letter;
            match dead_letter {
                Some(_) => q.metrics.dead_letters += 1,
                None => q.metrics.dropped += 1,
            }
            q.metrics.totals.dead_letters += 1;
            self.delete(m);
            return Expiry::DeadLetter(s, dead_letter);
        }
        msg.at = Where::Visible;
        q.visible.push(Reverse((msg.serial, m)));
        q.metrics.redeliveries += 1;
        q.metrics.totals.redeliveries += 1;
        q.metrics.backlog_now(q.visible.len() as u64);
        Expiry::Visible(s)
    }

    /// The job of request `r`, delivered message `m`, ended at `now`, well when `ok`:
    /// with the current receipt the message is deleted.
    pub(super) fn handled(&mut self, m: MessageId, r: ReqId, ok: bool, now: SimTime) {
        let msg = self.msgs[m as usize];
        let s = msg.queue as usize;
        let current = msg.at == Where::InFlight && msg.holder == r;
        if !ok || !current {
            let metrics = &mut self.queues[s].as_mut().expect("a queue").metrics;
            metrics.failed += u64::from(!ok);
            metrics.stale_acks += u64::from(ok);
            return;
        }
        self.accrue(s, now);
        let q = self.queues[s].as_mut().expect("a queue");
        q.in_flight -= 1;
        q.metrics.acked += 1;
        self.delete(m);
    }

    /// Frees message `m`'s slot for its queue; the queue's oldest-message deque skips it
    /// from now on.
    fn delete(&mut self, m: MessageId) {
        let msg = &mut self.msgs[m as usize];
        msg.at = Where::Free;
        msg.holder = NO_HOLDER;
        msg.receipt = msg.receipt.wrapping_add(1);
        self.queues[msg.queue as usize].as_mut().expect("a queue").free.push(m);
    }

    /// Measurement starts at `now`: every queue's record restarts.
    pub(super) fn reset(&mut self, now: SimTime) {
        for s in 0..self.queues.len() {
            if self.is_queue(s) {
                self.accrue(s, now);
                let age = self.oldest_age(s);
                let q = self.queues[s].as_mut().expect("a queue");
                q.metrics.reset(q.visible.len() as u64, age);
            }
        }
    }

    /// A window ends at `now`: every queue's totals are marked.
    pub(super) fn mark(&mut self, now: SimTime) {
        for s in 0..self.queues.len() {
            if self.is_queue(s) {
                self.accrue(s, now);
                let age = self.oldest_age(s);
                self.queues[s].as_mut().expect("a queue").metrics.mark(age);
            }
        }
    }

    /// Each service's queue record (None for a service that is not a queue).
    pub(super) fn take_metrics(&mut self) -> Vec<Option<QueueMetrics>> {
        self.queues.iter_mut().map(|q| q.as_mut().map(|q| std::mem::take(&mut q.metrics))).collect()
    }
}

impl QueueState {
    fn new(config: MessageQueue) -> Self {
        QueueState {
            config,
            free: Vec::new(),
            visible: BinaryHeap::with_capacity(64),
            order: VecDeque::with_capacity(64),
            in_flight: 0,
            last: SimTime::ZERO,
            metrics: QueueMetrics::default(),
        }
    }
}

impl Simulation<'_> {
    /// Request `r` reaches queue `s`: its message is stored and its job ends, answered
    /// now; or the backlog is full and the send is refused.
    pub(super) fn send_message(&mut self, r: ReqId, s: ServiceId) {
        if !self.mq.store(s, self.now, self.reqs[r as usize].rank) {
            return self.refuse(r, s);
        }
        self.consume(s);
        let outcome = if self.reqs[r as usize].value < 1.0 { Outcome::Degraded } else { Outcome::Ok };
        self.finish_job(r, outcome);
    }

    /// Free consumers of queue `s` take its oldest visible messages, each a new request
    /// at the queue's one station. None while its instance is down.
    pub(super) fn consume(&mut self, s: ServiceId) {
        let now = self.now;
        let station = self.layout.hot[s].first_station;
        let gi = self.layout.instance(s, 0);
        let svc = &self.model.services[s];
        let Some(config) = svc.message_queue else { return };
        let zone = svc.zone_ids.first().copied().unwrap_or(0);
        while !self.faults.fx[gi].down && !self.stations[station as usize].saturated() {
            let Some((m, receipt)) = self.mq.receive(s, now) else { return };
            self.events.push(now + config.visibility_timeout, Event::VisibilityTimeout(m, receipt));
            let rank = self.mq.rank(m);
            let r = self.new_req(Origin::Message(m), SimTime::MAX, 0, zone, NO_TRACE, rank);
            self.mq.hold(m, r);
            let req = &mut self.reqs[r as usize];
            req.service = s as u32;
            req.station = station;
            req.started = SimTime::MAX;
            let metrics = &mut self.services[s];
            metrics.pools[0].arrivals += 1;
            metrics.instance_arrivals[0] += 1;
            let admitted = self.stations[station as usize].offer(now, r, i32::from(rank));
            debug_assert_eq!(admitted, Admission::Started, "a consumer was free");
            self.begin_service(r);
        }
    }

    /// Consumers of service `s` may have come back (a fault on it ended): if it is a
    /// queue, they take what is waiting.
    pub(super) fn wake_queue(&mut self, s: ServiceId) {
        if self.mq.is_queue(s) {
            self.consume(s);
        }
    }

    /// A visibility timeout ends: the message comes back, or past `max_receives` moves to
    /// its dead-letter queue (dropped there too when that queue is full).
    pub(super) fn on_visibility_timeout(&mut self, m: MessageId, receipt: u32) {
        let (now, rank) = (self.now, self.mq.rank(m));
        match self.mq.expire(m, receipt, now) {
            Expiry::Stale | Expiry::DeadLetter(_, None) => {}
            Expiry::Visible(s) => self.consume(s),
            Expiry::DeadLetter(_, Some(d)) => {
                if self.mq.store(d, now, rank) {
                    self.consume(d);
                }
            }
        }
    }

    /// The job of request `r`, a delivery of message `m`, ended with `outcome`.
    pub(super) fn message_handled(&mut self, m: MessageId, r: ReqId, outcome: Outcome) {
        self.mq.handled(m, r, outcome.is_success(), self.now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One queue (service 0) with a 1 s visibility timeout, at most 2 receives, no dead
    /// letter; service 1 is not a queue.
    fn queues(max_backlog: Option<u32>) -> MessageQueues {
        let config = MessageQueue {
            visibility_timeout: SimTime::from_secs(1),
            max_receives: Some(2),
            dead_letter: None,
            max_backlog,
        };
        MessageQueues { msgs: Vec::new(), next_serial: 0, queues: vec![Some(QueueState::new(config)), None] }
    }

    fn metrics(q: &MessageQueues) -> &QueueMetrics {
        &q.queues[0].as_ref().unwrap().metrics
    }

    #[test]
    fn the_oldest_visible_message_goes_first_even_after_coming_back() {
        let mut q = queues(None);
        let t = SimTime::from_secs;
        assert!(q.store(0, t(0), 0) && q.store(0, t(1), 0));
        let (a, ra) = q.receive(0, t(2)).unwrap();
        let (b, _) = q.receive(0, t(2)).unwrap();
        assert_eq!((a, b), (0, 1), "send order");
        assert_eq!(q.expire(a, ra, t(3)), Expiry::Visible(0));
        assert!(q.store(0, t(3), 0));
        let (first, _) = q.receive(0, t(3)).unwrap();
        assert_eq!(first, a, "the message that came back is older than the new one");
        assert_eq!(metrics(&q).redeliveries, 1);
    }

    #[test]
    fn a_late_ack_deletes_nothing_and_the_last_receive_dead_letters() {
        let mut q = queues(None);
        let t = SimTime::from_secs;
        q.store(0, t(0), 0);
        let (m, r1) = q.receive(0, t(0)).unwrap();
        q.hold(m, 7);
        assert_eq!(q.expire(m, r1, t(1)), Expiry::Visible(0));
        q.handled(m, 7, true, t(1));
        assert_eq!(metrics(&q).stale_acks, 1, "the receipt expired with the timeout");
        let (m2, r2) = q.receive(0, t(1)).unwrap();
        q.hold(m2, 8);
        assert_eq!(q.expire(m, r1, t(2)), Expiry::Stale, "the first timer was for an old receipt");
        assert_eq!(q.expire(m2, r2, t(2)), Expiry::DeadLetter(0, None), "2 receives = max_receives");
        let m = metrics(&q);
        assert_eq!((m.delivered, m.redeliveries, m.dropped, m.acked), (2, 1, 1, 0));
        assert_eq!(q.queues[0].as_ref().unwrap().free, [0], "the slot is free again");
    }

    #[test]
    fn an_ack_in_time_deletes_and_a_full_backlog_refuses() {
        let mut q = queues(Some(1));
        let t = SimTime::from_secs;
        assert!(q.store(0, t(0), 0));
        assert!(!q.store(0, t(0), 0), "one visible message fills a backlog of 1");
        let (m, receipt) = q.receive(0, t(0)).unwrap();
        q.hold(m, 3);
        assert!(q.store(0, t(0), 0), "an invisible message does not count");
        q.handled(m, 3, false, t(1));
        assert_eq!(metrics(&q).failed, 1);
        q.handled(m, 3, true, t(1));
        assert_eq!(q.expire(m, receipt, t(1)), Expiry::Stale, "deleted before its timeout");
        let m = metrics(&q);
        assert_eq!((m.sent, m.refused, m.acked, m.redeliveries), (2, 1, 1, 0));
        // One message visible over the whole second, one in flight over it; the oldest
        // (the first) was 0 s old at 0 and deleted at 1 s: ∫ t dt = 0.5 s².
        assert_eq!(m.totals.backlog_area, 1_000_000_000);
        assert_eq!(m.totals.in_flight_area, 1_000_000_000);
        assert_eq!(m.totals.age_area, 500_000_000_000_000_000);
        assert_eq!(m.oldest_age_max, t(1));
    }
}
