//! Lays imported settings under a scenario document: each setting becomes one key of the
//! document unless the scenario sets that key itself (the scenario wins, and the override
//! is recorded for `resim check`). Two imports that set one key differently are an error:
//! neither file can be trusted to win.

use serde_json::{Map, Value};

use super::{Ignored, Imported, Origin, Setting, Target};
use crate::scenario::ScenarioError;
use crate::scenario::error::suggest;

/// A setting the scenario's own key overrode.
#[derive(Clone, Debug, PartialEq)]
pub struct Overridden {
    /// The scenario key.
    pub key: String,
    /// The scenario's value, which is used.
    pub scenario: Value,
    /// The imported value, which is not.
    pub imported: Value,
    /// Where the imported value came from.
    pub origin: Origin,
}

/// What a merge did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Merged {
    /// Scenario keys set from imports, with their origins, in order.
    pub applied: Vec<(String, Origin)>,
    /// Imported values the scenario's own keys overrode.
    pub overridden: Vec<Overridden>,
    /// Fields read and not simulated.
    pub ignored: Vec<Ignored>,
}

impl Merged {
    /// The origin of the imported key at or around `key` (an error's key), if any.
    pub fn origin_of(&self, key: &str) -> Option<&Origin> {
        self.applied
            .iter()
            .filter(|(k, _)| key == k || key.starts_with(&format!("{k}.")) || k.starts_with(&format!("{key}.")))
            .max_by_key(|(k, _)| k.len())
            .map(|(_, o)| o)
    }
}

/// The call steps of a service (a `services.NAME` value): each step's path relative to
/// the service (`calls.0`, `calls.1.parallel.0`) and the service it calls.
pub fn call_steps(service: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, steps: &Value, out: &mut Vec<(String, String)>) {
        let Some(items) = steps.as_array() else { return };
        for (i, step) in items.iter().enumerate() {
            let path = format!("{prefix}.{i}");
            if let Some(to) = step.get("to").and_then(Value::as_str) {
                out.push((path.clone(), to.to_owned()));
            }
            if let Some(group) = step.get("parallel") {
                walk(&format!("{path}.parallel"), group, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(calls) = service.get("calls") {
        walk("calls", calls, &mut out);
    }
    out
}

/// An error at an imported value: located in its file.
pub fn error_at(origin: &Origin, message: impl Into<String>) -> ScenarioError {
    let mut e = ScenarioError::at_key(&origin.key, message);
    e.file = origin.file.clone();
    (e.line, e.column) = (origin.line, origin.column);
    e
}

/// The scenario paths a setting's target stands for (`services.a.calls.0`, ...).
fn targets(doc: &Value, s: &Setting) -> Result<Vec<String>, ScenarioError> {
    let services = doc.get("services").and_then(Value::as_object);
    let names: Vec<&str> = services.map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    let unknown = |name: &str| {
        let mut e = error_at(&s.origin, format!("the scenario has no service `{name}`"));
        e.help = Some(match suggest(name, names.iter().copied()) {
            Some(near) => format!("did you mean `{near}`? Otherwise map the name to a service in the import"),
            None => format!("map the name to one of the scenario's services ({}) in the import", names.join(", ")),
        });
        e
    };
    match &s.target {
        Target::Service(name) => match services.and_then(|m| m.get(name)) {
            Some(_) => Ok(vec![format!("services.{name}")]),
            None => Err(unknown(name)),
        },
        Target::Edge { from, to } => {
            if services.is_none_or(|m| !m.contains_key(to)) {
                return Err(unknown(to));
            }
            if let Some(f) = from
                && services.is_none_or(|m| !m.contains_key(f))
            {
                return Err(unknown(f));
            }
            let mut out = Vec::new();
            for (name, svc) in services.into_iter().flatten() {
                if from.as_ref().is_some_and(|f| f != name) {
                    continue;
                }
                for (path, callee) in call_steps(svc) {
                    if callee == *to {
                        out.push(format!("services.{name}.{path}"));
                    }
                }
            }
            if out.is_empty() {
                let who = from.as_deref().map_or("no service".to_owned(), |f| format!("`{f}`"));
                let mut e =
                    error_at(&s.origin, format!("{who} calls `{to}` in the scenario, so this has nothing to apply to"));
                e.help = Some("add the call to the scenario, or map the name to the edge it configures".into());
                return Err(e);
            }
            Ok(out)
        }
        Target::Slo(_) => Ok(vec!["slos".into()]),
        Target::Alerting => Ok(vec!["alerting".into()]),
    }
}

/// The value at dotted `path` of `doc`, if present.
fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').filter(|s| !s.is_empty()).try_fold(doc, |here, seg| match here {
        Value::Object(m) => m.get(seg),
        Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// The nearest ancestor of `path` (or `path` itself) that `doc` holds as a value other
/// than a mapping: a key the scenario sets, under which nothing can be imported.
fn set_at_or_above<'a>(doc: &'a Value, path: &str) -> Option<(String, &'a Value)> {
    let segs: Vec<&str> = path.split('.').collect();
    let mut here = doc;
    for (i, seg) in segs.iter().enumerate() {
        let next = match here {
            Value::Object(m) => m.get(*seg),
            Value::Array(items) => seg.parse::<usize>().ok().and_then(|k| items.get(k)),
            _ => None,
        }?;
        let is_last = i + 1 == segs.len();
        if is_last || !(next.is_object() || next.is_array()) {
            return (!next.is_null()).then(|| (segs[..=i].join("."), next));
        }
        here = next;
    }
    None
}

/// Sets dotted `path` of `doc` to `value`, creating mappings along the way.
fn put(doc: &mut Value, path: &str, value: Value) {
    let mut here = doc;
    for seg in path.split('.') {
        if !(here.is_object() || here.is_array()) {
            *here = Value::Object(Map::new());
        }
        here = match here {
            Value::Array(items) => match seg.parse::<usize>() {
                Ok(i) if i < items.len() => &mut items[i],
                _ => return,
            },
            Value::Object(m) => m.entry(seg.to_owned()).or_insert(Value::Null),
            _ => return,
        };
    }
    *here = value;
}

/// Merges `imported` into the scenario document `doc`; the scenario's own keys win.
pub fn merge(doc: &mut Value, imported: &Imported) -> Result<Merged, ScenarioError> {
    let original = doc.clone();
    let mut out = Merged { ignored: imported.ignored.clone(), ..Merged::default() };
    let mut set_here: Vec<(String, Value, Origin)> = Vec::new();
    for s in &imported.settings {
        for base in targets(&original, s)? {
            if let Target::Slo(name) = &s.target {
                merge_slo(doc, &original, name, s, &mut out);
                continue;
            }
            let key = if s.key.is_empty() { base } else { format!("{base}.{}", s.key) };
            if let Some((at, own)) = set_at_or_above(&original, &key) {
                out.overridden.push(Overridden {
                    key: at,
                    scenario: own.clone(),
                    imported: s.value.clone(),
                    origin: s.origin.clone(),
                });
                continue;
            }
            if let Some((_, value, first)) = set_here.iter().find(|(k, _, _)| *k == key) {
                if *value != s.value {
                    let mut e = error_at(
                        &s.origin,
                        format!("`{key}` is imported twice: {} from {first}, and {} here", value, s.value),
                    );
                    e.help = Some("remove one of them, or set the key in the scenario, which wins over both".into());
                    return Err(e);
                }
                continue;
            }
            put(doc, &key, s.value.clone());
            set_here.push((key.clone(), s.value.clone(), s.origin.clone()));
            out.applied.push((key, s.origin.clone()));
        }
    }
    Ok(out)
}

/// An imported SLO: appended to `slos`, unless the scenario has one of the same name.
fn merge_slo(doc: &mut Value, original: &Value, name: &str, s: &Setting, out: &mut Merged) {
    let named = |v: &Value| v.get("name").and_then(Value::as_str) == Some(name);
    if let Some(own) = lookup(original, "slos").and_then(Value::as_array).and_then(|l| l.iter().find(|v| named(v))) {
        out.overridden.push(Overridden {
            key: format!("slos ({name})"),
            scenario: own.clone(),
            imported: s.value.clone(),
            origin: s.origin.clone(),
        });
        return;
    }
    let Value::Object(root) = doc else { return };
    let list = root.entry("slos").or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(items) = list {
        let index = items.len();
        items.push(s.value.clone());
        out.applied.push((format!("slos.{index}"), s.origin.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn origin(key: &str) -> Origin {
        Origin { file: "f.yaml".into(), line: 3, column: 5, key: key.into(), note: None }
    }

    fn setting(target: Target, key: &str, value: Value) -> Setting {
        Setting { target, key: key.into(), value, origin: origin(key) }
    }

    fn doc() -> Value {
        json!({
            "services": {
                "front": { "calls": [ { "to": "back", "timeout": "1s" }, { "parallel": [ { "to": "back" }, { "to": "db" } ] } ] },
                "back": {}, "db": {}
            }
        })
    }

    #[test]
    fn an_edge_setting_lands_on_every_step_and_the_scenario_wins() {
        let mut d = doc();
        let edge = Target::Edge { from: None, to: "back".into() };
        let imported = Imported {
            settings: vec![
                setting(edge.clone(), "timeout", json!("2s")),
                setting(edge, "retry.max_attempts", json!(3)),
            ],
            ignored: vec![],
        };
        let m = merge(&mut d, &imported).unwrap();
        assert_eq!(d["services"]["front"]["calls"][0]["timeout"], json!("1s"));
        assert_eq!(d["services"]["front"]["calls"][1]["parallel"][0]["timeout"], json!("2s"));
        assert_eq!(d["services"]["front"]["calls"][0]["retry"]["max_attempts"], json!(3));
        assert_eq!(d["services"]["front"]["calls"][1]["parallel"][1].get("retry"), None);
        assert_eq!(m.overridden.len(), 1);
        assert_eq!(m.overridden[0].key, "services.front.calls.0.timeout");
        assert_eq!(m.applied.len(), 3);
        assert_eq!(m.origin_of("services.front.calls.0.retry.max_attempts").unwrap().key, "retry.max_attempts");
    }

    #[test]
    fn unknown_names_and_missing_edges_are_located_in_the_imported_file() {
        let mut d = doc();
        let e = merge(
            &mut d,
            &Imported { settings: vec![setting(Target::Service("bakc".into()), "x", json!(1))], ignored: vec![] },
        )
        .unwrap_err();
        assert_eq!((e.file.to_str(), e.line), (Some("f.yaml"), 3));
        assert!(e.help.unwrap().contains("`back`"));
        let edge = Target::Edge { from: Some("db".into()), to: "back".into() };
        let e = merge(&mut d, &Imported { settings: vec![setting(edge, "timeout", json!("1s"))], ignored: vec![] })
            .unwrap_err();
        assert!(e.message.contains("`db` calls `back`"), "{e}");
    }

    #[test]
    fn two_imports_disagreeing_on_a_key_are_refused() {
        let mut d = doc();
        let t = Target::Service("back".into());
        let imported = Imported {
            settings: vec![
                setting(t.clone(), "outlier_ejection.interval", json!("10s")),
                setting(t, "outlier_ejection.interval", json!("5s")),
            ],
            ignored: vec![],
        };
        let e = merge(&mut d, &imported).unwrap_err();
        assert!(e.message.contains("imported twice"), "{e}");
    }

    #[test]
    fn an_slo_of_the_scenarios_own_name_is_kept() {
        let mut d = doc();
        d["slos"] = json!([{ "name": "a", "workload": "w" }]);
        let imported = Imported {
            settings: vec![
                setting(Target::Slo("a".into()), "", json!({ "name": "a" })),
                setting(Target::Slo("b".into()), "", json!({ "name": "b" })),
            ],
            ignored: vec![],
        };
        let m = merge(&mut d, &imported).unwrap();
        assert_eq!(d["slos"].as_array().unwrap().len(), 2);
        assert_eq!(m.overridden.len(), 1);
        assert_eq!(m.applied, vec![("slos.1".to_owned(), origin(""))]);
    }
}
