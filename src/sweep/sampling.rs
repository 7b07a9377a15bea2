//! Drawing sweep points at random or by Latin hypercube, deterministically.
//!
//! Large spaces are explored with `samples` points instead of the full grid. Draws come
//! from the named stream `sweep/sampling` of the scenario seed (replication 0), so the
//! same scenario and seed always give the same points, and the simulation streams are
//! untouched. A continuous range is drawn uniformly; a list or a range with a step picks
//! one of its values uniformly. A Latin hypercube cuts each parameter's `[0, 1)` into
//! `samples` equal strata and uses each stratum exactly once (McKay, Beckman & Conover
//! 1979), so every parameter's range is covered evenly even with few points.

use serde_json::Value;

use super::grid::{Param, Point, Values};
use crate::engine::RngStreams as Streams;
use crate::engine::{index as draw_index, unit};
use crate::scenario::sweep_spec::SamplingSpec;

/// The stream points are drawn from.
pub const STREAM: &str = "sweep/sampling";

/// `n` points drawn from `params` by `method` (`Grid` is not a sampling method and
/// gives no points).
pub fn sample(params: &[Param], n: usize, method: SamplingSpec, seed: u64) -> Vec<Point> {
    let mut rng = Streams::new(seed, 0).stream(STREAM);
    // Column-wise unit draws in [0, 1): u[param][point].
    let units: Vec<Vec<f64>> = match method {
        SamplingSpec::Grid => return Vec::new(),
        SamplingSpec::Random => params.iter().map(|_| (0..n).map(|_| unit(&mut rng)).collect()).collect(),
        SamplingSpec::LatinHypercube => params
            .iter()
            .map(|_| {
                let mut strata: Vec<usize> = (0..n).collect();
                // Fisher-Yates with the stream, so the permutation is portable.
                for i in (1..n).rev() {
                    strata.swap(i, draw_index(&mut rng, i + 1));
                }
                strata.iter().map(|&s| (s as f64 + unit(&mut rng)) / n as f64).collect()
            })
            .collect(),
    };
    (0..n)
        .map(|index| Point { index, values: params.iter().zip(&units).map(|(p, u)| value(p, u[index])).collect() })
        .collect()
}

/// The value of `p` at quantile `u` of its range.
fn value(p: &Param, u: f64) -> Value {
    match (&p.values, p.values.levels()) {
        (_, Some(levels)) => {
            let i = ((u * levels.len() as f64) as usize).min(levels.len().saturating_sub(1));
            levels.get(i).cloned().unwrap_or(Value::Null)
        }
        (Values::Range(r), None) => {
            // Continuous: keep a few more decimals than written, for readable tables.
            let mut r = *r;
            r.decimals = (r.decimals + 4).min(12);
            r.value_at(r.from + u * (r.to - r.from))
        }
        (Values::List(_), None) => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(specs: &[&str]) -> Vec<Param> {
        specs.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn draws_are_deterministic_and_in_range() {
        let p = params(&["a=0.5..1.5", "b=2,4,8", "c=10..100 step 10"]);
        let one = sample(&p, 50, SamplingSpec::Random, 7);
        assert_eq!(one, sample(&p, 50, SamplingSpec::Random, 7));
        assert_ne!(one, sample(&p, 50, SamplingSpec::Random, 8));
        for pt in &one {
            let a = pt.values[0].as_f64().unwrap();
            assert!((0.5..=1.5).contains(&a), "{a}");
            assert!([2, 4, 8].contains(&pt.values[1].as_i64().unwrap()));
            assert_eq!(pt.values[2].as_i64().unwrap() % 10, 0);
        }
    }

    #[test]
    fn latin_hypercube_uses_every_stratum_once() {
        let n = 20;
        let p = params(&["a=0..1 step 0.001", "b=0.0..20.0"]);
        let pts = sample(&p, n, SamplingSpec::LatinHypercube, 3);
        for k in 0..2 {
            let hi = if k == 0 { 1.0 } else { 20.0 };
            let mut strata: Vec<usize> =
                pts.iter().map(|pt| ((pt.values[k].as_f64().unwrap() / hi) * n as f64) as usize).collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..n).collect::<Vec<_>>(), "parameter {k}");
        }
    }
}
