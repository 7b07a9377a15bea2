//! The run loop, generic over what is being simulated, and its livelock watch.
//!
//! Every [`CHECK_EVERY`] events the loop leaves its hot path once: it enforces the
//! event budget, lets the process check its own progress ([`Process::checkpoint`]), and
//! watches the clock. A clock that has not moved for [`SPIN_EVENTS`] events is a loop
//! that takes no simulated time (zero think time against a full station, a zero-time
//! route back to itself): it would spin forever, so the loop shows the process the last
//! [`SPIN_SAMPLE`] events of the spin ([`Process::spin_event`]) and stops it
//! ([`Process::spun`]). The hot path pays one compare per event, the one the event
//! budget always paid.

use super::{EventQueue, SimTime};

/// Events handled at one instant after which the clock counts as stuck. Far above any
/// legitimate burst (the example scenarios' largest is a few hundred: every instance's
/// timers and requests due at one nanosecond), and reached in about a second of wall time.
pub const SPIN_EVENTS: u64 = 10_000_000;

/// Events between two visits of the slow path (a power of two is not needed; it is one).
pub const CHECK_EVERY: u64 = 1 << 16;

/// The last events of a spin shown to the process, so it can say what spins.
pub const SPIN_SAMPLE: u64 = 4096;

/// Something driven by an event queue: the model implements this, the engine runs it.
pub trait Process {
    /// The event type; an enum, so dispatch is a `match`, not a virtual call. `Copy`
    /// keeps it small and lets the queue move it without drop bookkeeping.
    type Event: Copy;
    /// The future-event list.
    fn events(&mut self) -> &mut EventQueue<Self::Event>;
    /// Handles one event at simulated time `now`.
    fn handle(&mut self, now: SimTime, event: Self::Event);
    /// True when the process refuses to go on (a resource guard tripped).
    fn halted(&self) -> bool {
        false
    }
    /// Called every [`CHECK_EVERY`] events, before the event at `now` is handled, so the
    /// process can check that its work moves (and halt if not); `clock_moved` is true
    /// when the clock advanced since the previous call.
    fn checkpoint(&mut self, _now: SimTime, _clock_moved: bool) {}
    /// One of the last [`SPIN_SAMPLE`] events before the clock counts as stuck, shown
    /// before it is handled (a checkpoint with `clock_moved` follows if the spin ends).
    fn spin_event(&mut self, _event: &Self::Event) {}
    /// The clock stayed at `now` for `events` events: the run stops after this call.
    fn spun(&mut self, _now: SimTime, _events: u64) {}
}

/// Pops and handles events in `(time, seq)` order until the next one is later than
/// `end` or none is left. Returns the number of events handled.
pub fn run_until<P: Process>(process: &mut P, end: SimTime) -> u64 {
    run_until_at_most(process, end, u64::MAX)
}

/// Like [`run_until`], also stopping after `max_events` events, when the process halts,
/// or when the clock is stuck (see the module doc).
pub fn run_until_at_most<P: Process>(process: &mut P, end: SimTime, max_events: u64) -> u64 {
    let mut handled = 0;
    // Kept apart from `watch` (and the event passed by value) so the hot path keeps it in
    // a register: a reference would pin both to the stack (measured: 6 instructions an event).
    let mut next = CHECK_EVERY.min(max_events);
    let mut watch = Watch { max: max_events, at: SimTime::ZERO, since: 0 };
    while let Some((time, event)) = process.events().pop() {
        if time > end {
            // Left pending, so whoever inspects the queue afterwards sees it.
            process.events().push(time, event);
            break;
        }
        // Two branches: one `time > end || handled >= next` with `time > end` tested again
        // inside measured 5 instructions an event dearer (callgrind, web-shop).
        if handled >= next {
            match watch.check(process, handled, time, event) {
                Some(n) => next = n,
                None => break,
            }
        }
        handled += 1;
        process.handle(time, event);
        if process.halted() {
            break;
        }
    }
    handled
}

/// The slow path's state: since when the clock stands still.
struct Watch {
    /// The event budget.
    max: u64,
    /// The clock at the last check.
    at: SimTime,
    /// Events handled when the clock was first seen at `at`.
    since: u64,
}

impl Watch {
    /// The slow path, before the event at `time` is handled: the event count at which to
    /// come back, or `None` to stop the run.
    #[cold]
    #[inline(never)]
    fn check<P: Process>(&mut self, process: &mut P, handled: u64, time: SimTime, event: P::Event) -> Option<u64> {
        if handled >= self.max {
            return None;
        }
        let moved = time != self.at;
        if moved {
            self.at = time;
            self.since = handled;
        }
        // The clock never goes back, so the same time at two checks means every event
        // between them happened at that instant.
        let spun = handled - self.since;
        if spun >= SPIN_EVENTS {
            process.spun(time, spun);
            return None;
        }
        let sampling = SPIN_EVENTS - SPIN_SAMPLE;
        let next = if spun >= sampling {
            process.spin_event(&event);
            handled + 1
        } else {
            process.checkpoint(time, moved);
            handled + if spun > 0 { CHECK_EVERY.min(sampling - spun) } else { CHECK_EVERY }
        };
        (!process.halted()).then_some(next.min(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schedules `left` more events, each `step` after the one before; records what it saw.
    struct Chain {
        queue: EventQueue<u8>,
        step: SimTime,
        left: u64,
        checkpoints: u64,
        sampled: u64,
        spun: Option<(SimTime, u64)>,
        halt_at_checkpoint: bool,
        halted: bool,
    }

    impl Chain {
        fn new(step: SimTime, left: u64) -> Self {
            let mut queue = EventQueue::default();
            queue.push(SimTime::ZERO, 0);
            Chain {
                queue,
                step,
                left,
                checkpoints: 0,
                sampled: 0,
                spun: None,
                halt_at_checkpoint: false,
                halted: false,
            }
        }
    }

    impl Process for Chain {
        type Event = u8;
        fn events(&mut self) -> &mut EventQueue<u8> {
            &mut self.queue
        }
        fn handle(&mut self, now: SimTime, _event: u8) {
            if self.left > 0 {
                self.left -= 1;
                self.queue.push(now + self.step, 0);
            }
        }
        fn halted(&self) -> bool {
            self.halted
        }
        fn checkpoint(&mut self, _now: SimTime, _moved: bool) {
            self.checkpoints += 1;
            self.halted = self.halt_at_checkpoint;
        }
        fn spin_event(&mut self, _event: &u8) {
            self.sampled += 1;
        }
        fn spun(&mut self, now: SimTime, events: u64) {
            self.spun = Some((now, events));
        }
    }

    #[test]
    fn a_clock_that_stands_still_stops_the_run_after_the_sample() {
        let mut p = Chain::new(SimTime::ZERO, u64::MAX);
        let handled = run_until(&mut p, SimTime::MAX);
        assert_eq!(handled, SPIN_EVENTS);
        assert_eq!(p.spun, Some((SimTime::ZERO, SPIN_EVENTS)));
        assert_eq!(p.sampled, SPIN_SAMPLE);
    }

    #[test]
    fn a_moving_clock_is_never_stuck_and_checkpoints_come_every_block() {
        let mut p = Chain::new(SimTime(1), 3 * SPIN_EVENTS);
        let handled = run_until(&mut p, SimTime::MAX);
        assert_eq!(handled, 3 * SPIN_EVENTS + 1);
        assert_eq!(p.spun, None);
        assert_eq!(p.sampled, 0);
        assert_eq!(p.checkpoints, handled / CHECK_EVERY);
    }

    #[test]
    fn a_long_burst_below_the_limit_goes_on() {
        // SPIN_EVENTS - 1 events at time 0, then none is left.
        let mut p = Chain::new(SimTime::ZERO, SPIN_EVENTS - 2);
        let handled = run_until(&mut p, SimTime::MAX);
        assert_eq!(handled, SPIN_EVENTS - 1);
        assert_eq!(p.spun, None);
    }

    #[test]
    fn the_event_budget_and_a_halting_checkpoint_stop_the_run() {
        let mut p = Chain::new(SimTime(1), u64::MAX);
        assert_eq!(run_until_at_most(&mut p, SimTime::MAX, 1000), 1000);
        let mut p = Chain::new(SimTime(1), u64::MAX);
        p.halt_at_checkpoint = true;
        assert_eq!(run_until(&mut p, SimTime::MAX), CHECK_EVERY);
    }
}
