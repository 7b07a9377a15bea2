//! The `resim` import format: resim keys by service (`services`), by edge (`edges`,
//! `caller->callee` or `*->callee`), whole SLOs (`slos`) and `alerting`, as `resim
//! import` prints them, so a user can freeze what was read from other formats and
//! import the frozen file instead.

use serde_json::Value;

use super::{Context, Cursor, Entry, Imported, Target};
use crate::scenario::ScenarioError;
use crate::scenario::tree::Node;

/// Reads a file of resim keys.
pub fn read(entry: &Entry, _ctx: &Context) -> Result<Imported, ScenarioError> {
    let mut out = Imported::default();
    for src in &entry.files {
        for doc in src.documents() {
            doc.check_keys(&["services", "edges", "slos", "alerting"], &[], "", &mut out.ignored)?;
            if let Some(services) = doc.get("services") {
                for (name, body) in services.entries()? {
                    leaves(&body, &Target::Service(name), "", &mut out)?;
                }
            }
            if let Some(edges) = doc.get("edges") {
                for (name, body) in edges.entries()? {
                    leaves(&body, &edge(&name, &body)?, "", &mut out)?;
                }
            }
            if let Some(alerting) = doc.get("alerting") {
                leaves(&alerting, &Target::Alerting, "", &mut out)?;
            }
            if let Some(slos) = doc.get("slos") {
                for slo in slos.items()? {
                    let name = slo.require("name")?.str()?.to_owned();
                    out.set(&Target::Slo(name), "", slo.node().to_json(), slo.origin());
                }
            }
        }
    }
    Ok(out)
}

/// `caller->callee` or `*->callee` as a target.
fn edge(name: &str, at: &Cursor) -> Result<Target, ScenarioError> {
    match name.split_once("->") {
        Some((from, to)) if !from.trim().is_empty() && !to.trim().is_empty() => {
            Ok(Target::Edge { from: (from.trim() != "*").then(|| from.trim().to_owned()), to: to.trim().to_owned() })
        }
        _ => {
            let mut e = at.error(format!("`{name}` is not an edge"));
            e.help = Some("name an edge `caller->callee`, or `*->callee` for every caller".into());
            Err(e)
        }
    }
}

/// One setting per scalar or list under `at`, keyed by its path below the target.
fn leaves(at: &Cursor, target: &Target, prefix: &str, out: &mut Imported) -> Result<(), ScenarioError> {
    match &at.node().node {
        Node::Map(_) => {
            for (k, v) in at.entries()? {
                let key = if prefix.is_empty() { k } else { format!("{prefix}.{k}") };
                leaves(&v, target, &key, out)?;
            }
            Ok(())
        }
        _ if prefix.is_empty() => Err(at.error("expected a mapping of resim keys")),
        _ => {
            let value: Value = at.node().to_json();
            out.set(target, prefix, value, at.origin());
            Ok(())
        }
    }
}
