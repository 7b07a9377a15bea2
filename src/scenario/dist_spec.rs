//! Distributions of durations as written: service times, think times, added latency.
//!
//! Shared by services, workloads and faults, so these types sit below all of them in
//! [`super::spec`] and [`super::fault_spec`]. An empirical distribution may name a file
//! of samples; loading reads it ([`super::samples`]) and leaves the values in
//! [`EmpiricalSpec::loaded`], so validation never touches the disk.

use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::samples::SamplesFile;
use super::units::{Duration, TimeUnit};

/// A distribution of durations.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum DistSpec {
    /// Exponential with the given mean (memoryless; gives M/M/c/K).
    Exponential {
        /// Mean.
        mean: Duration,
    },
    /// Always the same value.
    Constant {
        /// The value.
        value: Duration,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// Lower bound.
        min: Duration,
        /// Upper bound.
        max: Duration,
    },
    /// Lognormal, by `mean` and `sd`, or by `median` and `p99`.
    Lognormal(LognormalSpec),
    /// Gamma with a shape (k) and a mean.
    Gamma {
        /// Shape k (> 0); 1 is exponential, larger is less variable.
        shape: f64,
        /// Mean.
        mean: Duration,
    },
    /// Erlang: the sum of `k` exponential phases, with the given overall mean.
    Erlang {
        /// Number of phases (>= 1).
        k: u32,
        /// Mean.
        mean: Duration,
    },
    /// Weibull with a shape and a scale.
    Weibull {
        /// Shape (> 0); below 1 gives a heavy tail.
        shape: f64,
        /// Scale.
        scale: Duration,
    },
    /// Pareto (type I): heavy tail above a minimum `scale`.
    Pareto {
        /// Tail index alpha (> 0; the mean is finite only above 1).
        shape: f64,
        /// Minimum value x_m.
        scale: Duration,
    },
    /// Resample measured values uniformly: inline `samples`, or a `file` of them.
    Empirical(EmpiricalSpec),
    /// A weighted mixture, e.g. 95% fast and 5% slow.
    Mixture(Vec<MixtureSpec>),
}

/// Lognormal parameters: either `mean` + `sd`, or `median` + `p99`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LognormalSpec {
    /// Mean (with `sd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<Duration>,
    /// Standard deviation (with `mean`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd: Option<Duration>,
    /// Median (with `p99`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<Duration>,
    /// 99th percentile (with `median`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<Duration>,
}

/// Measured durations, resampled uniformly. Give `samples`, or a `file` with `unit` and
/// `column` as its contents need.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmpiricalSpec {
    /// Observed durations, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<Vec<Duration>>,
    /// A file of observed durations, relative to the scenario file's folder (or absolute):
    /// one value per line, or a CSV with a header row when `column` is given. Blank lines
    /// and lines starting with `#` are skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The unit of plain numbers in the file (`12.5` with `unit: ms` is 12.5ms); values
    /// written with a unit (`12.5ms`) keep theirs. Without it, plain numbers are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<TimeUnit>,
    /// Read the file as CSV whose first row names the columns, taking the values from
    /// the column with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The file's values, filled in when the scenario is loaded (not part of the format).
    #[serde(skip)]
    #[schemars(skip)]
    pub loaded: Option<Arc<SamplesFile>>,
}

/// One component of a mixture.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MixtureSpec {
    /// Relative weight (> 0); weights are normalised.
    pub weight: f64,
    /// The component distribution.
    pub dist: DistSpec,
}
