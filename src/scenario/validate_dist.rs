//! Resolving distributions of durations: finite, positive parameters, lognormals given
//! by mean and sd or by median and p99, mixtures nested at most four deep, empirical
//! samples inline or as read from a file at load time.
//!
//! Services, closed workloads and latency faults all take a distribution, so this sits
//! below their validators.

use super::dist_spec::{DistSpec, EmpiricalSpec, LognormalSpec};
use super::error::{Result, ScenarioError, err};
use super::samples::MAX_SAMPLES;
use super::units::Duration;
use crate::model::{Dist, Law};

/// z such that P(Z <= z) = 0.99 for a standard normal.
const Z99: f64 = 2.326_347_874_040_841;

fn positive(key: &str, what: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 { Ok(v) } else { err(key, format!("{what} must be a finite number above 0 (got {v})")) }
}

/// Resolves a distribution's parameters.
pub fn dist(d: &DistSpec, key: &str) -> Result<Dist> {
    dist_at_depth(d, key, 0)
}

fn dist_at_depth(d: &DistSpec, key: &str, depth: u32) -> Result<Dist> {
    let pos_dur = |name: &str, t: Duration| positive(&format!("{key}.{name}"), name, t.secs());
    Ok(match d {
        DistSpec::Exponential { mean } => Dist::Exponential(pos_dur("exponential.mean", *mean)?),
        DistSpec::Constant { value } => Dist::Constant(value.time()),
        DistSpec::Uniform { min, max } => {
            if max < min {
                return err(format!("{key}.uniform.max"), "max is below min");
            }
            Dist::Uniform { lo: min.secs(), width: max.secs() - min.secs() }
        }
        DistSpec::Lognormal(l) => lognormal(l, key)?,
        DistSpec::Gamma { shape, mean } => {
            let k = positive(&format!("{key}.gamma.shape"), "shape", *shape)?;
            let m = pos_dur("gamma.mean", *mean)?;
            Dist::Gamma(Law::gamma(k, m / k).map_err(|e| ScenarioError::at_key(key, format!("invalid gamma: {e}")))?)
        }
        DistSpec::Erlang { k, mean } => {
            if *k == 0 || *k > 10_000 {
                return err(format!("{key}.erlang.k"), "k must be between 1 and 10000");
            }
            let m = pos_dur("erlang.mean", *mean)?;
            let k = f64::from(*k);
            Dist::Gamma(Law::gamma(k, m / k).map_err(|e| ScenarioError::at_key(key, format!("invalid erlang: {e}")))?)
        }
        DistSpec::Weibull { shape, scale } => {
            let k = positive(&format!("{key}.weibull.shape"), "shape", *shape)?;
            let l = pos_dur("weibull.scale", *scale)?;
            Dist::Weibull(Law::weibull(l, k).map_err(|e| ScenarioError::at_key(key, format!("invalid weibull: {e}")))?)
        }
        DistSpec::Pareto { shape, scale } => {
            let a = positive(&format!("{key}.pareto.shape"), "shape", *shape)?;
            let xm = pos_dur("pareto.scale", *scale)?;
            Dist::Pareto(Law::pareto(xm, a).map_err(|e| ScenarioError::at_key(key, format!("invalid pareto: {e}")))?)
        }
        DistSpec::Empirical(e) => empirical(e, &format!("{key}.empirical"))?,
        DistSpec::Mixture(parts) => {
            if parts.is_empty() || parts.len() > 100 {
                return err(format!("{key}.mixture"), "a mixture needs between 1 and 100 parts");
            }
            if depth >= 4 {
                return err(format!("{key}.mixture"), "mixtures nest at most 4 deep");
            }
            let mut total = 0.0;
            for (i, p) in parts.iter().enumerate() {
                total += positive(&format!("{key}.mixture.{i}.weight"), "weight", p.weight)?;
            }
            let mut cumulative = Vec::with_capacity(parts.len());
            let mut dists = Vec::with_capacity(parts.len());
            let mut acc = 0.0;
            for (i, p) in parts.iter().enumerate() {
                acc += p.weight / total;
                cumulative.push(acc);
                dists.push(dist_at_depth(&p.dist, &format!("{key}.mixture.{i}.dist"), depth + 1)?);
            }
            if let Some(last) = cumulative.last_mut() {
                *last = 1.0;
            }
            Dist::Mixture { cumulative, parts: dists }
        }
    })
}

/// A lognormal from `mean` and `sd`, or from `median` and `p99` (the median is e^mu, and
/// the p99 lies [`Z99`] standard deviations of the log above it).
fn lognormal(l: &LognormalSpec, key: &str) -> Result<Dist> {
    let lkey = format!("{key}.lognormal");
    let (mu, sigma) = match (l.mean, l.sd, l.median, l.p99) {
        (Some(mean), Some(sd), None, None) => {
            let m = positive(&format!("{lkey}.mean"), "mean", mean.secs())?;
            let s = positive(&format!("{lkey}.sd"), "sd", sd.secs())?;
            let s2 = (1.0 + (s / m).powi(2)).ln();
            (m.ln() - s2 / 2.0, s2.sqrt())
        }
        (None, None, Some(median), Some(p99)) => {
            let med = positive(&format!("{lkey}.median"), "median", median.secs())?;
            if p99 <= median {
                return err(format!("{lkey}.p99"), "p99 must be above the median");
            }
            (med.ln(), (p99.secs() / med).ln() / Z99)
        }
        _ => return err(lkey, "give `mean` and `sd`, or `median` and `p99`"),
    };
    Ok(Dist::Lognormal(
        Law::lognormal(mu, sigma).map_err(|e| ScenarioError::at_key(key, format!("invalid lognormal: {e}")))?,
    ))
}

/// An empirical distribution: inline `samples`, or the values of its `file` (read when
/// the scenario was loaded, see [`super::samples`]).
fn empirical(e: &EmpiricalSpec, key: &str) -> Result<Dist> {
    match (&e.samples, &e.file) {
        (Some(_), Some(_)) => err(key, "give either `samples` or `file`, not both"),
        (None, None) => err(key, "give `samples` (e.g. samples: [3ms, 5ms, 12ms]) or a `file` of them"),
        (Some(samples), None) => {
            for (field, given) in [("unit", e.unit.is_some()), ("column", e.column.is_some())] {
                if given {
                    return err(format!("{key}.{field}"), format!("`{field}` is for reading a samples `file`"))
                        .map_err(|e| e.with_help("write inline samples with their unit, e.g. [3ms, 5ms]"));
                }
            }
            if samples.is_empty() || samples.len() > MAX_SAMPLES {
                return err(format!("{key}.samples"), format!("give between 1 and {MAX_SAMPLES} samples"));
            }
            Ok(Dist::Empirical(samples.iter().map(|s| s.time()).collect()))
        }
        (None, Some(_)) => match &e.loaded {
            Some(file) => Ok(Dist::Empirical(file.values.clone())),
            None => err(format!("{key}.file"), "the samples file was not read")
                .map_err(|e| e.with_help("load the scenario with scenario::load_file or load_str, which read it")),
        },
    }
}
