//! The order in which a station's waiting requests get a worker: its queue discipline.
//!
//! - `fifo`: first come, first served (the default, and every station's order before
//!   disciplines existed).
//! - `priority`: non-preemptive priority, FIFO within a priority: a freed worker takes the
//!   oldest request of the highest priority waiting. Cobham (1954) gives its mean waits.
//! - `priority_preemptive`: preemptive-resume priority. An arrival that finds every worker
//!   busy, one of them with a lower-priority request still in its service time, takes
//!   that worker (the lowest priority's, most recently started); the preempted request
//!   keeps what remains of its service time and goes back to the head of its priority's
//!   line (Kleinrock, Queueing Systems vol. 2, §3.7; Harchol-Balter, Performance Modeling
//!   and Design of Computer Systems, ch. 32). A worker waiting on its own calls is not
//!   preempted: its thread holds the call's state.
//! - `lifo`: adaptive LIFO, as Facebook's servers do (Maurer, "Fail at Scale", ACM Queue
//!   2015): FIFO while the queue is healthy, LIFO while it is overloaded, so that under
//!   overload the newest requests, whose users still wait, are served first. Overloaded
//!   is the CoDel rule of that article: the queue has not been empty within the last
//!   `interval` (100 ms, folly's `codel_interval` default).
//!
//! The line is an enum, not a trait object: a FIFO station pays one match per operation
//! and allocates nothing per event once the queue has grown to its peak.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::engine::SimTime;

use super::station::ReqId;

/// A request's importance: higher is served (and kept) first, as Kubernetes'
/// `PriorityClass` value. 32 bits hold Kubernetes' whole range (user classes reach 10^9).
pub type Priority = i32;

/// Default interval of the adaptive LIFO's overload rule: folly's `codel_interval` (ms).
pub const LIFO_INTERVAL: SimTime = SimTime(100_000_000);

/// A station's queue discipline (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Discipline {
    /// First come, first served.
    #[default]
    Fifo,
    /// Non-preemptive priority, FIFO within a priority.
    Priority,
    /// Preemptive-resume priority.
    PriorityPreemptive,
    /// FIFO while healthy, LIFO while the queue has not been empty for `interval`.
    AdaptiveLifo {
        /// How long the queue must stay non-empty before it counts as overloaded.
        interval: SimTime,
    },
}

impl Discipline {
    /// True for the default FIFO order.
    #[inline]
    pub fn is_fifo(self) -> bool {
        self == Discipline::Fifo
    }

    /// True when arrivals may take a worker from a lower-priority request.
    #[inline]
    pub fn is_preemptive(self) -> bool {
        self == Discipline::PriorityPreemptive
    }
}

/// A service's priority settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServicePriority {
    /// The order of its stations' lines.
    pub queue: Discipline,
    /// Its line-based shedding refuses the least important first (`by_priority: true`).
    pub shed_by_priority: bool,
    /// Its token bucket keeps tokens for the more important requests.
    pub rate_limit_by_priority: bool,
    /// Its adaptive concurrency limit keeps slots for the more important requests.
    pub concurrency_by_priority: bool,
}

/// The importance of a workload's requests (and of all they cause downstream).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestPriority {
    /// As written (`priority:`, or a criticality's integer).
    pub value: Priority,
    /// Its rank among the distinct values of the model's workloads (0 the lowest): what a
    /// request carries, in 8 bits, since only the order matters to the engine.
    pub rank: u8,
}

/// A waiting request in a priority line: ordered by priority, then by `order` (smaller
/// first; a preempted request gets a negative one, ahead of every arrival of its class).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ranked {
    priority: Priority,
    order: Reverse<i64>,
    req: ReqId,
}

/// The waiting requests of one station, in its discipline's order.
#[derive(Clone, Debug)]
pub(crate) enum Line {
    /// First come, first served.
    Fifo(VecDeque<ReqId>),
    /// Highest priority first, FIFO within one (both priority disciplines).
    Priority {
        heap: BinaryHeap<Ranked>,
        /// Order of the next arrival (counts up).
        tail: i64,
        /// Order of the next preempted request put back at the head (counts down).
        head: i64,
    },
    /// Adaptive LIFO.
    Lifo {
        queue: VecDeque<ReqId>,
        /// The last time the queue was seen empty.
        last_empty: SimTime,
        interval: SimTime,
    },
}

impl Line {
    /// An empty line of `discipline`, with room for `room` requests.
    pub(crate) fn new(discipline: Discipline, room: usize) -> Self {
        match discipline {
            Discipline::Fifo => Line::Fifo(VecDeque::with_capacity(room)),
            Discipline::Priority | Discipline::PriorityPreemptive => {
                Line::Priority { heap: BinaryHeap::with_capacity(room), tail: 0, head: -1 }
            }
            Discipline::AdaptiveLifo { interval } => {
                Line::Lifo { queue: VecDeque::with_capacity(room), last_empty: SimTime::ZERO, interval }
            }
        }
    }

    /// Requests waiting.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        match self {
            Line::Fifo(q) | Line::Lifo { queue: q, .. } => q.len(),
            Line::Priority { heap, .. } => heap.len(),
        }
    }

    /// `req` (of `priority`) joins the line at `now`. FIFO, every plain station's line,
    /// is inlined into the station; the other disciplines are a call away.
    #[inline(always)]
    pub(crate) fn push(&mut self, now: SimTime, req: ReqId, priority: Priority) {
        match self {
            Line::Fifo(q) => q.push_back(req),
            _ => self.push_ordered(now, req, priority),
        }
    }

    /// [`Line::push`] for the disciplines other than FIFO.
    #[inline(never)]
    fn push_ordered(&mut self, now: SimTime, req: ReqId, priority: Priority) {
        match self {
            Line::Fifo(q) => q.push_back(req),
            Line::Priority { heap, tail, .. } => {
                heap.push(Ranked { priority, order: Reverse(*tail), req });
                *tail += 1;
            }
            Line::Lifo { queue, last_empty, .. } => {
                if queue.is_empty() {
                    // Empty until this arrival.
                    *last_empty = now;
                }
                queue.push_back(req);
            }
        }
    }

    /// A preempted `req` goes back ahead of every waiting request of its priority.
    pub(crate) fn push_head(&mut self, req: ReqId, priority: Priority) {
        match self {
            Line::Priority { heap, head, .. } => {
                heap.push(Ranked { priority, order: Reverse(*head), req });
                *head -= 1;
            }
            Line::Fifo(q) | Line::Lifo { queue: q, .. } => q.push_front(req),
        }
    }

    /// The next request to serve at `now`, if any waits (FIFO inlined, as in `push`).
    #[inline(always)]
    pub(crate) fn pop(&mut self, now: SimTime) -> Option<ReqId> {
        match self {
            Line::Fifo(q) => q.pop_front(),
            _ => self.pop_ordered(now),
        }
    }

    /// [`Line::pop`] for the disciplines other than FIFO.
    #[inline(never)]
    fn pop_ordered(&mut self, now: SimTime) -> Option<ReqId> {
        match self {
            Line::Fifo(q) => q.pop_front(),
            Line::Priority { heap, .. } => heap.pop().map(|r| r.req),
            Line::Lifo { queue, last_empty, interval } => {
                let overloaded = !queue.is_empty() && now - *last_empty >= *interval;
                let next = if overloaded { queue.pop_back() } else { queue.pop_front() };
                if queue.is_empty() {
                    *last_empty = now;
                }
                next
            }
        }
    }

    /// Empties the line (a crash), returning the requests that waited.
    pub(crate) fn drain(&mut self, now: SimTime) -> Vec<ReqId> {
        let mut all = Vec::with_capacity(self.len());
        while let Some(r) = self.pop(now) {
            all.push(r);
        }
        all
    }
}

/// A request in its service time at a preemptive station: who may be preempted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Running {
    /// The request and its generation when it started (a mismatch: it is gone).
    pub(crate) req: ReqId,
    pub(crate) epoch: u32,
    pub(crate) priority: Priority,
    /// When its service time ends.
    pub(crate) done: SimTime,
    /// Start order (the most recent start is preempted first among equals).
    pub(crate) order: u64,
}

/// A preempted request waiting to resume. An entry whose request was dropped from the
/// line instead (its deadline passed) is never matched again: the generation differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Preempted {
    pub(crate) req: ReqId,
    pub(crate) epoch: u32,
    /// Service time left.
    pub(crate) left: SimTime,
    /// When a worker first took it (its wait ended there).
    pub(crate) started: SimTime,
}

/// The preemption bookkeeping of a `priority_preemptive` station (empty, and never
/// allocated, at any other).
#[derive(Clone, Debug, Default)]
pub(crate) struct Preemption {
    /// Requests in their service time.
    pub(crate) running: Vec<Running>,
    /// Preempted requests waiting to resume.
    pub(crate) resumed: Vec<Preempted>,
    /// Start order of the next start.
    pub(crate) next_order: u64,
}

impl Preemption {
    /// The running request an arrival of `priority` takes the worker of: among those
    /// still alive (`alive(req, epoch)`), the lowest priority below `priority`, the most
    /// recently started among equals. It leaves the running set.
    pub(crate) fn victim(&mut self, priority: Priority, alive: &impl Fn(ReqId, u32) -> bool) -> Option<Running> {
        self.running.retain(|r| alive(r.req, r.epoch));
        let (i, _) = self
            .running
            .iter()
            .enumerate()
            .filter(|(_, r)| r.priority < priority)
            .min_by_key(|(_, r)| (r.priority, Reverse(r.order)))?;
        Some(self.running.swap_remove(i))
    }

    /// `req` starts (or resumes) its service time, to end at `done`.
    pub(crate) fn started(&mut self, req: ReqId, epoch: u32, priority: Priority, done: SimTime) {
        let order = self.next_order;
        self.next_order += 1;
        self.running.push(Running { req, epoch, priority, done, order });
    }

    /// What `req` (of generation `epoch`) kept when it was preempted, if it was (it
    /// resumes now).
    pub(crate) fn take_resumed(&mut self, req: ReqId, epoch: u32) -> Option<Preempted> {
        let i = self.resumed.iter().position(|p| p.req == req && p.epoch == epoch)?;
        Some(self.resumed.swap_remove(i))
    }

    /// A service end of `req` fired at `now`: true when it is the current one (the
    /// request is running and due now), and the request leaves the running set; false
    /// for the stale end of a request preempted since.
    pub(crate) fn ended(&mut self, req: ReqId, now: SimTime) -> bool {
        match self.running.iter().position(|r| r.req == req && r.done == now) {
            Some(i) => {
                self.running.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// Forgets everything (the station crashed).
    pub(crate) fn clear(&mut self) {
        self.running.clear();
        self.resumed.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(line: &mut Line, now: SimTime) -> Vec<ReqId> {
        line.drain(now)
    }

    #[test]
    fn fifo_serves_in_arrival_order() {
        let mut l = Line::new(Discipline::Fifo, 4);
        for r in [5, 6, 7] {
            l.push(SimTime::ZERO, r, 9 - r as Priority);
        }
        assert_eq!(drain(&mut l, SimTime::ZERO), vec![5, 6, 7]);
    }

    #[test]
    fn priority_serves_highest_first_fifo_within() {
        let mut l = Line::new(Discipline::Priority, 4);
        for (r, p) in [(1, 0), (2, 5), (3, 0), (4, 5), (5, -3)] {
            l.push(SimTime::ZERO, r, p);
        }
        // A preempted low request goes ahead of its own class only.
        l.push_head(6, 0);
        l.push_head(7, 0);
        assert_eq!(drain(&mut l, SimTime::ZERO), vec![2, 4, 7, 6, 1, 3, 5]);
    }

    #[test]
    fn adaptive_lifo_turns_lifo_after_interval_non_empty() {
        let mut l = Line::new(Discipline::AdaptiveLifo { interval: SimTime(100) }, 4);
        l.push(SimTime(10), 1, 0);
        l.push(SimTime(20), 2, 0);
        l.push(SimTime(30), 3, 0);
        // Non-empty since 10: healthy at 50, overloaded from 110.
        assert_eq!(l.pop(SimTime(50)), Some(1));
        assert_eq!(l.pop(SimTime(110)), Some(3));
        assert_eq!(l.pop(SimTime(120)), Some(2));
        // It emptied at 120: healthy again.
        l.push(SimTime(130), 4, 0);
        l.push(SimTime(140), 5, 0);
        assert_eq!(l.pop(SimTime(200)), Some(4));
    }

    #[test]
    fn victim_is_lowest_priority_most_recent_and_alive() {
        let mut p = Preemption::default();
        p.started(1, 0, 0, SimTime(50));
        p.started(2, 0, -1, SimTime(60));
        p.started(3, 0, -1, SimTime(70));
        p.started(4, 0, -2, SimTime(80));
        // 4 is gone (its generation moved on); 3 is the most recent of priority -1.
        let v = p.victim(5, &|r, e| !(r == 4 && e == 0)).unwrap();
        assert_eq!(v.req, 3);
        assert!(p.victim(-1, &|_, _| true).is_none(), "no one below -1 is left");
        assert!(!p.ended(2, SimTime(59)));
        assert!(p.ended(2, SimTime(60)));
        let kept = Preempted { req: 3, epoch: 0, left: SimTime(7), started: SimTime(2) };
        p.resumed.push(kept);
        assert_eq!(p.take_resumed(3, 1), None, "another generation of the slot");
        assert_eq!(p.take_resumed(3, 0), Some(kept));
        assert_eq!(p.take_resumed(3, 0), None);
    }
}
