//! A cached service's report: its hit ratio, the misses it sends on, the requests that
//! waited for another's fetch, and the hit ratio window by window.

use serde::Serialize;

use super::statistic::Statistic;
use super::summary::ReplicationSummary;
use crate::metrics::cache::CacheMetrics;

/// A service's cache in one replication.
#[derive(Clone, Debug)]
pub struct CacheSummary {
    /// Hits.
    pub hits: f64,
    /// Lookups (hits, misses and coalesced).
    pub lookups: f64,
    /// Misses that fetched.
    pub misses: f64,
    /// Misses that waited for a fetch in flight.
    pub coalesced: f64,
    /// Misses made while the cache was down.
    pub bypassed: f64,
    /// Misses per second of the measured period.
    pub misses_per_s: f64,
    /// Lookups and hits per window.
    pub windows: Vec<(f64, f64)>,
}

impl CacheSummary {
    /// The summary of `m` over a measured period of `secs` seconds.
    pub fn of(m: &CacheMetrics, secs: f64) -> Self {
        CacheSummary {
            hits: m.hits as f64,
            lookups: m.lookups() as f64,
            misses: m.misses as f64,
            coalesced: m.coalesced as f64,
            bypassed: m.bypassed as f64,
            misses_per_s: if secs > 0.0 { m.misses as f64 / secs } else { 0.0 },
            windows: m.window_lookups.iter().zip(&m.window_hits).map(|(&l, &h)| (l as f64, h as f64)).collect(),
        }
    }
}

/// `services.<name>.cache`.
#[derive(Clone, Debug, Serialize)]
pub struct CacheReport {
    /// Hits / lookups: the ratio of the counts pooled over replications, with Wilson's
    /// interval widened for bursts ([`Statistic::proportion`]).
    pub hit_ratio: Statistic,
    /// Lookups that fetched, per second: the load the cache lets through to the calls.
    pub misses_per_s: Statistic,
    /// Misses that waited for the fetch in flight of their key (`coalesce: true`).
    pub coalesced: Statistic,
    /// Lookups per replication.
    pub lookups: Statistic,
    /// Misses while the cache was down (`cache_down`), per replication.
    pub bypassed: Statistic,
    /// Hit ratio per window, of the counts pooled over replications; null for a window
    /// without lookups.
    pub hit_ratio_series: Vec<Option<f64>>,
    /// Misses (fetches) per window, mean over replications.
    pub misses_series: Vec<f64>,
}

impl CacheReport {
    /// Service `i`'s cache over the replications `reps`; `None` without a cache.
    pub(super) fn of(reps: &[ReplicationSummary], i: usize) -> Option<Self> {
        let caches: Vec<&CacheSummary> = reps.iter().filter_map(|r| r.services[i].cache.as_ref()).collect();
        let first = caches.first()?;
        let count = |f: fn(&CacheSummary) -> f64| Statistic::of_counts(caches.iter().map(|c| f(c)));
        let windows = first.windows.len();
        let pooled = |w: usize| caches.iter().fold((0.0, 0.0), |(l, h), c| (l + c.windows[w].0, h + c.windows[w].1));
        Some(CacheReport {
            hit_ratio: Statistic::proportion(caches.iter().map(|c| (c.hits, c.lookups))),
            misses_per_s: Statistic::of(caches.iter().map(|c| Some(c.misses_per_s))),
            coalesced: count(|c| c.coalesced),
            lookups: count(|c| c.lookups),
            bypassed: count(|c| c.bypassed),
            hit_ratio_series: (0..windows)
                .map(|w| {
                    let (l, h) = pooled(w);
                    (l > 0.0).then(|| h / l)
                })
                .collect(),
            misses_series: (0..windows)
                .map(|w| {
                    let (l, h) = pooled(w);
                    (l - h) / caches.len() as f64
                })
                .collect(),
        })
    }
}
