//! Hit ratios of a cache under the independent reference model (IRM: each request's key
//! drawn independently from fixed popularities `p_i`).
//!
//! **LRU, Che's approximation** (Che, Tung & Wang, "Hierarchical Web caching systems:
//! modeling, design and experimental results", IEEE JSAC 20(7), 2002): a key stays in an
//! LRU cache of `C` entries for a *characteristic time* `T_C` after its last request,
//! nearly the same for every key, found from
//! `Σ_i (1 − exp(−p_i T_C)) = C` (the expected number of distinct keys requested in
//! `T_C` requests fills the cache); key `i` is then a hit with probability
//! `1 − exp(−p_i T_C)`, and the hit ratio is `Σ_i p_i (1 − exp(−p_i T_C))`. Fricker,
//! Robert & Roberts ("A versatile and accurate approximation for LRU cache performance",
//! ITC 24, 2012) explain why it is accurate well beyond large caches: `T_C` concentrates
//! as the number of keys grows, and the error is already small for caches of tens of
//! entries. Here `T_C` is in requests (time × arrival rate), so the hit ratio does not
//! depend on the rate.
//!
//! **LFU** has no closed form here, only a bound: a *perfect* LFU (counting every request,
//! held or not) keeps the `C` most popular keys under the IRM, the optimal static cache
//! (Coffman & Denning, "Operating Systems Theory", 1973, policy A0), with hit ratio
//! `Σ_{i<C} p_i`. The engine's LFU is an in-cache one (as Shah, Mitra & Matani's and
//! every production LFU): an evicted key's count is forgotten, so keys that were lucky
//! while held crowd out some of the popular ones, and it falls short of the bound.
//!
//! `T_C` is found by bisection on a bracket found by doubling: the left side increases
//! strictly with `T_C`, so the root is unique and the result deterministic.

use super::{TheoryError, bisect};
use crate::model::Model;
use crate::policy::cache::Eviction;

/// The predicted hit ratio of one cached service (`resim theory`).
#[derive(Clone, Debug, PartialEq)]
pub struct CachePrediction {
    /// The service.
    pub service: String,
    /// Which result applies, or why none does.
    pub note: String,
    /// The hit ratio, when a result applies.
    pub hit_ratio: Option<f64>,
    /// Che's characteristic time in requests (LRU).
    pub characteristic_time: Option<f64>,
}

/// The hit ratio of each cached service of `model`: Che's approximation for LRU; for LFU
/// only its bound (the static optimum); none with expiry (`ttl`), which depends on each
/// key's rate.
pub fn predict_caches(model: &Model) -> Vec<CachePrediction> {
    let mut out = Vec::new();
    for s in &model.services {
        let Some(c) = &s.cache else { continue };
        let p = c.keys.probabilities();
        let capacity = f64::from(c.capacity);
        let (note, hit_ratio, characteristic_time) = match (c.eviction, c.ttl) {
            (_, Some(_)) | (Eviction::Ttl, _) => (
                "outside theory: entries expire (ttl), so the hit ratio depends on each key's request rate".into(),
                None,
                None,
            ),
            (Eviction::Lru, None) => match che(&p, capacity) {
                Ok(r) => {
                    ("LRU under the IRM, Che's approximation".into(), Some(r.hit_ratio), Some(r.characteristic_time))
                }
                Err(e) => (format!("outside theory: {e}"), None, None),
            },
            (Eviction::Lfu, None) => match lfu_hit_ratio(&p, capacity) {
                Ok(h) => (
                    format!(
                        "LFU has no closed form; its hit ratio is at most {h:.6}, the share of the capacity most popular keys (perfect LFU)"
                    ),
                    None,
                    None,
                ),
                Err(e) => (format!("outside theory: {e}"), None, None),
            },
        };
        out.push(CachePrediction { service: s.name.clone(), note, hit_ratio, characteristic_time });
    }
    out
}

/// Che's approximation for one LRU cache.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Che {
    /// The characteristic time `T_C`, in requests (infinite when every key fits).
    pub characteristic_time: f64,
    /// The hit ratio.
    pub hit_ratio: f64,
}

/// Che's approximation for an LRU cache of `capacity` entries over keys of popularities
/// `p` (summing to 1).
pub fn che(p: &[f64], capacity: f64) -> Result<Che, TheoryError> {
    check(p, capacity)?;
    if capacity >= p.len() as f64 {
        return Ok(Che { characteristic_time: f64::INFINITY, hit_ratio: 1.0 });
    }
    if capacity == 0.0 {
        return Ok(Che { characteristic_time: 0.0, hit_ratio: 0.0 });
    }
    let filled = |t: f64| p.iter().map(|&q| -(-q * t).exp_m1()).sum::<f64>();
    let mut hi = capacity;
    while filled(hi) < capacity {
        hi *= 2.0;
    }
    let t = bisect(0.0, hi, |t| filled(t) < capacity);
    Ok(Che { characteristic_time: t, hit_ratio: p.iter().map(|&q| q * -(-q * t).exp_m1()).sum() })
}

/// The hit ratio of a perfect LFU cache of `capacity` entries under the IRM: the share of
/// the `capacity` most popular keys (the static optimum, a bound for any policy).
pub fn lfu_hit_ratio(p: &[f64], capacity: f64) -> Result<f64, TheoryError> {
    check(p, capacity)?;
    let mut sorted = p.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    Ok(sorted.iter().take(capacity as usize).sum::<f64>().min(1.0))
}

fn check(p: &[f64], capacity: f64) -> Result<(), TheoryError> {
    if !capacity.is_finite() || capacity < 0.0 {
        return Err(TheoryError::InvalidParameter {
            name: "cache capacity C",
            value: capacity,
            requirement: "finite and >= 0",
        });
    }
    let total: f64 = p.iter().sum();
    if p.is_empty() || p.iter().any(|&q| !q.is_finite() || q < 0.0) || (total - 1.0).abs() > 1e-9 {
        return Err(TheoryError::InvalidParameter {
            name: "sum of key popularities",
            value: total,
            requirement: "1, with every popularity finite and >= 0",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::model::sim::Popularity;
    use crate::policy::cache::{Cache, Eviction};

    fn zipf(n: u32, s: f64) -> Vec<f64> {
        Popularity::Zipf { n, s }.probabilities()
    }

    #[test]
    fn a_cache_holding_every_key_always_hits() {
        assert_eq!(che(&zipf(50, 0.8), 50.0).unwrap().hit_ratio, 1.0);
        assert_eq!(che(&zipf(50, 0.8), 0.0).unwrap().hit_ratio, 0.0);
    }

    /// Uniform popularity: every key has the same chance to be held, C / n.
    #[test]
    fn uniform_popularity_gives_c_over_n() {
        let p = Popularity::Uniform { n: 1000 }.probabilities();
        for c in [1.0, 10.0, 250.0, 999.0] {
            let h = che(&p, c).unwrap().hit_ratio;
            assert!((h - c / 1000.0).abs() < 1e-9, "C = {c}: {h}");
        }
    }

    /// The characteristic time solves Che's equation.
    #[test]
    fn the_characteristic_time_fills_the_cache() {
        let p = zipf(10_000, 0.8);
        let r = che(&p, 1000.0).unwrap();
        let filled: f64 = p.iter().map(|&q| 1.0 - (-q * r.characteristic_time).exp()).sum();
        assert!((filled - 1000.0).abs() < 1e-6, "{filled}");
        // Between random replacement's floor (C/n) and the static optimum (LFU).
        assert!(r.hit_ratio > 0.1 && r.hit_ratio < lfu_hit_ratio(&p, 1000.0).unwrap());
        assert!((r.hit_ratio - 0.436_66).abs() < 1e-4, "{}", r.hit_ratio);
    }

    /// Against an exact LRU over a long IRM reference string, for a small cache (where the
    /// approximation is weakest): within 0.01 (Fricker, Robert & Roberts report errors
    /// well below that from a few tens of entries).
    #[test]
    fn che_is_close_to_a_simulated_lru() {
        const TOLERANCE: f64 = 0.01;
        let p = zipf(200, 0.9);
        let cum: Vec<f64> = p
            .iter()
            .scan(0.0, |s, &q| {
                *s += q;
                Some(*s)
            })
            .collect();
        for capacity in [5u32, 20, 60] {
            let mut cache = Cache::new(200, capacity, Eviction::Lru, None);
            let (mut x, mut hits, n) = (7u64, 0u64, 400_000u64);
            for i in 0..n {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let u = (x >> 11) as f64 / (1u64 << 53) as f64;
                let key = cum.partition_point(|&c| c < u).min(199) as u32;
                let hit = cache.lookup(key, SimTime::ZERO);
                if !hit {
                    cache.insert(key, SimTime::ZERO);
                }
                hits += u64::from(hit && i >= n / 10);
            }
            let simulated = hits as f64 / (n - n / 10) as f64;
            let approx = che(&p, f64::from(capacity)).unwrap().hit_ratio;
            assert!((simulated - approx).abs() < TOLERANCE, "C = {capacity}: {simulated} vs {approx}");
        }
    }

    #[test]
    fn lfu_holds_the_most_popular() {
        let p = [0.1, 0.5, 0.15, 0.25];
        assert!((lfu_hit_ratio(&p, 2.0).unwrap() - 0.75).abs() < 1e-12);
        assert!(che(&[0.5, 0.4], 1.0).is_err(), "popularities must sum to 1");
        assert!(che(&p, -1.0).is_err());
    }
}
