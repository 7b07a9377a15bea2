//! The run loop, generic over what is being simulated.

use super::{EventQueue, SimTime};

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
}

/// Pops and handles events in `(time, seq)` order until the next one is later than
/// `end` or none is left. Returns the number of events handled.
pub fn run_until<P: Process>(process: &mut P, end: SimTime) -> u64 {
    run_until_at_most(process, end, u64::MAX)
}

/// Like [`run_until`], also stopping after `max_events` events or when the process halts.
pub fn run_until_at_most<P: Process>(process: &mut P, end: SimTime, max_events: u64) -> u64 {
    let mut handled = 0;
    while let Some((time, event)) = process.events().pop() {
        if time > end || handled >= max_events {
            break;
        }
        handled += 1;
        process.handle(time, event);
        if process.halted() {
            break;
        }
    }
    handled
}
