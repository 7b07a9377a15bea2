//! Why a replication stopped before its end ([`Halt`]): the resource guards' verdicts and
//! the message that tells the user what to change.

use crate::engine::SimTime;

/// A resource guard that stopped a replication before its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Halt {
    /// It handled the most events allowed (`--max-events`).
    Events {
        /// Events handled.
        events: u64,
        /// Simulated time reached.
        at: SimTime,
    },
    /// More requests were in flight at once than allowed (`--max-in-flight`): a queue
    /// growing without bound, which would exhaust memory.
    InFlight {
        /// Requests in flight.
        requests: usize,
        /// Simulated time reached.
        at: SimTime,
    },
    /// The clock stood still for `events` events: a loop that takes no simulated time
    /// would spin forever.
    Spin {
        /// Events handled at that instant.
        events: u64,
        /// The instant.
        at: SimTime,
        /// What spun: the events' kinds and services, and the services holding work.
        detail: String,
    },
    /// No request left any worker for a long time while work was inside, and nothing
    /// pending (a service time, a timeout, a backoff) could move it: a deadlock.
    Stall {
        /// A time since which no request left a worker (the watchdog's check before).
        since: SimTime,
        /// When the watchdog saw it.
        at: SimTime,
        /// The services holding work and whom their workers wait on.
        detail: String,
    },
}

impl Halt {
    /// What happened and what to do, for the user.
    pub fn message(&self, warmup: SimTime) -> String {
        match self {
            Halt::Events { events, at } => format!(
                "the run stopped after {events} events, {} (--max-events); shorten `duration`, lower the load, or raise --max-events",
                when(*at, warmup)
            ),
            Halt::InFlight { requests, at } => format!(
                "the run stopped with {requests} requests in flight at once, {} (--max-in-flight): a queue grows \
                 without bound; give the service a `capacity`, more `servers`, or less load, or raise --max-in-flight",
                when(*at, warmup)
            ),
            Halt::Spin { events, at, detail } => format!(
                "the run stopped: simulated time did not advance for {events} events, {}: a loop that takes no time \
                 ({detail}); give the loop some time (a think time, service time or backoff above 0) or a way out \
                 (a `capacity` users wait for, a route probability below 1)",
                when(*at, warmup)
            ),
            Halt::Stall { since, at, detail } => format!(
                "the run stopped: no request finished from {} to {} ({:.3}s) while work was inside and nothing \
                 could move it ({detail}): a deadlock, workers waiting on requests queued behind them; add a \
                 `timeout` to the calls, more `servers`, or break the cycle; --stall-after sets the wait (or `off`)",
                when(*since, warmup),
                when(*at, warmup),
                (*at - *since).as_secs_f64()
            ),
        }
    }
}

/// `t` for the user: seconds into the measured run, or into the warm-up before it.
fn when(t: SimTime, warmup: SimTime) -> String {
    if t < warmup {
        format!("{:.3}s into the warm-up (measurement starts at {:.3}s)", t.as_secs_f64(), warmup.as_secs_f64())
    } else {
        format!("{:.3}s into the run", (t - warmup).as_secs_f64())
    }
}
