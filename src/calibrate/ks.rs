//! The one-sample Kolmogorov-Smirnov test: the statistic D = sup |Fₙ(x) - F(x)| and its
//! asymptotic p-value from Kolmogorov's distribution,
//! `Q(λ) = 2 Σ_{j>=1} (-1)^(j-1) exp(-2 j² λ²)`, taken at Stephens' (1970) finite-sample
//! argument `λ = (√n + 0.12 + 0.11/√n) D` (as in Numerical Recipes, §14.3).
//!
//! When F's parameters were estimated from the same data (as every calibrated fit's
//! are), the true null distribution of D is tighter (Lilliefors 1967), so this p-value
//! is conservative: a fit it rejects is certainly poor, one it passes may be a little
//! worse than the p-value says.

/// D and its asymptotic p-value for `sorted` values against `cdf`.
pub fn ks_statistic(sorted: &[f64], cdf: impl Fn(f64) -> f64) -> (f64, f64) {
    let n = sorted.len();
    if n == 0 {
        return (0.0, 1.0);
    }
    let nf = n as f64;
    let mut d: f64 = 0.0;
    let mut i = 0;
    while i < n {
        // Ties: the empirical CDF jumps once, from i/n to j/n, at a repeated value.
        let mut j = i + 1;
        while j < n && sorted[j] == sorted[i] {
            j += 1;
        }
        let f = cdf(sorted[i]);
        d = d.max(f - i as f64 / nf).max(j as f64 / nf - f);
        i = j;
    }
    (d, kolmogorov_q((nf.sqrt() + 0.12 + 0.11 / nf.sqrt()) * d))
}

/// Kolmogorov's complementary distribution Q(λ) = P(K > λ).
pub fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 0.2 {
        // The series converges slowly there; Q is 1 to within 1e-15.
        return 1.0;
    }
    let mut sum = 0.0;
    let mut sign = 1.0;
    for j in 1..=100 {
        let term = (-2.0 * (j * j) as f64 * lambda * lambda).exp();
        sum += sign * term;
        if term < 1e-16 {
            break;
        }
        sign = -sign;
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kolmogorov_critical_values() {
        // Tabulated: P(K > 1.3581) = 0.05, P(K > 1.6276) = 0.01.
        assert!((kolmogorov_q(1.3581) - 0.05).abs() < 1e-4);
        assert!((kolmogorov_q(1.6276) - 0.01).abs() < 1e-4);
        assert_eq!(kolmogorov_q(0.0), 1.0);
    }

    #[test]
    fn uniform_grid_fits_the_uniform_cdf() {
        let xs: Vec<f64> = (0..100).map(|i| (i as f64 + 0.5) / 100.0).collect();
        let (d, p) = ks_statistic(&xs, |x| x.clamp(0.0, 1.0));
        assert!((d - 0.005).abs() < 1e-12);
        assert!(p > 0.99);
        let (d, p) = ks_statistic(&xs, |x| (x * x).clamp(0.0, 1.0));
        assert!(d > 0.2 && p < 1e-3, "{d} {p}");
    }
}
