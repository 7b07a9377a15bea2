//! Many servers with a general service time: the M/G/c/c loss system (exact) and the
//! M/G/c delay system (the Allen-Cunneen approximation).
//!
//! Loss. Erlang's loss formula is insensitive to the service-time distribution beyond its
//! mean (Sevastyanov 1957, "An ergodic theorem for Markov processes and its application to
//! telephone systems with refusals"; also in Kleinrock, *Queueing Systems* Vol. 1, 1975):
//! with Poisson arrivals and no queue, blocking is `B(c, λ·E[S])` and every admitted
//! request stays exactly its service time, so the M/M/c/c numbers hold for any law.
//!
//! Delay. M/G/c with c > 1 has no closed form. The Allen-Cunneen approximation (Allen,
//! *Probability, Statistics and Queueing Theory*, 2nd ed., 1990) scales the M/M/c wait
//! by the squared coefficients of variation of the interarrival and service times,
//! `Wq ≈ Wq(M/M/c) · (C_a² + C_s²)/2`, with `C_a² = 1` for Poisson arrivals. It is exact
//! for exponential service and for c = 1 (where it is Pollaczek-Khinchine) and correct in
//! heavy traffic; Whitt (1993, "Approximations for the GI/G/m queue", *Production and
//! Operations Management* 2(2)) and Boxma, Cohen & Huffels (1979, *Operations Research*
//! 27(6), 1115-1127) show its error grows in light traffic and away from C_s² = 1.
//!
//! Measured here against the simulation (Poisson arrivals, 10 replications, c = 2, 4 and
//! 8; constant, Erlang-3, gamma 0.5, lognormal with C_s² = 1.44, a four-point empirical and
//! a mixture with C_s² = 2.48): at utilisation 0.9 the Wq error was −2.2% to +4.3%; at 0.7,
//! −9.5% (constant, c = 8) to +12.4% (lognormal, c = 8); at 0.5, −11.2% (constant, c = 4)
//! to +15.8% (lognormal, c = 4). It underestimates the wait of low-variability service and
//! overestimates that of the lognormal's tail (each ±1.5% to ±3.6% at 95%);
//! [`allen_cunneen_error`] rounds this up.

use super::mg1::{check_service, unbounded_station};
use super::mmck::{StationTheory, mmck};
use super::{TheoryError, positive};

/// The relative error of [`allen_cunneen`]'s Wq to expect at `utilization` ρ, for Poisson
/// arrivals, C_s² up to 2.5 and up to 8 servers: the errors measured against simulation
/// (see the module doc) plus their 95% half-widths, rounded up: 8% from ρ = 0.85 (heavy
/// traffic, where the approximation is asymptotically right), 20% below. Under ρ = 0.5, and for more variable
/// service, it was not measured and may be larger.
pub fn allen_cunneen_error(utilization: f64) -> f64 {
    if utilization >= 0.85 { 0.08 } else { 0.2 }
}

/// Exact steady state of an M/G/c/c loss station: arrival rate `lambda`, `servers` c and
/// service-time mean `mean_service` (seconds), whatever the distribution.
///
/// The values are those of [`mmck`] with K = c and μ = 1/E[S], by insensitivity. Errors
/// as [`mmck`] does, and on a mean that is not finite and positive.
pub fn mgcc(lambda: f64, mean_service: f64, servers: u32) -> Result<StationTheory, TheoryError> {
    positive("mean service time E[S]", mean_service)?;
    mmck(lambda, 1.0 / mean_service, servers, Some(servers))
}

/// The Allen-Cunneen approximation of an M/G/c station with unbounded capacity: arrival
/// rate `lambda`, `servers` c, service-time mean `mean_service` (seconds) and second
/// moment `second_moment` (seconds squared). Approximate: see [`allen_cunneen_error`].
///
/// Only Wq (hence W, Lq, L) is approximated; throughput and utilisation are exact.
/// Errors on invalid moments (as [`super::mg1`]) and on `λ·E[S] >= c`.
pub fn allen_cunneen(
    lambda: f64,
    mean_service: f64,
    second_moment: f64,
    servers: u32,
) -> Result<StationTheory, TheoryError> {
    check_service(lambda, mean_service, second_moment)?;
    let markov = mmck(lambda, 1.0 / mean_service, servers, None)?;
    let scv = (second_moment / (mean_service * mean_service) - 1.0).max(0.0);
    let wait = markov.mean_wait * (1.0 + scv) / 2.0;
    Ok(unbounded_station(lambda, mean_service, wait, servers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theory::mg1::tests::{assert_same, close};
    use crate::theory::{erlang_b, mg1};

    #[test]
    fn loss_system_is_erlang_b_for_any_mean() {
        // M/G/5/5 at a = 3: B = 0.110054 (Erlang B tables), L = a(1 − B), W = E[S].
        let g = mgcc(300.0, 0.01, 5).unwrap();
        assert!((g.blocking - 0.110_054).abs() < 5e-7, "{g:?}");
        assert!(close(g.blocking, erlang_b(5, 3.0)));
        assert!(close(g.mean_in_system, 3.0 * (1.0 - g.blocking)));
        assert!(close(g.mean_sojourn, 0.01) && g.mean_wait == 0.0 && g.mean_queue_length == 0.0);
        assert_same(&g, &mmck(300.0, 100.0, 5, Some(5)).unwrap());
        assert!(mgcc(1.0, 0.0, 2).is_err() && mgcc(1.0, f64::INFINITY, 2).is_err());
    }

    #[test]
    fn allen_cunneen_with_exponential_service_is_the_mmc() {
        for (lambda, mean, c) in [(3.0, 1.0, 4), (90.0, 0.01, 1), (700.0, 0.004, 3)] {
            let ac = allen_cunneen(lambda, mean, 2.0 * mean * mean, c).unwrap();
            assert_same(&ac, &mmck(lambda, 1.0 / mean, c, None).unwrap());
        }
    }

    #[test]
    fn allen_cunneen_on_one_server_is_pollaczek_khinchine() {
        // (1 + C²)/2 · ρ/(μ(1 − ρ)) = λE[S²]/(2(1 − ρ)) for c = 1.
        for (mean, second) in [(0.01, 1e-4), (0.01, 3e-4), (0.01, 1.3e-4)] {
            assert_same(&allen_cunneen(60.0, mean, second, 1).unwrap(), &mg1(60.0, mean, second).unwrap());
        }
    }

    #[test]
    fn allen_cunneen_scales_the_mmc_wait_by_the_variability() {
        // M/D/2 at a = 1.6: Wq(M/M/2) = C(2, 1.6)/(2μ − λ) with C = 0.7111..., halved.
        let (lambda, mean) = (1.6, 1.0);
        let c2 = erlang_b(2, 1.6) * 2.0 / (2.0 - 1.6 * (1.0 - erlang_b(2, 1.6)));
        let ac = allen_cunneen(lambda, mean, mean * mean, 2).unwrap();
        assert!(close(ac.mean_wait, c2 / (2.0 - lambda) / 2.0), "{ac:?}");
        assert!(close(c2, 0.711_111_111_111_111), "{c2}");
        assert!(close(ac.utilization, 0.8) && ac.blocking == 0.0);
        assert!(allen_cunneen(2.0, 1.0, f64::INFINITY, 3).is_err());
        assert!(matches!(allen_cunneen(3.0, 1.0, 2.0, 3), Err(TheoryError::Unstable { .. })));
    }
}
