//! Mean response times of priority classes at an M/G/1 station.
//!
//! - Non-preemptive priority (Cobham 1954; Kleinrock, Queueing Systems vol. 2, §3.6):
//!   class `k` (classes ordered from the most important) waits
//!   `W_k = W0 / ((1 − σ_{k−1})(1 − σ_k))`, with `W0 = Σ_i λ_i E[S_i²] / 2` the mean
//!   residual work an arrival finds in service and `σ_k = Σ_{i ≤ k} ρ_i`.
//! - Preemptive-resume priority (Kleinrock vol. 2 §3.7; Harchol-Balter, Performance
//!   Modeling and Design of Computer Systems, ch. 32): class `k` sees only the classes up
//!   to its own, `T_k = E[S_k] / (1 − σ_{k−1}) + R_k / ((1 − σ_{k−1})(1 − σ_k))` with
//!   `R_k = Σ_{i ≤ k} λ_i E[S_i²] / 2`.
//!
//! [`priority_predictions`] recognises the scenarios these hold for exactly: a service
//! with `queue: priority` or `priority_preemptive`, one instance of one worker, unbounded,
//! fed only by constant-rate Poisson workloads, making no calls, routing nowhere, and no
//! policy or fault altering it. Workloads of equal priority form one class (their
//! merged Poisson stream).

use serde::Serialize;

use super::TheoryError;
use super::coverage::Coverage;
use crate::model::queue_discipline::Discipline;
use crate::model::{Arrivals, Model};

/// One priority class of an M/G/1 station: its arrival rate and service moments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PriorityClass {
    /// Poisson arrival rate λ, per second.
    pub arrival_rate: f64,
    /// E[S], seconds.
    pub mean_service: f64,
    /// E[S²], seconds².
    pub second_moment: f64,
}

/// The mean times of one class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ClassTheory {
    /// Mean wait before service starts (non-preemptive), or the mean response time less
    /// one mean service (preemptive-resume: the delay its interruptions add), seconds.
    pub mean_wait: f64,
    /// Mean response time (sojourn), seconds.
    pub mean_response: f64,
}

/// Checks the classes and returns `σ_k` for each (the load of the classes up to `k`).
fn cumulative_load(classes: &[PriorityClass]) -> Result<Vec<f64>, TheoryError> {
    let mut sigma = 0.0;
    let mut out = Vec::with_capacity(classes.len());
    for c in classes {
        for (name, value) in [("arrival rate λ", c.arrival_rate), ("mean service E[S]", c.mean_service)] {
            if !value.is_finite() || value < 0.0 {
                return Err(TheoryError::InvalidParameter { name, value, requirement: "finite and >= 0" });
            }
        }
        if !c.second_moment.is_finite() || c.second_moment < c.mean_service * c.mean_service {
            return Err(TheoryError::InvalidParameter {
                name: "second moment E[S²]",
                value: c.second_moment,
                requirement: "finite and at least E[S]²",
            });
        }
        sigma += c.arrival_rate * c.mean_service;
        out.push(sigma);
    }
    if sigma >= 1.0 {
        return Err(TheoryError::Unstable { offered_load: sigma, servers: 1 });
    }
    Ok(out)
}

/// Cobham's formula: the mean wait and response of each class of a non-preemptive M/G/1
/// priority queue, `classes` ordered from the most important.
pub fn cobham(classes: &[PriorityClass]) -> Result<Vec<ClassTheory>, TheoryError> {
    let sigma = cumulative_load(classes)?;
    let w0: f64 = classes.iter().map(|c| c.arrival_rate * c.second_moment / 2.0).sum();
    Ok(classes
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let before = if k == 0 { 0.0 } else { sigma[k - 1] };
            let wait = w0 / ((1.0 - before) * (1.0 - sigma[k]));
            ClassTheory { mean_wait: wait, mean_response: wait + c.mean_service }
        })
        .collect())
}

/// The mean response of each class of a preemptive-resume M/G/1 priority queue,
/// `classes` ordered from the most important.
pub fn preemptive_resume(classes: &[PriorityClass]) -> Result<Vec<ClassTheory>, TheoryError> {
    let sigma = cumulative_load(classes)?;
    let mut residual = 0.0;
    Ok(classes
        .iter()
        .enumerate()
        .map(|(k, c)| {
            residual += c.arrival_rate * c.second_moment / 2.0;
            let before = if k == 0 { 0.0 } else { sigma[k - 1] };
            let response = c.mean_service / (1.0 - before) + residual / ((1.0 - before) * (1.0 - sigma[k]));
            ClassTheory { mean_wait: response - c.mean_service, mean_response: response }
        })
        .collect())
}

/// A per-class closed form ([`cobham`] or [`preemptive_resume`]).
type Formula = fn(&[PriorityClass]) -> Result<Vec<ClassTheory>, TheoryError>;

/// The closed-form mean latency of one workload at a priority station.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassPrediction {
    /// The service (the station).
    pub service: String,
    /// The workload.
    pub workload: String,
    /// Its priority as written (or its criticality's integer).
    pub priority: i32,
    /// `"Cobham (M/G/1 non-preemptive priority)"` or `"M/G/1 preemptive-resume priority"`.
    pub model: &'static str,
    /// Its class's mean times.
    pub values: ClassTheory,
}

/// Every workload's predicted mean latency at the priority stations of `model` that the
/// closed forms cover exactly (see the module doc); other services are left out.
pub fn priority_predictions(model: &Model) -> Vec<ClassPrediction> {
    let altered = Coverage::of(model);
    let mut out = Vec::new();
    for (i, s) in model.services.iter().enumerate() {
        let (formula, name): (Formula, _) = match s.priority.queue {
            Discipline::Priority => (cobham, "Cobham (M/G/1 non-preemptive priority)"),
            Discipline::PriorityPreemptive => (preemptive_resume, "M/G/1 preemptive-resume priority"),
            _ => continue,
        };
        let fed =
            model.edges.iter().any(|e| e.to == i) || model.services.iter().any(|o| o.routes.iter().any(|r| r.to == i));
        let plain = s.rate_limit.is_none() && s.shed.is_none() && s.concurrency.is_none() && s.degradation.is_none();
        let single = s.servers == 1 && s.instances == 1 && s.capacity.is_none() && s.pools.len() == 1;
        if fed || !plain || !single || !s.steps.is_empty() || !s.routes.is_empty() || altered.exclusion(i).is_some() {
            continue;
        }
        let workloads: Vec<_> = model.workloads.iter().filter(|w| w.target == i).collect();
        let rates: Option<Vec<f64>> = workloads
            .iter()
            .map(|w| match &w.arrivals {
                Arrivals::Poisson(p) if w.deadline.is_none() => p.as_constant(),
                _ => None,
            })
            .collect();
        let Some(rates) = rates else { continue };
        // One class per distinct priority, the most important first.
        let mut ranks: Vec<u8> = workloads.iter().map(|w| w.priority.rank).collect();
        ranks.sort_unstable_by(|a, b| b.cmp(a));
        ranks.dedup();
        let m = s.service_time.moments();
        let classes: Vec<PriorityClass> = ranks
            .iter()
            .map(|&r| PriorityClass {
                arrival_rate: workloads.iter().zip(&rates).filter(|(w, _)| w.priority.rank == r).map(|(_, x)| x).sum(),
                mean_service: m.mean,
                second_moment: m.second,
            })
            .collect();
        let Ok(values) = formula(&classes) else { continue };
        for w in &workloads {
            let k = ranks.iter().position(|&r| r == w.priority.rank).unwrap_or(0);
            out.push(ClassPrediction {
                service: s.name.clone(),
                workload: w.name.clone(),
                priority: w.priority.value,
                model: name,
                values: values[k],
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// M/M/1, mean service 1 s: 0.3/s high, 0.4/s low.
    const TWO: [PriorityClass; 2] = [
        PriorityClass { arrival_rate: 0.3, mean_service: 1.0, second_moment: 2.0 },
        PriorityClass { arrival_rate: 0.4, mean_service: 1.0, second_moment: 2.0 },
    ];

    #[test]
    fn cobham_two_classes_by_hand() {
        // W0 = 0.7; high waits 0.7 / 0.7 = 1, low 0.7 / (0.7 · 0.3) = 10/3.
        let t = cobham(&TWO).unwrap();
        assert!((t[0].mean_response - 2.0).abs() < 1e-12);
        assert!((t[1].mean_response - (1.0 + 10.0 / 3.0)).abs() < 1e-12);
        // Kleinrock's conservation law: Σ ρ_k W_k is FIFO's ρ·W_FIFO (M/M/1: W = ρ/(1−ρ)).
        let conserved = 0.3 * t[0].mean_wait + 0.4 * t[1].mean_wait;
        assert!((conserved - 0.7 * (0.7 / 0.3)).abs() < 1e-12);
    }

    #[test]
    fn one_class_is_pollaczek_khinchine() {
        // M/D/1 at ρ = 0.5: W = ρ E[S] / (2(1 − ρ)) = 0.5.
        let d = [PriorityClass { arrival_rate: 0.5, mean_service: 1.0, second_moment: 1.0 }];
        assert!((cobham(&d).unwrap()[0].mean_wait - 0.5).abs() < 1e-12);
        assert!((preemptive_resume(&d).unwrap()[0].mean_wait - 0.5).abs() < 1e-12);
    }

    #[test]
    fn preemptive_resume_two_classes_by_hand() {
        let t = preemptive_resume(&TWO).unwrap();
        // The high class sees an M/M/1 of its own.
        assert!((t[0].mean_response - 1.0 / 0.7).abs() < 1e-12);
        // M/M/1 with equal means: L = ρ/(1−ρ) is FIFO's, so λ_low·T_low = 7/3 − 0.3/0.7.
        assert!((t[1].mean_response - (7.0 / 3.0 - 0.3 / 0.7) / 0.4).abs() < 1e-12);
    }

    #[test]
    fn unstable_and_invalid_are_refused() {
        let over = [PriorityClass { arrival_rate: 1.2, mean_service: 1.0, second_moment: 2.0 }];
        assert!(matches!(cobham(&over), Err(TheoryError::Unstable { .. })));
        let bad = [PriorityClass { arrival_rate: 0.1, mean_service: 1.0, second_moment: 0.5 }];
        assert!(matches!(preemptive_resume(&bad), Err(TheoryError::InvalidParameter { .. })));
    }
}
