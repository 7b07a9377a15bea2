//! Service-time and think-time distributions, sampled in simulated nanoseconds.
//!
//! Parameters are resolved once at validation (e.g. a lognormal's mean and sd become
//! mu and sigma), so sampling is a match on an enum and one or two draws: no
//! allocation and no dynamic dispatch in the event loop.
//!
//! rand_distr keeps its distributions' parameters private, so each one it samples is held
//! in a [`Law`] beside the two parameters it was built from: [`Dist::moments`] needs them
//! for the closed-form mean and second moment that queueing theory uses
//! (Pollaczek-Khinchine, Allen-Cunneen), and keeping them changes no draw.

use rand::Rng;
use rand_distr::{
    Distribution, Exp1, Gamma, GammaError, LogNormal, NormalError, Pareto, ParetoError, Weibull, WeibullError,
};
use statrs::function::gamma::gamma;

use crate::engine::{SimTime, Stream, index, unit};

/// A rand_distr distribution and the two parameters it was built from, in the order of
/// its constructor (rand_distr does not expose them).
#[derive(Clone, Debug)]
pub struct Law<D> {
    params: (f64, f64),
    sampler: D,
}

impl<D> Law<D> {
    /// The two parameters, in the order of the rand_distr constructor.
    pub fn params(&self) -> (f64, f64) {
        self.params
    }
}

impl<D: Distribution<f64>> Distribution<f64> for Law<D> {
    #[inline(always)]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.sampler.sample(rng)
    }
}

impl Law<LogNormal<f64>> {
    /// A lognormal whose log has mean `mu` and standard deviation `sigma`.
    pub fn lognormal(mu: f64, sigma: f64) -> Result<Self, NormalError> {
        Ok(Law { params: (mu, sigma), sampler: LogNormal::new(mu, sigma)? })
    }
}

impl Law<Gamma<f64>> {
    /// A gamma with shape k and scale θ (mean kθ).
    pub fn gamma(shape: f64, scale: f64) -> Result<Self, GammaError> {
        Ok(Law { params: (shape, scale), sampler: Gamma::new(shape, scale)? })
    }
}

impl Law<Weibull<f64>> {
    /// A Weibull with scale λ and shape k.
    pub fn weibull(scale: f64, shape: f64) -> Result<Self, WeibullError> {
        Ok(Law { params: (scale, shape), sampler: Weibull::new(scale, shape)? })
    }
}

impl Law<Pareto<f64>> {
    /// A Pareto type I with minimum (scale) x_m and tail index (shape) α.
    pub fn pareto(scale: f64, shape: f64) -> Result<Self, ParetoError> {
        Ok(Law { params: (scale, shape), sampler: Pareto::new(scale, shape)? })
    }
}

/// The first two moments of a duration, in seconds and seconds squared; infinite where
/// the integral diverges (a Pareto's mean for α <= 1, its second moment for α <= 2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moments {
    /// E[S].
    pub mean: f64,
    /// E[S²].
    pub second: f64,
}

impl Moments {
    /// Var[S] = E[S²] − E[S]² (infinite with the second moment).
    pub fn variance(&self) -> f64 {
        self.second - self.mean * self.mean
    }

    /// The squared coefficient of variation C² = Var[S] / E[S]² (0 for a constant, 1 for
    /// an exponential).
    pub fn scv(&self) -> f64 {
        self.variance() / (self.mean * self.mean)
    }
}

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
    /// Lognormal: (mu, sigma) of the underlying normal, seconds.
    Lognormal(Law<LogNormal<f64>>),
    /// Gamma (also Erlang): (shape k, scale θ), seconds.
    Gamma(Law<Gamma<f64>>),
    /// Weibull: (scale λ, shape k), seconds.
    Weibull(Law<Weibull<f64>>),
    /// Pareto type I: (scale x_m, shape α), seconds.
    Pareto(Law<Pareto<f64>>),
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

    /// The closed-form mean and second moment, in seconds. Rounding each draw to the
    /// nanosecond is ignored (an error below 1 ns in the mean); an empirical's moments are
    /// those of its samples, a mixture's the weighted sums of its parts'.
    pub fn moments(&self) -> Moments {
        let (mean, second) = match self {
            Dist::Exponential(m) => (*m, 2.0 * m * m),
            Dist::Constant(t) => (t.as_secs_f64(), t.as_secs_f64().powi(2)),
            Dist::Uniform { lo, width } => (lo + width / 2.0, lo * lo + lo * width + width * width / 3.0),
            Dist::Lognormal(d) => {
                let (mu, sigma) = d.params();
                let s2 = sigma * sigma;
                ((mu + s2 / 2.0).exp(), (2.0 * mu + 2.0 * s2).exp())
            }
            Dist::Gamma(d) => {
                let (k, theta) = d.params();
                (k * theta, k * (k + 1.0) * theta * theta)
            }
            Dist::Weibull(d) => {
                // E[S^n] = λ^n Γ(1 + n/k).
                let (scale, k) = d.params();
                (scale * gamma(1.0 + 1.0 / k), scale * scale * gamma(1.0 + 2.0 / k))
            }
            Dist::Pareto(d) => {
                // E[S^n] = α x_m^n / (α − n) for α > n, infinite otherwise.
                let (xm, a) = d.params();
                let raw = |n: f64| if a > n { a * xm.powf(n) / (a - n) } else { f64::INFINITY };
                (raw(1.0), raw(2.0))
            }
            Dist::Empirical(samples) => {
                let n = samples.len() as f64;
                let secs = || samples.iter().map(|s| s.as_secs_f64());
                (secs().sum::<f64>() / n, secs().map(|x| x * x).sum::<f64>() / n)
            }
            Dist::Mixture { cumulative, parts } => {
                let weights = cumulative.iter().scan(0.0, |prev, &c| Some(c - std::mem::replace(prev, c)));
                weights.zip(parts).fold((0.0, 0.0), |(m, s), (w, part)| {
                    let p = part.moments();
                    (m + w * p.mean, s + w * p.second)
                })
            }
        };
        Moments { mean, second }
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

    /// Draws per family in [`sample_moments_match_the_closed_forms`].
    const DRAWS: usize = 1_000_000;
    /// Standard errors a sample moment may be off: two-sided 0.1% per check.
    const Z: f64 = 3.29;

    fn mean_of(d: &Dist, n: usize) -> f64 {
        let mut rng = RngStreams::new(1, 0).stream("t");
        (0..n).map(|_| d.sample(&mut rng).as_secs_f64()).sum::<f64>() / n as f64
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300)
    }

    fn assert_moments(what: &str, d: &Dist, mean: f64, second: f64) {
        let m = d.moments();
        assert!(close(m.mean, mean) && close(m.second, second), "{what}: {m:?}, expected ({mean}, {second})");
    }

    fn mixture(parts: Vec<(f64, Dist)>) -> Dist {
        let mut acc = 0.0;
        let cumulative = parts
            .iter()
            .map(|(w, _)| {
                acc += w;
                acc
            })
            .collect();
        Dist::Mixture { cumulative, parts: parts.into_iter().map(|(_, d)| d).collect() }
    }

    #[test]
    fn moments_are_the_textbook_values() {
        assert_moments("exponential mean 2", &Dist::Exponential(2.0), 2.0, 8.0);
        assert_moments("constant 3 ms", &Dist::Constant(SimTime::from_millis(3)), 3e-3, 9e-6);
        // (b³ − a³) / (3(b − a)) on [1, 3).
        assert_moments("uniform [1, 3)", &Dist::Uniform { lo: 1.0, width: 2.0 }, 2.0, 13.0 / 3.0);
        // e^(mu + σ²/2) and e^(2mu + 2σ²).
        let ln = Dist::Lognormal(Law::lognormal(0.0, 1.0).unwrap());
        assert_moments("lognormal(0, 1)", &ln, 1.648_721_270_700_128, 7.389_056_098_930_65);
        assert_moments("gamma(3, 2)", &Dist::Gamma(Law::gamma(3.0, 2.0).unwrap()), 6.0, 48.0);
        // Weibull shape 1 is the exponential; shape 2 (Rayleigh) has mean √π/2, E[S²] = λ².
        assert_moments("weibull(2, 1)", &Dist::Weibull(Law::weibull(2.0, 1.0).unwrap()), 2.0, 8.0);
        let rayleigh = Dist::Weibull(Law::weibull(1.0, 2.0).unwrap());
        assert_moments("weibull(1, 2)", &rayleigh, std::f64::consts::PI.sqrt() / 2.0, 1.0);
        assert_moments("pareto(1, 3)", &Dist::Pareto(Law::pareto(1.0, 3.0).unwrap()), 1.5, 3.0);
        let p2 = Dist::Pareto(Law::pareto(1.0, 2.0).unwrap()).moments();
        assert!(close(p2.mean, 2.0) && p2.second == f64::INFINITY && p2.scv() == f64::INFINITY, "{p2:?}");
        let p1 = Dist::Pareto(Law::pareto(1.0, 1.0).unwrap()).moments();
        assert!(p1.mean == f64::INFINITY && p1.second == f64::INFINITY, "{p1:?}");
        let e = Dist::Empirical(vec![SimTime::from_millis(1), SimTime::from_millis(3)]);
        assert_moments("empirical {1, 3} ms", &e, 2e-3, 5e-6);
        let mix = mixture(vec![(0.25, Dist::Constant(SimTime::from_secs(1))), (0.75, Dist::Exponential(2.0))]);
        assert_moments("25% 1 s + 75% exp(2 s)", &mix, 1.75, 6.25);
        let m = Dist::Exponential(2.0).moments();
        assert!(close(m.variance(), 4.0) && close(m.scv(), 1.0));
        assert_eq!(Dist::Constant(SimTime::from_millis(3)).moments().scv(), 0.0);
    }

    /// Sample mean and sample second moment of [`DRAWS`] draws, each within [`Z`]
    /// standard errors of the closed form: σ/√n for the mean, and sd(S²)/√n for the
    /// second moment with sd(S²) estimated from the draws (every law here has a finite
    /// fourth moment: Pareto α = 5, lognormal σ = 0.6).
    fn assert_sampled(what: &str, d: &Dist) {
        let m = d.moments();
        let mut rng = RngStreams::new(7, 0).stream(what);
        let xs: Vec<f64> = (0..DRAWS).map(|_| d.sample(&mut rng).as_secs_f64()).collect();
        let n = DRAWS as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let second = xs.iter().map(|x| x * x).sum::<f64>() / n;
        let sd_sq = (xs.iter().map(|x| (x * x - second).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let z_mean = (mean - m.mean) / (m.variance().sqrt() / n.sqrt()).max(1e-300);
        let z_second = (second - m.second) / (sd_sq / n.sqrt()).max(1e-300);
        assert!(
            z_mean.abs() <= Z && z_second.abs() <= Z,
            "{what}: sample ({mean:.6e}, {second:.6e}) vs closed form ({:.6e}, {:.6e}): z = {z_mean:.2}, {z_second:.2}",
            m.mean,
            m.second
        );
    }

    #[test]
    fn sample_moments_match_the_closed_forms() {
        let ms = |v: f64| v * 1e-3;
        let cases = [
            ("exponential", Dist::Exponential(ms(20.0))),
            ("uniform", Dist::Uniform { lo: ms(10.0), width: ms(20.0) }),
            ("lognormal", Dist::Lognormal(Law::lognormal(ms(5.0).ln(), 0.6).unwrap())),
            ("gamma", Dist::Gamma(Law::gamma(0.5, ms(40.0)).unwrap())),
            ("erlang", Dist::Gamma(Law::gamma(4.0, ms(5.0)).unwrap())),
            ("weibull", Dist::Weibull(Law::weibull(ms(10.0), 0.8).unwrap())),
            ("pareto", Dist::Pareto(Law::pareto(ms(8.0), 5.0).unwrap())),
            ("empirical", Dist::Empirical([1, 2, 3, 50].map(SimTime::from_millis).to_vec())),
            (
                "mixture",
                mixture(vec![
                    (0.9, Dist::Exponential(ms(1.0))),
                    (0.1, Dist::Weibull(Law::weibull(ms(30.0), 1.5).unwrap())),
                ]),
            ),
        ];
        for (what, d) in &cases {
            assert_sampled(what, d);
        }
    }

    #[test]
    fn sample_means_match() {
        let n = 200_000;
        let e = Dist::Exponential(0.05);
        assert!((mean_of(&e, n) / 0.05 - 1.0).abs() < 0.01);
        let u = Dist::Uniform { lo: 0.01, width: 0.02 };
        assert!((mean_of(&u, n) / 0.02 - 1.0).abs() < 0.01);
        let g = Dist::Gamma(Law::gamma(4.0, 0.025 / 4.0).unwrap());
        assert!((mean_of(&g, n) / 0.025 - 1.0).abs() < 0.01);
        assert!((mean_of(&Dist::Constant(SimTime::from_millis(7)), 10) - 0.007).abs() < 1e-15);
    }

    #[test]
    fn mixture_and_empirical_pick_their_parts() {
        let d = mixture(vec![
            (0.95, Dist::Constant(SimTime::from_millis(1))),
            (0.05, Dist::Constant(SimTime::from_millis(100))),
        ]);
        let m = mean_of(&d, 100_000);
        assert!((m - (0.95 * 0.001 + 0.05 * 0.1)).abs() < 0.0005, "{m}");
        let e = Dist::Empirical(vec![SimTime::from_millis(2), SimTime::from_millis(4)]);
        assert!((mean_of(&e, 100_000) - 0.003).abs() < 0.0001);
    }
}
