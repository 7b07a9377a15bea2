//! Error budgets, burn rates and multi-window alerts: the arithmetic of SLO reports,
//! free of the simulation so it can be checked against worked numbers.
//!
//! An SLO with objective `o` allows a share `1 − o` of bad events. Over a period that is
//! a **time-based** budget, `(1 − o) × period` (99.99% over 31 days allows 267.84 s of
//! downtime), or a **request-based** one, `(1 − o) × valid requests`; the two agree when
//! requests arrive at a steady rate. The **burn rate** is how fast a budget is being
//! spent relative to the rate that would use it exactly by the end of the period:
//! `(bad / valid) / (1 − o)`. A run's average burn rate is therefore its consumed
//! budget fraction, and a run of length `d` burning at rate `b` uses `b × d / period` of
//! a whole period's budget (14.4× for an hour is 2% of a 30-day budget).
//!
//! Month conventions differ, so they are named: [`MONTH_30D_S`] (the default),
//! [`MONTH_31D_S`] (744 h, the seeds' error-budget example) and [`MONTH_AVG_S`] (a
//! twelfth of a 365-day year, 30.42 days, the seeds' dashboard).
//!
//! Alerts follow the Google SRE workbook's multi-window, multi-burn-rate rule as the
//! Prometheus rules of `resim export prometheus-rules` (Sloth's form) state it: at each
//! evaluation the expression `short > t and long > t` holds when the error ratio
//! (bad / valid) over both windows exceeds `t = factor × (1 − objective)` (Sloth's
//! threshold, [`error_ratio_threshold`]), so an alert fires at the first evaluation where
//! both burn and resolves at the first where either does not (the short window makes the
//! resolution fast once the incident is over). The rules of one severity are ORed into
//! one alert, as Sloth's page and ticket alerts ([`evaluate_alerts`]). A window without
//! valid requests has no ratio (Prometheus divides 0 by 0: NaN, and `NaN > t` is false).

use crate::model::AlertRule;

/// Seconds in a day.
pub const DAY_S: f64 = 86_400.0;
/// A 30-day month, the default SLO period.
pub const MONTH_30D_S: f64 = 30.0 * DAY_S;
/// A 31-day month (744 hours).
pub const MONTH_31D_S: f64 = 31.0 * DAY_S;
/// An average month: a twelfth of a 365-day year (30.42 days).
pub const MONTH_AVG_S: f64 = 365.0 / 12.0 * DAY_S;
/// A 365-day year.
pub const YEAR_S: f64 = 365.0 * DAY_S;
/// A week.
pub const WEEK_S: f64 = 7.0 * DAY_S;

/// The share of events an objective allows to be bad, `1 − objective`, computed from the
/// objective's shortest decimal form so that `0.999` gives exactly the double nearest
/// `0.001` (plain `1.0 - 0.999` is `0.0010000000000000009`).
pub fn allowed_bad_fraction(objective: f64) -> f64 {
    let text = format!("{objective}");
    if let Some(frac) = text.strip_prefix("0.")
        && !frac.is_empty()
        && frac.len() <= 15
        && frac.bytes().all(|b| b.is_ascii_digit())
        && let Ok(digits) = frac.parse::<u64>()
    {
        let scale = 10u64.pow(frac.len() as u32);
        return (scale - digits) as f64 / scale as f64;
    }
    1.0 - objective
}

/// Time-based error budget: `(1 − objective) × period`, seconds.
pub fn time_budget_s(objective: f64, period_s: f64) -> f64 {
    allowed_bad_fraction(objective) * period_s
}

/// Request-based error budget: `(1 − objective) × valid` bad requests allowed.
pub fn request_budget(objective: f64, valid: f64) -> f64 {
    allowed_bad_fraction(objective) * valid
}

/// How much of a budget is used and left.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetUse {
    /// The budget.
    pub total: f64,
    /// Used (bad events, or bad seconds).
    pub consumed: f64,
    /// `total − consumed`; negative when over budget.
    pub remaining: f64,
    /// `consumed / total`; above 1 when over budget (None when the budget is 0).
    pub consumed_fraction: Option<f64>,
    /// `remaining / total`.
    pub remaining_fraction: Option<f64>,
}

/// The use of a budget of `total` of which `consumed` is spent.
pub fn budget_use(total: f64, consumed: f64) -> BudgetUse {
    let remaining = total - consumed;
    let frac = |x: f64| (total > 0.0).then(|| x / total);
    BudgetUse { total, consumed, remaining, consumed_fraction: frac(consumed), remaining_fraction: frac(remaining) }
}

/// Burn rate of `bad` out of `valid` events: `(bad / valid) / (1 − objective)`. 1 spends
/// the budget exactly over the period; 0 when there were no valid events.
pub fn burn_rate(bad: f64, valid: f64, objective: f64) -> f64 {
    if valid > 0.0 { bad / valid / allowed_bad_fraction(objective) } else { 0.0 }
}

/// How long `remaining` budget lasts when spent at `rate` per unit of time (same units);
/// None when nothing is being spent.
pub fn time_to_exhaustion(remaining: f64, rate: f64) -> Option<f64> {
    (rate > 0.0).then(|| remaining.max(0.0) / rate)
}

/// The share of a whole period's budget used by `duration_s` of burning at `burn_rate`.
pub fn period_budget_fraction(burn_rate: f64, duration_s: f64, period_s: f64) -> f64 {
    burn_rate * duration_s / period_s
}

/// Verdict of an observed value against a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The observed value must be at least the target (availability, throughput).
    AtLeast,
    /// The observed value must be at most the target (latency percentile, error rate).
    AtMost,
}

/// True when `observed` meets `target`.
pub fn holds(observed: f64, target: f64, how: Target) -> bool {
    match how {
        Target::AtLeast => observed >= target,
        Target::AtMost => observed <= target,
    }
}

/// One firing of an alert over a series of windows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Firing {
    /// The window at whose end it fired.
    pub fired: usize,
    /// The window at whose end it resolved; None when still firing at the end.
    pub reset: Option<usize>,
    /// Which of the evaluated rules fired it: the first whose expression held.
    pub rule: usize,
    /// That rule's long-window burn rate when it fired.
    pub long_burn_rate: f64,
    /// That rule's short-window burn rate when it fired.
    pub short_burn_rate: f64,
}

/// A multi-window alert rule in whole series windows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowRule {
    /// Burn-rate factor both windows must exceed.
    pub factor: f64,
    /// Long window, in series windows (at least 1).
    pub long: usize,
    /// Short window, in series windows (at least 1).
    pub short: usize,
}

/// The error ratio above which a rule's windows burn too fast, as Sloth writes it in its
/// alert expressions: `factor × (1 − objective)` (`(14.4 * 0.001)` for 99.9%).
pub fn error_ratio_threshold(factor: f64, objective: f64) -> f64 {
    factor * allowed_bad_fraction(objective)
}

/// Running sums of a series of `valid` and `bad` counts, for window ratios.
struct Sums {
    valid: Vec<f64>,
    bad: Vec<f64>,
}

impl Sums {
    fn new(valid: &[f64], bad: &[f64]) -> Sums {
        let n = valid.len().min(bad.len());
        let mut s = Sums { valid: Vec::with_capacity(n + 1), bad: Vec::with_capacity(n + 1) };
        s.valid.push(0.0);
        s.bad.push(0.0);
        for i in 0..n {
            s.valid.push(s.valid[i] + valid[i]);
            s.bad.push(s.bad[i] + bad[i]);
        }
        s
    }

    fn len(&self) -> usize {
        self.valid.len() - 1
    }

    /// Bad and valid counts of the `len` windows ending with window `end` (what there is,
    /// when they reach back before the first).
    fn counts(&self, end: usize, len: usize) -> (f64, f64) {
        let start = (end + 1).saturating_sub(len.max(1));
        (self.bad[end + 1] - self.bad[start], self.valid[end + 1] - self.valid[start])
    }

    /// Whether `rule`'s expression holds at the end of window `end`: the error ratio of
    /// both windows above the threshold `t` (Sloth's `short > t and long > t`).
    fn holds(&self, end: usize, rule: WindowRule, t: f64) -> bool {
        let above = |(bad, valid): (f64, f64)| valid > 0.0 && bad / valid > t;
        above(self.counts(end, rule.short)) && above(self.counts(end, rule.long))
    }
}

/// Evaluates one rule at the end of every window of a series of `valid` and `bad` counts
/// (the same length): [`evaluate_alerts`] with one rule.
pub fn evaluate_alert(valid: &[f64], bad: &[f64], objective: f64, rule: WindowRule) -> Vec<Firing> {
    evaluate_alerts(valid, bad, objective, &[rule])
}

/// Evaluates the alert that ORs `rules` (one severity's, as Sloth groups them) at the end
/// of every window, as Prometheus evaluates the exported expression: it fires at the
/// first window where some rule's long and short error ratios both exceed
/// [`error_ratio_threshold`], and resolves at the first where none does. A window reaching
/// back before the first one covers what there is (the measured time so far).
pub fn evaluate_alerts(valid: &[f64], bad: &[f64], objective: f64, rules: &[WindowRule]) -> Vec<Firing> {
    let sums = Sums::new(valid, bad);
    let thresholds: Vec<f64> = rules.iter().map(|r| error_ratio_threshold(r.factor, objective)).collect();
    let burn = |end: usize, len: usize| {
        let (bad, valid) = sums.counts(end, len);
        burn_rate(bad, valid, objective)
    };
    let mut out: Vec<Firing> = Vec::new();
    let mut firing = false;
    for k in 0..sums.len() {
        let first = rules.iter().zip(&thresholds).position(|(&r, &t)| sums.holds(k, r, t));
        match (firing, first) {
            (false, Some(i)) => {
                let r = rules[i];
                out.push(Firing {
                    fired: k,
                    reset: None,
                    rule: i,
                    long_burn_rate: burn(k, r.long),
                    short_burn_rate: burn(k, r.short),
                });
            }
            (true, None) => {
                if let Some(f) = out.last_mut() {
                    f.reset = Some(k);
                }
            }
            _ => {}
        }
        firing = first.is_some();
    }
    out
}

/// The name of an SLO's alerts in the exported Prometheus rules (Sloth takes it from the
/// spec's `alerting.name`; resim derives it): the SLO name's alphanumeric runs, each
/// capitalised, then `ErrorBudgetBurn` (`checkout-availability` gives
/// `CheckoutAvailabilityErrorBudgetBurn`), so it is a valid Prometheus metric name.
pub fn alert_name(slo: &str) -> String {
    let mut out = String::new();
    for part in slo.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
        out.push_str(chars.as_str());
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "Slo");
    }
    out + "ErrorBudgetBurn"
}

/// The severities of `rules`, page first, each with the indices of its rules: the alerts
/// Sloth writes, one per severity, each ORing its rules.
pub fn severities(rules: &[AlertRule]) -> Vec<(&'static str, Vec<usize>)> {
    ["page", "ticket"]
        .into_iter()
        .map(|sev| (sev, rules.iter().enumerate().filter(|(_, r)| r.severity == sev).map(|(i, _)| i).collect()))
        .filter(|(_, list): &(_, Vec<usize>)| !list.is_empty())
        .collect()
}

/// Whole series windows standing for `span_s` simulated seconds: the nearest count, at
/// least 1.
pub fn windows_for(span_s: f64, window_s: f64) -> usize {
    if window_s > 0.0 && span_s.is_finite() { ((span_s / window_s).round() as usize).max(1) } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-9;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    // Appendix C vectors 1-4: time-based budgets under each month convention.
    #[test]
    fn vector_1_to_4_time_based_budgets() {
        let b = time_budget_s(0.9999, MONTH_31D_S);
        assert!(close(b, 267.84, EPS), "{b}");
        assert!(close(b / 60.0, 4.464, EPS));
        assert!(close(time_budget_s(0.9999, MONTH_AVG_S) / 60.0, 4.38, EPS));
        assert!(close(time_budget_s(0.9999, MONTH_30D_S) / 60.0, 4.32, EPS));
        assert!(close(time_budget_s(0.999, MONTH_30D_S) / 60.0, 43.2, EPS));
        // The seeds' yearly figures (vectors 11 and 12 and §3.1).
        assert!(close(time_budget_s(0.999, YEAR_S) / 3600.0, 8.76, EPS));
        assert!(close(time_budget_s(0.9995, YEAR_S) / 3600.0, 4.38, EPS));
        assert!(close(time_budget_s(0.99999, YEAR_S) / 60.0, 5.256, EPS));
        assert!(close(time_budget_s(0.9997, YEAR_S) / 60.0, 157.68, EPS));
    }

    // Vector 5: 240 s used of 267.84 s.
    #[test]
    fn vector_5_budget_consumed() {
        let u = budget_use(time_budget_s(0.9999, MONTH_31D_S), 240.0);
        assert!(close(u.consumed_fraction.unwrap(), 0.896_057, 1e-6), "{u:?}");
        assert!(close(u.remaining, 27.84, EPS));
        assert!(close(u.remaining_fraction.unwrap(), 0.103_943, 1e-6));
        // Rounded as the seeds print it.
        assert_eq!(format!("{:.1}%", u.consumed_fraction.unwrap() * 100.0), "89.6%");
    }

    // Vector 6: 27.84 s left, burning 60 s a week.
    #[test]
    fn vector_6_time_to_exhaustion() {
        let weeks = time_to_exhaustion(27.84, 60.0).unwrap();
        assert!(close(weeks, 0.464, EPS));
        let days = time_to_exhaustion(27.84, 60.0 / WEEK_S).unwrap() / DAY_S;
        assert!(close(days, 3.248, EPS));
        assert_eq!(time_to_exhaustion(27.84, 0.0), None);
        assert_eq!(time_to_exhaustion(-5.0, 1.0), Some(0.0));
    }

    // Vector 7: 1.2 min used of the 30.42-day month's 4.38 min.
    #[test]
    fn vector_7_budget_left() {
        let u = budget_use(time_budget_s(0.9999, MONTH_AVG_S) / 60.0, 1.2);
        assert!(close(u.remaining, 3.18, EPS));
        assert!(close(u.remaining_fraction.unwrap(), 0.726, 1e-3));
    }

    // Vector 8: P95 < 200 ms allows 5% slow; 12% were slow.
    #[test]
    fn vector_8_latency_budget_over() {
        let allowed = allowed_bad_fraction(0.95);
        assert!(close(allowed, 0.05, EPS));
        let u = budget_use(allowed, 0.12);
        assert!(close(u.remaining, -0.07, EPS));
        assert!(u.consumed_fraction.unwrap() > 1.0);
        assert!(!holds(1.0 - 0.12, 0.95, Target::AtLeast));
    }

    // Vector 9: error-rate budget 0.1%, 0.05% used.
    #[test]
    fn vector_9_error_rate_budget() {
        let u = budget_use(allowed_bad_fraction(0.999), 0.0005);
        assert!(close(u.remaining, 0.0005, EPS));
        assert!(close(u.remaining_fraction.unwrap(), 0.5, EPS));
    }

    // Vector 10: four SLO verdicts, one breached (latency).
    #[test]
    fn vector_10_verdicts() {
        let checks = [
            holds(0.99995, 0.9999, Target::AtLeast), // availability 99.995% vs 99.99%
            holds(0.245, 0.200, Target::AtMost),     // p95 245 ms vs 200 ms
            holds(0.0005, 0.001, Target::AtMost),    // error rate 0.05% vs 0.1%
            holds(1250.0, 1000.0, Target::AtLeast),  // throughput 1250 vs 1000 rps
        ];
        assert_eq!(checks, [true, false, true, true]);
        assert_eq!(checks.iter().filter(|&&ok| !ok).count(), 1);
    }

    #[test]
    fn allowed_fraction_is_the_decimal_complement() {
        assert_eq!(allowed_bad_fraction(0.999), 0.001);
        assert_eq!(allowed_bad_fraction(0.9999), 0.0001);
        assert_eq!(allowed_bad_fraction(0.99), 0.01);
        assert_eq!(allowed_bad_fraction(0.5), 0.5);
        assert_eq!(request_budget(0.999, 123_456.0), 123.456);
    }

    #[test]
    fn burn_rates_by_hand() {
        // 99.9%: 1000 requests, 1 bad spends the budget exactly as fast as allowed.
        assert!(close(burn_rate(1.0, 1000.0, 0.999), 1.0, EPS));
        // 15 bad of 1000 = 1.5% bad = 15x.
        assert!(close(burn_rate(15.0, 1000.0, 0.999), 15.0, EPS));
        // 99%: 12% bad = 12x.
        assert!(close(burn_rate(12.0, 100.0, 0.99), 12.0, EPS));
        assert_eq!(burn_rate(0.0, 0.0, 0.999), 0.0);
        // The workbook: 14.4x for an hour is 2% of a 30-day budget, 6x for 6 hours 5%, 1x
        // for 3 days 10%.
        assert!(close(period_budget_fraction(14.4, 3600.0, MONTH_30D_S), 0.02, EPS));
        assert!(close(period_budget_fraction(6.0, 6.0 * 3600.0, MONTH_30D_S), 0.05, EPS));
        assert!(close(period_budget_fraction(1.0, 3.0 * DAY_S, MONTH_30D_S), 0.1, EPS));
        // At 14.4x a 30-day budget lasts 30 d / 14.4 = 50 hours.
        assert!(close(time_to_exhaustion(MONTH_30D_S, 14.4).unwrap() / 3600.0, 50.0, EPS));
    }

    #[test]
    fn alert_fires_when_both_windows_burn_and_resolves_on_the_short_one() {
        // 99%: 100 requests a window; bad windows 3..=5 at 20% (20x), then clean.
        let valid = [100.0; 12];
        let mut bad = [0.0; 12];
        bad[3..=5].fill(20.0);
        let rule = WindowRule { factor: 14.4, long: 4, short: 1 };
        let f = evaluate_alert(&valid, &bad, 0.99, rule);
        // Window 3: short 20x, long (windows 0..=3) 20/400 = 5% = 5x: not yet.
        // Window 4: long 40/400 = 10x: not yet. Window 5: long 60/400 = 15x > 14.4: fires.
        // Window 6: short 0: resolves.
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].fired, 5);
        assert_eq!(f[0].reset, Some(6));
        assert!(close(f[0].long_burn_rate, 15.0, EPS) && close(f[0].short_burn_rate, 20.0, EPS));
    }

    #[test]
    fn alert_holds_while_both_windows_burn() {
        // Short window 2, long 3; 99%, 100 per window.
        let valid = [100.0; 8];
        let bad = [0.0, 50.0, 50.0, 20.0, 20.0, 20.0, 0.0, 0.0];
        let rule = WindowRule { factor: 14.4, long: 3, short: 2 };
        let f = evaluate_alert(&valid, &bad, 0.99, rule);
        // Window 1: long (0..=1 so far) 50/200 = 25x, short 25x: fires. Windows 2-5: both
        // at least 20x. Window 6: short (5..=6) 20/200 = 10x: resolves.
        assert_eq!(f, vec![Firing { fired: 1, reset: Some(6), rule: 0, long_burn_rate: 25.0, short_burn_rate: 25.0 }]);
    }

    // Prometheus evaluates `short > t and long > t` afresh each time: once the long window
    // cools the alert resolves, though the short one still burns.
    #[test]
    fn alert_resolves_when_the_long_window_cools() {
        let rule = WindowRule { factor: 14.4, long: 3, short: 1 };
        let bad = [60.0, 0.0, 15.0, 15.0];
        let f = evaluate_alert(&[100.0; 4], &bad, 0.99, rule);
        // Window 0: 60%. Window 1: short 0: resolves. Window 2: short 15% = 15x, long
        // 75/300 = 25x: fires again. Window 3: short 15x, long (1..=3) 30/300 = 10x:
        // resolves.
        let spans: Vec<_> = f.iter().map(|f| (f.fired, f.reset)).collect();
        assert_eq!(spans, vec![(0, Some(1)), (2, Some(3))]);
    }

    #[test]
    fn thresholds_are_sloths_factor_times_budget_and_strict() {
        assert_eq!(error_ratio_threshold(14.4, 0.999), 14.4 * 0.001);
        assert_eq!(error_ratio_threshold(6.0, 0.99), 6.0 * 0.01);
        // Exactly at the threshold (2 of 100 at 2 × 1%) is not above it.
        let rule = WindowRule { factor: 2.0, long: 2, short: 1 };
        assert!(evaluate_alert(&[100.0; 3], &[2.0; 3], 0.99, rule).is_empty());
        assert_eq!(evaluate_alert(&[100.0; 3], &[3.0; 3], 0.99, rule).len(), 1);
    }

    // Sloth ORs a severity's rules into one alert: it fires with the first rule that holds
    // and resolves when none does.
    #[test]
    fn a_severity_alert_ors_its_rules() {
        let fast = WindowRule { factor: 14.4, long: 4, short: 1 };
        let slow = WindowRule { factor: 6.0, long: 8, short: 2 };
        // 99%, 100 per window: 8% bad from window 2 to 9 (8x: only the slow rule), then a
        // 50% spike in window 10 (both), then clean.
        let mut bad = [0.0; 14];
        bad[2..=9].fill(8.0);
        bad[10] = 50.0;
        let f = evaluate_alerts(&[100.0; 14], &bad, 0.99, &[fast, slow]);
        // Slow: window 2: short (1..=2) 4%, no; window 3: short 8%, long (0..=3) 16/400 =
        // 4%, no; window 5: long 32/600 = 5.3%, no; window 6: long 40/700 = 5.7%; window
        // 7: long (0..=7) 48/800 = 6%, not above; window 8: long (1..=8) 56/800 = 7%: fires.
        // It holds through window 10 (the fast rule also holds there); window 11: slow
        // short (10..=11) 25%, long (4..=11) 98/800 = 12%: holds; window 12: short 0:
        // neither holds.
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].fired, f[0].reset, f[0].rule), (8, Some(12), 1));
        assert!(close(f[0].long_burn_rate, 7.0, EPS) && close(f[0].short_burn_rate, 8.0, EPS));
        // The fast rule alone fires at the spike: short 50x, long (7..=10) 74/400 = 18.5x.
        let g = evaluate_alert(&[100.0; 14], &bad, 0.99, fast);
        assert_eq!(g.iter().map(|f| (f.fired, f.reset)).collect::<Vec<_>>(), vec![(10, Some(11))]);
    }

    #[test]
    fn no_alert_on_a_clean_or_empty_series_and_refire_after_reset() {
        let rule = WindowRule { factor: 6.0, long: 3, short: 1 };
        assert!(evaluate_alert(&[100.0; 5], &[0.0; 5], 0.999, rule).is_empty());
        assert!(evaluate_alert(&[0.0; 5], &[0.0; 5], 0.999, rule).is_empty());
        assert!(evaluate_alert(&[], &[], 0.999, rule).is_empty());
        // Two separate bursts fire twice; the last one is still firing at the end.
        // The second: short 30x, long (windows 3..=5) 30/300 = 10x.
        let bad = [10.0, 0.0, 0.0, 0.0, 0.0, 30.0];
        let f = evaluate_alert(&[100.0; 6], &bad, 0.99, rule);
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].fired, f[0].reset), (0, Some(1)));
        assert_eq!((f[1].fired, f[1].reset), (5, None));
    }

    #[test]
    fn alert_names_are_metric_names() {
        assert_eq!(alert_name("checkout-availability"), "CheckoutAvailabilityErrorBudgetBurn");
        assert_eq!(alert_name("p99 latency"), "P99LatencyErrorBudgetBurn");
        assert_eq!(alert_name("99.9% up"), "Slo999UpErrorBudgetBurn");
        assert_eq!(alert_name("é"), "SloErrorBudgetBurn");
    }

    #[test]
    fn window_counts_round_to_at_least_one() {
        assert_eq!(windows_for(60.0, 6.0), 10);
        assert_eq!(windows_for(8.3, 6.0), 1);
        assert_eq!(windows_for(0.5, 6.0), 1);
        assert_eq!(windows_for(75.0, 30.0), 3);
    }
}
