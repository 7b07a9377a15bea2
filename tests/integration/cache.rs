//! Caches end to end: the hit ratio of an LRU cache against Che's approximation, what a
//! `cache_flush` and a `cache_down` do to the hit ratio and to the database behind the
//! cache, request coalescing, and the refusals of bad `cache:` keys.
//!
//! Run `cargo test --release --test integration -- cache --nocapture` to see the numbers.

use resim::theory::che::{che, lfu_hit_ratio, predict_caches};

use crate::common::{Sim, assert_error, refusal};

/// The bar: the simulated LRU hit ratio within 0.01 (absolute) of Che's
/// approximation. The approximation's own error at C = 1,000 is far below that
/// (Fricker, Robert & Roberts 2012), and so is the CI of 4 × 10 minutes at 1,000/s.
const CHE_TOLERANCE: f64 = 0.01;

/// A front service with a cache over `keys`, calling `db` on a miss; `extra` is
/// appended to the cache's keys, `faults` is the faults list.
fn cached(keys: &str, extra: &str, rate: u32, duration: &str, window: &str, faults: &str) -> String {
    format!(
        "name: cache-test
duration: {duration}
warmup: 10s
replications: 4
seed: 5
window: {window}
services:
  front:
    servers: 1000
    service_time: {{ constant: {{ value: 1ms }} }}
    cache: {{ keys: {keys}, {extra} }}
    calls:
      - to: db
  db:
    servers: 1000
    service_time: {{ exponential: {{ mean: 5ms }} }}
workloads:
  - name: users
    target: front
    arrivals: {{ poisson: {{ rate: {rate}/s }} }}
faults: [{faults}]
"
    )
}

const ZIPF: &str = "{ zipf: { n: 10000, s: 0.8 } }";

/// Capacity 1,000 over Zipf(n = 10,000, s = 0.8), warm: Che's approximation.
#[test]
fn lru_hit_ratio_matches_che() {
    let sim = Sim::run(&cached(ZIPF, "capacity: 1000, warm: true", 1000, "10m", "30s", ""));
    let c = sim.service("front").cache.as_ref().expect("a cache report");
    let p = resim::model::sim::Popularity::Zipf { n: 10_000, s: 0.8 }.probabilities();
    let theory = che(&p, 1000.0).unwrap().hit_ratio;
    let half = c.hit_ratio.half_width().expect("a CI");
    println!("LRU hit ratio {:.5} ± {half:.5}, Che {theory:.5}", c.hit_ratio.value());
    assert!((c.hit_ratio.value() - theory).abs() < CHE_TOLERANCE, "{:?} vs {theory}", c.hit_ratio);
    assert!(half < CHE_TOLERANCE / 4.0, "the CI is tight enough to tell: {half}");
    // A cache that kept the most popular keys (LFU) would be far off: the check can fail.
    assert!(lfu_hit_ratio(&p, 1000.0).unwrap() - theory > 5.0 * CHE_TOLERANCE);
    // The database sees the misses only, and the report's rate says so.
    let db = sim.service("db");
    let measured = 600.0;
    assert!((db.arrivals.value() / measured - c.misses_per_s.value()).abs() < 1.0);
    assert_eq!(predict_caches(&sim.model)[0].hit_ratio, Some(theory));
}

/// The same cache with LFU: under the IRM it beats LRU (frequency is the better guide
/// when popularity does not change) but, forgetting the count of an evicted key, falls
/// short of the static optimum (the capacity most popular keys).
#[test]
fn lfu_lies_between_lru_and_the_static_optimum() {
    let sim = Sim::run(&cached(ZIPF, "capacity: 1000, warm: true, policy: lfu", 1000, "5m", "30s", ""));
    let c = sim.service("front").cache.as_ref().unwrap();
    let p = resim::model::sim::Popularity::Zipf { n: 10_000, s: 0.8 }.probabilities();
    let (lru, optimum) = (che(&p, 1000.0).unwrap().hit_ratio, lfu_hit_ratio(&p, 1000.0).unwrap());
    println!("LFU hit ratio {:.5}: LRU {lru:.5}, optimum {optimum:.5}", c.hit_ratio.value());
    assert!(c.hit_ratio.value() > lru + 5.0 * CHE_TOLERANCE, "{:?} vs LRU {lru}", c.hit_ratio);
    assert!(c.hit_ratio.value() < optimum, "{:?} vs optimum {optimum}", c.hit_ratio);
}

/// A flush at 60 s: the hit ratio falls (to 0 at the instant, to a fraction in the first
/// 1 s window) and recovers within seconds; in every window the database takes exactly
/// the cache's misses (lookups × (1 − hit ratio)), so its load rises by the miss ratio.
/// A `cache_down` from 90 s to 95 s: every lookup misses, nothing is lost, so the hit
/// ratio is back at once when it ends.
#[test]
fn a_flush_empties_the_cache_and_the_database_takes_the_misses() {
    let faults = "{ kind: cache_flush, target: front, at: 60s }, { kind: cache_down, target: front, at: 90s, for: 5s }";
    let sim = Sim::run(&cached(ZIPF, "capacity: 1000, warm: true", 200, "120s", "1s", faults));
    let c = sim.service("front").cache.as_ref().unwrap();
    let hit: Vec<f64> = c.hit_ratio_series.iter().map(|h| h.expect("lookups in every window")).collect();
    let steady = hit[30..60].iter().sum::<f64>() / 30.0;
    println!("steady {steady:.3}, after the flush {:?}", &hit[60..66]);
    assert!(hit[60] < 0.4 * steady, "the flush window: {} vs {steady}", hit[60]);
    let recovered = hit[70..90].iter().sum::<f64>() / 20.0;
    assert!((recovered - steady).abs() < 0.03, "recovered to {recovered}, steady {steady}");
    assert!(hit[90..95].iter().all(|&h| h == 0.0), "down: every lookup misses");
    assert!(hit[95] > 0.8 * steady, "the entries survived the outage: {}", hit[95]);
    assert!(c.bypassed.value() > 0.0);
    // The database's finished visits per window against the cache's misses per window:
    // they differ only by the misses of a window's last few ms (1 ms at the cache, 5 ms
    // mean at the database), finished in the next one.
    let db = &sim.service("db").timeline.as_ref().unwrap().requests;
    for (w, (&d, &m)) in db.iter().zip(&c.misses_series).enumerate().skip(1) {
        assert!((d - m).abs() <= 4.0 + 0.02 * m, "window {w}: database {d}, misses {m}");
    }
    let before = db[30..60].iter().sum::<f64>() / 30.0;
    assert!(db[60] > 1.4 * before, "the database's load rose: {} vs {before}", db[60]);
    assert!(db[91] > 1.6 * before, "down: the database takes every request: {} vs {before}", db[91]);
}

/// Coalescing: 10 keys, a cold cache that holds them all, a database taking 1 s with
/// exactly 10 places (K = 10). With `coalesce: true` each key is fetched once, so the
/// database sees at most one fetch per key in flight and never refuses; without it, the
/// first second's misses all go through and overflow it.
#[test]
fn coalescing_sends_one_fetch_per_key() {
    let yaml = |coalesce: bool| {
        format!(
            "name: coalesce
duration: 20s
replications: 2
seed: 9
services:
  front:
    servers: 1000
    service_time: {{ constant: {{ value: 1ms }} }}
    cache: {{ keys: {{ uniform: {{ n: 10 }} }}, capacity: 10, coalesce: {coalesce} }}
    calls:
      - to: db
  db:
    servers: 10
    capacity: 10
    service_time: {{ constant: {{ value: 1s }} }}
workloads:
  - name: users
    target: front
    arrivals: {{ poisson: {{ rate: 200/s }} }}
"
        )
    };
    let on = Sim::run(&yaml(true));
    let c = on.service("front").cache.as_ref().unwrap();
    assert_eq!(on.service("db").arrivals.value(), 10.0, "one fetch per key");
    assert_eq!(on.service("db").rejected.value(), 0.0);
    assert!(c.coalesced.value() > 100.0, "the first second's misses waited: {:?}", c.coalesced);
    assert!((c.misses_per_s.value() - 0.5).abs() < 1e-9, "10 misses in 20 s");
    // Every waiter was answered with its fetch's success.
    let front = on.service("front");
    assert_eq!(front.completed.value(), front.arrivals.value());
    let off = Sim::run(&yaml(false));
    println!("db arrivals with coalescing 10, without {}", off.service("db").arrivals.value());
    assert!(off.service("db").rejected.value() > 100.0);
    assert_eq!(off.service("front").cache.as_ref().unwrap().coalesced.value(), 0.0);
}

/// TTL only: an entry expires `ttl` after its write, so under Poisson requests of rate
/// λ for a key, each fetch is followed by λ·ttl hits on average: hit ratio λT / (1 + λT).
#[test]
fn ttl_only_expires_after_write() {
    let yaml = cached("{ uniform: { n: 10 } }", "policy: ttl, ttl: 1s", 100, "5m", "30s", "");
    let sim = Sim::run(&yaml);
    let c = sim.service("front").cache.as_ref().unwrap();
    // 10/s per key; a key's hits after a fetch: those in the ttl after its lookup.
    let lt: f64 = 10.0 * 1.0;
    let expected = lt / (1.0 + lt);
    println!("TTL hit ratio {:.5}, renewal argument {expected:.5}", c.hit_ratio.value());
    assert!((c.hit_ratio.value() - expected).abs() < CHE_TOLERANCE, "{:?} vs {expected}", c.hit_ratio);
}

#[test]
fn bad_cache_keys_are_refused_with_their_place() {
    let base = |cache: &str| cached(ZIPF, cache, 10, "10s", "1s", "").replace("capacity: 1000, ", "");
    let e = refusal(&cached(ZIPF, "capacity: 20000", 10, "10s", "1s", ""));
    assert_error(&e, "services.front.cache.capacity", &["only 10000 keys"]);
    let e = refusal(&base("warm: true"));
    assert_error(&e, "services.front.cache.capacity", &["capacity"]);
    let e = refusal(&cached("{ zipf: { n: 20000000, s: 1 } }", "capacity: 10", 10, "10s", "1s", ""));
    assert_error(&e, "services.front.cache.keys.zipf.n", &["at most"]);
    let e = refusal(&cached("{ zipf: { n: 100, s: -1 } }", "capacity: 10", 10, "10s", "1s", ""));
    assert_error(&e, "services.front.cache.keys.zipf.s", &["exponent"]);
    let e = refusal(&cached(ZIPF, "capacity: 10, policy: ttl, ttl: 1s", 10, "10s", "1s", ""));
    assert_error(&e, "services.front.cache.capacity", &["expiry only"]);
    let e = refusal(&cached(ZIPF, "policy: ttl", 10, "10s", "1s", ""));
    assert_error(&e, "services.front.cache.ttl", &["needs a `ttl`"]);
    let flush_db = "{ kind: cache_flush, target: db, at: 5s }";
    let e = refusal(&cached(ZIPF, "capacity: 10", 10, "10s", "1s", flush_db));
    assert_error(&e, "faults.0.target", &["`db` has no `cache:`", "front"]);
    let flush_for = "{ kind: cache_flush, target: front, at: 5s, for: 1s }";
    let e = refusal(&cached(ZIPF, "capacity: 10", 10, "10s", "1s", flush_for));
    assert_error(&e, "faults.0", &["instant"]);
}
