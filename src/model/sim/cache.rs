//! A service's cache in the engine: the lookup when a worker takes a request, the write
//! when a miss's work ends, request coalescing, and the `cache_flush` / `cache_down`
//! faults.
//!
//! One cache per service, shared by its instances (a remote cache such as memcached or
//! Redis in front of the service's callees). When a worker takes a request
//! ([`Simulation::cache_begin`]) it draws the request's key from the service's
//! popularity model (its own stream, `cache/<service>`, so services without a cache
//! draw exactly as before) and looks it up:
//!
//! - a **hit** holds the worker for a draw of `hit_time` instead of the service time, and
//!   the visit ends without any of the service's calls;
//! - a **miss** does the service's normal work (service time, then its calls); when the
//!   visit ends without failing, the key is written ([`Simulation::cache_visit_end`]);
//! - with `coalesce: true`, a miss for a key whose fetch is already in flight waits for
//!   that fetch instead of making its own (Go's `singleflight`, Varnish's request
//!   coalescing, NGINX's `proxy_cache_lock`): it holds its worker (thread-per-request,
//!   as a call does) and is answered when the fetch ends, with the fetch's outcome. A
//!   fetch abandoned (its request cancelled, or lost in a crash) answers its waiters with
//!   an error, as `singleflight` hands every waiter the leader's error.
//!
//! While a `cache_down` fault is active every lookup is a miss that is not written (the
//! cache cannot be reached; the service goes straight to its calls); `cache_flush`
//! empties the cache at its instant.

use rand_distr::{Distribution, Zipf};

use crate::engine::{RngStreams, SimTime, Stream, index};
use crate::metrics::cache::{CacheMetrics, Lookup};
use crate::policy::cache::{Cache, Eviction, NONE};

use super::super::station::ReqId;
use super::super::{Dist, Model};
use super::{Event, Simulation};

/// Which keys requests ask for: the independent reference model (each request's key
/// drawn independently from a fixed popularity law).
#[derive(Clone, Debug, PartialEq)]
pub enum Popularity {
    /// Key `k` (0-based) with probability proportional to `1 / (k + 1)^s`.
    Zipf {
        /// Keys.
        n: u32,
        /// Exponent (0 is uniform).
        s: f64,
    },
    /// Every key equally likely.
    Uniform {
        /// Keys.
        n: u32,
    },
}

impl Popularity {
    /// Number of keys.
    pub fn keys(&self) -> u32 {
        match *self {
            Popularity::Zipf { n, .. } | Popularity::Uniform { n } => n,
        }
    }

    /// Each key's probability, most popular first.
    pub fn probabilities(&self) -> Vec<f64> {
        let weights: Vec<f64> = match *self {
            Popularity::Zipf { n, s } => (1..=n).map(|k| f64::from(k).powf(-s)).collect(),
            Popularity::Uniform { n } => vec![1.0; n as usize],
        };
        let total: f64 = weights.iter().sum();
        weights.into_iter().map(|w| w / total).collect()
    }
}

/// A service's validated `cache:`.
#[derive(Clone, Debug)]
pub struct CacheConfig {
    /// The popularity of the keys.
    pub keys: Popularity,
    /// Most entries (every key for [`Eviction::Ttl`]).
    pub capacity: u32,
    /// What leaves a full cache.
    pub eviction: Eviction,
    /// Entries expire this long after they were written.
    pub ttl: Option<SimTime>,
    /// Start full: the `capacity` most popular keys, the most popular the most recent
    /// (with `ttl`, their expiries spread evenly over one ttl).
    pub warm: bool,
    /// Concurrent misses for one key wait for the one fetch in flight.
    pub coalesce: bool,
    /// A hit's time at the worker.
    pub hit_time: Dist,
}

/// How keys are drawn.
enum Sampler {
    /// rand_distr's Zipf (Crease's rejection sampler) over `n` keys, values in `1..=n`.
    Zipf(Zipf<f64>, u32),
    /// Uniform over `0..n`.
    Uniform(u32),
}

/// One fetch in flight (coalescing): its request (whose visit's end, completed or
/// abandoned, closes it) and the waiters' list.
#[derive(Clone, Copy, Debug)]
struct Flight {
    leader: ReqId,
    first_waiter: u32,
}

/// A request waiting for a fetch: its generation tells a cancelled one apart.
#[derive(Clone, Copy, Debug)]
struct Waiter {
    req: ReqId,
    epoch: u32,
    next: u32,
}

/// One cached service's state in a replication.
pub(super) struct ServiceCache {
    cache: Cache,
    sampler: Sampler,
    rng: Stream,
    /// Active `cache_down` faults.
    down: u32,
    /// Per key: its fetch in flight (an index into `flights`), or `NONE`; empty without
    /// coalescing.
    flight_of: Vec<u32>,
    flights: Vec<Flight>,
    free_flights: Vec<u32>,
    waiters: Vec<Waiter>,
    free_waiters: Vec<u32>,
}

/// The caches of a replication.
#[derive(Default)]
pub(super) struct CacheState {
    /// Per service: its cache, if it has one.
    services: Vec<Option<Box<ServiceCache>>>,
    /// Per request slot: the key the request's miss fetches (and writes when its visit
    /// ends), or `NONE`. Grows with the request slab, only for cached services.
    fetching: Vec<u32>,
}

impl CacheState {
    /// Fresh caches of `model`'s services (warm ones filled), their streams from `streams`.
    pub(super) fn of(model: &Model, streams: &RngStreams) -> Self {
        let services = model
            .services
            .iter()
            .map(|s| {
                s.cache.as_ref().map(|c| Box::new(ServiceCache::new(c, streams.stream(&format!("cache/{}", s.name)))))
            })
            .collect();
        CacheState { services, fetching: Vec::new() }
    }
}

impl ServiceCache {
    fn new(c: &CacheConfig, rng: Stream) -> Self {
        let n = c.keys.keys();
        let sampler = match c.keys {
            Popularity::Zipf { n, s } => Sampler::Zipf(Zipf::new(f64::from(n), s).expect("validated Zipf"), n),
            Popularity::Uniform { n } => Sampler::Uniform(n),
        };
        let mut cache = Cache::new(n, c.capacity, c.eviction, c.ttl);
        if c.warm {
            let held = if c.eviction == Eviction::Ttl { n } else { c.capacity.min(n) };
            // Least popular first, so the most popular ends the most recent.
            for k in (0..held).rev() {
                // With a ttl, as if written at evenly spread times of the last ttl, so the
                // warm entries do not all expire at once.
                let expires = c.ttl.map_or(SimTime::MAX, |t| SimTime(t.0 / u64::from(held) * u64::from(k + 1)));
                cache.insert_until(k, expires);
            }
        }
        ServiceCache {
            cache,
            sampler,
            rng,
            down: 0,
            flight_of: if c.coalesce { vec![NONE; n as usize] } else { Vec::new() },
            flights: Vec::new(),
            free_flights: Vec::new(),
            waiters: Vec::new(),
            free_waiters: Vec::new(),
        }
    }

    /// Draws a request's key.
    fn draw(&mut self) -> u32 {
        match &self.sampler {
            // Clamped: the inverse CDF at the very top of [0, 1) may round to n + 1.
            Sampler::Zipf(z, n) => (z.sample(&mut self.rng) as u32).clamp(1, *n) - 1,
            Sampler::Uniform(n) => index(&mut self.rng, *n as usize) as u32,
        }
    }

    /// Starts a fetch of `key` by `leader`.
    fn open_flight(&mut self, key: u32, leader: ReqId) {
        self.flight_of[key as usize] =
            put(&mut self.flights, &mut self.free_flights, Flight { leader, first_waiter: NONE });
    }

    /// Adds `req` to the waiters of flight `f`.
    fn wait(&mut self, f: u32, req: ReqId, epoch: u32) {
        let w = Waiter { req, epoch, next: self.flights[f as usize].first_waiter };
        self.flights[f as usize].first_waiter = put(&mut self.waiters, &mut self.free_waiters, w);
    }

    /// Ends the fetch of `key` by `leader`, if it is the one in flight; returns its first
    /// waiter node (follow `next`; each node is freed as it is taken).
    fn close_flight(&mut self, key: u32, leader: ReqId) -> u32 {
        let Some(&f) = self.flight_of.get(key as usize) else { return NONE };
        if f == NONE || self.flights[f as usize].leader != leader {
            return NONE;
        }
        self.flight_of[key as usize] = NONE;
        self.free_flights.push(f);
        self.flights[f as usize].first_waiter
    }

    /// Takes waiter node `w`: its request, generation, and the next node.
    fn take_waiter(&mut self, w: u32) -> (ReqId, u32, u32) {
        let Waiter { req, epoch, next } = self.waiters[w as usize];
        self.free_waiters.push(w);
        (req, epoch, next)
    }
}

/// Stores `item` in a free slot of `slab` (or a new one) and returns its index: the slabs
/// grow to the run's peak of fetches and waiters, then allocate nothing.
fn put<T>(slab: &mut Vec<T>, free: &mut Vec<u32>, item: T) -> u32 {
    match free.pop() {
        Some(i) => {
            slab[i as usize] = item;
            i
        }
        None => {
            slab.push(item);
            slab.len() as u32 - 1
        }
    }
}

impl Simulation<'_> {
    /// A worker took `r` at cached service `s` (its `started` set): draws its key and looks
    /// it up. Returns true for a miss, whose normal work goes on; a hit's end is scheduled
    /// here, and a coalesced miss waits for the fetch in flight.
    pub(super) fn cache_begin(&mut self, r: ReqId, s: usize) -> bool {
        let now = self.now;
        let epoch = self.reqs[r as usize].epoch;
        let c = self.caches.services[s].as_deref_mut().expect("a cached service");
        let key = c.draw();
        let result = if c.down > 0 {
            Lookup::Miss
        } else if c.cache.lookup(key, now) {
            Lookup::Hit
        } else {
            match c.flight_of.get(key as usize).copied() {
                Some(f) if f != NONE => {
                    c.wait(f, r, epoch);
                    Lookup::Coalesced
                }
                Some(_) => {
                    c.open_flight(key, r);
                    Lookup::Miss
                }
                None => Lookup::Miss,
            }
        };
        let down = c.down > 0;
        let m = self.services[s].cache.as_deref_mut().expect("a cached service's metrics");
        m.record(now, result);
        m.bypassed += u64::from(down);
        let fetching = &mut self.caches.fetching;
        if fetching.len() <= r as usize {
            fetching.resize(self.reqs.len().max(r as usize + 1), NONE);
        }
        fetching[r as usize] = if result == Lookup::Miss && !down { key } else { NONE };
        match result {
            Lookup::Miss => true,
            Lookup::Coalesced => false,
            Lookup::Hit => {
                let svc = &self.model.services[s];
                let t = svc
                    .cache
                    .as_ref()
                    .expect("a cached service")
                    .hit_time
                    .sample(&mut self.service_rng[s].service_time);
                let t = self.faulted_time(s, self.reqs[r as usize].instance as usize, t);
                // No step left: the visit completes when the hit time ends, with no call.
                self.reqs[r as usize].step = svc.steps.len() as u16;
                self.events.push(now + t, Event::ServiceDone(r, epoch));
                false
            }
        }
    }

    /// The visit of `r` at cached service `s` ends (its answer final): a fetch that
    /// succeeded is written, and its waiters are answered.
    pub(super) fn cache_visit_end(&mut self, r: ReqId, s: usize) {
        let Some(&key) = self.caches.fetching.get(r as usize) else { return };
        if key == NONE {
            return;
        }
        self.caches.fetching[r as usize] = NONE;
        let failed = self.reqs[r as usize].failed;
        let c = self.caches.services[s].as_deref_mut().expect("a cached service");
        if !failed && c.down == 0 {
            c.cache.insert(key, self.now);
        }
        self.answer_waiters(s, key, r, failed);
    }

    /// The visit of `r` ended without completing (cancelled, or lost in a crash): a fetch
    /// it made for a coalesced key is over, and its waiters get an error.
    pub(super) fn cache_visit_abandoned(&mut self, r: ReqId) {
        let Some(&key) = self.caches.fetching.get(r as usize) else { return };
        if key == NONE {
            return;
        }
        self.caches.fetching[r as usize] = NONE;
        let s = self.reqs[r as usize].service as usize;
        self.answer_waiters(s, key, r, true);
    }

    /// Answers the requests waiting for `leader`'s fetch of `key`, failed or not.
    fn answer_waiters(&mut self, s: usize, key: u32, leader: ReqId, failed: bool) {
        let c = self.caches.services[s].as_deref_mut().expect("a cached service");
        let mut w = c.close_flight(key, leader);
        while w != NONE {
            let c = self.caches.services[s].as_deref_mut().expect("a cached service");
            let (req, epoch, next) = c.take_waiter(w);
            w = next;
            let q = &mut self.reqs[req as usize];
            // A waiter cancelled or lost meanwhile has a new generation: nobody to answer.
            if q.alive && q.epoch == epoch {
                q.failed |= failed;
                self.complete_visit(req);
            }
        }
    }

    /// A `cache_flush` (at its onset) or `cache_down` fault on cached service `s`.
    pub(super) fn on_cache_fault(&mut self, s: usize, flush: bool, on: bool) {
        let Some(c) = self.caches.services[s].as_deref_mut() else { return };
        match (flush, on) {
            (true, true) => c.cache.clear(),
            (true, false) => {}
            (false, true) => c.down += 1,
            (false, false) => c.down = c.down.saturating_sub(1),
        }
    }

    /// Empty cache counters for each cached service (from the warm-up's end).
    pub(super) fn cache_metrics(model: &Model) -> Vec<Option<Box<CacheMetrics>>> {
        let n = model.windows();
        model
            .services
            .iter()
            .map(|s| s.cache.as_ref().map(|_| Box::new(CacheMetrics::new(model.warmup, model.window, n))))
            .collect()
    }

    /// Zeroes the cache counters (the end of the warm-up).
    pub(super) fn reset_cache_metrics(&mut self) {
        self.services.iter_mut().filter_map(|m| m.cache.as_deref_mut()).for_each(CacheMetrics::reset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(eviction: Eviction, ttl: Option<SimTime>) -> CacheConfig {
        CacheConfig {
            keys: Popularity::Zipf { n: 1000, s: 0.8 },
            capacity: 100,
            eviction,
            ttl,
            warm: true,
            coalesce: false,
            hit_time: Dist::Constant(SimTime::from_millis(1)),
        }
    }

    fn stream() -> Stream {
        RngStreams::new(1, 0).stream("cache/test")
    }

    #[test]
    fn warm_holds_the_most_popular_keys() {
        let c = ServiceCache::new(&config(Eviction::Lru, None), stream());
        assert!((0..100).all(|k| c.cache.contains(k, SimTime::ZERO)));
        assert!(!c.cache.contains(100, SimTime::ZERO));
        let mut c = c;
        // The least popular warm key is the least recent: the first to go.
        c.cache.insert(500, SimTime::ZERO);
        assert!(!c.cache.contains(99, SimTime::ZERO) && c.cache.contains(0, SimTime::ZERO));
    }

    #[test]
    fn warm_expiries_are_spread_over_one_ttl() {
        let ttl = SimTime::from_secs(100);
        let c = ServiceCache::new(&config(Eviction::Ttl, Some(ttl)), stream());
        let held = |t: u64| (0..1000).filter(|&k| c.cache.contains(k, SimTime::from_secs(t))).count();
        assert_eq!(held(0), 1000, "every key, for a ttl-only cache");
        assert!((480..=520).contains(&held(50)), "half expired halfway: {}", held(50));
        assert_eq!(held(100), 0);
    }

    /// The drawn keys follow the Zipf law's probabilities (key 0 is the most popular).
    #[test]
    fn keys_follow_their_popularity() {
        let mut c = ServiceCache::new(&config(Eviction::Lru, None), stream());
        let p = Popularity::Zipf { n: 1000, s: 0.8 }.probabilities();
        let n = 200_000;
        let mut counts = vec![0u32; 1000];
        for _ in 0..n {
            counts[c.draw() as usize] += 1;
        }
        for k in [0usize, 1, 9, 99] {
            let expected = p[k] * f64::from(n);
            // Five binomial standard deviations: a wrong exponent or an off-by-one key fails.
            let sd = (expected * (1.0 - p[k])).sqrt();
            assert!((f64::from(counts[k]) - expected).abs() < 5.0 * sd, "key {k}: {} vs {expected}", counts[k]);
        }
    }
}
