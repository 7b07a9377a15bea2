//! Which distribution a service's own times get in the scenario, and the report behind
//! the choice (every candidate's parameters and scores, for `calibrate.html`).
//!
//! The rule:
//! 1. all values equal (or fewer than two): `constant`;
//! 2. more than [`MAX_ZERO_SHARE`] of the values are 0 (the span was all waiting): the
//!    four families are continuous on (0, ∞) and cannot hold an atom at 0, so
//!    `empirical` samples;
//! 3. fewer than [`MIN_FIT`] positive values: `empirical` samples, since so few cannot
//!    tell the families apart (every one passes the test, and AIC then rewards noise);
//! 4. otherwise the four families are fitted to the positive values
//!    ([`super::fit`]); those whose Kolmogorov-Smirnov p-value is at least
//!    [`KS_LEVEL`] pass, and none passing gives `empirical` samples;
//! 5. among those passing, [`Selection::Aic`] takes the lowest AIC, except that the
//!    exponential is kept over a gamma or Weibull (which contain it at shape 1) unless
//!    the likelihood-ratio test rejects it at 1% (Wilks: 2 Δ ln L > χ²₁(0.99) = 6.635):
//!    a shape of 1.02 is not evidence of anything; [`Selection::Ks`] takes the smallest D.

use super::fit::{Candidate, Fitted, fit_all};

/// Significance level of the goodness-of-fit test.
pub const KS_LEVEL: f64 = 0.01;
/// Most zeros among the values before the families are given up for samples.
pub const MAX_ZERO_SHARE: f64 = 0.01;
/// Fewest positive values a family is fitted to: with fewer, a goodness-of-fit test has
/// little power to reject any of the four (Law, "Simulation Modeling and Analysis",
/// ch. 6, on small samples), so the choice would follow the noise.
pub const MIN_FIT: usize = 30;
/// χ²₁ quantile at 0.99: the likelihood-ratio threshold for a shape parameter.
const CHI2_1_99: f64 = 6.634_896_601_021_214;

/// How the best of the passing families is chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// Lowest Akaike information criterion (nested exponential kept unless rejected).
    #[default]
    Aic,
    /// Smallest Kolmogorov-Smirnov statistic.
    Ks,
}

/// What the scenario's `service_time` becomes.
#[derive(Clone, Debug, PartialEq)]
pub enum Choice {
    /// A fitted family.
    Family(Fitted),
    /// Resampled observations (no family passed, or too many zeros).
    Empirical,
    /// Always this many seconds.
    Constant(f64),
}

/// The fit of one service's own times.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// Observations.
    pub n: usize,
    /// Observations equal to 0 (left out of the family fits).
    pub zeros: usize,
    /// Their mean, in seconds.
    pub mean_s: f64,
    /// Every family fitted, in the order exponential, lognormal, gamma, Weibull.
    pub candidates: Vec<Candidate>,
    /// What the scenario uses.
    pub choice: Choice,
    /// Why, in a sentence.
    pub reason: String,
    /// The observations in seconds, sorted (for CDF and QQ plots).
    pub sorted: Vec<f64>,
}

/// Fits and chooses for `values` (seconds, >= 0).
pub fn choose(mut values: Vec<f64>, selection: Selection) -> FitReport {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let zeros = values.iter().take_while(|&&v| v <= 0.0).count();
    let mean_s = if n == 0 { 0.0 } else { values.iter().sum::<f64>() / n as f64 };
    let mut report = FitReport {
        n,
        zeros,
        mean_s,
        candidates: Vec::new(),
        choice: Choice::Empirical,
        reason: String::new(),
        sorted: Vec::new(),
    };
    if n < 2 || values[0] == values[n - 1] {
        report.choice = Choice::Constant(values.first().copied().unwrap_or(0.0).max(0.0));
        report.reason = format!("{n} observation(s), all equal: constant");
        report.sorted = values;
        return report;
    }
    report.candidates = fit_all(&values[zeros..]);
    if zeros as f64 > MAX_ZERO_SHARE * n as f64 {
        report.reason = format!("{zeros} of {n} own times are 0, which no continuous family holds: empirical samples");
    } else if n - zeros < MIN_FIT {
        report.reason =
            format!("{} own times, too few to tell the families apart (under {MIN_FIT}): empirical samples", n - zeros);
    } else {
        pick(&mut report, selection);
    }
    report.sorted = values;
    report
}

fn pick(report: &mut FitReport, selection: Selection) {
    let passing: Vec<&Candidate> = report.candidates.iter().filter(|c| c.ks_p >= KS_LEVEL).collect();
    let best = match selection {
        Selection::Aic => passing.iter().min_by(|a, b| a.aic.total_cmp(&b.aic)),
        Selection::Ks => passing.iter().min_by(|a, b| a.ks_d.total_cmp(&b.ks_d)),
    };
    let Some(&best) = best else {
        report.reason = format!("no family passes the Kolmogorov-Smirnov test at {KS_LEVEL}: empirical samples");
        return;
    };
    let exponential = passing.iter().find(|c| matches!(c.fitted, Fitted::Exponential { .. }));
    let nested = matches!(best.fitted, Fitted::Gamma { .. } | Fitted::Weibull { .. });
    if let (Selection::Aic, true, Some(exp)) = (selection, nested, exponential)
        && 2.0 * (best.log_likelihood - exp.log_likelihood) <= CHI2_1_99
    {
        report.choice = Choice::Family(exp.fitted);
        report.reason = format!(
            "exponential kept: the {}'s shape is not significant (likelihood ratio {:.2} <= {CHI2_1_99:.3}); KS D = {:.4}, p = {:.3}",
            best.fitted.family(),
            2.0 * (best.log_likelihood - exp.log_likelihood),
            exp.ks_d,
            exp.ks_p
        );
        return;
    }
    let by = if selection == Selection::Aic { "lowest AIC" } else { "smallest KS D" };
    report.choice = Choice::Family(best.fitted);
    report.reason = format!(
        "{} ({by} of those passing at {KS_LEVEL}); KS D = {:.4}, p = {:.3}",
        best.fitted.family(),
        best.ks_d,
        best.ks_p
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Exp, Gamma, LogNormal, Uniform, Weibull};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn draw(d: impl Distribution<f64>, seed: u64) -> Vec<f64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..2000).map(|_| d.sample(&mut rng)).collect()
    }

    fn family(r: &FitReport) -> &'static str {
        match &r.choice {
            Choice::Family(f) => f.family(),
            Choice::Empirical => "empirical",
            Choice::Constant(_) => "constant",
        }
    }

    #[test]
    fn the_right_family_wins() {
        let cases: [(&str, Vec<f64>); 4] = [
            ("exponential", draw(Exp::new(20.0).unwrap(), 11)),
            ("lognormal", draw(LogNormal::new(-4.0, 0.6).unwrap(), 12)),
            ("gamma", draw(Gamma::new(3.0, 0.004).unwrap(), 13)),
            ("weibull", draw(Weibull::new(0.02, 0.7).unwrap(), 14)),
        ];
        for (want, xs) in cases {
            for selection in [Selection::Aic, Selection::Ks] {
                let r = choose(xs.clone(), selection);
                assert_eq!(r.candidates.len(), 4);
                if selection == Selection::Aic || want != "exponential" {
                    assert_eq!(family(&r), want, "{selection:?}: {}", r.reason);
                }
            }
        }
    }

    #[test]
    fn no_family_fits_two_separate_humps_so_samples_are_used() {
        let mut xs = draw(Uniform::new(0.010, 0.011).unwrap(), 21);
        xs.extend(draw(Uniform::new(0.100, 0.101).unwrap(), 22));
        let r = choose(xs, Selection::Aic);
        assert_eq!(family(&r), "empirical", "{}", r.reason);
        assert!(r.candidates.iter().all(|c| c.ks_p < KS_LEVEL));
    }

    #[test]
    fn zeros_and_constants() {
        let mut xs = draw(Exp::new(20.0).unwrap(), 31);
        xs.extend([0.0; 100]);
        assert_eq!(family(&choose(xs, Selection::Aic)), "empirical");
        assert_eq!(choose(vec![0.003; 5], Selection::Aic).choice, Choice::Constant(0.003));
        assert_eq!(choose(vec![], Selection::Aic).choice, Choice::Constant(0.0));
    }

    #[test]
    fn too_few_values_are_resampled_not_fitted() {
        let xs = draw(Exp::new(20.0).unwrap(), 41);
        let few = choose(xs[..MIN_FIT - 1].to_vec(), Selection::Aic);
        assert_eq!(family(&few), "empirical", "{}", few.reason);
        assert_eq!(few.candidates.len(), 4, "the fits are still reported");
        assert_eq!(family(&choose(xs[..MIN_FIT].to_vec(), Selection::Aic)), "exponential");
    }
}
