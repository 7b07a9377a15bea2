//! The distribution of the time an accepted request spends in an M/M/c or M/M/c/K
//! station (its sojourn, wait plus service), for the truth of latency percentiles.
//!
//! By PASTA (Poisson arrivals see time averages) an arrival finds n requests inside with
//! the stationary probability P_n; one that is admitted (n < K) finds n with
//! P_n / (1 − P_K) (Gross & Harris, *Fundamentals of Queueing Theory*, §2.2 and §2.5, the
//! arrival-point distribution q_n). Under FIFO it is served at once when n < c, so its
//! sojourn is its service, Exp(μ); otherwise it first waits for n − c + 1 departures of a
//! station whose c workers are all busy, each after an Exp(cμ) time, so its sojourn is
//! Erlang(n − c + 1, cμ) + Exp(μ) (Gross & Harris §2.2.4 for M/M/1, §2.3.2 for the M/M/c
//! waiting-time distribution). The sojourn is the mixture of these over n. For K = ∞ the
//! mixture is summed until the arrival probabilities left are below 1e-17; its waiting
//! part then sums to the Erlang C tail C·e^{−(cμ−λ)t}, which the unit tests check.
//!
//! Every probability is summed from non-negative terms formed in log space, so nothing
//! cancels or overflows for long queues; quantiles are found by bisection on the
//! survival function, which is monotone. Pure arithmetic, deterministic.

use super::{TheoryError, bisect, mmck};

/// Arrival probabilities below this share of the largest are left out of the mixture:
/// their sojourn survival is at most 1, so the sum changes by less than 1e-17 per state.
const NEGLIGIBLE: f64 = 1e-17;

/// The sojourn-time distribution of an accepted request in an M/M/c/K station (FIFO).
#[derive(Clone, Debug, PartialEq)]
pub struct Sojourn {
    /// Service rate μ of one worker, per second.
    mu: f64,
    /// Workers c.
    servers: u32,
    /// The probability that an admitted request finds `n` inside, for n = 0, 1, ...
    arrival: Vec<f64>,
}

/// The sojourn-time distribution of a request admitted to an M/M/c (`capacity = None`)
/// or M/M/c/K station with Poisson arrivals at `lambda`, exponential service at `mu` per
/// worker and `servers` workers: the mixture over the state it finds (see the module
/// doc). Errors as [`mmck`] does on invalid or unstable parameters.
pub fn mmck_sojourn(lambda: f64, mu: f64, servers: u32, capacity: Option<u32>) -> Result<Sojourn, TheoryError> {
    mmck(lambda, mu, servers, capacity)?;
    let a = lambda / mu;
    let c = f64::from(servers);
    // ln P_n up to a constant: a^n/n! up to c, then a factor ρ = a/c per extra request.
    let ln_step = |n: u64| if n <= u64::from(servers) { a.ln() - (n as f64).ln() } else { (a / c).ln() };
    let last = capacity.map(|k| u64::from(k).saturating_sub(1));
    let mut ln_p = vec![0.0];
    let mut peak: f64 = 0.0;
    for n in 1.. {
        if last.is_some_and(|l| n > l) || a == 0.0 {
            break;
        }
        let next = ln_p[ln_p.len() - 1] + ln_step(n);
        peak = peak.max(next);
        // Unbounded: past the workers the terms fall geometrically; stop when what is
        // left, P_n/(1 − ρ), is negligible.
        if last.is_none() && n > u64::from(servers) && next - (1.0 - a / c).ln() < peak + NEGLIGIBLE.ln() {
            break;
        }
        ln_p.push(next);
    }
    let weights: Vec<f64> = ln_p.iter().map(|l| (l - peak).exp()).collect();
    let total: f64 = weights.iter().sum();
    Ok(Sojourn { mu, servers, arrival: weights.iter().map(|w| w / total).collect() })
}

impl Sojourn {
    /// The mean sojourn, seconds: Σ q_n (max(0, n − c + 1)/(cμ) + 1/μ).
    pub fn mean(&self) -> f64 {
        let rate = f64::from(self.servers) * self.mu;
        let waits = self.arrival.iter().enumerate().map(|(n, q)| q * self.waits_for(n) as f64 / rate);
        waits.sum::<f64>() + 1.0 / self.mu
    }

    /// P(T > t), the probability that an admitted request stays longer than `t` seconds.
    ///
    /// An arrival that waits for k departures stays longer than t with probability
    /// S_k = P(E_k > t) + R_k, E_k ~ Erlang(k, cμ), where P(E_k > t) = P(Poisson(cμt) < k)
    /// and R_k = ∫₀ᵗ f_{E_k}(x)·e^{−μ(t−x)} dx = Σ_{j≥k} e^{−cμt}·(cμ)^k·δ^{j−k}·t^j/j!
    /// with δ = (c − 1)μ. Both are sums of non-negative terms: the first is accumulated
    /// upwards in k, the second downwards, R_k = P(Poisson(cμt) = k) + (δ/cμ)·R_{k+1},
    /// from the longest wait, summed directly. O(states + terms), no cancellation.
    pub fn survival(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 1.0;
        }
        let c = self.servers as usize;
        let served_at_once: f64 = self.arrival.iter().take(c).sum();
        let longest = self.arrival.len().saturating_sub(c);
        let mut total = served_at_once * (-self.mu * t).exp();
        if longest == 0 {
            return total.clamp(0.0, 1.0);
        }
        let rate = c as f64 * self.mu;
        let m = rate * t;
        // ln P(Poisson(m) = k) for k = 0..=longest, and P(Poisson(m) < k) as prefix sums.
        let ln_pmf = ln_poisson_pmf(m, longest + 1);
        let below: Vec<f64> = ln_pmf
            .iter()
            .scan(0.0, |acc: &mut f64, l| {
                let before = *acc;
                *acc += l.exp();
                Some(before)
            })
            .collect();
        let ratio = (rate - self.mu) / rate;
        let mut rest = tail_series(longest as u64, ln_pmf[longest], (rate - self.mu) * t);
        for k in (1..=longest).rev() {
            if k < longest {
                rest = ln_pmf[k].exp() + ratio * rest;
            }
            total += self.arrival[c - 1 + k] * (below[k] + rest).min(1.0);
        }
        total.clamp(0.0, 1.0)
    }

    /// The `q`-quantile of the sojourn, seconds (`q` in [0, 1)).
    pub fn quantile(&self, q: f64) -> f64 {
        quantile_of(|t| self.survival(t), q, 1.0 / self.mu)
    }

    /// Departures an arrival finding `n` inside waits for before a worker takes it.
    fn waits_for(&self, n: usize) -> u64 {
        (n as u64 + 1).saturating_sub(u64::from(self.servers))
    }
}

/// ln P(Poisson(`m`) = k) for k = 0..`len`, each step adding ln m − ln k.
fn ln_poisson_pmf(m: f64, len: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(len);
    let mut l = -m;
    for k in 0..len {
        if k > 0 {
            l += m.ln() - (k as f64).ln();
        }
        out.push(l);
    }
    out
}

/// R_k = Σ_{i≥0} e^{−cμt}·(cμ)^k·δ^i·t^{k+i}/(k+i)!, given ln of its first term
/// (P(Poisson(cμt) = k)) and y = δt: each term is the previous times y/(k + i), summed
/// until past the peak (k + i > y) they fall below 1e-17 of the sum.
fn tail_series(k: u64, ln_first: f64, y: f64) -> f64 {
    let mut ln_term = ln_first;
    let mut sum = ln_term.exp();
    if y <= 0.0 {
        return sum;
    }
    for i in 1.. {
        ln_term += y.ln() - ((k + i) as f64).ln();
        let term = ln_term.exp();
        sum += term;
        if (k + i) as f64 > y && term <= sum * NEGLIGIBLE {
            break;
        }
    }
    sum
}

/// `1 − F(t)` of a sum of independent exponentials with distinct `rates`
/// (a hypoexponential distribution): Σ_i e^{−r_i t}·Π_{j≠i} r_j/(r_j − r_i)
/// (Ross, *Introduction to Probability Models*, §5.2.4). The sojourn of a request
/// through a tandem of M/M/1 stations, by Reich's theorem.
pub fn hypoexponential_survival(rates: &[f64], t: f64) -> f64 {
    rates
        .iter()
        .enumerate()
        .map(|(i, &ri)| {
            let weight: f64 =
                rates.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, &rj)| rj / (rj - ri)).product();
            weight * (-ri * t).exp()
        })
        .sum()
}

/// The `q`-quantile of a hypoexponential distribution with distinct `rates`, by
/// bisection on [`hypoexponential_survival`].
pub fn hypoexponential_quantile(rates: &[f64], q: f64) -> f64 {
    let mean: f64 = rates.iter().map(|r| 1.0 / r).sum();
    quantile_of(|t| hypoexponential_survival(rates, t), q, mean)
}

/// The smallest t with `survival(t) ≤ 1 − q`, by doubling a bracket from `scale` and then
/// bisection: robust for any non-increasing survival function.
fn quantile_of(survival: impl Fn(f64) -> f64, q: f64, scale: f64) -> f64 {
    if q <= 0.0 {
        return 0.0;
    }
    let target = 1.0 - q;
    let (mut lo, mut hi) = (0.0, scale.max(f64::MIN_POSITIVE));
    while survival(hi) > target && hi < f64::MAX / 2.0 {
        (lo, hi) = (hi, hi * 2.0);
    }
    bisect(lo, hi, |t| survival(t) > target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theory::erlang_c;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn mm1_quantile_is_the_exponential_of_rate_mu_minus_lambda() {
        // Gross & Harris §2.2.4: the M/M/1 FIFO sojourn is Exp(μ − λ).
        for (lambda, mu) in [(0.5, 1.0), (9.0, 10.0), (0.99, 1.0)] {
            let s = mmck_sojourn(lambda, mu, 1, None).unwrap();
            for q in [0.5f64, 0.9, 0.99, 0.999] {
                let exact = (1.0 / (1.0 - q)).ln() / (mu - lambda);
                assert!(close(s.quantile(q), exact, 1e-9), "λ {lambda} q {q}: {} vs {exact}", s.quantile(q));
            }
            assert!(close(s.mean(), 1.0 / (mu - lambda), 1e-12));
        }
    }

    #[test]
    fn mmc_matches_the_erlang_c_tail_with_service() {
        // P(Wq > t) = C·e^{−θt}, θ = cμ − λ; T = Wq + S: with probability 1 − C just
        // Exp(μ), else Exp(θ) + Exp(μ) (hypoexponential).
        for (lambda, mu, c) in [(1.8, 1.0, 2), (28.8, 1.0, 32), (4.0, 2.0, 3)] {
            let s = mmck_sojourn(lambda, mu, c, None).unwrap();
            let wait = erlang_c(c, lambda / mu).unwrap();
            let theta = f64::from(c) * mu - lambda;
            for t in [0.1, 0.5, 1.0, 3.0, 10.0] {
                let exact = (1.0 - wait) * (-mu * t).exp() + wait * hypoexponential_survival(&[theta, mu], t);
                assert!(close(s.survival(t), exact, 1e-9), "c {c} t {t}: {} vs {exact}", s.survival(t));
            }
            let theory = mmck(lambda, mu, c, None).unwrap();
            assert!(close(s.mean(), theory.mean_sojourn, 1e-9), "{} vs {}", s.mean(), theory.mean_sojourn);
        }
    }

    #[test]
    fn pure_loss_station_is_its_service_and_finite_k_matches_little() {
        let s = mmck_sojourn(5.0, 1.0, 4, Some(4)).unwrap();
        for q in [0.5f64, 0.99] {
            assert!(close(s.quantile(q), (1.0 / (1.0 - q)).ln(), 1e-9));
        }
        // M/M/2/10 at ρ = 0.9: the mixture's mean is Little's W of the station.
        let s = mmck_sojourn(1.8, 1.0, 2, Some(10)).unwrap();
        let theory = mmck(1.8, 1.0, 2, Some(10)).unwrap();
        assert!(close(s.mean(), theory.mean_sojourn, 1e-12), "{} vs {}", s.mean(), theory.mean_sojourn);
        assert!(s.quantile(0.99) > s.quantile(0.9) && s.quantile(0.9) > s.quantile(0.5));
        // Overloaded finite stations are fine; an unstable unbounded one is refused.
        assert!(mmck_sojourn(50.0, 1.0, 2, Some(10)).unwrap().survival(1.0) > 0.0);
        assert!(mmck_sojourn(3.0, 1.0, 2, None).is_err());
    }

    #[test]
    fn long_queues_neither_overflow_nor_cancel() {
        // M/M/1 at ρ = 0.999: thousands of states, Exp(0.001) exactly.
        let s = mmck_sojourn(0.999, 1.0, 1, None).unwrap();
        assert!(close(s.survival(5000.0), (-5.0f64).exp(), 1e-6), "{}", s.survival(5000.0));
        // M/M/2 at ρ = 0.995 against Erlang C far in the tail.
        let (lambda, mu) = (1.99, 1.0);
        let s = mmck_sojourn(lambda, mu, 2, None).unwrap();
        let wait = erlang_c(2, lambda).unwrap();
        let t = 2000.0;
        let exact = (1.0 - wait) * (-mu * t).exp() + wait * hypoexponential_survival(&[2.0 - lambda, mu], t);
        assert!(close(s.survival(t), exact, 1e-6), "{} vs {exact}", s.survival(t));
        assert!(s.quantile(0.999).is_finite());
        // A thousand workers: P_n peaks near e^896 relative to P_0, so the weights are
        // taken relative to the peak, or they overflow to ∞/∞.
        let (lambda, c) = (900.0, 1000);
        let s = mmck_sojourn(lambda, 1.0, c, Some(1200)).unwrap();
        let theory = mmck(lambda, 1.0, c, Some(1200)).unwrap();
        assert!(close(s.mean(), theory.mean_sojourn, 1e-9), "{} vs {}", s.mean(), theory.mean_sojourn);
    }

    #[test]
    fn an_unbounded_queue_is_cut_where_the_tail_bound_falls_below_negligible() {
        // M/M/1: P_n ∝ ρ^n and the tail from n is P_n/(1 − ρ), so the states kept are
        // n = 0 .. n* − 1 with n* the first n whose bound ρ^n/(1 − ρ) is negligible.
        for rho in [0.5f64, 0.9, 0.99, 0.999] {
            let s = mmck_sojourn(rho, 1.0, 1, None).unwrap();
            let cut = ((NEGLIGIBLE * (1.0 - rho)).ln() / rho.ln()).floor() as usize + 1;
            assert_eq!(s.arrival.len(), cut, "ρ {rho}");
        }
        // What is dropped is below f64's resolution of the mean: 1e-14 is its rounding
        // over 10^4 states, while a cut 10^-13 of the mass early is off by 6·10^-14.
        for c in [1, 4] {
            let lambda = 0.995 * f64::from(c);
            let s = mmck_sojourn(lambda, 1.0, c, None).unwrap();
            let theory = mmck(lambda, 1.0, c, None).unwrap();
            assert!(close(s.mean(), theory.mean_sojourn, 1e-14), "c {c}: {} vs {}", s.mean(), theory.mean_sojourn);
        }
    }

    #[test]
    fn a_survival_stuck_above_the_target_still_gives_a_finite_quantile() {
        // Rounding can hold a computed survival above 1 − q for q near 1: the bracket
        // stops doubling below f64::MAX and the answer stays finite.
        let t = quantile_of(|_| 0.5, 0.9, 1.0);
        assert!(t.is_finite() && t >= f64::MAX / 4.0, "{t}");
    }

    #[test]
    fn hypoexponential_of_two_rates() {
        // Exp(1) + Exp(2): P(T > t) = 2e^{−t} − e^{−2t}.
        for t in [0.0f64, 0.3, 1.0, 4.0] {
            let exact = 2.0 * (-t).exp() - (-2.0 * t).exp();
            assert!(close(hypoexponential_survival(&[1.0, 2.0], t), exact, 1e-12));
        }
        let median = hypoexponential_quantile(&[1.0, 2.0], 0.5);
        assert!((hypoexponential_survival(&[1.0, 2.0], median) - 0.5).abs() < 1e-12);
        assert_eq!(hypoexponential_quantile(&[1.0, 2.0], 0.0), 0.0);
    }
}
