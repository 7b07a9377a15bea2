//! Planning a sweep: its parameters, points and definition, checked before anything runs.
//!
//! Parameters come from `--param` options or, when none is given, the file's `sweep:`
//! section. Every point is a list of overrides applied to the located YAML tree by the
//! same mechanism as `--set`, so a bad key or value is reported against the parameter
//! (`--param services.api.severs: unknown key ... did you mean servers?`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::grid::{self, Param, Point, Values};
use super::objective::{lookup, objective_path};
use super::sampling::sample;
use crate::engine::fnv1a64;
use crate::report::Report;
use crate::run::precision::Precision;
use crate::scenario::load::SWEEP_FLAG;
use crate::scenario::samples::SamplesFile;
use crate::scenario::sweep_spec::{ConstraintSpec, ObjectiveSpec, ParamSpec, SamplingSpec};
use crate::scenario::tree::{Located, Node};
use crate::scenario::{Override, Scenario, ScenarioError, load_str_reusing};

/// What the command line asks of a sweep; unset fields fall back to the `sweep:` section.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    /// `--param` (replaces the section's `params` when given).
    pub params: Vec<Param>,
    /// `--sampling`.
    pub sampling: Option<SamplingSpec>,
    /// `--samples`.
    pub samples: Option<u32>,
    /// `--objective`.
    pub objective: Option<ObjectiveSpec>,
    /// `--constraint` (replaces the section's `constraints` when given).
    pub constraints: Vec<ConstraintSpec>,
    /// `--precision` and `--max-replications`.
    pub precision: Option<Precision>,
}

/// One swept parameter as recorded in sweep.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamDef {
    /// Dotted scenario key.
    pub key: String,
    /// Its values, for a list or a range with a step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
    /// A continuous range's ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[f64; 2]>,
}

/// Everything that determines a sweep's results; stored in sweep.json and in shard files,
/// and compared by `resim merge`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// Scenario name.
    pub scenario: String,
    /// FNV-1a hash of the scenario text, the `--set` overrides, the precision target and
    /// the samples files' values ([`scenario_hash`]);
    /// stored with every point to recognise it on `--resume` and `merge`.
    pub scenario_hash: String,
    /// The seed every point uses (common random numbers).
    pub seed: u64,
    /// Swept parameters, in column order.
    pub params: Vec<ParamDef>,
    /// How points were chosen.
    pub sampling: SamplingSpec,
    /// Points drawn, for random and Latin-hypercube sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u32>,
    /// Relative precision target, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
    /// The objective.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<ObjectiveSpec>,
    /// The constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<ConstraintSpec>,
    /// Number of points.
    pub points: usize,
}

/// A planned sweep.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The definition written to sweep.json.
    pub definition: Definition,
    /// The parameters.
    pub params: Vec<Param>,
    /// Every point, in index order.
    pub points: Vec<Point>,
    /// The base scenario's samples files, read once and reused by every point.
    pub samples: Vec<Arc<SamplesFile>>,
}

impl Plan {
    /// The `(key, value)` pairs of point `i`.
    pub fn pairs(&self, i: usize) -> Vec<(String, Value)> {
        self.params.iter().map(|p| p.key.clone()).zip(self.points[i].values.iter().cloned()).collect()
    }
}

/// Plans the sweep of scenario `text` (read from `file`, loaded with `base` overrides as
/// `scenario`).
pub fn plan(
    text: &str,
    file: &Path,
    base: &[Override],
    scenario: &Scenario,
    options: &SweepOptions,
) -> Result<Plan, ScenarioError> {
    let section = scenario.spec.sweep.clone().unwrap_or_default();
    let at = Source { text, file };
    let params = swept_params(at, &section.params, options)?;
    let sampling = options.sampling.unwrap_or(section.sampling);
    let samples = options.samples.or(section.samples);
    let points = draw_points(at, &params, sampling, samples, scenario.model.seed)?;
    let objective = options.objective.clone().or(section.objective);
    let constraints = if options.constraints.is_empty() { section.constraints } else { options.constraints.clone() };
    check_paths(scenario, objective.as_ref(), &constraints).map_err(|(key, m)| {
        let from_file = match key {
            "--objective" => options.objective.is_none(),
            _ => options.constraints.is_empty(),
        };
        let key = if from_file { key.replace("--", "sweep.").replace("constraint", "constraints") } else { key.into() };
        at.fail(&key, m, "metrics are paths into report.json, e.g. workloads.users.latency_s.p99")
    })?;
    let definition = Definition {
        scenario: scenario.model.name.clone(),
        scenario_hash: scenario_hash(text, base, options.precision, &scenario.samples),
        seed: scenario.model.seed,
        params: params.iter().map(param_def).collect(),
        sampling,
        samples,
        precision: options.precision,
        objective,
        constraints,
        points: points.len(),
    };
    Ok(Plan { definition, params, points, samples: scenario.samples.clone() })
}

/// The scenario file being planned, to locate errors in.
#[derive(Clone, Copy)]
struct Source<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Source<'_> {
    /// An error at `key` (located in the file when it is under `sweep`).
    fn fail(&self, key: &str, message: String, help: &str) -> ScenarioError {
        let mut e = ScenarioError::at_key(key, message).with_help(help);
        e.file = self.file.to_owned();
        if key.starts_with("sweep") { locate(self.text, &mut e, key) } else { e }
    }
}

/// The swept parameters: `--param` when given, else the file's `sweep.params`; at least
/// one, each key once.
fn swept_params(
    at: Source<'_>,
    in_file: &BTreeMap<String, ParamSpec>,
    options: &SweepOptions,
) -> Result<Vec<Param>, ScenarioError> {
    let params = if options.params.is_empty() {
        grid::from_spec(in_file).map_err(|e| {
            let key = e.key.clone();
            at.fail(&key, e.message, e.help.as_deref().unwrap_or("see the Sweeps section of the README"))
        })?
    } else {
        options.params.clone()
    };
    if params.is_empty() {
        return Err(at.fail(
            "--param",
            "nothing to sweep".into(),
            "give --param KEY=V1,V2,... (e.g. --param services.api.servers=2,4,8) or a `sweep: { params: ... }` section",
        ));
    }
    for (i, p) in params.iter().enumerate() {
        if params[..i].iter().any(|q| q.key == p.key) {
            return Err(at.fail(
                &format!("--param {}", p.key),
                format!("`{}` is swept twice", p.key),
                "give each key once",
            ));
        }
    }
    Ok(params)
}

/// The points: the grid, or `samples` random or Latin-hypercube draws.
fn draw_points(
    at: Source<'_>,
    params: &[Param],
    sampling: SamplingSpec,
    samples: Option<u32>,
    seed: u64,
) -> Result<Vec<Point>, ScenarioError> {
    match (sampling, samples) {
        (SamplingSpec::Grid, None) => grid::grid(params).map_err(|mut e| {
            e.file = at.file.to_owned();
            e
        }),
        (SamplingSpec::Grid, Some(_)) => Err(at.fail(
            "--samples",
            "`samples` draws points at random, but the sampling is `grid`".into(),
            "add --sampling random or --sampling lhs (sweep: sampling: latin_hypercube), or drop --samples",
        )),
        (_, None) => Err(at.fail(
            "--samples",
            "random and Latin-hypercube sampling need a number of points".into(),
            "add --samples N (sweep: samples: N)",
        )),
        (_, Some(n)) if n == 0 || n as usize > grid::MAX_POINTS => Err(at.fail(
            "--samples",
            format!("{n} samples; expected 1 to {}", grid::MAX_POINTS),
            "draw at least one point",
        )),
        (method, Some(n)) => Ok(sample(params, n as usize, method, seed)),
    }
}

/// Loads point `i` of `plan`: the scenario with the base overrides and the point's.
pub fn load_point(
    plan: &Plan,
    i: usize,
    text: &str,
    file: &Path,
    base: &[Override],
) -> Result<Scenario, ScenarioError> {
    let mut overrides = base.to_vec();
    overrides.extend(plan.points[i].overrides(&plan.params));
    load_str_reusing(text, file, &overrides, &plan.samples).map_err(|mut e| {
        if let Some(key) = e.key.strip_prefix(&format!("{SWEEP_FLAG} ")) {
            let at = format!("{SWEEP_FLAG}.{key}");
            e = locate(text, &mut e, &at);
        }
        e.message = format!("{} (point {i})", e.message);
        e
    })
}

/// Hex FNV-1a of what makes two runs of a point give the same report: the scenario text,
/// the base overrides, the precision target, and the values of the samples files the
/// base scenario reads (a file named only by a swept parameter is identified by its
/// name, in the point's parameters).
pub fn scenario_hash(
    text: &str,
    base: &[Override],
    precision: Option<Precision>,
    samples: &[Arc<SamplesFile>],
) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for o in base {
        bytes.extend(format!("\0{}={}", o.key, o.value).bytes());
    }
    for f in samples {
        bytes.extend(format!("\0samples={:016x}", f.digest).bytes());
    }
    if let Some(p) = precision {
        bytes.extend(format!("\0precision={}/{}", p.relative, p.max_replications).bytes());
    }
    format!("{:016x}", fnv1a64(&bytes))
}

fn param_def(p: &Param) -> ParamDef {
    match (&p.values, p.values.levels()) {
        (_, Some(v)) => ParamDef { key: p.key.clone(), values: Some(v), range: None },
        (Values::Range(r), None) => ParamDef { key: p.key.clone(), values: None, range: Some([r.from, r.to]) },
        (Values::List(_), None) => ParamDef { key: p.key.clone(), values: None, range: None },
    }
}

/// Checks the objective and constraint paths against the shape of the scenario's report.
fn check_paths(
    scenario: &Scenario,
    objective: Option<&ObjectiveSpec>,
    constraints: &[ConstraintSpec],
) -> Result<(), (&'static str, String)> {
    let skeleton = serde_json::to_value(Report::build(&scenario.model, &[])).unwrap_or_default();
    let stat_or_number = |path: &str| match lookup(&skeleton, path)? {
        Value::Number(_) | Value::Null => Ok(()),
        Value::Object(m) if m.contains_key("mean") => Ok(()),
        _ => Err(format!("`{path}` is not a number or a statistic (a statistic has mean, ci95, n)")),
    };
    if let Some(o) = objective {
        stat_or_number(objective_path(o)).map_err(|m| ("--objective", m))?;
    }
    for c in constraints {
        stat_or_number(&c.metric).map_err(|m| ("--constraint", m))?;
    }
    Ok(())
}

/// Points `e` at `key` (`sweep.params.<dotted key>` or `sweep.<field>`) in the file.
fn locate(text: &str, e: &mut ScenarioError, key: &str) -> ScenarioError {
    if let Ok(tree) = serde_saphyr::from_str::<Located>(text) {
        let sweep = tree.find("sweep");
        let at = match key.strip_prefix("sweep.params.") {
            Some(param) => match &sweep.find("params").node {
                Node::Map(entries) => entries.iter().find(|(k, _)| k == param).map(|(_, v)| v.at),
                _ => None,
            },
            None => Some(sweep.find(key.trim_start_matches("sweep.")).at),
        };
        if let Some(at) = at.filter(|at| at.0 > 0) {
            (e.line, e.column) = at;
            e.source_line = text.lines().nth(at.0 - 1).map(str::to_owned);
        }
    }
    e.key = key.to_owned();
    e.clone()
}
