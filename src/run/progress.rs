//! How many replications have finished, for a progress display outside the library.
//!
//! The library never reads the wall clock; it only counts. A caller that wants a time
//! left (the CLI, on a terminal) reads [`FINISHED`] from another thread and divides the
//! time spent by the share done. The count changes nothing in any result.

use std::sync::atomic::{AtomicU64, Ordering};

/// Replications (counterfactual runs included) finished by this process since the last
/// [`reset`].
pub static FINISHED: AtomicU64 = AtomicU64::new(0);

/// Counts one more finished replication.
pub fn finished_one() {
    FINISHED.fetch_add(1, Ordering::Relaxed);
}

/// Starts counting from 0.
pub fn reset() {
    FINISHED.store(0, Ordering::Relaxed);
}

/// Replications finished since the last [`reset`].
pub fn finished() -> u64 {
    FINISHED.load(Ordering::Relaxed)
}
