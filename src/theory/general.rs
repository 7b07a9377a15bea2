//! Which formula covers a station whose service time is not exponential.
//!
//! With Poisson arrivals the choice depends on the capacity and the server count: K = c
//! is the M/G/c/c loss system, exact by the insensitivity of Erlang B ([`mgcc`]); one
//! server and no bound is the M/G/1 queue, whose mean values Pollaczek-Khinchine gives
//! exactly ([`mg1`]); more servers and no bound is M/G/c, for which only the Allen-Cunneen
//! approximation is offered ([`allen_cunneen`]), labelled as such with its expected error.
//! A queue of finite length (c < K) has no closed form here, and neither does a service
//! time whose mean (or, for a queue, second moment) is infinite.

use super::mgc::{allen_cunneen, allen_cunneen_error, mgcc};
use super::mmck::StationTheory;
use super::{TheoryError, mg1};
use crate::model::Moments;

/// The formula that covers a station, and its values for one instance.
#[derive(Clone, Debug)]
pub(super) struct Fit {
    /// Kendall's name of the model (`"M/G/1"`, ...).
    pub(super) model: &'static str,
    /// The station's values for one instance.
    pub(super) values: StationTheory,
    /// False for an approximation.
    pub(super) exact: bool,
    /// Why the formula applies, ending in "exact" or "approximation (expected error ...)".
    pub(super) note: String,
}

/// Covers a station with Poisson arrivals at `lambda` (per instance), a service time of
/// moments `m`, `servers` c and Kendall capacity `capacity`; or says why not.
pub(super) fn general_station(lambda: f64, m: Moments, servers: u32, capacity: Option<u32>) -> Result<Fit, String> {
    if !m.mean.is_finite() {
        return Err("service time has an infinite mean (Pareto shape <= 1): no steady state".into());
    }
    match capacity {
        Some(k) if k == servers => mgcc(lambda, m.mean, servers).map(exact(
            "M/G/c/c",
            "Poisson arrivals, no queue: Erlang B is insensitive to the service-time distribution beyond its mean (Sevastyanov 1957)",
        )),
        Some(k) => {
            return Err(format!(
                "a queue of finite length (K = {k} > c = {servers}) with a non-exponential service time: M/G/c/K has no closed form here"
            ));
        }
        None if !m.second.is_finite() => {
            return Err("service time has an infinite second moment (Pareto shape <= 2): the mean wait is infinite (Pollaczek-Khinchine)".into());
        }
        None if servers == 1 => mg1(lambda, m.mean, m.second).map(exact(
            "M/G/1",
            "Poisson arrivals, one server, any service time: Pollaczek-Khinchine mean values (Kleinrock Vol. 1, §5.6)",
        )),
        None => allen_cunneen(lambda, m.mean, m.second, servers).map(|values| Fit {
            model: "M/G/c (Allen-Cunneen approximation)",
            values,
            exact: false,
            note: format!(
                "Poisson arrivals, {servers} servers, service-time C² = {:.2}: approximation (expected error of Wq up to {:.0}% at this utilisation for C² <= 2.5, less on W and L; throughput and utilisation exact)",
                m.scv(),
                allen_cunneen_error(values.utilization) * 100.0
            ),
        }),
    }
    .map_err(|e| match e {
        TheoryError::Unstable { .. } => format!("no steady state: {e}"),
        e => e.to_string(),
    })
}

/// An exact fit by `model`, which applies because `note`.
fn exact(model: &'static str, note: &'static str) -> impl FnOnce(StationTheory) -> Fit {
    move |values| Fit { model, values, exact: true, note: format!("{note}: exact") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(mean: f64, second: f64) -> Moments {
        Moments { mean, second }
    }

    #[test]
    fn picks_the_model_by_capacity_and_servers() {
        let m = moments(0.01, 2.5e-4);
        let loss = general_station(300.0, m, 5, Some(5)).unwrap();
        assert_eq!((loss.model, loss.exact), ("M/G/c/c", true));
        assert!(loss.note.ends_with("exact"), "{}", loss.note);
        let one = general_station(50.0, m, 1, None).unwrap();
        assert_eq!((one.model, one.exact), ("M/G/1", true));
        assert_eq!(one.values, mg1(50.0, 0.01, 2.5e-4).unwrap());
        let many = general_station(300.0, m, 4, None).unwrap();
        assert_eq!((many.model, many.exact), ("M/G/c (Allen-Cunneen approximation)", false));
        assert!(many.note.contains("C² = 1.50: approximation (expected error of Wq up to 20%"), "{}", many.note);
        let heavy_traffic = general_station(360.0, m, 4, None).unwrap();
        assert!(heavy_traffic.note.contains("up to 8%"), "{}", heavy_traffic.note);
    }

    #[test]
    fn says_why_a_station_is_outside() {
        let m = moments(0.01, 2.5e-4);
        assert!(general_station(300.0, m, 5, Some(8)).unwrap_err().contains("M/G/c/K has no closed form"));
        assert!(general_station(300.0, m, 2, None).unwrap_err().starts_with("no steady state"));
        let heavy = moments(0.01, f64::INFINITY);
        assert!(general_station(50.0, heavy, 1, None).unwrap_err().contains("infinite second moment"));
        // Erlang B needs only the mean, so a loss system with an infinite variance is covered.
        assert!(general_station(50.0, heavy, 2, Some(2)).is_ok());
        let no_mean = moments(f64::INFINITY, f64::INFINITY);
        assert!(general_station(50.0, no_mean, 2, Some(2)).unwrap_err().contains("infinite mean"));
    }
}
