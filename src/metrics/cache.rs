//! What a service's cache measured in one replication: lookups by result, in all and
//! per window (for the hit-ratio series).

use crate::engine::SimTime;

/// How a lookup ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Answered from the cache.
    Hit,
    /// Not held (or expired, or the cache unreachable): the service fetched it.
    Miss,
    /// Not held, and a fetch of the key was in flight: the request waited for it.
    Coalesced,
}

/// One cached service, one replication.
#[derive(Clone, Debug, Default)]
pub struct CacheMetrics {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that fetched (the load behind the cache).
    pub misses: u64,
    /// Lookups that waited for another request's fetch of the same key.
    pub coalesced: u64,
    /// Of the misses, those made while the cache was down (nothing was stored).
    pub bypassed: u64,
    /// Lookups per window.
    pub window_lookups: Vec<u64>,
    /// Hits per window.
    pub window_hits: Vec<u64>,
    start: SimTime,
    window: SimTime,
}

impl CacheMetrics {
    /// Empty counters with `n` windows of length `window` from `start`.
    pub fn new(start: SimTime, window: SimTime, n: usize) -> Self {
        Self {
            window_lookups: vec![0; n],
            window_hits: vec![0; n],
            start,
            window: window.max(SimTime(1)),
            ..Self::default()
        }
    }

    /// Zeroes everything (the end of the warm-up).
    pub fn reset(&mut self) {
        let n = self.window_lookups.len();
        *self = Self::new(self.start, self.window, n);
    }

    /// All lookups.
    pub fn lookups(&self) -> u64 {
        self.hits + self.misses + self.coalesced
    }

    /// Counts a lookup at `now` that ended as `result`.
    #[inline]
    pub fn record(&mut self, now: SimTime, result: Lookup) {
        match result {
            Lookup::Hit => self.hits += 1,
            Lookup::Miss => self.misses += 1,
            Lookup::Coalesced => self.coalesced += 1,
        }
        if now < self.start || self.window_lookups.is_empty() {
            return;
        }
        // An outcome at exactly the end of the run belongs to the last window, as in `Timeline`.
        let i = (((now - self.start).0 / self.window.0) as usize).min(self.window_lookups.len() - 1);
        self.window_lookups[i] += 1;
        self.window_hits[i] += u64::from(result == Lookup::Hit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_land_in_their_window() {
        let mut m = CacheMetrics::new(SimTime::from_secs(10), SimTime::from_secs(5), 3);
        m.record(SimTime::from_secs(11), Lookup::Hit);
        m.record(SimTime::from_secs(16), Lookup::Miss);
        m.record(SimTime::from_secs(16), Lookup::Coalesced);
        m.record(SimTime::from_secs(99), Lookup::Hit);
        assert_eq!((m.hits, m.misses, m.coalesced, m.lookups()), (2, 1, 1, 4));
        assert_eq!(m.window_lookups, vec![1, 2, 1]);
        assert_eq!(m.window_hits, vec![1, 0, 1]);
        m.reset();
        assert_eq!((m.lookups(), m.window_lookups.len()), (0, 3));
    }
}
