//! Swept parameters and the grid of points they span.
//!
//! A parameter is a dotted scenario key (the `--set` syntax) with either a list of
//! values (any YAML) or a numeric range: `2..10` (whole numbers, step one),
//! `10..100 step 10` or `0.1..0.5 step 0.1`, both ends included. Grid values are
//! computed as `from + i·step` and rounded to the decimals written, so the range
//! `0.1..0.3 step 0.1` gives 0.1, 0.2, 0.3 and never 0.30000000000000004.

use serde_json::Value;

use crate::scenario::load::{PARAM_FLAG, SWEEP_FLAG};
use crate::scenario::sweep_spec::{ParamSpec, RangeSpec};
use crate::scenario::{Override, ScenarioError};

/// Most values one parameter may take in a grid.
pub const MAX_LEVELS: usize = 100_000;
/// Most points a sweep may have.
pub const MAX_POINTS: usize = 1_000_000;

/// One swept parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Dotted scenario key, e.g. `services.api.servers`.
    pub key: String,
    /// Its values.
    pub values: Values,
    /// Where it was given: `--param` or `sweep.params`.
    pub flag: &'static str,
}

/// The values of a parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Explicit values.
    List(Vec<Value>),
    /// A numeric range.
    Range(Range),
}

/// A numeric range, both ends included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// First value.
    pub from: f64,
    /// Last value.
    pub to: f64,
    /// Grid step; `None` for a continuous range (sampling only).
    pub step: Option<f64>,
    /// Decimals grid values are rounded to (the most written in `from` and `step`).
    pub decimals: usize,
}

/// One point of a sweep: a value per parameter, in parameter order.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Position in the sweep (0-based); shards and output folders use it.
    pub index: usize,
    /// The value of each parameter.
    pub values: Vec<Value>,
}

impl Point {
    /// The point as scenario overrides.
    pub fn overrides(&self, params: &[Param]) -> Vec<Override> {
        params.iter().zip(&self.values).map(|(p, v)| Override::param(p.flag, &p.key, v.to_string())).collect()
    }
}

/// A value as shown in tables: strings bare, everything else as JSON.
pub fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn decimals(text: &str) -> usize {
    let t = text.trim();
    if t.contains(['e', 'E']) {
        return 12;
    }
    t.split_once('.').map_or(0, |(_, d)| d.len())
}

fn err(key: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError::at_key(key, message)
}

impl Range {
    /// A range from its written ends and step; `key` names it in errors.
    fn new(key: &str, from: (f64, usize), to: (f64, usize), step: Option<(f64, usize)>) -> Result<Self, ScenarioError> {
        let hint = "write a range as FROM..TO or FROM..TO step STEP, e.g. 2..10 or 10..100 step 10";
        if !from.0.is_finite() || !to.0.is_finite() {
            return Err(err(key, "the range ends must be finite numbers").with_help(hint));
        }
        if from.0 > to.0 {
            return Err(err(key, format!("the range {}..{} runs backwards", from.0, to.0)).with_help(hint));
        }
        let step = match step {
            Some((s, _)) if !(s.is_finite() && s > 0.0) => {
                return Err(err(key, format!("the step {s} must be a positive number")).with_help(hint));
            }
            Some(s) => Some(s),
            None if from.0.fract() == 0.0 && to.0.fract() == 0.0 && from.1 == 0 && to.1 == 0 => Some((1.0, 0)),
            None => None,
        };
        let decimals = from.1.max(step.map_or(to.1, |s| s.1)).min(12);
        let range = Range { from: from.0, to: to.0, step: step.map(|s| s.0), decimals };
        if let Some(n) = range.count()
            && n > MAX_LEVELS
        {
            return Err(err(key, format!("the range has more than {MAX_LEVELS} values"))
                .with_help("use a larger step, or --sampling random with --samples N"));
        }
        Ok(range)
    }

    /// Number of grid values, `None` when continuous.
    pub fn count(&self) -> Option<usize> {
        let step = self.step?;
        let n = ((self.to - self.from) / step + 1e-9).floor();
        Some(if n.is_finite() && n < (MAX_LEVELS * 10) as f64 { n as usize + 1 } else { usize::MAX })
    }

    /// The value at `x`, rounded to the range's decimals.
    /// Whole values come out as integers (`1..3 step 0.5` gives 1, 1.5, 2, ...), so a
    /// whole-number key such as `servers` accepts them.
    pub fn value_at(&self, x: f64) -> Value {
        let rounded: f64 = format!("{x:.*}", self.decimals).parse().unwrap_or(x);
        if rounded.fract() == 0.0 && rounded.abs() < 9e15 {
            return Value::from(rounded as i64);
        }
        serde_json::Number::from_f64(rounded).map_or(Value::Null, Value::Number)
    }

    /// Grid values, `None` when continuous.
    pub fn levels(&self) -> Option<Vec<Value>> {
        let step = self.step?;
        Some((0..self.count()?).map(|i| self.value_at(self.from + i as f64 * step)).collect())
    }
}

impl Values {
    /// The discrete values, or `None` for a continuous range.
    pub fn levels(&self) -> Option<Vec<Value>> {
        match self {
            Values::List(v) => Some(v.clone()),
            Values::Range(r) => r.levels(),
        }
    }
}

impl std::str::FromStr for Param {
    type Err = String;

    /// `KEY=V1,V2,...`, `KEY=FROM..TO` or `KEY=FROM..TO step STEP`.
    fn from_str(s: &str) -> Result<Self, String> {
        let example = "(e.g. services.api.servers=2,4,8 or services.api.servers=2..10 or timeout=10..100 step 10)";
        let (key, rest) = s.split_once('=').ok_or_else(|| format!("`{s}` is not KEY=VALUES {example}"))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!("`{key}` is not a dotted key path {example}"));
        }
        let values = parse_values(key, rest.trim())
            .map_err(|e| e.help.map_or_else(|| e.message.clone(), |h| format!("{}; {h}", e.message)))?;
        Ok(Param { key: key.to_owned(), values, flag: PARAM_FLAG })
    }
}

/// Parses the text after `KEY=`.
fn parse_values(key: &str, text: &str) -> Result<Values, ScenarioError> {
    if text.is_empty() {
        return Err(err(key, format!("`{key}` has no values")));
    }
    if let Some((from, rest)) = text.split_once("..") {
        let (to, step) = match rest.split_once("step") {
            Some((to, step)) => (to, Some(step)),
            None => (rest, None),
        };
        let num = |t: &str, what: &str| -> Result<(f64, usize), ScenarioError> {
            t.trim().parse::<f64>().map(|x| (x, decimals(t))).map_err(|_| {
                err(key, format!("the range {what} `{}` is not a number", t.trim()))
                    .with_help("ranges take plain numbers; list other values, e.g. 50ms,100ms,200ms")
            })
        };
        let step = step.map(|s| num(s, "step")).transpose()?;
        return Ok(Values::Range(Range::new(key, num(from, "start")?, num(to, "end")?, step)?));
    }
    let items: Vec<Value> = text
        .split(',')
        .map(|v| {
            let v = v.trim();
            serde_saphyr::from_str::<Value>(v).unwrap_or_else(|_| Value::String(v.to_owned()))
        })
        .collect();
    if items.iter().any(|v| v.is_null() || v.as_str() == Some("")) {
        return Err(err(key, format!("`{text}` has an empty value")));
    }
    Ok(Values::List(items))
}

/// The parameters of a file's `sweep.params`.
pub fn from_spec(params: &std::collections::BTreeMap<String, ParamSpec>) -> Result<Vec<Param>, ScenarioError> {
    params
        .iter()
        .map(|(key, spec)| {
            let at = format!("{SWEEP_FLAG}.{key}");
            if key.is_empty() || key.split('.').any(str::is_empty) {
                return Err(err(&at, format!("`{key}` is not a dotted key path (e.g. services.api.servers)")));
            }
            let values = match spec {
                ParamSpec::List(v) if v.is_empty() => return Err(err(&at, "the list of values is empty")),
                ParamSpec::List(v) => Values::List(v.clone()),
                ParamSpec::Range(RangeSpec { from, to, step }) => {
                    let d = |x: f64| (x, decimals(&x.to_string()));
                    Values::Range(Range::new(&at, d(*from), d(*to), step.map(d))?)
                }
            };
            Ok(Param { key: key.clone(), values, flag: SWEEP_FLAG })
        })
        .collect()
}

/// Every combination of the parameters' values; the first parameter varies slowest.
pub fn grid(params: &[Param]) -> Result<Vec<Point>, ScenarioError> {
    let mut levels = Vec::with_capacity(params.len());
    for p in params {
        let at = if p.flag == PARAM_FLAG { format!("--param {}", p.key) } else { format!("{}.{}", p.flag, p.key) };
        levels.push(p.values.levels().ok_or_else(|| {
            err(&at, "a range of decimals needs a step in a grid sweep")
                .with_help("add a step (0.1..0.5 step 0.1), or draw points with --sampling random --samples N")
        })?);
    }
    let total = levels.iter().try_fold(1usize, |acc, l| acc.checked_mul(l.len()).filter(|&n| n <= MAX_POINTS));
    let Some(total) = total else {
        return Err(err("--param", format!("the grid has more than {MAX_POINTS} points"))
            .with_help("sweep fewer values, or draw points with --sampling random --samples N"));
    };
    Ok((0..total)
        .map(|index| {
            let mut rest = index;
            let mut values = vec![Value::Null; levels.len()];
            for (slot, l) in values.iter_mut().zip(&levels).rev() {
                *slot = l[rest % l.len()].clone();
                rest /= l.len();
            }
            Point { index, values }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn levels(s: &str) -> Vec<Value> {
        s.parse::<Param>().unwrap().values.levels().unwrap()
    }

    #[test]
    fn lists_read_each_value_as_yaml() {
        assert_eq!(levels("services.api.servers=2,4,8"), vec![json!(2), json!(4), json!(8)]);
        assert_eq!(levels("t=50ms, 100ms"), vec![json!("50ms"), json!("100ms")]);
        assert_eq!(levels("x=true,0.5"), vec![json!(true), json!(0.5)]);
    }

    #[test]
    fn ranges_include_both_ends_and_round_to_written_decimals() {
        assert_eq!(levels("k=2..5"), vec![json!(2), json!(3), json!(4), json!(5)]);
        assert_eq!(levels("k=10..100 step 30"), vec![json!(10), json!(40), json!(70), json!(100)]);
        assert_eq!(levels("k=10..95 step 30"), vec![json!(10), json!(40), json!(70)]);
        assert_eq!(levels("k=0.1..0.3 step 0.1"), vec![json!(0.1), json!(0.2), json!(0.3)]);
        assert_eq!(levels("k=1..2 step 0.5"), vec![json!(1), json!(1.5), json!(2)]);
        let continuous = "k=0.5..1.5".parse::<Param>().unwrap();
        assert_eq!(continuous.values.levels(), None);
    }

    #[test]
    fn bad_params_say_what_was_expected() {
        for (bad, needle) in [
            ("novalue", "KEY=VALUES"),
            ("a..b=1", "dotted key"),
            ("k=", "no values"),
            ("k=5..2", "backwards"),
            ("k=1..9 step 0", "positive"),
            ("k=1..9 step -1", "positive"),
            ("k=1ms..9ms", "not a number"),
            ("k=1,,2", "empty value"),
            ("k=0..1000000000", "more than"),
        ] {
            let e = bad.parse::<Param>().unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn grid_is_the_cartesian_product_first_param_slowest() {
        let params: Vec<Param> = ["a=1,2", "b=p,q,r"].iter().map(|s| s.parse().unwrap()).collect();
        let points = grid(&params).unwrap();
        assert_eq!(points.len(), 6);
        assert_eq!(points[0].values, vec![json!(1), json!("p")]);
        assert_eq!(points[1].values, vec![json!(1), json!("q")]);
        assert_eq!(points[3].values, vec![json!(2), json!("p")]);
        assert_eq!(points[5].index, 5);
        let continuous: Vec<Param> = vec!["c=0.5..1.5".parse().unwrap()];
        assert!(grid(&continuous).unwrap_err().message.contains("needs a step"));
    }

    #[test]
    fn spec_params_are_checked_and_keyed() {
        let mut m = std::collections::BTreeMap::new();
        m.insert("services.api.servers".to_owned(), ParamSpec::Range(RangeSpec { from: 2.0, to: 4.0, step: None }));
        m.insert("x".to_owned(), ParamSpec::List(vec![json!("50ms")]));
        let p = from_spec(&m).unwrap();
        assert_eq!(p[0].values.levels().unwrap(), vec![json!(2), json!(3), json!(4)]);
        assert_eq!(p[0].flag, SWEEP_FLAG);
        m.insert("y".to_owned(), ParamSpec::List(vec![]));
        assert_eq!(from_spec(&m).unwrap_err().key, "sweep.params.y");
    }
}
