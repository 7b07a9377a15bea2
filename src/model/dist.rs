//! Service-time and think-time distributions, sampled in simulated nanoseconds.
//!
//! Parameters are resolved once at validation (e.g. a lognormal's mean and sd become
//! mu and sigma), so sampling is a match on an enum and one or two draws: no
//! allocation and no dynamic dispatch in the event loop.

use rand_distr::{Distribution, Exp1, Gamma, LogNormal, Pareto, Weibull};

use crate::engine::{SimTime, Stream, index, unit};

/// A distribution of non-negative durations.
#[derive(Clone, Debug)]
pub enum Dist {
    /// Exponential with this mean in seconds.
    Exponential(f64),
    /// A fixed value.
    Constant(SimTime),
    /// Uniform on `[lo, lo + width)` seconds.
    Uniform {
        /// Lower bound, seconds.
        lo: f64,
        /// Width, seconds.
        width: f64,
    },
    /// Lognormal (parameters of the underlying normal, seconds).
    Lognormal(LogNormal<f64>),
    /// Gamma (also Erlang), seconds.
    Gamma(Gamma<f64>),
    /// Weibull, seconds.
    Weibull(Weibull<f64>),
    /// Pareto type I, seconds.
    Pareto(Pareto<f64>),
    /// Uniform resampling of observed values.
    Empirical(Vec<SimTime>),
    /// Weighted mixture: `cumulative[i]` is the total normalised weight of parts `..=i`.
    Mixture {
        /// Cumulative normalised weights, last = 1.
        cumulative: Vec<f64>,
        /// Component distributions.
        parts: Vec<Dist>,
    },
}

impl Dist {
    /// Draws one duration.
    #[inline(always)]
    pub fn sample(&self, rng: &mut Stream) -> SimTime {
        // The exponential, by far the most common, inline at the call site; the rest
        // behind one call.
        if let Dist::Exponential(mean) = self {
            // The mean in ns is computed while the draw is: one multiply after it, not two.
            let e: f64 = Exp1.sample(rng);
            return SimTime::from_nanos_f64(e * (mean * 1e9));
        }
        self.sample_other(rng)
    }

    #[inline(never)]
    fn sample_other(&self, rng: &mut Stream) -> SimTime {
        match self {
            Dist::Exponential(mean) => {
                let e: f64 = Exp1.sample(rng);
                SimTime::from_secs_f64(e * mean)
            }
            Dist::Constant(t) => *t,
            Dist::Uniform { lo, width } => SimTime::from_secs_f64(lo + width * unit(rng)),
            Dist::Lognormal(d) => SimTime::from_secs_f64(d.sample(rng)),
            Dist::Gamma(d) => SimTime::from_secs_f64(d.sample(rng)),
            Dist::Weibull(d) => SimTime::from_secs_f64(d.sample(rng)),
            Dist::Pareto(d) => SimTime::from_secs_f64(d.sample(rng)),
            Dist::Empirical(samples) => samples[index(rng, samples.len())],
            Dist::Mixture { cumulative, parts } => {
                let u = unit(rng);
                let i = cumulative.partition_point(|&c| c <= u).min(parts.len() - 1);
                parts[i].sample(rng)
            }
        }
    }

    /// The mean in seconds, where it is finite.
    pub fn mean_secs(&self) -> Option<f64> {
        let m = match self {
            Dist::Exponential(mean) => *mean,
            Dist::Constant(t) => t.as_secs_f64(),
            Dist::Uniform { lo, width } => lo + width / 2.0,
            Dist::Lognormal(_) | Dist::Gamma(_) | Dist::Weibull(_) | Dist::Pareto(_) | Dist::Mixture { .. } => {
                return None;
            }
            Dist::Empirical(samples) => samples.iter().map(|s| s.as_secs_f64()).sum::<f64>() / samples.len() as f64,
        };
        Some(m)
    }

    /// The mean in seconds when this is an exponential distribution.
    pub fn exponential_mean(&self) -> Option<f64> {
        match self {
            Dist::Exponential(mean) => Some(*mean),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    fn mean_of(d: &Dist, n: usize) -> f64 {
        let mut rng = RngStreams::new(1, 0).stream("t");
        (0..n).map(|_| d.sample(&mut rng).as_secs_f64()).sum::<f64>() / n as f64
    }

    #[test]
    fn sample_means_match() {
        let n = 200_000;
        let e = Dist::Exponential(0.05);
        assert!((mean_of(&e, n) / 0.05 - 1.0).abs() < 0.01);
        let u = Dist::Uniform { lo: 0.01, width: 0.02 };
        assert!((mean_of(&u, n) / 0.02 - 1.0).abs() < 0.01);
        let g = Dist::Gamma(Gamma::new(4.0, 0.025 / 4.0).unwrap());
        assert!((mean_of(&g, n) / 0.025 - 1.0).abs() < 0.01);
        assert!((mean_of(&Dist::Constant(SimTime::from_millis(7)), 10) - 0.007).abs() < 1e-15);
    }

    #[test]
    fn mixture_and_empirical_pick_their_parts() {
        let d = Dist::Mixture {
            cumulative: vec![0.95, 1.0],
            parts: vec![Dist::Constant(SimTime::from_millis(1)), Dist::Constant(SimTime::from_millis(100))],
        };
        let m = mean_of(&d, 100_000);
        assert!((m - (0.95 * 0.001 + 0.05 * 0.1)).abs() < 0.0005, "{m}");
        let e = Dist::Empirical(vec![SimTime::from_millis(2), SimTime::from_millis(4)]);
        assert!((mean_of(&e, 100_000) - 0.003).abs() < 0.0001);
    }
}
