//! `--objective` and `--constraint`: naming the best point of a sweep, and saying why.
//!
//! Metrics are paths into report.json (`workloads.users.latency_s.p99`); a path that
//! ends at a statistic compares by its mean. A point is feasible when every constraint
//! holds on its mean; the best point is the feasible one with the smallest (or largest)
//! objective, the lower index winning ties, so the choice is deterministic.

use serde_json::Value;

use crate::scenario::error::suggest;
use crate::scenario::sweep_spec::{CompareOp, ConstraintSpec, ObjectiveSpec};

/// Parses `min PATH` / `max PATH` (also `minimize`, `maximize`).
pub fn parse_objective(s: &str) -> Result<ObjectiveSpec, String> {
    let hint = "expected `min PATH` or `max PATH`, e.g. \"min workloads.users.latency_s.p99\"";
    let (dir, path) = s.trim().split_once(char::is_whitespace).ok_or_else(|| format!("`{s}`: {hint}"))?;
    let path = path.trim().to_owned();
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(format!("`{path}` is not a dotted path into report.json; {hint}"));
    }
    match dir {
        "min" | "minimize" | "minimise" => Ok(ObjectiveSpec::Minimize(path)),
        "max" | "maximize" | "maximise" => Ok(ObjectiveSpec::Maximize(path)),
        _ => Err(format!("`{dir}` is not min or max; {hint}")),
    }
}

/// Parses `PATH OP VALUE` with OP one of `>=`, `<=`, `>`, `<`; VALUE may end in `%`.
pub fn parse_constraint(s: &str) -> Result<ConstraintSpec, String> {
    let hint = "expected PATH OP VALUE with OP one of >= <= > <, e.g. \"workloads.users.availability >= 0.999\"";
    let (at, op) = [(">=", CompareOp::Ge), ("<=", CompareOp::Le), (">", CompareOp::Gt), ("<", CompareOp::Lt)]
        .iter()
        .find_map(|&(sym, op)| s.find(sym).map(|i| ((i, sym.len()), op)))
        .ok_or_else(|| format!("`{s}`: {hint}"))?;
    let metric = s[..at.0].trim().to_owned();
    let raw = s[at.0 + at.1..].trim();
    if metric.is_empty() || metric.split('.').any(str::is_empty) {
        return Err(format!("`{metric}` is not a dotted path into report.json; {hint}"));
    }
    let value = match raw.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => raw.parse::<f64>(),
    }
    .ok()
    .filter(|x| x.is_finite())
    .ok_or_else(|| format!("`{raw}` is not a number; {hint}"))?;
    Ok(ConstraintSpec { metric, op, value })
}

/// The path of an objective.
pub fn objective_path(o: &ObjectiveSpec) -> &str {
    match o {
        ObjectiveSpec::Minimize(p) | ObjectiveSpec::Maximize(p) => p,
    }
}

/// The node at dotted `path` in `v`. Names may themselves contain dots: at each level
/// the longest matching key wins.
pub fn lookup<'a>(v: &'a Value, path: &str) -> Result<&'a Value, String> {
    let mut here = v;
    let mut rest = path;
    let mut walked = String::new();
    while !rest.is_empty() {
        let (key, next) = match here {
            Value::Object(map) => map
                .keys()
                .filter(|k| rest == k.as_str() || rest.strip_prefix(k.as_str()).is_some_and(|r| r.starts_with('.')))
                .max_by_key(|k| k.len())
                .map(|k| (k.clone(), &map[k]))
                .ok_or_else(|| {
                    let seg = rest.split('.').next().unwrap_or(rest);
                    let help = suggest(seg, map.keys().map(String::as_str))
                        .map_or_else(String::new, |s| format!("; did you mean `{s}`?"));
                    let within = if walked.is_empty() { "report.json".to_owned() } else { format!("`{walked}`") };
                    format!("`{path}`: {within} has no key `{seg}`{help}")
                })?,
            Value::Array(items) => {
                let seg = rest.split('.').next().unwrap_or(rest);
                let item = seg.parse::<usize>().ok().and_then(|i| items.get(i));
                (seg.to_owned(), item.ok_or_else(|| format!("`{path}`: `{seg}` is not an index of `{walked}`"))?)
            }
            _ => return Err(format!("`{path}`: `{walked}` is a plain value")),
        };
        rest = rest[key.len()..].trim_start_matches('.');
        walked = if walked.is_empty() { key } else { format!("{walked}.{key}") };
        here = next;
    }
    Ok(here)
}

/// The number a path names: a statistic's mean, or a plain number. `Ok(None)` when the
/// statistic is undefined in this point (no replication defined it).
pub fn metric(v: &Value, path: &str) -> Result<Option<f64>, String> {
    match lookup(v, path)? {
        Value::Number(n) => Ok(n.as_f64()),
        Value::Object(m) if m.contains_key("mean") => Ok(m["mean"].as_f64()),
        Value::Null => Ok(None),
        _ => Err(format!("`{path}` is not a number or a statistic in report.json")),
    }
}

/// The verdict on a set of points.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Choice {
    /// Index (into the points given) of the best feasible point.
    pub best: Option<usize>,
    /// The next best feasible point.
    pub runner_up: Option<usize>,
    /// Per point: does it meet every constraint?
    pub feasible: Vec<bool>,
    /// Per point: the objective's value.
    pub objective: Vec<Option<f64>>,
    /// Points that break at least one constraint (or where a constrained metric is undefined).
    pub infeasible: usize,
}

/// Judges `reports` (in point order) by `objective` and `constraints`. Errors name a
/// path that is not in the reports.
pub fn choose(
    reports: &[&Value],
    objective: Option<&ObjectiveSpec>,
    constraints: &[ConstraintSpec],
) -> Result<Choice, String> {
    let mut feasible = Vec::with_capacity(reports.len());
    let mut values = Vec::with_capacity(reports.len());
    for r in reports {
        let mut ok = true;
        for c in constraints {
            ok &= metric(r, &c.metric)?.is_some_and(|x| c.op.holds(x, c.value));
        }
        feasible.push(ok);
        values.push(match objective {
            Some(o) => metric(r, objective_path(o))?,
            None => None,
        });
    }
    let minimize = !matches!(objective, Some(ObjectiveSpec::Maximize(_)));
    let mut ranked: Vec<usize> = (0..reports.len()).filter(|&i| feasible[i] && values[i].is_some()).collect();
    ranked.sort_by(|&a, &b| {
        let (x, y) = (values[a].unwrap_or(f64::NAN), values[b].unwrap_or(f64::NAN));
        let ord = if minimize { x.total_cmp(&y) } else { y.total_cmp(&x) };
        ord.then(a.cmp(&b))
    });
    Ok(Choice {
        best: ranked.first().copied(),
        runner_up: ranked.get(1).copied(),
        infeasible: feasible.iter().filter(|f| !**f).count(),
        feasible,
        objective: values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(p99: f64, avail: f64) -> Value {
        json!({ "workloads": { "users": { "availability": { "mean": avail, "ci95": null, "n": 1 },
            "latency_s": { "p99": { "mean": p99, "ci95": null, "n": 1 } } } },
            "services": { "api.v2": { "utilization": { "mean": 0.5 } } } })
    }

    #[test]
    fn parses_objectives_and_constraints() {
        assert_eq!(parse_objective("min a.b").unwrap(), ObjectiveSpec::Minimize("a.b".into()));
        assert_eq!(parse_objective("maximize a").unwrap(), ObjectiveSpec::Maximize("a".into()));
        assert!(parse_objective("lowest a").is_err());
        assert!(parse_objective("min").is_err());
        let c = parse_constraint("workloads.users.availability >= 99.9%").unwrap();
        assert_eq!((c.op, c.metric.as_str()), (CompareOp::Ge, "workloads.users.availability"));
        assert!((c.value - 0.999).abs() < 1e-12);
        assert_eq!(parse_constraint("x<2").unwrap().op, CompareOp::Lt);
        assert_eq!(parse_constraint("x <= 2").unwrap().op, CompareOp::Le);
        assert!(parse_constraint("x == 2").is_err());
        assert!(parse_constraint("x >= lots").is_err());
    }

    #[test]
    fn looks_up_paths_with_dotted_names_and_suggests() {
        let r = report(0.1, 1.0);
        assert_eq!(metric(&r, "services.api.v2.utilization").unwrap(), Some(0.5));
        assert_eq!(metric(&r, "workloads.users.latency_s.p99").unwrap(), Some(0.1));
        let e = metric(&r, "workloads.users.latency_s.p98").unwrap_err();
        assert!(e.contains("did you mean `p99`"), "{e}");
        assert!(metric(&r, "workloads.users").is_err());
    }

    #[test]
    fn best_feasible_point_with_runner_up() {
        let reports = [report(0.10, 0.99), report(0.20, 0.9995), report(0.15, 0.9992), report(0.15, 0.9999)];
        let refs: Vec<&Value> = reports.iter().collect();
        let c = parse_constraint("workloads.users.availability >= 0.999").unwrap();
        let o = parse_objective("min workloads.users.latency_s.p99").unwrap();
        let choice = choose(&refs, Some(&o), &[c]).unwrap();
        assert_eq!(choice.best, Some(2)); // point 0 is faster but infeasible; 2 and 3 tie, lower index wins
        assert_eq!(choice.runner_up, Some(3));
        assert_eq!(choice.infeasible, 1);
        let o = parse_objective("max workloads.users.latency_s.p99").unwrap();
        assert_eq!(choose(&refs, Some(&o), &[]).unwrap().best, Some(1));
    }
}
