//! Maximum-likelihood fits of a service's own times: exponential, lognormal, gamma and
//! Weibull, each scored by its log-likelihood, AIC and Kolmogorov-Smirnov statistic.
//!
//! The estimators are the textbook ones:
//! - exponential: the mean;
//! - lognormal: the mean and (1/n) standard deviation of the logs;
//! - gamma: the shape solves `ln k - ψ(k) = ln x̄ - mean(ln x)` (Choi & Wette 1969,
//!   "Maximum likelihood estimation of the parameters of the gamma distribution and
//!   their bias", Technometrics 11), solved by Newton's method from Minka's
//!   closed-form start (Minka 2002, "Estimating a gamma distribution"); scale = x̄ / k;
//! - Weibull: the shape solves the profile equation
//!   `Σ xᵏ ln x / Σ xᵏ - 1/k - mean(ln x) = 0` (Cohen 1965, "Maximum likelihood
//!   estimation in the Weibull distribution based on complete and on censored samples",
//!   Technometrics 7), by Newton's method from Menon's (1963) moment estimate
//!   `k₀ = π / (sd(ln x) √6)`; scale = (Σ xᵏ / n)^(1/k).
//!
//! Values are in seconds and must be positive; [`super::select`] decides which fit the
//! scenario gets.

use statrs::function::erf::erfc;
use statrs::function::gamma::{digamma, gamma_lr, ln_gamma};

use super::ks::ks_statistic;

/// A fitted distribution with its parameters (durations in seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fitted {
    /// Exponential with this mean.
    Exponential {
        /// Mean.
        mean: f64,
    },
    /// Lognormal: the log has mean `mu` and standard deviation `sigma`.
    Lognormal {
        /// Mean of ln x.
        mu: f64,
        /// Standard deviation of ln x.
        sigma: f64,
    },
    /// Gamma with shape k and scale θ (mean kθ).
    Gamma {
        /// Shape k.
        shape: f64,
        /// Scale θ.
        scale: f64,
    },
    /// Weibull with shape k and scale λ.
    Weibull {
        /// Shape k.
        shape: f64,
        /// Scale λ.
        scale: f64,
    },
}

impl Fitted {
    /// The family's name, as the scenario format spells it.
    pub fn family(&self) -> &'static str {
        match self {
            Fitted::Exponential { .. } => "exponential",
            Fitted::Lognormal { .. } => "lognormal",
            Fitted::Gamma { .. } => "gamma",
            Fitted::Weibull { .. } => "weibull",
        }
    }

    /// The parameters by name, as a report shows them (durations in seconds).
    pub fn params(&self) -> Vec<(&'static str, f64)> {
        match *self {
            Fitted::Exponential { mean } => vec![("mean", mean)],
            Fitted::Lognormal { mu, sigma } => vec![("mu", mu), ("sigma", sigma)],
            Fitted::Gamma { shape, scale } => vec![("shape", shape), ("scale", scale)],
            Fitted::Weibull { shape, scale } => vec![("shape", shape), ("scale", scale)],
        }
    }

    /// Number of free parameters (for AIC).
    pub fn parameters(&self) -> usize {
        if matches!(self, Fitted::Exponential { .. }) { 1 } else { 2 }
    }

    /// The cumulative distribution function at `x` seconds.
    pub fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        match *self {
            Fitted::Exponential { mean } => -(-x / mean).exp_m1(),
            Fitted::Lognormal { mu, sigma } => 0.5 * erfc(-(x.ln() - mu) / (sigma * std::f64::consts::SQRT_2)),
            Fitted::Gamma { shape, scale } => gamma_lr(shape, x / scale),
            Fitted::Weibull { shape, scale } => -(-(x / scale).powf(shape)).exp_m1(),
        }
    }

    /// The mean, in seconds.
    pub fn mean(&self) -> f64 {
        match *self {
            Fitted::Exponential { mean } => mean,
            Fitted::Lognormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Fitted::Gamma { shape, scale } => shape * scale,
            Fitted::Weibull { shape, scale } => scale * ln_gamma(1.0 + 1.0 / shape).exp(),
        }
    }

    /// The log-likelihood of positive `xs`.
    pub fn log_likelihood(&self, xs: &[f64]) -> f64 {
        xs.iter().map(|&x| self.ln_pdf(x)).sum()
    }

    fn ln_pdf(&self, x: f64) -> f64 {
        let lx = x.ln();
        match *self {
            Fitted::Exponential { mean } => -mean.ln() - x / mean,
            Fitted::Lognormal { mu, sigma } => {
                let z = (lx - mu) / sigma;
                -lx - sigma.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() - 0.5 * z * z
            }
            Fitted::Gamma { shape, scale } => -ln_gamma(shape) - shape * scale.ln() + (shape - 1.0) * lx - x / scale,
            Fitted::Weibull { shape, scale } => {
                shape.ln() - scale.ln() + (shape - 1.0) * (lx - scale.ln()) - (x / scale).powf(shape)
            }
        }
    }
}

/// One candidate family fitted to the data, with its scores.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The fitted distribution.
    pub fitted: Fitted,
    /// Log-likelihood at the estimate.
    pub log_likelihood: f64,
    /// Akaike's information criterion, 2p - 2 ln L (lower is better).
    pub aic: f64,
    /// Kolmogorov-Smirnov statistic D = sup |Fₙ - F|.
    pub ks_d: f64,
    /// Its asymptotic p-value (Kolmogorov distribution; see [`super::ks`]).
    pub ks_p: f64,
}

/// Most Newton iterations for a shape.
const MAX_NEWTON: usize = 100;
/// Newton stops when the relative step is below this.
const NEWTON_TOLERANCE: f64 = 1e-10;

/// Fits all four families to positive, sorted `xs` (seconds); families whose estimate
/// does not exist (fewer than two distinct values) are left out.
pub fn fit_all(sorted: &[f64]) -> Vec<Candidate> {
    let n = sorted.len();
    if n == 0 || sorted.iter().any(|&x| !(x.is_finite() && x > 0.0)) {
        return Vec::new();
    }
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let mut fits = vec![Fitted::Exponential { mean }];
    let logs: Vec<f64> = sorted.iter().map(|x| x.ln()).collect();
    let mean_log = logs.iter().sum::<f64>() / n as f64;
    let var_log = logs.iter().map(|l| (l - mean_log).powi(2)).sum::<f64>() / n as f64;
    if sorted[0] < sorted[n - 1] && var_log > 0.0 {
        fits.push(Fitted::Lognormal { mu: mean_log, sigma: var_log.sqrt() });
        if let Some(shape) = gamma_shape(mean.ln() - mean_log) {
            fits.push(Fitted::Gamma { shape, scale: mean / shape });
        }
        if let Some((shape, scale)) = weibull(sorted, &logs, var_log.sqrt()) {
            fits.push(Fitted::Weibull { shape, scale });
        }
    }
    fits.into_iter()
        .map(|fitted| {
            let log_likelihood = fitted.log_likelihood(sorted);
            let (ks_d, ks_p) = ks_statistic(sorted, |x| fitted.cdf(x));
            Candidate {
                fitted,
                log_likelihood,
                aic: 2.0 * fitted.parameters() as f64 - 2.0 * log_likelihood,
                ks_d,
                ks_p,
            }
        })
        .filter(|c| c.log_likelihood.is_finite())
        .collect()
}

/// The gamma shape k solving `ln k - ψ(k) = s` for `s = ln(mean) - mean(ln x) > 0`.
fn gamma_shape(s: f64) -> Option<f64> {
    if !(s.is_finite() && s > 0.0) {
        return None;
    }
    // Minka's start, within 1.5% of the root everywhere.
    let start = (3.0 - s + ((s - 3.0).powi(2) + 24.0 * s).sqrt()) / (12.0 * s);
    let k = newton_positive(start, |k| (k.ln() - digamma(k) - s, 1.0 / k - trigamma(k)));
    (k.is_finite() && k > 0.0).then_some(k)
}

/// The root of `f` (given as `k -> (f(k), f'(k))`) on k > 0 by Newton's method from
/// `start`, halving instead of a step that leaves the domain, until a step moves k by
/// less than [`NEWTON_TOLERANCE`] of itself or [`MAX_NEWTON`] steps.
fn newton_positive(start: f64, f: impl Fn(f64) -> (f64, f64)) -> f64 {
    let mut k = start;
    for _ in 0..MAX_NEWTON {
        let (value, slope) = f(k);
        let mut next = k - value / slope;
        if !(next.is_finite() && next > 0.0) {
            next = k / 2.0;
        }
        let step = (next - k).abs() / k;
        k = next;
        if step < NEWTON_TOLERANCE {
            break;
        }
    }
    k
}

/// ψ'(x), the trigamma function: the recurrence ψ'(x) = ψ'(x+1) + 1/x² up to x >= 10,
/// then the asymptotic series (Abramowitz & Stegun 6.4.12).
fn trigamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 10.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let x2 = 1.0 / (x * x);
    acc + 1.0 / x + x2 / 2.0 + (1.0 / x) * x2 * (1.0 / 6.0 - x2 * (1.0 / 30.0 - x2 * (1.0 / 42.0 - x2 / 30.0)))
}

/// The Weibull (shape, scale) maximising the likelihood of `sorted` (logs given). The
/// values are divided by their largest before taking powers, so xᵏ cannot overflow.
fn weibull(sorted: &[f64], logs: &[f64], sd_log: f64) -> Option<(f64, f64)> {
    let n = sorted.len() as f64;
    let top = *sorted.last()?;
    let rel_logs: Vec<f64> = logs.iter().map(|l| l - top.ln()).collect();
    let mean_rel = rel_logs.iter().sum::<f64>() / n;
    // g(k) = Σ xᵏ ln x / Σ xᵏ - 1/k - mean(ln x), on the rescaled values.
    let g_and_slope = |k: f64| {
        let (mut s0, mut s1, mut s2) = (0.0, 0.0, 0.0);
        for &l in &rel_logs {
            let w = (k * l).exp();
            s0 += w;
            s1 += w * l;
            s2 += w * l * l;
        }
        let g = s1 / s0 - 1.0 / k - mean_rel;
        let slope = (s2 * s0 - s1 * s1) / (s0 * s0) + 1.0 / (k * k);
        (g, slope, s0)
    };
    let k = newton_positive(std::f64::consts::PI / (sd_log * 6f64.sqrt()), |k| {
        let (g, slope, _) = g_and_slope(k);
        (g, slope)
    });
    let (_, _, s0) = g_and_slope(k);
    let scale = top * (s0 / n).powf(1.0 / k);
    (k.is_finite() && k > 0.0 && scale.is_finite() && scale > 0.0).then_some((k, scale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Exp, Gamma, LogNormal, Weibull};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Samples per fit test.
    const N: usize = 2000;
    /// Allowed distance from the truth, in standard errors of the estimate.
    const SE: f64 = 4.0;

    fn draw(d: impl Distribution<f64>, seed: u64) -> Vec<f64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut xs: Vec<f64> = (0..N).map(|_| d.sample(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        xs
    }

    fn find(cands: &[Candidate], family: &str) -> Fitted {
        cands.iter().find(|c| c.fitted.family() == family).map(|c| c.fitted).expect("family fitted")
    }

    fn close(got: f64, want: f64, se: f64, what: &str) {
        assert!((got - want).abs() <= SE * se, "{what}: got {got}, want {want} ± {}", SE * se);
    }

    #[test]
    fn trigamma_matches_known_values() {
        // ψ'(1) = π²/6, ψ'(0.5) = π²/2.
        let pi2 = std::f64::consts::PI.powi(2);
        assert!((trigamma(1.0) - pi2 / 6.0).abs() < 1e-10);
        assert!((trigamma(0.5) - pi2 / 2.0).abs() < 1e-10);
    }

    #[test]
    fn exponential_mean_recovered() {
        let xs = draw(Exp::new(1.0 / 0.05).unwrap(), 1);
        let Fitted::Exponential { mean } = find(&fit_all(&xs), "exponential") else { unreachable!() };
        close(mean, 0.05, 0.05 / (N as f64).sqrt(), "mean");
    }

    #[test]
    fn lognormal_parameters_recovered() {
        let xs = draw(LogNormal::new(-4.0, 0.6).unwrap(), 2);
        let Fitted::Lognormal { mu, sigma } = find(&fit_all(&xs), "lognormal") else { unreachable!() };
        let n = (N as f64).sqrt();
        close(mu, -4.0, 0.6 / n, "mu");
        close(sigma, 0.6, 0.6 / (2.0f64).sqrt() / n, "sigma");
    }

    #[test]
    fn gamma_parameters_recovered() {
        let xs = draw(Gamma::new(3.0, 0.004).unwrap(), 3);
        let Fitted::Gamma { shape, scale } = find(&fit_all(&xs), "gamma") else { unreachable!() };
        // Asymptotic sd of the shape MLE: sqrt(k / (n (k ψ'(k) - 1))).
        let se_k = (3.0 / (N as f64 * (3.0 * trigamma(3.0) - 1.0))).sqrt();
        close(shape, 3.0, se_k, "shape");
        close(shape * scale, 0.012, 0.012 / (3.0 * N as f64).sqrt(), "mean");
    }

    #[test]
    fn weibull_parameters_recovered() {
        let xs = draw(Weibull::new(0.02, 0.7).unwrap(), 4);
        let Fitted::Weibull { shape, scale } = find(&fit_all(&xs), "weibull") else { unreachable!() };
        // Asymptotic sds: shape 0.78 k / sqrt(n), scale 1.05 λ / (k sqrt(n)).
        let n = (N as f64).sqrt();
        close(shape, 0.7, 0.78 * 0.7 / n, "shape");
        close(scale, 0.02, 1.05 * 0.02 / (0.7 * n), "scale");
    }

    #[test]
    fn degenerate_data_fits_only_the_exponential() {
        let c = fit_all(&[0.01; 10]);
        assert_eq!(c.len(), 1);
        assert!(fit_all(&[]).is_empty());
        assert!(fit_all(&[0.0, 1.0]).is_empty());
    }
}
