//! The M/G/1 queue by the Pollaczek-Khinchine mean-value formula.
//!
//! Poisson arrivals at rate λ, one server, unbounded FIFO queue and a service time S of
//! any distribution with a finite second moment: the mean wait in queue is
//! `Wq = λ·E[S²] / (2(1 − ρ))` with `ρ = λ·E[S] < 1` (Kleinrock, *Queueing Systems*
//! Vol. 1, 1975, §5.6), and `W = Wq + E[S]`, `Lq = λ·Wq`, `L = λ·W` by Little's
//! law. These mean values are exact; only E[S] and E[S²] of the service time matter.
//! With an infinite E[S²] (a Pareto of shape α <= 2) the mean wait is infinite, which is
//! refused here rather than returned.

use super::mmck::StationTheory;
use super::{TheoryError, non_negative, positive};

/// Exact mean values of an M/G/1 station: arrival rate `lambda`, service-time mean
/// `mean_service` (seconds) and second moment `second_moment` (seconds squared).
///
/// Errors on a negative or non-finite λ, a mean that is not finite and positive, a
/// second moment that is infinite or below `E[S]²` (no distribution has one), and
/// `ρ = λ·E[S] >= 1` (no steady state).
pub fn mg1(lambda: f64, mean_service: f64, second_moment: f64) -> Result<StationTheory, TheoryError> {
    check_service(lambda, mean_service, second_moment)?;
    let rho = lambda * mean_service;
    if rho >= 1.0 {
        return Err(TheoryError::Unstable { offered_load: rho, servers: 1 });
    }
    let wait = lambda * second_moment / (2.0 * (1.0 - rho));
    Ok(unbounded_station(lambda, mean_service, wait, 1))
}

/// Checks λ, E[S] and E[S²] of a station whose wait depends on both moments.
pub(super) fn check_service(lambda: f64, mean_service: f64, second_moment: f64) -> Result<(), TheoryError> {
    non_negative("arrival rate λ", lambda)?;
    positive("mean service time E[S]", mean_service)?;
    // E[S²] >= E[S]² (Jensen); a relative slack of 1e-12 absorbs the rounding of an
    // empirical's sums when all its samples are equal.
    if !second_moment.is_finite() || second_moment < mean_service * mean_service * (1.0 - 1e-12) {
        return Err(TheoryError::InvalidParameter {
            name: "second moment E[S²] of the service time",
            value: second_moment,
            requirement: "finite and at least E[S]² (a Pareto needs shape α > 2)",
        });
    }
    Ok(())
}

/// The mean values of an unbounded station with `servers` servers whose mean wait in
/// queue is `wait`: nothing is lost, W = Wq + E[S], and Little's law gives L and Lq.
pub(super) fn unbounded_station(lambda: f64, mean_service: f64, wait: f64, servers: u32) -> StationTheory {
    let sojourn = wait + mean_service;
    StationTheory {
        arrival_rate: lambda,
        blocking: 0.0,
        throughput: lambda,
        utilization: lambda * mean_service / f64::from(servers),
        mean_in_system: lambda * sojourn,
        mean_queue_length: lambda * wait,
        mean_sojourn: sojourn,
        mean_wait: wait,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::theory::mmck;

    pub(in crate::theory) fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-12)
    }

    /// Asserts every field of `a` and `b` agrees to 1e-12 relative.
    pub(in crate::theory) fn assert_same(a: &StationTheory, b: &StationTheory) {
        for (x, y) in [
            (a.blocking, b.blocking),
            (a.throughput, b.throughput),
            (a.utilization, b.utilization),
            (a.mean_in_system, b.mean_in_system),
            (a.mean_queue_length, b.mean_queue_length),
            (a.mean_sojourn, b.mean_sojourn),
            (a.mean_wait, b.mean_wait),
        ] {
            assert!(close(x, y), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn exponential_service_is_the_mm1() {
        // E[S²] = 2/μ² for an exponential: P-K reduces to Wq = ρ/(μ − λ).
        for (lambda, mu) in [(0.5, 1.0), (8.0, 10.0), (950.0, 1000.0)] {
            let g = mg1(lambda, 1.0 / mu, 2.0 / (mu * mu)).unwrap();
            let m = mmck(lambda, mu, 1, None).unwrap();
            assert!(close(g.mean_wait, lambda / (mu * (mu - lambda))), "{g:?}");
            assert_same(&g, &m);
        }
    }

    #[test]
    fn constant_service_is_the_md1() {
        // M/D/1: Wq = ρ/(2μ(1 − ρ)), half the M/M/1 wait (Kleinrock §5.6).
        let (lambda, s) = (800.0, 1e-3);
        let g = mg1(lambda, s, s * s).unwrap();
        let rho: f64 = 0.8;
        assert!(close(g.mean_wait, rho * s / (2.0 * (1.0 - rho))), "{g:?}");
        assert!(close(g.mean_wait, 2e-3));
        assert!(close(g.mean_in_system, lambda * (2e-3 + s)));
        assert!(close(g.utilization, rho));
        assert_eq!(g.blocking, 0.0);
    }

    #[test]
    fn erlang_k_service_matches_the_textbook_value() {
        // M/E_k/1 (Kleinrock §5.6 / Gross & Harris §5.1): Wq = (1 + 1/k)/2 · ρ/(μ − λ).
        let (lambda, mu, k) = (3.0, 4.0, 3.0);
        let s: f64 = 1.0 / mu;
        let g = mg1(lambda, s, s * s * (1.0 + 1.0 / k)).unwrap();
        assert!(close(g.mean_wait, (1.0 + 1.0 / k) / 2.0 * 0.75 / (mu - lambda)), "{g:?}");
        assert!(close(g.mean_wait, 0.5));
    }

    #[test]
    fn refuses_what_has_no_finite_mean_wait() {
        assert!(matches!(mg1(2.0, 0.5, 1.0), Err(TheoryError::Unstable { servers: 1, .. })));
        assert!(matches!(mg1(1.0, 0.5, f64::INFINITY), Err(TheoryError::InvalidParameter { .. })));
        assert!(matches!(mg1(1.0, 0.5, 0.2), Err(TheoryError::InvalidParameter { .. })));
        assert!(matches!(mg1(-1.0, 0.5, 1.0), Err(TheoryError::InvalidParameter { .. })));
        assert!(matches!(mg1(1.0, 0.0, 1.0), Err(TheoryError::InvalidParameter { .. })));
        let idle = mg1(0.0, 0.5, 0.25).unwrap();
        assert_eq!((idle.mean_wait, idle.mean_sojourn, idle.mean_in_system), (0.0, 0.5, 0.0));
    }
}
