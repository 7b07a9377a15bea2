//! A statistic across replications: mean, 95% confidence interval, count.
//!
//! Replications are independent, so the interval is Student's t on their means:
//! `mean ± t(0.975, n-1) · s / sqrt(n)`. A replication where a metric is undefined
//! (no request completed, so no mean sojourn) is left out of that metric's `n`.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// `{ "mean": x, "ci95": [lo, hi], "n": replications }`; `ci95` is null when n < 2,
/// `mean` is null when n = 0.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Statistic {
    /// Mean over the replications where the metric is defined.
    pub mean: Option<f64>,
    /// Student-t 95% confidence interval of the mean.
    pub ci95: Option<[f64; 2]>,
    /// Number of replications that contributed.
    pub n: u32,
}

impl Statistic {
    /// The statistic of `samples` (undefined ones skipped), summed in order.
    pub fn of(samples: impl IntoIterator<Item = Option<f64>>) -> Self {
        let xs: Vec<f64> = samples.into_iter().flatten().filter(|x| x.is_finite()).collect();
        let n = xs.len();
        if n == 0 {
            return Statistic { mean: None, ci95: None, n: 0 };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let ci95 = (n >= 2).then(|| {
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let half = t975(n - 1) * (var / n as f64).sqrt();
            [mean - half, mean + half]
        });
        Statistic { mean: Some(mean), ci95, n: n as u32 }
    }

    /// The mean, or NaN when undefined (for arithmetic in tests and summaries).
    pub fn value(&self) -> f64 {
        self.mean.unwrap_or(f64::NAN)
    }

    /// Half-width of the interval, if there is one.
    pub fn half_width(&self) -> Option<f64> {
        self.ci95.map(|[lo, hi]| (hi - lo) / 2.0)
    }

    /// True when the interval contains `x` (false when there is no interval).
    pub fn covers(&self, x: f64) -> bool {
        self.ci95.is_some_and(|[lo, hi]| lo <= x && x <= hi)
    }
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    StudentsT::new(0.0, 1.0, df as f64).map_or(f64::NAN, |t| t.inverse_cdf(0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        assert!((t975(1) - 12.7062).abs() < 1e-3);
        assert!((t975(9) - 2.2622).abs() < 1e-4);
        assert!((t975(1000) - 1.9623).abs() < 1e-3);
    }

    #[test]
    fn interval_of_known_samples() {
        let s = Statistic::of([1.0, 2.0, 3.0, 4.0, 5.0].map(Some));
        assert_eq!(s.mean, Some(3.0));
        assert_eq!(s.n, 5);
        // sd = sqrt(2.5), t(0.975, 4) = 2.776445
        let half = 2.776_445 * (2.5f64 / 5.0).sqrt();
        let [lo, hi] = s.ci95.unwrap();
        assert!((lo - (3.0 - half)).abs() < 1e-5 && (hi - (3.0 + half)).abs() < 1e-5);
    }

    #[test]
    fn undefined_and_single_samples() {
        assert_eq!(Statistic::of([None, None]), Statistic { mean: None, ci95: None, n: 0 });
        let one = Statistic::of([Some(2.0), None]);
        assert_eq!(one, Statistic { mean: Some(2.0), ci95: None, n: 1 });
    }
}
