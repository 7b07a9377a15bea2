//! A statistic across replications: mean, 95% confidence interval, count.
//!
//! Replications are independent, so a quantity measured once per replication gets
//! Student's t on their values: `mean ± t(0.975, n-1) · s / sqrt(n)` ([`Statistic::of`]).
//! A replication where a metric is undefined (no request completed, so no mean sojourn)
//! is left out of that metric's `n`. An interval never leaves the range the quantity can
//! take: the lower bound of a quantity that cannot be negative (a count, a time, a rate,
//! a percentile) is clamped at 0, and a fraction of time stays inside [0, 1]; only a
//! difference ([`Statistic::of_signed`]) may go below 0. Clamping an interval to the
//! parameter space never uncovers the truth, which lies inside that space.
//!
//! **Proportions** (blocking, availability, an SLI: events out of trials) are not means of
//! per-replication ratios: that mean is biased on short runs (a replication with more
//! arrivals also blocks more, and counts for no more than one with fewer), and its
//! interval is [0, 0] when no replication sees an event. [`Statistic::proportion`] pools
//! the counts: the estimate is `Σx / Σn`, and the interval is Wilson's score interval
//! (Wilson 1927) on the pooled counts, which stays inside [0, 1]. Events that come in
//! bursts (arrivals blocked while a queue stays full) vary more between replications than
//! binomial counts would, so the binomial size is shrunk by the design effect (Kish 1965,
//! *Survey Sampling*): `d = max(1, v / (p(1−p)/N))`, where `v` is the variance of the
//! ratio estimator from the replications' residuals `x_r − p·n_r` (the delta method, R − 1
//! degrees of freedom; Cochran 1977, *Sampling Techniques*, §6.9). With `d` estimated from
//! a handful of replications, the effective size `N/d` is further shrunk by `(z/t)²`, `t`
//! Student's 0.975 quantile on R − 1 degrees of freedom (Korn & Graubard 1998, "Confidence
//! intervals for proportions with small expected number of positive counts estimated from
//! survey data", Survey Methodology 24); then Wilson's interval runs on the effective
//! counts `p·N_eff` out of `N_eff`. When no event was seen the interval is
//! `[0, 3/N_eff]`, the rule of three (Hanley & Lippman-Hand 1983, "If nothing goes wrong,
//! is everything all right?", JAMA 249): the exact one-sided 95% bound, since
//! `(1 − 3/N)^N ≈ e^−3 ≈ 0.05`; with every trial an event it is mirrored. Nothing was seen
//! to measure the clustering by then, so `d` is taken as 1 and `N_eff = N·(z/t)²`.
//! Checked by simulation (tests/integration/proportions.rs): a blocking probability of
//! 1.22e-4 over 5 x 200 s of M/M/1/12 is covered in 195 of 200 independent studies (the
//! mean of ratios: 51); on 2 s runs of M/M/2/4 the pooled ratio is off by −0.06%, the
//! mean of ratios by −2.0%. Without the `(t/z)²` factor, Wilson on `N/d` covered in 84%
//! to 90% of studies of M/M/1/12 and M/M/2/10 with 5 replications; with it, 95% to 98%.
//! Clopper-Pearson on the effective counts would be wider still, not needed here.
//!
//! **Counts of events** per replication ([`Statistic::of_counts`]) get the t interval,
//! except when every replication counted none: the interval is then `[0, 3/R]`, the rule
//! of three for the mean of a Poisson count (R replications with no event bound the
//! total mean by `−ln 0.05 ≈ 3`). Zero events cannot tell a rare event from an impossible
//! one, nor measure over-dispersion (a fault that strikes some replications hard and
//! others not at all makes all-zero runs likelier than a Poisson count would), so the
//! bound is the Poisson one: honest for independent events, optimistic for bursty ones,
//! and never the false certainty of [0, 0].

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// The 0.975 quantile of the standard normal (two-sided 95%).
const Z975: f64 = 1.959_963_984_540_054;

/// The rule of three: with no event in `n` independent trials, `3/n` bounds the
/// probability of an event at 95% (one-sided), as `(1 − 3/n)^n ≈ e^−3 ≈ 0.05`.
const RULE_OF_THREE: f64 = 3.0;

/// `{ "mean": x, "ci95": [lo, hi], "n": replications }`; `ci95` is null when n < 2,
/// `mean` is null when n = 0. For a proportion, `mean` is the ratio of the pooled counts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Statistic {
    /// Mean over the replications where the metric is defined (for a proportion, the
    /// pooled ratio).
    pub mean: Option<f64>,
    /// 95% confidence interval, inside the range the quantity can take.
    pub ci95: Option<[f64; 2]>,
    /// Number of replications that contributed.
    pub n: u32,
}

impl Statistic {
    /// No replication: nothing defined.
    const UNDEFINED: Statistic = Statistic { mean: None, ci95: None, n: 0 };

    /// The statistic of a quantity that cannot be negative (a count, a rate, a time, a
    /// percentile) from its `samples` (undefined ones skipped), summed in order: Student's
    /// t interval with its lower bound clamped at 0.
    pub fn of(samples: impl IntoIterator<Item = Option<f64>>) -> Self {
        Self::t_interval(samples, 0.0, f64::INFINITY)
    }

    /// The statistic of a quantity that may be negative: a difference (run minus
    /// counterfactual, B minus A), a budget left that can be overspent. Student's t
    /// interval, unclamped.
    pub fn of_signed(samples: impl IntoIterator<Item = Option<f64>>) -> Self {
        Self::t_interval(samples, f64::NEG_INFINITY, f64::INFINITY)
    }

    /// The statistic of a fraction of time or of capacity measured in each replication
    /// (utilisation, time a fault was active): Student's t interval kept inside [0, 1].
    /// Shares of counted events are [`Statistic::proportion`]s instead.
    pub fn of_fraction(samples: impl IntoIterator<Item = Option<f64>>) -> Self {
        Self::t_interval(samples, 0.0, 1.0)
    }

    /// The statistic of an event count per replication: as [`Statistic::of`], except that
    /// when every replication counted none the interval is `[0, 3/R]` (the rule of three
    /// for a Poisson mean; see the module doc), not [0, 0].
    pub fn of_counts(samples: impl IntoIterator<Item = f64>) -> Self {
        let xs: Vec<f64> = samples.into_iter().filter(|x| x.is_finite()).collect();
        let r = xs.len();
        if r >= 2 && xs.iter().all(|&x| x == 0.0) {
            return Statistic { mean: Some(0.0), ci95: Some([0.0, RULE_OF_THREE / r as f64]), n: r as u32 };
        }
        Self::of(xs.into_iter().map(Some))
    }

    /// The proportion of events among trials from per-replication `(events, trials)`
    /// counts: the ratio of the pooled counts, with Wilson's interval on the effective
    /// counts (see the module doc). Replications without a trial are left out of `n`.
    pub fn proportion(counts: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let reps: Vec<(f64, f64)> =
            counts.into_iter().filter(|&(x, n)| x.is_finite() && n.is_finite() && n > 0.0).collect();
        if reps.is_empty() {
            return Self::UNDEFINED;
        }
        let (events, trials) = reps.iter().fold((0.0, 0.0), |(x, n), &(a, b)| (x + a, n + b));
        let p = (events / trials).clamp(0.0, 1.0);
        let ci95 = (reps.len() >= 2).then(|| proportion_interval(p, trials, &reps));
        Statistic { mean: Some(p), ci95, n: reps.len() as u32 }
    }

    /// This statistic times a non-negative constant `k` (a burn rate is a bad share over
    /// the allowed one; a downtime equivalent, a bad share times the duration).
    pub fn scaled(self, k: f64) -> Self {
        Statistic { mean: self.mean.map(|m| m * k), ci95: self.ci95.map(|[lo, hi]| [lo * k, hi * k]), ..self }
    }

    /// Student's t interval of the finite `samples`, clamped to `[floor, ceiling]`.
    fn t_interval(samples: impl IntoIterator<Item = Option<f64>>, floor: f64, ceiling: f64) -> Self {
        let xs: Vec<f64> = samples.into_iter().flatten().filter(|x| x.is_finite()).collect();
        let n = xs.len();
        if n == 0 {
            return Self::UNDEFINED;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let ci95 = (n >= 2).then(|| {
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let half = t975(n - 1) * (var / n as f64).sqrt();
            // Never clamp past the mean: a mean outside the range is a caller's error to see.
            [(mean - half).max(floor.min(mean)), (mean + half).min(ceiling.max(mean))]
        });
        Statistic { mean: Some(mean), ci95, n: n as u32 }
    }

    /// The mean, or NaN when undefined (for arithmetic in tests and summaries).
    pub fn value(&self) -> f64 {
        self.mean.unwrap_or(f64::NAN)
    }

    /// Half-width of the interval, if there is one: its wider side from the mean, so a
    /// lower bound clamped at 0 does not shrink it, and an asymmetric (Wilson) interval
    /// is read conservatively.
    pub fn half_width(&self) -> Option<f64> {
        self.ci95.map(|[lo, hi]| match self.mean {
            Some(m) => (hi - m).abs().max((m - lo).abs()),
            None => (hi - lo) / 2.0,
        })
    }

    /// True when the interval contains `x` (false when there is no interval).
    pub fn covers(&self, x: f64) -> bool {
        self.ci95.is_some_and(|[lo, hi]| lo <= x && x <= hi)
    }
}

/// The 95% interval of the pooled proportion `p` of `trials` from two or more
/// replications' `(events, trials)`: Wilson's on the effective size, the rule of three
/// at 0 or 1.
fn proportion_interval(p: f64, trials: f64, reps: &[(f64, f64)]) -> [f64; 2] {
    let n_eff = trials / design_effect(p, trials, reps);
    if p == 0.0 {
        [0.0, (RULE_OF_THREE / n_eff).min(1.0)]
    } else if p == 1.0 {
        [(1.0 - RULE_OF_THREE / n_eff).max(0.0), 1.0]
    } else {
        wilson(p * n_eff, n_eff)
    }
}

/// Kish's design effect of the ratio estimator `p = Σx/Σn` over two or more
/// replications, as this module uses it: the variance between replications (delta
/// method: residuals `x_r − p·n_r`, R − 1 degrees of freedom), inflated by `(t/z)²` for
/// being estimated on R − 1 degrees of freedom (Korn & Graubard 1998), over the binomial
/// variance `p(1−p)/N`; at least 1, since the binomial variance is known, not estimated.
/// 1 when `p` is 0 or 1 (nothing varies to measure).
pub(super) fn design_effect(p: f64, trials: f64, reps: &[(f64, f64)]) -> f64 {
    let r = reps.len() as f64;
    let binomial = p * (1.0 - p) / trials;
    if reps.len() < 2 || binomial <= 0.0 {
        return 1.0;
    }
    let ss: f64 = reps.iter().map(|&(x, n)| (x - p * n).powi(2)).sum();
    let between = r * ss / ((r - 1.0) * trials * trials);
    let df_inflation = (t975(reps.len() - 1) / Z975).powi(2);
    (between * df_inflation / binomial).max(1.0)
}

/// Wilson's score interval (Wilson 1927, "Probable inference, the law of succession, and
/// statistical inference", JASA 22) for `x` events out of `n` trials, at 95%; `x` and `n`
/// may be fractional (effective counts).
pub(super) fn wilson(x: f64, n: f64) -> [f64; 2] {
    let z2 = Z975 * Z975;
    let centre = (x + z2 / 2.0) / (n + z2);
    let half = Z975 / (n + z2) * (x * (n - x) / n + z2 / 4.0).max(0.0).sqrt();
    [(centre - half).max(0.0), (centre + half).min(1.0)]
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    StudentsT::new(0.0, 1.0, df as f64).map_or(f64::NAN, |t| t.inverse_cdf(0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: [f64; 2], want: [f64; 2], eps: f64) -> bool {
        (got[0] - want[0]).abs() < eps && (got[1] - want[1]).abs() < eps
    }

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
        assert!(close(s.ci95.unwrap(), [3.0 - half, 3.0 + half], 1e-5));
        assert_eq!(Statistic::of_signed([1.0, 2.0, 3.0, 4.0, 5.0].map(Some)), s);
    }

    #[test]
    fn undefined_and_single_samples() {
        assert_eq!(Statistic::of([None, None]), Statistic { mean: None, ci95: None, n: 0 });
        let one = Statistic::of([Some(2.0), None]);
        assert_eq!(one, Statistic { mean: Some(2.0), ci95: None, n: 1 });
        assert_eq!(Statistic::proportion([(0.0, 0.0)]), Statistic::UNDEFINED);
        assert_eq!(Statistic::proportion([(1.0, 10.0)]), Statistic { mean: Some(0.1), ci95: None, n: 1 });
    }

    #[test]
    fn bounds_follow_the_quantity() {
        // 0, 0, 0, 0, 10: mean 2, sd sqrt(20), half 2.776445 · 2 = 5.55289.
        let xs = [0.0, 0.0, 0.0, 0.0, 10.0].map(Some);
        let half = 2.776_445 * 2.0;
        assert!(close(Statistic::of(xs).ci95.unwrap(), [0.0, 2.0 + half], 1e-5));
        assert!(close(Statistic::of_signed(xs).ci95.unwrap(), [2.0 - half, 2.0 + half], 1e-5));
        // 0.9, 1.0, 1.0: mean 0.9667, sd 0.057735, half 4.302653 · 0.057735 / √3 = 0.143422.
        let busy = Statistic::of_fraction([0.9, 1.0, 1.0].map(Some));
        assert!(close(busy.ci95.unwrap(), [0.966_667 - 0.143_422, 1.0], 1e-5));
        assert_eq!(Statistic::of([0.0, 0.0, 0.0].map(Some)).ci95, Some([0.0, 0.0]));
    }

    #[test]
    fn half_width_is_the_wider_side() {
        let clamped = Statistic { mean: Some(2.0), ci95: Some([0.0, 7.5]), n: 5 };
        assert_eq!(clamped.half_width(), Some(5.5));
        let wilson = Statistic { mean: Some(0.125), ci95: Some([0.0625, 0.375]), n: 5 };
        assert_eq!(wilson.half_width(), Some(0.25));
        assert_eq!(Statistic { mean: Some(1.0), ci95: None, n: 1 }.half_width(), None);
    }

    #[test]
    fn counts_seen_nowhere_get_the_rule_of_three() {
        assert_eq!(Statistic::of_counts([0.0; 5]), Statistic { mean: Some(0.0), ci95: Some([0.0, 0.6]), n: 5 });
        assert_eq!(Statistic::of_counts([0.0]), Statistic { mean: Some(0.0), ci95: None, n: 1 });
        let some = [0.0, 1.0, 0.0, 2.0];
        assert_eq!(Statistic::of_counts(some), Statistic::of(some.map(Some)));
    }

    #[test]
    fn wilson_matches_newcombe_1998_table_i() {
        // Newcombe 1998, "Two-sided confidence intervals for the single proportion:
        // comparison of seven methods", Statistics in Medicine 17, Table I, method 3.
        assert!(close(wilson(81.0, 263.0), [0.2553, 0.3662], 5e-5));
        assert!(close(wilson(15.0, 148.0), [0.0624, 0.1605], 5e-5));
        assert!(close(wilson(0.0, 20.0), [0.0, 0.1611], 5e-5));
        assert!(close(wilson(1.0, 29.0), [0.0061, 0.1718], 5e-5));
    }

    #[test]
    fn design_effect_by_hand() {
        // 2/100 and 8/100: p = 0.05, residuals ∓3, between = 2 · 18 / (1 · 200²) = 9e-4;
        // inflated by (t975(1)/z)² = (12.706205/1.959964)² = 42.027; binomial 2.375e-4.
        let reps = [(2.0, 100.0), (8.0, 100.0)];
        let want = 9e-4 * (12.706_205 / Z975).powi(2) / 2.375e-4;
        assert!((design_effect(0.05, 200.0, &reps) - want).abs() < 1e-3 * want);
        // No spread at all: the binomial variance stands.
        assert_eq!(design_effect(0.05, 200.0, &[(5.0, 100.0), (5.0, 100.0)]), 1.0);
        assert_eq!(design_effect(0.0, 200.0, &[(0.0, 100.0), (0.0, 100.0)]), 1.0);
    }

    #[test]
    fn proportion_pools_the_counts() {
        // 5 replications of 1 event in 10 trials: no spread, so the binomial Wilson
        // interval of 5 out of 50 (by hand: centre 0.128539, half 0.085063).
        let s = Statistic::proportion([(1.0, 10.0); 5]);
        assert_eq!((s.mean, s.n), (Some(0.1), 5));
        assert!(close(s.ci95.unwrap(), [0.043476, 0.213602], 1e-6));
        // A ratio of pooled counts, not a mean of ratios: (0 + 10) / (10 + 90).
        assert_eq!(Statistic::proportion([(0.0, 10.0), (10.0, 90.0)]).mean, Some(0.1));
        // Over-dispersed: 0 and 10 of 50 each. p = 0.1, residuals ∓5, between =
        // 2 · 50 / 100² = 0.01; × (12.706205/1.959964)² = 0.420270; binomial 9e-4, so
        // d = 466.97 and N_eff = 0.214148: Wilson of 0.0214148 in 0.214148.
        let clustered = Statistic::proportion([(0.0, 50.0), (10.0, 50.0)]);
        let n_eff = 100.0 / (0.01 * (12.706_205 / Z975).powi(2) / 9e-4);
        assert!(close(clustered.ci95.unwrap(), wilson(0.1 * n_eff, n_eff), 1e-6));
        assert!(clustered.ci95.unwrap()[1] > 0.9);
    }

    #[test]
    fn proportion_with_no_event_or_all_events() {
        // Rule of three on 5 × 200 trials: [0, 0.003].
        let none = Statistic::proportion([(0.0, 200.0); 5]);
        assert_eq!(none, Statistic { mean: Some(0.0), ci95: Some([0.0, 0.003]), n: 5 });
        let all = Statistic::proportion([(200.0, 200.0); 5]);
        assert_eq!(all, Statistic { mean: Some(1.0), ci95: Some([0.997, 1.0]), n: 5 });
        // Three trials in all: the bound is 1, not above it.
        assert_eq!(Statistic::proportion([(0.0, 1.0), (0.0, 2.0)]).ci95, Some([0.0, 1.0]));
    }

    #[test]
    fn scaled_multiplies_every_part() {
        let s = Statistic { mean: Some(0.5), ci95: Some([0.25, 0.75]), n: 3 };
        assert_eq!(s.scaled(4.0), Statistic { mean: Some(2.0), ci95: Some([1.0, 3.0]), n: 3 });
    }
}
