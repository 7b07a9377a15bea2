//! Exact mean value analysis (MVA) of a closed queueing network with one class of users.
//!
//! `N` users cycle between thinking (a delay station: each user thinks on its own, so
//! no queue forms and, by the BCMP theorem, only the mean think time Z matters) and a
//! set of FCFS stations with exponential service. MVA (Reiser & Lavenberg, "Mean-value
//! analysis of closed multichain queuing networks", JACM 1980) climbs the population
//! one user at a time with the arrival theorem: a user arriving at a station sees it as
//! it is in steady state with one user fewer. A single-server station needs only the
//! mean queue length of the smaller population, `W_k(n) = S_k·(1 + L_k(n−1))`; a station
//! with `c > 1` workers is load dependent (service rate `min(j, c)/S_k` with `j` inside)
//! and needs its marginal queue-length probabilities (Lazowska, Zahorjan, Graham &
//! Sevcik, *Quantitative System Performance*, 1984, §20.3):
//!
//! `W_k(n) = S_k · Σ_{j=1..n} j/α_k(j) · p_k(j−1 | n−1)`, `X(n) = n / (Z + Σ_k V_k·W_k(n))`,
//! `p_k(j | n) = X(n)·V_k·S_k/α_k(j) · p_k(j−1 | n−1)` for `j ≥ 1`, `p_k(0 | n)` the rest,
//!
//! with `α_k(j) = min(j, c_k)` and `V_k` the visits per cycle. Both are exact; the
//! marginal recursion costs O(N²) per station, so the population is capped at
//! [`MAX_USERS`]. `p_k(0 | n)` is found by subtraction, which is stable here because
//! every factor `X·V·S/α(j)` is a utilisation (at most 1), so rounding is never amplified.

use super::{StationTheory, TheoryError, non_negative, positive};

/// Largest population [`mva`] accepts (the load-dependent recursion is O(N²) per station).
pub const MAX_USERS: u32 = 20_000;

/// One kind of station of a closed network: `copies` identical FCFS stations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClosedStation {
    /// Visits per user cycle to each copy (e.g. 1/n for one of n instances chosen at random).
    pub visits: f64,
    /// Mean (exponential) service time of one worker, seconds.
    pub service_s: f64,
    /// Workers c of each copy.
    pub servers: u32,
    /// Identical copies (instances) of the station.
    pub copies: u32,
}

/// Exact steady state of a closed network by [`mva`].
#[derive(Clone, Debug, PartialEq)]
pub struct ClosedResult {
    /// User cycles completed per second, X = N / (Z + total residence time).
    pub throughput: f64,
    /// Per station kind, the values of ONE copy (no blocking: `blocking` is 0).
    pub stations: Vec<StationTheory>,
}

/// Exact MVA of `users` users with mean think time `think_s` visiting `stations`.
///
/// Errors on a station with no workers, a negative or non-finite visit ratio, service
/// time or think time, no stations, or more than [`MAX_USERS`] users.
pub fn mva(users: u32, think_s: f64, stations: &[ClosedStation]) -> Result<ClosedResult, TheoryError> {
    non_negative("think time Z", think_s)?;
    if users > MAX_USERS {
        return Err(TheoryError::InvalidParameter {
            name: "users N",
            value: f64::from(users),
            requirement: "at most 20000 for exact MVA (its cost grows as N²)",
        });
    }
    if stations.is_empty() {
        return Err(TheoryError::EmptyNetwork);
    }
    for s in stations {
        non_negative("visit ratio V", s.visits)?;
        positive("service time S", s.service_s)?;
        if s.servers == 0 {
            return Err(TheoryError::NoServers);
        }
    }
    let n = users as usize;
    // p[k][j] = p_k(j | current population), j = 0..=n.
    let mut p: Vec<Vec<f64>> = stations.iter().map(|_| one_at_zero(n)).collect();
    let mut residence = vec![0.0; stations.len()];
    let mut x = 0.0;
    for pop in 1..=n {
        for (k, s) in stations.iter().enumerate() {
            let alpha = |j: usize| (j as f64).min(f64::from(s.servers));
            residence[k] = s.service_s * (1..=pop).map(|j| j as f64 / alpha(j) * p[k][j - 1]).sum::<f64>();
        }
        let cycle: f64 = stations.iter().zip(&residence).map(|(s, w)| f64::from(s.copies) * s.visits * w).sum();
        x = pop as f64 / (think_s + cycle);
        for (k, s) in stations.iter().enumerate() {
            let rate = x * s.visits * s.service_s;
            let pk = &mut p[k];
            // Descending, so p_k(j−1 | pop−1) is still the old value when p_k(j | pop) needs it.
            for j in (1..=pop).rev() {
                pk[j] = rate / (j as f64).min(f64::from(s.servers)) * pk[j - 1];
            }
            pk[0] = (1.0 - pk[1..=pop].iter().sum::<f64>()).max(0.0);
        }
    }
    let results = stations
        .iter()
        .zip(&residence)
        .map(|(s, &w)| {
            let throughput = x * s.visits;
            let busy = throughput * s.service_s;
            let l = throughput * w;
            StationTheory {
                arrival_rate: throughput,
                blocking: 0.0,
                throughput,
                utilization: busy / f64::from(s.servers),
                mean_in_system: l,
                mean_queue_length: (l - busy).max(0.0),
                mean_sojourn: w,
                mean_wait: (w - s.service_s).max(0.0),
            }
        })
        .collect();
    Ok(ClosedResult { throughput: x, stations: results })
}

/// The marginal distribution of an empty station: all mass at 0.
fn one_at_zero(n: usize) -> Vec<f64> {
    let mut p = vec![0.0; n + 1];
    p[0] = 1.0;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn station(visits: f64, service_s: f64, servers: u32) -> ClosedStation {
        ClosedStation { visits, service_s, servers, copies: 1 }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-10 * b.abs().max(1.0)
    }

    /// The machine-repairman model M/M/c//N as a birth-death chain (Kleinrock, Queueing
    /// Systems Vol. 1, §3.8/§3.9): with k machines down, failures arrive at (N−k)/Z and
    /// repairs finish at min(k, c)/S. Returns (X, L) of the repair station.
    fn repairman(users: u32, think: f64, service: f64, c: u32) -> (f64, f64) {
        let mut weights = vec![1.0];
        for k in 1..=users {
            let up = f64::from(users - k + 1) / think;
            let down = f64::from(k.min(c)) / service;
            weights.push(weights[k as usize - 1] * up / down);
        }
        let g: f64 = weights.iter().sum();
        let l = weights.iter().enumerate().map(|(k, w)| k as f64 * w).sum::<f64>() / g;
        let busy = weights.iter().enumerate().map(|(k, w)| (k as f64).min(f64::from(c)) * w).sum::<f64>() / g;
        (busy / service, l)
    }

    #[test]
    fn single_server_matches_the_machine_repairman_closed_form() {
        for &(n, z, s) in &[(1, 1.0, 1.0), (5, 4.0, 1.0), (30, 2.0, 0.1), (200, 1.0, 0.02)] {
            let r = mva(n, z, &[station(1.0, s, 1)]).unwrap();
            let (x, l) = repairman(n, z, s, 1);
            assert!(close(r.throughput, x), "N={n}: X {} vs {x}", r.throughput);
            assert!(close(r.stations[0].mean_in_system, l), "N={n}: L {} vs {l}", r.stations[0].mean_in_system);
            // The response time law, R = N/X − Z (Lazowska et al. §3.3).
            assert!(close(r.stations[0].mean_sojourn, f64::from(n) / x - z));
        }
    }

    #[test]
    fn multi_server_matches_the_machine_repairman_with_c_repairmen() {
        for &(n, z, s, c) in &[(3, 1.0, 1.0, 2), (10, 1.0, 0.5, 3), (50, 2.0, 0.2, 4), (400, 5.0, 0.1, 16)] {
            let r = mva(n, z, &[station(1.0, s, c)]).unwrap();
            let (x, l) = repairman(n, z, s, c);
            assert!(close(r.throughput, x), "N={n} c={c}: X {} vs {x}", r.throughput);
            assert!(close(r.stations[0].mean_in_system, l), "N={n} c={c}: L {} vs {l}", r.stations[0].mean_in_system);
            assert!(r.stations[0].utilization <= 1.0);
        }
    }

    /// A two-station example worked by hand (and by the product form): D1 = 1 s, D2 = 0.5 s,
    /// Z = 2 s, N = 2. n = 1: X = 1/3.5, L1 = 2/7, L2 = 1/7. n = 2: R1 = 9/7, R2 = 4/7,
    /// X = 2/(2 + 13/7) = 14/27, L1 = 2/3, L2 = 8/27. The product form agrees: the six
    /// states (n1, n2, thinking) weigh D1^n1·D2^n2·Z^m/m!, G = 6.75, and
    /// L1 = (2·1 + 0.5 + 2)/6.75 = 2/3.
    #[test]
    fn two_station_network_worked_by_hand() {
        let r = mva(2, 2.0, &[station(1.0, 1.0, 1), station(1.0, 0.5, 1)]).unwrap();
        assert!(close(r.throughput, 14.0 / 27.0));
        assert!(close(r.stations[0].mean_in_system, 2.0 / 3.0));
        assert!(close(r.stations[1].mean_in_system, 8.0 / 27.0));
        assert!(close(r.stations[0].mean_sojourn, 9.0 / 7.0));
    }

    /// Load-dependent stations against the product form summed over every state
    /// (Gordon & Newell 1967; BCMP 1975): a state (n1, n2, m thinking) weighs
    /// Π_k D_k^{n_k} / Π_{j ≤ n_k} min(j, c_k) · Z^m / m!.
    #[test]
    fn load_dependent_stations_match_the_product_form() {
        let (d1, c1, d2, c2, z, n) = (0.3, 2u32, 0.2, 3u32, 1.5, 12u32);
        let f = |d: f64, c: u32, k: u32| (1..=k).fold(1.0, |w, j| w * d / f64::from(j.min(c)));
        let (mut g, mut l1, mut l2) = (0.0, 0.0, 0.0);
        for a in 0..=n {
            for b in 0..=n - a {
                let m = n - a - b;
                // The think station is a delay: min(j, ∞) = j, so f(Z, ∞, m) = Z^m/m!.
                let w = f(d1, c1, a) * f(d2, c2, b) * f(z, u32::MAX, m);
                g += w;
                l1 += f64::from(a) * w;
                l2 += f64::from(b) * w;
            }
        }
        let r = mva(n, z, &[station(1.0, d1, c1), station(1.0, d2, c2)]).unwrap();
        assert!(close(r.stations[0].mean_in_system, l1 / g), "{} vs {}", r.stations[0].mean_in_system, l1 / g);
        assert!(close(r.stations[1].mean_in_system, l2 / g), "{} vs {}", r.stations[1].mean_in_system, l2 / g);
    }

    /// n identical instances at visit ratio 1/n each equal one list of n separate stations.
    #[test]
    fn copies_equal_separate_stations() {
        let joined = mva(20, 1.0, &[ClosedStation { visits: 0.25, service_s: 0.2, servers: 2, copies: 4 }]).unwrap();
        let apart = mva(20, 1.0, &[station(0.25, 0.2, 2); 4]).unwrap();
        assert!(close(joined.throughput, apart.throughput));
        assert!(close(joined.stations[0].mean_in_system, apart.stations[3].mean_in_system));
    }

    #[test]
    fn refuses_bad_input() {
        assert!(mva(3, -1.0, &[station(1.0, 1.0, 1)]).is_err());
        assert!(mva(3, 1.0, &[station(1.0, 0.0, 1)]).is_err());
        assert!(mva(3, 1.0, &[station(1.0, 1.0, 0)]).is_err());
        assert!(mva(3, 1.0, &[]).is_err());
        assert!(mva(MAX_USERS + 1, 1.0, &[station(1.0, 1.0, 1)]).is_err());
    }
}
