//! `resim import`'s output: imported settings as resim YAML, grouped by service and by
//! edge, each value commented with where it came from, and the fields not simulated
//! listed at the end. The `resim` import format ([`super::overlay`]) reads it back.

use std::fmt::Write;

use serde_json::Value;

use super::{Imported, Origin, Target};

/// A nested document being built: keys in first-set order, each leaf with its origin.
#[derive(Default)]
struct Tree {
    entries: Vec<(String, Entry)>,
}

enum Entry {
    Leaf(Value, Origin),
    Map(Tree),
}

impl Tree {
    fn put(&mut self, path: &[&str], value: &Value, origin: &Origin) {
        let Some((first, rest)) = path.split_first() else { return };
        let pos = self.entries.iter().position(|(k, _)| k == first);
        if rest.is_empty() {
            let leaf = Entry::Leaf(value.clone(), origin.clone());
            match pos {
                Some(i) => self.entries[i].1 = leaf,
                None => self.entries.push(((*first).to_owned(), leaf)),
            }
            return;
        }
        let i = match pos {
            Some(i) => i,
            None => {
                self.entries.push(((*first).to_owned(), Entry::Map(Tree::default())));
                self.entries.len() - 1
            }
        };
        if let Entry::Leaf(..) = self.entries[i].1 {
            self.entries[i].1 = Entry::Map(Tree::default());
        }
        if let Entry::Map(t) = &mut self.entries[i].1 {
            t.put(rest, value, origin);
        }
    }
}

/// True when `s` reads back from YAML as this same text without quotes.
fn plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    let keyword =
        ["true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"].contains(&s.to_ascii_lowercase().as_str());
    (first.is_ascii_alphanumeric() || first == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_.-/%+".contains(c))
        && !keyword
        && s.parse::<f64>().is_err()
}

/// A scalar or a short list/map in YAML's flow style.
fn flow(v: &Value) -> String {
    match v {
        Value::String(s) if plain(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            format!(
                "{{ {} }}",
                m.iter().map(|(k, v)| format!("{}: {}", key(k), flow(v))).collect::<Vec<_>>().join(", ")
            )
        }
        other => other.to_string(),
    }
}

fn key(k: &str) -> String {
    if plain(k) { k.to_owned() } else { Value::from(k).to_string() }
}

/// Writes `line` padded to a column, then `# comment`.
fn commented(out: &mut String, line: String, comment: &str) {
    const COLUMN: usize = 44;
    let pad = COLUMN.saturating_sub(line.chars().count()).max(1);
    let _ = writeln!(out, "{line}{}# {comment}", " ".repeat(pad));
}

fn write_tree(out: &mut String, tree: &Tree, indent: usize) {
    let pad = " ".repeat(indent);
    for (k, e) in &tree.entries {
        match e {
            Entry::Leaf(v, origin) => commented(out, format!("{pad}{}: {}", key(k), flow(v)), &origin.to_string()),
            Entry::Map(t) => {
                let _ = writeln!(out, "{pad}{}:", key(k));
                write_tree(out, t, indent + 2);
            }
        }
    }
}

/// The settings of `imported` as resim YAML, headed by `title` (the command line).
pub fn render(imported: &Imported, title: &str) -> String {
    let mut services = Tree::default();
    let mut edges = Tree::default();
    let mut alerting = Tree::default();
    let mut slos: Vec<(&Value, &Origin)> = Vec::new();
    for s in &imported.settings {
        let path: Vec<&str> = s.key.split('.').filter(|x| !x.is_empty()).collect();
        let (tree, head) = match &s.target {
            Target::Service(name) => (&mut services, name.clone()),
            Target::Edge { .. } => (&mut edges, s.target.to_string()),
            Target::Alerting => (&mut alerting, String::new()),
            Target::Slo(_) => {
                slos.push((&s.value, &s.origin));
                continue;
            }
        };
        let mut full: Vec<&str> = Vec::with_capacity(path.len() + 1);
        if !head.is_empty() {
            full.push(&head);
        }
        full.extend(path);
        tree.put(&full, &s.value, &s.origin);
    }
    let mut out = format!("# {title}\n");
    out.push_str("# resim keys read from the files. `edges` holds the keys of every call step from a caller\n");
    out.push_str("# to a callee (`*`: every caller). Import this file with `- resim: FILE`, or copy the keys.\n");
    for (name, tree) in [("services", &services), ("edges", &edges), ("alerting", &alerting)] {
        if !tree.entries.is_empty() {
            let _ = writeln!(out, "{name}:");
            write_tree(&mut out, tree, 2);
        }
    }
    if !slos.is_empty() {
        out.push_str("slos:\n");
        for (value, origin) in slos {
            let _ = writeln!(out, "  # {origin}");
            let Value::Object(m) = value else { continue };
            for (i, (k, v)) in m.iter().enumerate() {
                let lead = if i == 0 { "  - " } else { "    " };
                let _ = writeln!(out, "{lead}{}: {}", key(k), flow(v));
            }
        }
    }
    if !imported.ignored.is_empty() {
        out.push_str("# read and not simulated:\n");
        for i in &imported.ignored {
            let _ = writeln!(out, "#   {}: {}", i.origin, i.reason);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::Setting;
    use serde_json::json;

    #[test]
    fn settings_render_as_commented_yaml_that_reads_back() {
        let o = Origin { file: "vs.yaml".into(), line: 9, column: 7, key: "spec.http.0.timeout".into(), note: None };
        let edge = Target::Edge { from: None, to: "reviews".into() };
        let imported = Imported {
            settings: vec![
                Setting { target: edge.clone(), key: "timeout".into(), value: json!("10s"), origin: o.clone() },
                Setting {
                    target: edge,
                    key: "retry.retry_on".into(),
                    value: json!(["error", "timeout"]),
                    origin: o.clone(),
                },
                Setting {
                    target: Target::Service("reviews".into()),
                    key: "outlier_ejection.interval".into(),
                    value: json!("5s"),
                    origin: o,
                },
            ],
            ignored: vec![],
        };
        let text = render(&imported, "resim import istio vs.yaml");
        assert!(text.contains("  \"*->reviews\":\n    timeout: 10s"), "{text}");
        assert!(text.contains("retry_on: [error, timeout]"), "{text}");
        assert!(text.contains("# vs.yaml:9:7 spec.http.0.timeout"), "{text}");
        let back: Value = crate::scenario::yaml::parse(&text).unwrap();
        assert_eq!(back["edges"]["*->reviews"]["retry"]["retry_on"], json!(["error", "timeout"]));
        assert_eq!(back["services"]["reviews"]["outlier_ejection"]["interval"], json!("5s"));
    }

    #[test]
    fn only_safe_text_is_left_unquoted() {
        for s in ["25ms", "error", "99.9%", "a/b"] {
            assert!(plain(s), "{s}");
        }
        for s in ["", "true", "No", "1.5", "*->x", "a: b", "#x", "1e3"] {
            assert!(!plain(s), "{s}");
        }
    }
}
