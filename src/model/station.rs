//! One M/M/c/K station: `servers` workers, room for `capacity` requests in all, served in
//! the order of its queue discipline ([`super::queue_discipline`]; FIFO by default).

use crate::engine::SimTime;
use crate::metrics::Areas;

use super::queue_discipline::{Discipline, Line, Preemption, Priority};

/// Index of a live request in the simulation's request slab.
pub type ReqId = u32;

/// What happened to a request offered to a station.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// A worker was free: service starts now.
    Started,
    /// All workers busy: the request waits in line.
    Queued,
    /// The station already holds `capacity` requests.
    Rejected,
}

/// A station's state and the bookkeeping for its time averages.
#[derive(Clone, Debug)]
pub struct Station {
    servers: u32,
    capacity: u32,
    busy: u32,
    /// `queue.len()`, kept beside `busy`: the line's length without a look at which
    /// discipline it keeps (an arrival and a departure each read it twice).
    waiting: u32,
    queue: Line,
    last: SimTime,
    /// Gauge integrals since the last `mark` (the service's are their sums over its
    /// stations, gathered when read).
    areas: Areas,
    /// Requests the balancer sent here since the last `mark`, gathered into the service's
    /// per-pool and per-instance counts at the end of the run: the station is in cache at
    /// an arrival, the service's metrics often are not.
    pub(crate) arrivals: u64,
    /// Requests that left a worker here since the last `mark`, gathered the same way.
    pub(crate) completed: u64,
    /// Who may be preempted, and the service time preempted requests have left
    /// (`priority_preemptive` only).
    pub(crate) preemption: Preemption,
}

impl Station {
    /// An idle station; `capacity` is Kendall's K (`u32::MAX` for unbounded).
    pub fn new(servers: u32, capacity: u32) -> Self {
        // Preallocate a bounded queue up to a modest size; an unbounded one grows on need.
        let room = capacity.saturating_sub(servers).min(1024) as usize;
        Self {
            servers,
            capacity,
            busy: 0,
            waiting: 0,
            queue: Line::new(Discipline::Fifo, room),
            last: SimTime::ZERO,
            areas: Areas::default(),
            arrivals: 0,
            completed: 0,
            preemption: Preemption::default(),
        }
    }

    /// The station with its line kept in `discipline`'s order.
    pub fn with_discipline(mut self, discipline: Discipline) -> Self {
        if !discipline.is_fifo() {
            let room = self.capacity.saturating_sub(self.servers).min(1024) as usize;
            self.queue = Line::new(discipline, room);
        }
        self
    }

    /// Requests inside (in service and waiting).
    #[inline]
    pub fn in_system(&self) -> u32 {
        self.busy + self.waiting
    }

    /// Requests waiting for a worker.
    #[inline]
    pub fn queue_len(&self) -> u32 {
        debug_assert_eq!(self.waiting as usize, self.queue.len());
        self.waiting
    }

    /// True when an arrival could take a preempted worker: every worker busy (none taken
    /// away by a capacity fault beyond that) and room left for one more request.
    #[inline]
    pub fn preemptible(&self) -> bool {
        self.busy == self.servers && self.in_system() < self.capacity
    }

    /// True when every worker is busy (an arrival would wait).
    #[inline]
    pub fn saturated(&self) -> bool {
        self.busy >= self.servers
    }

    /// Adds the time since the last change to the integrals and moves the mark to `now`.
    #[inline]
    pub fn accrue(&mut self, now: SimTime) {
        let dt = u128::from((now - self.last).0);
        if dt > 0 {
            self.areas.busy += u128::from(self.busy) * dt;
            self.areas.queue += u128::from(self.waiting) * dt;
            self.last = now;
        }
    }

    /// The integrals accrued so far (up to the last change or `accrue`).
    #[inline]
    pub fn areas(&self) -> &Areas {
        &self.areas
    }

    /// Restarts the integrals at `now` (the end of the warm-up) from zero.
    pub fn mark(&mut self, now: SimTime) {
        self.last = now;
        self.areas = Areas::default();
        self.arrivals = 0;
        self.completed = 0;
    }

    /// Offers `req`, of `priority`, to the station.
    #[inline(always)]
    pub fn offer(&mut self, now: SimTime, req: ReqId, priority: Priority) -> Admission {
        if self.in_system() >= self.capacity {
            return Admission::Rejected;
        }
        self.accrue(now);
        if self.busy < self.servers {
            self.busy += 1;
            Admission::Started
        } else {
            self.queue.push(now, req, priority);
            self.waiting += 1;
            Admission::Queued
        }
    }

    /// A worker finished: it takes the next waiting request (returned) or goes idle.
    /// While a capacity fault has taken workers away, a freed worker over the limit
    /// goes idle even if requests wait.
    #[inline]
    pub fn release(&mut self, now: SimTime) -> Option<ReqId> {
        self.accrue(now);
        if self.busy > self.servers {
            self.busy -= 1;
            return None;
        }
        let next = self.queue.pop(now);
        match next {
            Some(_) => self.waiting -= 1,
            None => self.busy -= 1,
        }
        next
    }

    /// Changes the number of workers (a capacity fault starting or ending). Work in
    /// progress is not interrupted; returns the waiting requests that can start now.
    pub fn set_servers(&mut self, now: SimTime, servers: u32) -> Vec<ReqId> {
        self.accrue(now);
        self.servers = servers;
        let mut started = Vec::new();
        while self.busy < self.servers {
            match self.queue.pop(now) {
                Some(r) => {
                    self.waiting -= 1;
                    self.busy += 1;
                    started.push(r);
                }
                None => break,
            }
        }
        started
    }

    /// The worker of a preempted `req` (of `priority`) is handed over: the request goes
    /// back to the head of its priority's line and the worker is free for the arrival
    /// that preempted it.
    pub fn preempt(&mut self, now: SimTime, req: ReqId, priority: Priority) {
        self.accrue(now);
        self.busy -= 1;
        self.queue.push_head(req, priority);
        self.waiting += 1;
    }

    /// The station crashes: every request inside is lost. Returns the waiting ones (the
    /// caller finds those in service itself).
    pub fn crash(&mut self, now: SimTime) -> Vec<ReqId> {
        self.accrue(now);
        self.busy = 0;
        self.preemption.clear();
        self.waiting = 0;
        self.queue.drain(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_queues_and_rejects_at_k() {
        let mut s = Station::new(2, 3);
        let t = SimTime(0);
        assert_eq!(s.offer(t, 1, 0), Admission::Started);
        assert_eq!(s.offer(t, 2, 0), Admission::Started);
        assert_eq!(s.offer(t, 3, 0), Admission::Queued);
        assert_eq!(s.offer(t, 4, 0), Admission::Rejected);
        assert_eq!(s.in_system(), 3);
        assert_eq!(s.release(SimTime(10)), Some(3));
        assert_eq!(s.areas().in_system(), 30);
        assert_eq!(s.areas().busy, 20);
        assert_eq!(s.areas().queue, 10);
        assert_eq!(s.release(SimTime(20)), None);
        assert_eq!(s.release(SimTime(30)), None);
        assert_eq!(s.in_system(), 0);
        assert_eq!(s.areas().in_system(), 30 + 20 + 10);
        s.mark(SimTime(40));
        assert_eq!(*s.areas(), Areas::default());
    }
}
