//! Welch's unequal-variance t-test on two replication statistics.
//!
//! A report keeps each metric as `{mean, ci95, n}`, not the replications themselves, but
//! the interval is Student's `mean ± t975(n−1)·s/√n`, so the sample standard deviation is
//! recovered exactly: `s = half·√n / t975(n−1)`, `half` the wider side of the interval
//! from the mean (a lower bound clamped at 0 leaves the upper side whole). A proportion's
//! interval is Wilson's on pooled counts, asymmetric: its wider side gives the spread it
//! implies, conservatively (see `report::statistic`). Replications are independent runs, so
//! Welch's test (no equal-variance assumption, Welch–Satterthwaite degrees of freedom)
//! is the honest one for "did B's mean move?". The t distribution comes from `statrs`.

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::report::t975;

/// Two-sided significance level of the test.
pub const ALPHA: f64 = 0.05;

/// The test as stated in every output.
pub const TEST_NAME: &str =
    "Welch's t-test, two-sided, 5% level, on the replication means (s recovered from each 95% CI)";

/// Mean, sample standard deviation and size of one side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Mean of the replications.
    pub mean: f64,
    /// Sample standard deviation of the replications.
    pub sd: f64,
    /// Replications.
    pub n: u32,
}

impl Sample {
    /// Recovers the sample from a mean, a 95% interval half-width and `n`; `None` when
    /// there is no interval (n < 2) or a value is not finite.
    pub fn from_interval(mean: f64, half: f64, n: u32) -> Option<Sample> {
        if n < 2 || !mean.is_finite() || !half.is_finite() {
            return None;
        }
        let sd = half.abs() * f64::from(n).sqrt() / t975(n as usize - 1);
        sd.is_finite().then_some(Sample { mean, sd, n })
    }

    fn var_of_mean(&self) -> f64 {
        self.sd * self.sd / f64::from(self.n)
    }
}

/// The outcome of comparing two samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Significance {
    /// The test could not run: a side has fewer than two replications (no interval).
    NotApplicable,
    /// Both sides have zero variance: any difference of means is exact, hence significant.
    Deterministic {
        /// The means differ.
        differs: bool,
    },
    /// Welch's test ran.
    Tested {
        /// t statistic of B − A.
        t: f64,
        /// Welch–Satterthwaite degrees of freedom.
        df: f64,
        /// Two-sided p-value.
        p: f64,
    },
}

impl Significance {
    /// True when the difference is significant at [`ALPHA`].
    pub fn significant(&self) -> bool {
        match *self {
            Significance::NotApplicable => false,
            Significance::Deterministic { differs } => differs,
            Significance::Tested { p, .. } => p < ALPHA,
        }
    }
}

/// Welch's t-test of B against A.
pub fn welch(a: Sample, b: Sample) -> Significance {
    if a.n < 2 || b.n < 2 {
        return Significance::NotApplicable;
    }
    let (va, vb) = (a.var_of_mean(), b.var_of_mean());
    let se2 = va + vb;
    if se2 == 0.0 {
        return Significance::Deterministic { differs: a.mean != b.mean };
    }
    let t = (b.mean - a.mean) / se2.sqrt();
    let denom = va * va / f64::from(a.n - 1) + vb * vb / f64::from(b.n - 1);
    let mut df = se2 * se2 / denom;
    if !df.is_finite() || df <= 0.0 {
        // Only when the variances underflow when squared: fall back to the smaller
        // side's n − 1, the conservative bound of the Welch–Satterthwaite value.
        df = f64::from(a.n.min(b.n) - 1);
    }
    let p = StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| (2.0 * d.sf(t.abs())).min(1.0));
    Significance::Tested { t, df, p }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-6;

    fn s(mean: f64, sd: f64, n: u32) -> Sample {
        Sample { mean, sd, n }
    }

    #[test]
    fn hand_worked_case() {
        // A: mean 10, s 2, n 10; B: mean 12, s 3, n 12.
        // s²/n: 4/10 = 0.4 and 9/12 = 0.75, sum 1.15; t = 2 / √1.15 = 1.865009616...
        // df = 1.15² / (0.4²/9 + 0.75²/11) = 1.3225 / 0.068914141... = 19.190545987...
        // p: 2·P(T > t) by numerical integration of the t density = 0.0775464387.
        let Significance::Tested { t, df, p } = welch(s(10.0, 2.0, 10), s(12.0, 3.0, 12)) else {
            panic!("the test should run")
        };
        assert!((t - 1.865_009_616_480_627_6).abs() < EPS, "t = {t}");
        assert!((df - 19.190_545_987_541_217).abs() < EPS, "df = {df}");
        assert!((p - 0.077_546_438_682).abs() < EPS, "p = {p}");
        assert!(!welch(s(10.0, 2.0, 10), s(12.0, 3.0, 12)).significant());
        // Swapping the sides flips t only.
        let Significance::Tested { t: t2, df: df2, p: p2 } = welch(s(12.0, 3.0, 12), s(10.0, 2.0, 10)) else {
            panic!("the test should run")
        };
        assert!((t2 + t).abs() < EPS && (df2 - df).abs() < EPS && (p2 - p).abs() < EPS);
    }

    #[test]
    fn a_clear_difference_is_significant() {
        assert!(welch(s(10.0, 1.0, 10), s(12.0, 1.0, 10)).significant());
    }

    #[test]
    fn zero_variances() {
        assert_eq!(welch(s(1.0, 0.0, 5), s(1.0, 0.0, 5)), Significance::Deterministic { differs: false });
        let d = welch(s(1.0, 0.0, 5), s(0.9, 0.0, 5));
        assert_eq!(d, Significance::Deterministic { differs: true });
        assert!(d.significant());
        // One side constant: df is the other side's n − 1.
        let Significance::Tested { df, .. } = welch(s(1.0, 0.0, 5), s(0.9, 0.1, 8)) else { panic!() };
        assert!((df - 7.0).abs() < EPS);
    }

    #[test]
    fn one_replication_is_never_significant() {
        assert_eq!(welch(s(1.0, 0.0, 1), s(100.0, 0.0, 10)), Significance::NotApplicable);
        assert!(!welch(s(1.0, 0.0, 10), s(100.0, 0.0, 1)).significant());
        assert_eq!(Sample::from_interval(1.0, 0.0, 1), None);
    }

    #[test]
    fn sd_recovered_from_the_interval() {
        // Samples 1..=5: sd = √2.5, half-width = t975(4)·sd/√5 (see report::statistic).
        let sd = 2.5f64.sqrt();
        let half = t975(4) * sd / 5f64.sqrt();
        let got = Sample::from_interval(3.0, half, 5).unwrap();
        assert!((got.sd - sd).abs() < 1e-12);
    }
}
