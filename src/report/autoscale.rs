//! An autoscaled service's instance count in the report: its mean and peak, the
//! scale-ups and scale-downs decided, and the mean count per window (the series of
//! `timeseries.csv` and of the services chart), each over replications.

use serde::Serialize;

use super::Report;
use super::aggregate::window_totals;
use super::statistic::Statistic;
use super::summary::ReplicationSummary;
use super::text::{Section, num, pm};
use crate::metrics::autoscale::AutoscaleMetrics;

/// One replication's instance count of an autoscaled service.
#[derive(Clone, Debug)]
pub struct AutoscaleSummary {
    /// Time-average count over the measured run.
    pub mean: Option<f64>,
    /// Peak count.
    pub max: f64,
    /// Scale-up decisions.
    pub ups: f64,
    /// Scale-down decisions.
    pub downs: f64,
    /// Time-average count per window.
    pub windows: Vec<f64>,
}

impl AutoscaleSummary {
    /// The summary of `m` over `measured` seconds cut in windows of `window` seconds.
    pub fn of(m: &AutoscaleMetrics, measured: f64, window: f64) -> Self {
        AutoscaleSummary {
            mean: (measured > 0.0).then(|| m.area as f64 / 1e9 / measured),
            max: f64::from(m.instances_max),
            ups: m.scale_ups as f64,
            downs: m.scale_downs as f64,
            windows: m.window_means(window, measured),
        }
    }
}

/// `services.<name>.autoscaling`.
#[derive(Clone, Debug, Serialize)]
pub struct AutoscalingReport {
    /// Time-average instances (starting or ready).
    pub instances_mean: Statistic,
    /// Most instances at once.
    pub instances_max: Statistic,
    /// Scale-up decisions per replication.
    pub scale_ups: Statistic,
    /// Scale-down decisions per replication.
    pub scale_downs: Statistic,
    /// Time-average instances per window, means over replications.
    pub instances_per_window: Vec<f64>,
}

impl AutoscalingReport {
    /// Service `i`'s instance count over `reps`; `None` when it is not autoscaled.
    pub(super) fn of(reps: &[ReplicationSummary], i: usize) -> Option<Self> {
        reps.first()?.services[i].autoscaling.as_ref()?;
        let each = |f: &dyn Fn(&AutoscaleSummary) -> Option<f64>| {
            reps.iter().map(|r| r.services[i].autoscaling.as_ref().and_then(f)).collect::<Vec<_>>()
        };
        let n = reps.first().and_then(|r| r.services[i].autoscaling.as_ref()).map_or(0, |a| a.windows.len());
        let window = |r: usize, w: usize| {
            reps[r].services[i].autoscaling.as_ref().and_then(|a| a.windows.get(w).copied()).unwrap_or_default()
        };
        Some(AutoscalingReport {
            instances_mean: Statistic::of(each(&|a| a.mean)),
            instances_max: Statistic::of(each(&|a| Some(a.max))),
            scale_ups: Statistic::of_counts(each(&|a| Some(a.ups)).into_iter().flatten()),
            scale_downs: Statistic::of_counts(each(&|a| Some(a.downs)).into_iter().flatten()),
            instances_per_window: window_totals(reps.len(), n, &window),
        })
    }
}

/// The summary's table of autoscaled services (instances mean and peak, scale-ups and
/// scale-downs, means over replications); `None` when no service is autoscaled.
pub(super) fn section(report: &Report) -> Option<Section> {
    let header = ["service", "instances mean", "max", "scale ups", "scale downs"].map(String::from).to_vec();
    let mut rows = vec![header];
    for (name, s) in &report.services {
        let Some(a) = &s.autoscaling else { continue };
        rows.push(vec![
            name.clone(),
            pm(&a.instances_mean, num),
            num(a.instances_max.value()),
            pm(&a.scale_ups, num),
            pm(&a.scale_downs, num),
        ]);
    }
    (rows.len() > 1)
        .then(|| Section { title: "Autoscaling (mean ± 95% CI half-width over replications)".into(), rows })
}
