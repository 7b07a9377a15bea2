//! A foreign configuration file as read: its text, its YAML/JSON documents as located
//! trees, and a [`Cursor`] that walks them and reports every mistake at its file, line,
//! column and key, as scenario errors are.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Ignored, Origin};
use crate::input;
use crate::scenario::ScenarioError;
use crate::scenario::error::suggest;
use crate::scenario::tree::{Located, Node};
use crate::scenario::yaml;

/// Largest imported file accepted: real configurations are kilobytes.
pub const MAX_IMPORT_BYTES: u64 = 4 * 1024 * 1024;

/// A file read for an import.
#[derive(Clone, Debug)]
pub struct Source {
    /// The path as messages show it.
    pub path: PathBuf,
    /// The text.
    pub text: String,
    /// Its documents (a YAML stream may hold several, separated by `---`).
    pub docs: Vec<Located>,
}

impl Source {
    /// Reads and parses the file at `path` (shown as `shown` in messages).
    pub fn read(path: &Path, shown: &Path) -> Result<Source, ScenarioError> {
        let text = input::read_text(path, MAX_IMPORT_BYTES).map_err(|e| {
            // Imports are files: the shared help's "pass `-` for standard input" does not apply.
            let help = match e {
                input::InputError::NotAFile { .. } | input::InputError::Terminal => {
                    "name a regular file, relative to the scenario (or the working directory for `resim import`)"
                        .to_owned()
                }
                _ => e.help(),
            };
            let mut err =
                ScenarioError::at_key("", format!("cannot read the imported file: {}", e.reason())).with_help(help);
            err.file = shown.to_owned();
            err
        })?;
        Source::parse(text, shown)
    }

    /// Parses `text` as the file `shown`. A Java `.properties` file is not YAML (`!`
    /// starts a comment there, `:` may separate a key from its value): it is kept as text,
    /// with no documents, for the resilience4j reader, which parses it itself.
    pub fn parse(text: String, shown: &Path) -> Result<Source, ScenarioError> {
        if shown.extension().is_some_and(|e| e.eq_ignore_ascii_case("properties")) {
            return Ok(Source { path: shown.to_owned(), text, docs: Vec::new() });
        }
        let docs = yaml::parse_documents(&text).map_err(|e| {
            let mut err = yaml::describe(&e, None);
            err.file = shown.to_owned();
            if err.line > 0 {
                err.source_line = text.lines().nth(err.line - 1).map(str::to_owned);
            }
            err
        })?;
        Ok(Source { path: shown.to_owned(), text, docs })
    }

    /// A cursor on document `i`.
    pub fn doc(&self, i: usize) -> Cursor<'_> {
        Cursor { src: self, node: &self.docs[i], path: String::new() }
    }

    /// Cursors on every document, in order.
    pub fn documents(&self) -> impl Iterator<Item = Cursor<'_>> {
        (0..self.docs.len()).map(|i| self.doc(i))
    }

    /// An error at `node` (key `key` of this file).
    pub fn error_at(&self, at: (usize, usize), key: &str, message: impl Into<String>) -> ScenarioError {
        let mut e = ScenarioError::at_key(key, message);
        e.file = self.path.clone();
        (e.line, e.column) = at;
        if e.line > 0 {
            e.source_line = self.text.lines().nth(e.line - 1).map(str::to_owned);
        }
        e
    }
}

/// A position in a [`Source`]: a value and its dotted key path in the file.
#[derive(Clone, Debug)]
pub struct Cursor<'a> {
    src: &'a Source,
    node: &'a Located,
    path: String,
}

impl<'a> Cursor<'a> {
    fn child(&self, key: &str, node: &'a Located) -> Cursor<'a> {
        let path = if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) };
        Cursor { src: self.src, node, path }
    }

    /// The file.
    pub fn src(&self) -> &'a Source {
        self.src
    }

    /// The value.
    pub fn node(&self) -> &'a Located {
        self.node
    }

    /// The dotted key path of the value in the file (`spec.http.0.retries`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Where this value came from, for provenance comments and `resim check`.
    pub fn origin(&self) -> Origin {
        let (line, column) = self.node.at;
        Origin { file: self.src.path.clone(), line, column, key: self.path.to_owned(), note: None }
    }

    /// An error at this value.
    pub fn error(&self, message: impl Into<String>) -> ScenarioError {
        self.src.error_at(self.node.at, &self.path, message)
    }

    /// The mapping entry `key`, if present and not null.
    pub fn get(&self, key: &str) -> Option<Cursor<'a>> {
        match &self.node.node {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k == key)
                .filter(|(_, v)| !matches!(v.node, Node::Scalar(Value::Null)))
                .map(|(k, v)| self.child(k, v)),
            _ => None,
        }
    }

    /// The mapping entry `key`, or an error saying it is missing.
    pub fn require(&self, key: &str) -> Result<Cursor<'a>, ScenarioError> {
        self.get(key).ok_or_else(|| self.error(format!("`{key}` is missing")))
    }

    /// The entries of a mapping, in file order (an error for any other value).
    pub fn entries(&self) -> Result<Vec<(String, Cursor<'a>)>, ScenarioError> {
        match &self.node.node {
            Node::Map(entries) => Ok(entries.iter().map(|(k, v)| (k.clone(), self.child(k, v))).collect()),
            _ => Err(self.error(format!("expected a mapping, found {}", self.node.describe()))),
        }
    }

    /// The items of a list (an error for any other value).
    pub fn items(&self) -> Result<Vec<Cursor<'a>>, ScenarioError> {
        match &self.node.node {
            Node::Seq(items) => Ok(items.iter().enumerate().map(|(i, v)| self.child(&i.to_string(), v)).collect()),
            _ => Err(self.error(format!("expected a list, found {}", self.node.describe()))),
        }
    }

    /// The value as text (strings only).
    pub fn str(&self) -> Result<&'a str, ScenarioError> {
        match &self.node.node {
            Node::Scalar(Value::String(s)) => Ok(s),
            _ => Err(self.error(format!("expected text, found {}", self.node.describe()))),
        }
    }

    /// The value as a number (a number, or text holding one, as YAML configs often quote).
    pub fn f64(&self) -> Result<f64, ScenarioError> {
        let v = match &self.node.node {
            Node::Scalar(Value::Number(n)) => n.as_f64(),
            Node::Scalar(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        v.filter(|x| x.is_finite())
            .ok_or_else(|| self.error(format!("expected a number, found {}", self.node.describe())))
    }

    /// The value as a whole number in `0..=u32::MAX`.
    pub fn u32(&self) -> Result<u32, ScenarioError> {
        let x = self.f64()?;
        if x >= 0.0 && x.fract() == 0.0 && x <= f64::from(u32::MAX) {
            Ok(x as u32)
        } else {
            Err(self.error(format!("expected a whole number of at least 0, found {}", self.node.describe())))
        }
    }

    /// The value as a boolean (`true`/`false`, or the text of one).
    pub fn bool(&self) -> Result<bool, ScenarioError> {
        match &self.node.node {
            Node::Scalar(Value::Bool(b)) => Ok(*b),
            Node::Scalar(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
            _ => Err(self.error(format!("expected true or false, found {}", self.node.describe()))),
        }
    }

    /// Checks a mapping's keys: each must be in `known` (read by the importer) or in
    /// `plumbing` (accepted and listed in `ignored` with `why`, e.g. TLS settings that
    /// do not change what is simulated). Any other key is an error naming the nearest
    /// known one; `unsupported` keys are errors saying they cannot be simulated.
    pub fn check_keys(
        &self,
        known: &[&str],
        plumbing: &[&str],
        why: &str,
        ignored: &mut Vec<Ignored>,
    ) -> Result<(), ScenarioError> {
        for (key, value) in self.entries()? {
            if known.contains(&key.as_str()) {
                continue;
            }
            if plumbing.contains(&key.as_str()) {
                ignored.push(Ignored { origin: value.origin(), reason: why.to_owned() });
                continue;
            }
            let all = known.iter().chain(plumbing).copied();
            let mut e = value.error(format!("unknown or unsupported key `{key}`"));
            let mut e_at_key = value.node().key_at;
            if e_at_key == (0, 0) {
                e_at_key = value.node().at;
            }
            (e.line, e.column) = e_at_key;
            e.source_line = self.src.text.lines().nth(e.line.saturating_sub(1)).map(str::to_owned);
            e.help = Some(match suggest(&key, all) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "resim reads {} here; remove `{key}` or set its effect with resim keys in the scenario",
                    known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                ),
            });
            return Err(e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        Source::parse(text.to_owned(), Path::new("x.yaml")).unwrap()
    }

    #[test]
    fn documents_are_located_in_the_whole_stream() {
        let s = src("a: 1\n---\nkind: X\nspec:\n  n: 3\n");
        assert_eq!(s.docs.len(), 2);
        let n = s.doc(1).require("spec").unwrap().require("n").unwrap();
        assert_eq!(n.u32().unwrap(), 3);
        assert_eq!(n.path(), "spec.n");
        assert_eq!(n.origin().line, 5);
    }

    #[test]
    fn wrong_values_and_keys_are_located_with_help() {
        let s = src("spec:\n  attempts: three\n  atempts: 3\n");
        let spec = s.doc(0).require("spec").unwrap();
        let e = spec.require("attempts").unwrap().u32().unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "spec.attempts"));
        let e = spec.check_keys(&["attempts"], &[], "", &mut Vec::new()).unwrap_err();
        assert_eq!((e.line, e.column), (3, 3));
        assert_eq!(e.help.as_deref(), Some("did you mean `attempts`?"));
        let mut ignored = Vec::new();
        spec.check_keys(&["attempts"], &["atempts"], "plumbing", &mut ignored).unwrap();
        assert_eq!(ignored.len(), 1);
    }
}
