//! Single Markovian stations: M/M/c (unbounded) and M/M/c/K (finite capacity).
//!
//! Method. With a = λ/μ, ρ = a/c and m = K − c, the unnormalised state
//! probabilities are `a^n/n!` for n <= c and `(a^c/c!)·ρ^(n−c)` above. The
//! first block sums to `(a^c/c!)/B` with B the Erlang B value (computed by
//! its overflow-free recursion), so after dividing by that sum only the
//! geometric tail `B·ρ^j`, j = 1..m, remains. Its sums `Σρ^j` and `Σj·ρ^j`
//! are evaluated by binary splitting over blocks of powers of two in
//! O(log m) steps that only add positive terms (no cancellation near ρ = 1);
//! for ρ > 1 the tail is reversed (powers of 1/ρ, everything divided by ρ^m)
//! so nothing overflows. Then `P_K` and `Lq` follow directly and
//! `L = Lq + a·(1 − P_K)` (mean busy servers = carried load).

use super::erlang::{erlang_b_pair, erlang_c_stable};
use super::{TheoryError, non_negative, positive};

/// Steady-state metrics of one station (M/M/c or M/M/c/K).
///
/// Rates are per second, times in seconds, lengths in requests.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StationTheory {
    /// Offered arrival rate λ (before blocking).
    pub arrival_rate: f64,
    /// Probability P_K that an arrival finds the station full and is lost (0 when unbounded).
    pub blocking: f64,
    /// Admitted (= completed) rate λ·(1 − P_K).
    pub throughput: f64,
    /// Mean fraction of busy servers, throughput / (c·μ).
    pub utilization: f64,
    /// Mean number of requests in the station, queued plus in service (L).
    pub mean_in_system: f64,
    /// Mean number of requests waiting for a server (Lq).
    pub mean_queue_length: f64,
    /// Mean time an admitted request spends in the station, W = L / throughput.
    pub mean_sojourn: f64,
    /// Mean time an admitted request waits before service, Wq = Lq / throughput.
    pub mean_wait: f64,
}

/// Exact steady state of an M/M/c (`capacity = None`) or M/M/c/K station.
///
/// `lambda` is the Poisson arrival rate, `mu` the exponential service rate of
/// one server, `servers` is c, and `capacity` is Kendall's K: the most
/// requests in the station *including* those in service (`K >= c`; a
/// station with q queue slots has `K = c + q`, and `K = c` is the Erlang B
/// loss system). Errors, never panics, on `λ` negative or not finite, `μ`
/// not finite and positive, `c = 0`, `K < c`, `λ/μ` overflowing, or an
/// unbounded station with `λ >= c·μ`. A finite K is always stable, even
/// when overloaded.
///
/// W and Wq use Little's law with the admitted rate λ·(1 − P_K). When
/// nothing is admitted (`λ = 0`) all counts and rates are 0 and the times
/// take their limits as λ → 0: `W = 1/μ` (a lone request is served at once)
/// and `Wq = 0`. Cost is O(c + log K); results are accurate to about 1e-12
/// relative even for c in the thousands and K in the millions.
pub fn mmck(lambda: f64, mu: f64, servers: u32, capacity: Option<u32>) -> Result<StationTheory, TheoryError> {
    non_negative("arrival rate λ", lambda)?;
    positive("service rate μ", mu)?;
    if servers == 0 {
        return Err(TheoryError::NoServers);
    }
    if let Some(k) = capacity
        && k < servers
    {
        return Err(TheoryError::CapacityBelowServers { capacity: k, servers });
    }
    let offered_load = lambda / mu;
    if !offered_load.is_finite() {
        return Err(TheoryError::InvalidParameter {
            name: "offered load λ/μ",
            value: offered_load,
            requirement: "finite; rescale the time unit so that λ/μ fits in an f64",
        });
    }
    let c = f64::from(servers);
    let tail = match capacity {
        None => {
            if offered_load >= c {
                return Err(TheoryError::Unstable { offered_load, servers });
            }
            // Erlang C: Lq = C·ρ/(1 − ρ) = C·a/(c − a); nothing is ever lost.
            let wait_probability = erlang_c_stable(servers, offered_load);
            Tail { queue_length: wait_probability * offered_load / (c - offered_load), admitted: 1.0, blocking: 0.0 }
        }
        Some(k) => finite_tail(offered_load, servers, u64::from(k - servers)),
    };
    let busy_servers = offered_load * tail.admitted;
    let throughput = lambda * tail.admitted;
    let mean_in_system = tail.queue_length + busy_servers;
    let (mean_sojourn, mean_wait) =
        if throughput > 0.0 { (mean_in_system / throughput, tail.queue_length / throughput) } else { (1.0 / mu, 0.0) };
    Ok(StationTheory {
        arrival_rate: lambda,
        blocking: tail.blocking,
        throughput,
        utilization: busy_servers / c,
        mean_in_system,
        mean_queue_length: tail.queue_length,
        mean_sojourn,
        mean_wait,
    })
}

/// What the queueing part of a station contributes.
struct Tail {
    /// Lq.
    queue_length: f64,
    /// 1 − P_K, computed without cancellation.
    admitted: f64,
    /// P_K.
    blocking: f64,
}

/// Lq, 1 − P_K and P_K of an M/M/c/(c+m) station with offered load `a`.
fn finite_tail(a: f64, servers: u32, m: u64) -> Tail {
    let (b, one_minus_b) = erlang_b_pair(servers, a);
    if m == 0 {
        return Tail { queue_length: 0.0, admitted: one_minus_b, blocking: b };
    }
    let rho = a / f64::from(servers);
    if rho <= 1.0 {
        // In units where Σ_{n<=c} p_n = 1: p_{c+j} = B·ρ^j, total 1 + B·Σρ^j.
        let ln_rho = rho.ln();
        let sums = GeometricSums::new(rho, ln_rho, m);
        let tail_mass = rho * sums.plain; // Σ_{j=1..m} ρ^j
        let tail_moment = rho * (sums.weighted + sums.plain); // Σ_{j=1..m} j·ρ^j
        let total = 1.0 + b * tail_mass;
        let blocking = b * power(ln_rho, m) / total;
        Tail {
            queue_length: b * tail_moment / total,
            // P_K <= B(c, c) <= 1/2 here, so the subtraction is benign.
            admitted: 1.0 - blocking,
            blocking,
        }
    } else {
        // Divide everything by ρ^m and sum powers of r = 1/ρ < 1 instead:
        // Σ_{j=1..m} ρ^(j−m) = Σ_{i<m} r^i and Σ j·ρ^(j−m) = Σ_{i<m} (m−i)·r^i.
        // ln r = −ln ρ exactly, so r^n = exp(−n·ln ρ) does not inherit the
        // rounding of 1/ρ amplified n times.
        let r = 1.0 / rho;
        let ln_r = -rho.ln();
        let sums = GeometricSums::new(r, ln_r, m);
        let r_pow_m = power(ln_r, m);
        let total = r_pow_m + b * sums.plain;
        // Σ_{i=1..m−1} r^i = r·(Σ_{i<m} r^i − r^(m−1)); no cancellation since
        // Σ_{i<m} r^i >= m·r^(m−1).
        let below_full = r * (sums.plain - power(ln_r, m - 1));
        // Σ (m−i)·r^i >= (m+1)/2 · Σ r^i (Chebyshev), so at most one bit is lost.
        let m_f = m as f64;
        let tail_moment = m_f * sums.plain - sums.weighted;
        Tail {
            queue_length: b * tail_moment / total,
            admitted: (r_pow_m + b * below_full) / total,
            blocking: b / total,
        }
    }
}

/// `x^n` for `0 <= x <= 1` from `ln_x = ln x` (−∞ for x = 0) as
/// `exp(n·ln x)`: relative error about `|n·ln x|·ε`, far better than the
/// `n·ε` of repeated squaring near `x = 1`.
fn power(ln_x: f64, n: u64) -> f64 {
    if n == 0 { 1.0 } else { (n as f64 * ln_x).exp() }
}

/// `Σ_{i<n} x^i` and `Σ_{i<n} i·x^i` for `0 <= x <= 1`.
struct GeometricSums {
    /// Σ_{i<n} x^i.
    plain: f64,
    /// Σ_{i<n} i·x^i.
    weighted: f64,
}

impl GeometricSums {
    /// Binary splitting: a run of `len` consecutive powers starting at `x^0`
    /// is `(len, x^len, Σx^i, Σi·x^i)`, and a run A followed by a run B is
    /// `(len_A + len_B, ·, g_A + x^len_A·g_B, h_A + x^len_A·(h_B + len_A·g_B))`.
    /// Every operation adds non-negative numbers, so the relative error stays
    /// at a few ε per level (≤ 64 levels), with no cancellation near `x = 1`
    /// (where the textbook closed forms lose all precision).
    fn new(x: f64, ln_x: f64, n: u64) -> Self {
        let mut acc = Run { len: 0, pow: 1.0, plain: 0.0, weighted: 0.0 };
        let mut base = Run { len: 1, pow: x, plain: 1.0, weighted: 0.0 };
        let mut bits = n;
        while bits > 0 {
            if bits & 1 == 1 {
                acc = acc.then(&base, ln_x);
            }
            bits >>= 1;
            if bits > 0 {
                base = base.then(&base, ln_x);
            }
        }
        Self { plain: acc.plain, weighted: acc.weighted }
    }
}

/// A run of consecutive powers `x^0 .. x^(len−1)` and its sums.
struct Run {
    /// Number of powers in the run.
    len: u64,
    /// `x^len`.
    pow: f64,
    /// Σ x^i over the run.
    plain: f64,
    /// Σ i·x^i over the run.
    weighted: f64,
}

impl Run {
    /// The run `self` followed by `next` (shifted by `self.len`); `ln_x = ln x`.
    fn then(&self, next: &Run, ln_x: f64) -> Run {
        let len = self.len + next.len;
        Run {
            len,
            pow: power(ln_x, len),
            plain: self.plain + self.pow * next.plain,
            weighted: self.weighted + self.pow * (next.weighted + self.len as f64 * next.plain),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{erlang_b, erlang_c};
    use super::*;

    fn close(actual: f64, expected: f64, rel: f64) {
        let err = (actual - expected).abs() / expected.abs().max(f64::MIN_POSITIVE);
        assert!(err <= rel, "actual {actual} expected {expected} rel err {err:e} > {rel:e}");
    }

    fn all_finite(s: &StationTheory) -> bool {
        [
            s.arrival_rate,
            s.blocking,
            s.throughput,
            s.utilization,
            s.mean_in_system,
            s.mean_queue_length,
            s.mean_sojourn,
            s.mean_wait,
        ]
        .iter()
        .all(|v| v.is_finite() && *v >= 0.0)
    }

    /// Brute force: explicit state probabilities, fine for small c and K.
    fn brute(lambda: f64, mu: f64, c: u32, k: u32) -> StationTheory {
        let a = lambda / mu;
        let mut weights = vec![1.0_f64];
        for n in 1..=k {
            let servers_busy = f64::from(n.min(c));
            let previous = weights[weights.len() - 1];
            weights.push(previous * a / servers_busy);
            if previous > 1e250 {
                weights.iter_mut().for_each(|w| *w *= 1e-250);
            }
        }
        let total: f64 = weights.iter().sum();
        let p: Vec<f64> = weights.iter().map(|w| w / total).collect();
        let blocking = p[k as usize];
        let l: f64 = p.iter().enumerate().map(|(n, q)| n as f64 * q).sum();
        let lq: f64 = p.iter().enumerate().map(|(n, q)| (n as f64 - f64::from(c)).max(0.0) * q).sum();
        let throughput = lambda * (1.0 - blocking);
        StationTheory {
            arrival_rate: lambda,
            blocking,
            throughput,
            utilization: throughput / (f64::from(c) * mu),
            mean_in_system: l,
            mean_queue_length: lq,
            mean_sojourn: l / throughput,
            mean_wait: lq / throughput,
        }
    }

    fn assert_station_close(a: &StationTheory, b: &StationTheory, rel: f64) {
        close(a.blocking, b.blocking, rel);
        close(a.throughput, b.throughput, rel);
        close(a.utilization, b.utilization, rel);
        close(a.mean_in_system, b.mean_in_system, rel);
        close(a.mean_queue_length, b.mean_queue_length, rel);
        close(a.mean_sojourn, b.mean_sojourn, rel);
        close(a.mean_wait, b.mean_wait, rel);
    }

    #[test]
    fn mm1_textbook() {
        let s = mmck(8.0, 10.0, 1, None).unwrap();
        close(s.utilization, 0.8, 1e-14);
        close(s.mean_wait, 0.4, 1e-13);
        close(s.mean_sojourn, 0.5, 1e-13);
        close(s.mean_in_system, 4.0, 1e-13);
        close(s.mean_queue_length, 3.2, 1e-13);
        assert_eq!(s.blocking, 0.0);
        assert_eq!(s.throughput, 8.0);
    }

    #[test]
    fn mmc_matches_erlang_c() {
        // c = 2, a = 1.5, μ = 1: Wq = C/(cμ − λ).
        let s = mmck(1.5, 1.0, 2, None).unwrap();
        close(s.mean_wait, 1.285714, 1e-5);
        close(s.mean_wait, erlang_c(2, 1.5).unwrap() / 0.5, 1e-14);
        close(s.mean_sojourn, s.mean_wait + 1.0, 1e-14);
        let s = mmck(5.0, 1.0, 10, None).unwrap();
        close(s.mean_wait, 0.00722107, 1e-5);
        close(s.utilization, 0.5, 1e-14);
    }

    #[test]
    fn mmck_vectors() {
        // λ100 μ20 c5 q5 (ρ = 1 exactly).
        let s = mmck(100.0, 20.0, 5, Some(10)).unwrap();
        close(s.blocking, 0.117503, 1e-5);
        close(s.mean_in_system, 6.17503, 1e-5);
        close(s.mean_queue_length, 1.76255, 1e-5);
        close(s.mean_sojourn, 0.0699723, 1e-5);
        close(s.mean_wait, 0.0199723, 1e-5);
        close(s.utilization, 0.882497, 1e-5);

        // λ8 μ1 c10 q5.
        let s = mmck(8.0, 1.0, 10, Some(15)).unwrap();
        close(s.blocking, 0.0300380, 1e-5);
        close(s.mean_in_system, 8.39155, 1e-5);
        close(s.mean_sojourn, 1.08143, 1e-5);
        close(s.mean_wait, 0.0814278, 1e-5);
        close(s.utilization, 0.775970, 1e-5);

        // λ4 μ1 c3 q2 (ρ > 1).
        let s = mmck(4.0, 1.0, 3, Some(5)).unwrap();
        close(s.blocking, 0.333550, 1e-5);
        close(s.mean_in_system, 3.58306, 1e-5);
        close(s.mean_sojourn, 1.34409, 1e-5);
        close(s.mean_wait, 0.344086, 1e-5);
        close(s.utilization, 0.888599, 1e-5);

        // λ2 μ1 c5 q5.
        let s = mmck(2.0, 1.0, 5, Some(10)).unwrap();
        close(s.blocking, 0.000366896, 1e-5);
        close(s.mean_in_system, 2.03745, 1e-5);
        close(s.mean_sojourn, 1.01910, 1e-5);
    }

    #[test]
    fn mmck_matches_brute_force() {
        for &(lambda, mu) in
            &[(0.3, 1.0), (4.0, 1.0), (2.5, 0.5), (9.99, 1.0), (10.0, 1.0), (10.01, 1.0), (37.0, 2.0), (1e3, 1.0)]
        {
            for c in [1, 2, 3, 7, 10, 25] {
                for q in [0, 1, 2, 5, 17, 64, 200] {
                    let k = c + q;
                    let exact = mmck(lambda, mu, c, Some(k)).unwrap();
                    let reference = brute(lambda, mu, c, k);
                    assert_station_close(&exact, &reference, 1e-11);
                    close(exact.mean_sojourn, exact.mean_wait + 1.0 / mu, 1e-12);
                }
            }
        }
    }

    #[test]
    fn pure_loss_is_erlang_b() {
        for (c, a) in [(1, 0.5), (5, 3.0), (10, 5.0), (9, 5.0), (50, 80.0)] {
            let s = mmck(a, 1.0, c, Some(c)).unwrap();
            close(s.blocking, erlang_b(c, a), 1e-15);
            assert_eq!(s.mean_queue_length, 0.0);
            assert_eq!(s.mean_wait, 0.0);
            close(s.mean_sojourn, 1.0, 1e-14);
        }
    }

    #[test]
    fn huge_capacity_converges_to_mmc() {
        for (lambda, mu, c) in [(8.0, 10.0, 1), (1.5, 1.0, 2), (4.0, 1.0, 5), (950.0, 1.0, 1000)] {
            let bounded = mmck(lambda, mu, c, Some(100_000)).unwrap();
            let unbounded = mmck(lambda, mu, c, None).unwrap();
            assert_station_close(&bounded, &unbounded, 1e-12);
        }
        // Close to saturation the truncation still matters at K = 1e5 but not at K = 1e9.
        let bounded = mmck(0.99999, 1.0, 1, Some(1_000_000_000)).unwrap();
        let unbounded = mmck(0.99999, 1.0, 1, None).unwrap();
        assert_station_close(&bounded, &unbounded, 1e-10);
    }

    #[test]
    fn large_stations_stay_finite() {
        for lambda in [500.0, 999.0, 1000.0, 1001.0, 2000.0, 1e6] {
            let s = mmck(lambda, 1.0, 1000, Some(1_000_000)).unwrap();
            assert!(all_finite(&s), "{lambda}: {s:?}");
            assert!(s.blocking <= 1.0 && s.utilization <= 1.0 + 1e-12, "{s:?}");
        }
        let s = mmck(1000.0, 1.0, 1000, Some(1_000_000)).unwrap();
        // ρ = 1 exactly: the queue is uniform over 0..m, so Lq ≈ m/2 for huge m.
        close(s.mean_queue_length, 999_000.0 / 2.0, 1e-3);
        let s = mmck(1.2e5, 1.0, 100_000, Some(u32::MAX)).unwrap();
        assert!(all_finite(&s), "{s:?}");
        close(s.throughput, 1e5, 1e-9);
        // ρ = 1, c = 1 (B = 1/2): Lq = m(m+1) / (2(m+2)) with m = K − 1.
        let s = mmck(1.0, 1.0, 1, Some(u32::MAX)).unwrap();
        let m = f64::from(u32::MAX - 1);
        close(s.mean_queue_length, m * (m + 1.0) / (2.0 * (m + 2.0)), 1e-12);
    }

    #[test]
    fn overload_with_finite_capacity() {
        // ρ = 2, c = 1: P_K → 1 − 1/ρ = 0.5 and L → K − 1.
        let s = mmck(2.0, 1.0, 1, Some(10_000)).unwrap();
        close(s.blocking, 0.5, 1e-12);
        close(s.throughput, 1.0, 1e-12);
        close(s.utilization, 1.0, 1e-12);
        close(s.mean_in_system, 9_999.0, 1e-12);
        let small = mmck(2.0, 1.0, 1, Some(20)).unwrap();
        assert_station_close(&small, &brute(2.0, 1.0, 1, 20), 1e-12);
        // Extreme overload: admitted fraction ≈ c/a is still accurate.
        let s = mmck(1e12, 1.0, 4, Some(8)).unwrap();
        close(s.throughput, 4.0, 1e-9);
        close(s.mean_in_system, 8.0, 1e-9);
        close(s.mean_sojourn, 2.0, 1e-9);
    }

    #[test]
    fn zero_arrivals() {
        for capacity in [None, Some(1), Some(5)] {
            let s = mmck(0.0, 4.0, 1, capacity).unwrap();
            assert_eq!(s.throughput, 0.0);
            assert_eq!(s.blocking, 0.0);
            assert_eq!(s.utilization, 0.0);
            assert_eq!(s.mean_in_system, 0.0);
            assert_eq!(s.mean_queue_length, 0.0);
            assert_eq!(s.mean_wait, 0.0);
            assert_eq!(s.mean_sojourn, 0.25);
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(mmck(4.2, 1.0, 4, None), Err(TheoryError::Unstable { servers: 4, .. })));
        assert!(mmck(4.0, 1.0, 4, None).is_err());
        assert!(mmck(4.0, 1.0, 4, Some(4)).is_ok());
        assert_eq!(mmck(1.0, 1.0, 4, Some(3)), Err(TheoryError::CapacityBelowServers { capacity: 3, servers: 4 }));
        assert_eq!(mmck(1.0, 1.0, 0, None), Err(TheoryError::NoServers));
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(mmck(bad, 1.0, 1, Some(3)).is_err());
        }
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(mmck(1.0, bad, 1, Some(3)).is_err());
        }
        assert!(mmck(1e300, 1e-300, 1, Some(3)).is_err());
    }
}
