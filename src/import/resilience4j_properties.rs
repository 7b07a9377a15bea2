//! `application.properties`, read into the same located tree a YAML file gives, so the
//! resilience4j reader walks both alike: each `a.b.c=value` line becomes the nested
//! mapping `a: { b: { c: value } }`, and `name[0]=x` an item of the list `name`
//! (Spring Boot's indexed form). Values stay text, as Spring converts them later
//! (`java.util.Properties`: `=`, `:` or a space separates key and value, `#` and `!`
//! start comments, a trailing `\` continues the line).

use serde_json::Value;

use super::Source;
use crate::scenario::ScenarioError;
use crate::scenario::tree::{Located, Node};

/// True when `src` is a `.properties` file.
pub fn is_properties(src: &Source) -> bool {
    src.path.extension().is_some_and(|e| e.eq_ignore_ascii_case("properties"))
}

/// One `key=value` line: the key's segments, and where the key and the value start.
struct Line {
    key: String,
    value: String,
    key_at: (usize, usize),
    at: (usize, usize),
}

/// The logical lines of a properties file, continuations joined.
fn lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut pending: Option<Line> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = raw.trim_start();
        let (body, continues) = match trimmed.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (trimmed, false),
        };
        if let Some(mut line) = pending.take() {
            line.value.push_str(body);
            if continues {
                pending = Some(line);
            } else {
                out.push(line);
            }
            continue;
        }
        if body.is_empty() || body.starts_with('#') || body.starts_with('!') {
            continue;
        }
        let indent = raw.len() - trimmed.len();
        let split = body.find(['=', ':', ' ', '\t']).unwrap_or(body.len());
        let key = body[..split].trim_end().to_owned();
        let rest = body[split..].trim_start_matches([' ', '\t']);
        let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest).trim_start();
        let value_col = indent + (body.len() - rest.len()) + 1;
        let line = Line { key, value: rest.to_owned(), key_at: (n, indent + 1), at: (n, value_col) };
        if continues {
            pending = Some(line);
        } else {
            out.push(line);
        }
    }
    out.extend(pending);
    out
}

/// `name[3]` as (`name`, Some(3)).
fn indexed(segment: &str) -> (&str, Option<usize>) {
    match segment.strip_suffix(']').and_then(|s| s.split_once('[')) {
        Some((name, i)) => match i.parse() {
            Ok(i) => (name, Some(i)),
            Err(_) => (segment, None),
        },
        None => (segment, None),
    }
}

/// Puts `value` at `path` below `node` (a mapping), creating mappings and lists.
fn put(node: &mut Located, path: &[&str], leaf: Located) {
    let Some((first, rest)) = path.split_first() else { return };
    let (name, index) = indexed(first);
    let Node::Map(entries) = &mut node.node else { return };
    let pos = entries.iter().position(|(k, _)| k == name);
    let slot = match pos {
        Some(i) => &mut entries[i].1,
        None => {
            let empty = if index.is_some() { Node::Seq(Vec::new()) } else { Node::Map(Vec::new()) };
            entries.push((name.to_owned(), Located { at: leaf.key_at, key_at: leaf.key_at, node: empty }));
            &mut entries.last_mut().expect("just pushed").1
        }
    };
    let slot = match (index, &mut slot.node) {
        (Some(_), Node::Seq(items)) => {
            let empty = if rest.is_empty() { Node::Scalar(Value::Null) } else { Node::Map(Vec::new()) };
            items.push(Located { at: leaf.at, key_at: (0, 0), node: empty });
            items.last_mut().expect("just pushed")
        }
        _ => slot,
    };
    if rest.is_empty() {
        *slot = leaf;
    } else {
        if !matches!(slot.node, Node::Map(_)) {
            slot.node = Node::Map(Vec::new());
        }
        put(slot, rest, leaf);
    }
}

/// `src` read as a properties file: one document, a tree of mappings.
pub fn source(src: &Source) -> Result<Source, ScenarioError> {
    let mut root = Located { at: (1, 1), key_at: (0, 0), node: Node::Map(Vec::new()) };
    for line in lines(&src.text) {
        if line.key.is_empty() || line.key.split('.').any(str::is_empty) {
            let mut e = src.error_at(line.key_at, &line.key, format!("`{}` is not a property name", line.key));
            e.help = Some("write each property as `resilience4j.retry.instances.NAME.maxAttempts=3`".into());
            return Err(e);
        }
        let leaf = Located { at: line.at, key_at: line.key_at, node: Node::Scalar(Value::String(line.value)) };
        let path: Vec<&str> = line.key.split('.').collect();
        put(&mut root, &path, leaf);
    }
    Ok(Source { path: src.path.clone(), text: src.text.clone(), docs: vec![root] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn lines_become_a_located_tree() {
        let text = "# comment\nresilience4j.retry.instances.a.maxAttempts=3\n\
                    resilience4j.retry.instances.a.retryExceptions[0]=java.io.IOException\n\
                    resilience4j.retry.instances.a.waitDuration : \\\n  500ms\n";
        let src = Source { path: "a.properties".into(), text: text.into(), docs: Vec::new() };
        let s = source(&src).unwrap();
        let a = s.doc(0).require("resilience4j").unwrap().require("retry").unwrap();
        let a = a.require("instances").unwrap().require("a").unwrap();
        let max = a.require("maxAttempts").unwrap();
        assert_eq!((max.u32().unwrap(), max.origin().line, max.origin().column), (3, 2, 44));
        let ex = a.require("retryExceptions").unwrap().items().unwrap();
        assert_eq!(ex[0].str().unwrap(), "java.io.IOException");
        assert_eq!(a.require("waitDuration").unwrap().str().unwrap(), "500ms");
        assert!(is_properties(&src) && !is_properties(&Source { path: Path::new("a.yml").into(), ..src }));
    }

    #[test]
    fn what_is_not_yaml_in_a_properties_file_still_reads() {
        // `!` comments and `key: value` lines (java.util.Properties) are not YAML text.
        let text = "! a comment\nresilience4j.bulkhead.instances.a.maxConcurrentCalls: 7\n\
                    resilience4j.bulkhead.instances.a.maxWaitDuration=10ms\n";
        let read = Source::parse(text.into(), Path::new("application.properties")).unwrap();
        let s = source(&read).unwrap();
        let a = s.doc(0).require("resilience4j").unwrap().require("bulkhead").unwrap();
        let a = a.require("instances").unwrap().require("a").unwrap();
        assert_eq!(a.require("maxConcurrentCalls").unwrap().u32().unwrap(), 7);
        assert_eq!(a.require("maxWaitDuration").unwrap().str().unwrap(), "10ms");
    }
}
