//! The discrete-event kernel: simulated time, the event queue and random streams.
//!
//! This layer knows nothing about services or scenarios. It gives the model a clock
//! that is an integer ([`SimTime`], nanoseconds), an [`EventQueue`] that pops events in
//! `(time, sequence)` order so that ties resolve identically on every run, and
//! [`RngStreams`], which derives an independent random stream for every
//! `(seed, replication, name)` triple. Those three properties are what make a run
//! reproducible to the byte, whatever thread it runs on.

pub mod format;
mod process;
mod queue;
mod rng;
mod time;

pub use process::{CHECK_EVERY, Process, SPIN_EVENTS, SPIN_SAMPLE, run_until, run_until_at_most};
pub use queue::EventQueue;
pub use rng::{Stream, Streams, fnv1a64, index, stream_seed, unit};
pub use time::SimTime;

/// A random stream factory bound to one replication of one scenario.
pub type RngStreams = rng::Streams;
