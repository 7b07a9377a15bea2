//! A located copy of the scenario document: every value with its line and column.
//!
//! serde reports where a *syntax or type* error is, but a semantic error found later
//! ("capacity 2 is below servers 4") only knows its key path. This tree maps key paths
//! to source positions (and positions back to key paths), and is also the editable form
//! that `--set KEY=VALUE` overrides are applied to.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;
use std::fmt;

/// A YAML/JSON value and where it starts.
#[derive(Clone, Debug)]
pub struct Located {
    /// 1-based line and column of the value (0, 0 when unknown).
    pub at: (usize, usize),
    /// 1-based line and column of the mapping key this value belongs to (0, 0 for list
    /// items and the document): serde-saphyr reports a wrong value's type at its key.
    pub key_at: (usize, usize),
    /// The value.
    pub node: Node,
}

/// A value of the document.
#[derive(Clone, Debug)]
pub enum Node {
    /// A mapping, in source order.
    Map(Vec<(String, Located)>),
    /// A sequence.
    Seq(Vec<Located>),
    /// A scalar (string, number, bool or null).
    Scalar(Value),
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(Value::String(v.to_owned())))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyString>>()? {
            let mut value = map.next_value::<Located>()?;
            value.key_at = (key.referenced.line() as usize, key.referenced.column() as usize);
            entries.push((key.value.0, value));
        }
        Ok(Node::Map(entries))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Located>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
}

/// The message for a list or mapping used as a mapping key.
pub const KEY_NOT_A_NAME: &str = "a mapping key must be a name, not a list or a mapping";

/// A mapping key of any scalar type, as text.
struct KeyString(String);

impl<'de> Deserialize<'de> for KeyString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Node::deserialize(d)? {
            Node::Scalar(Value::String(s)) => Ok(KeyString(s)),
            Node::Scalar(v) => Ok(KeyString(v.to_string())),
            _ => Err(de::Error::custom(KEY_NOT_A_NAME)),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Node>::deserialize(d)?;
        Ok(Located {
            at: (s.referenced.line() as usize, s.referenced.column() as usize),
            key_at: (0, 0),
            node: s.value,
        })
    }
}

/// Most characters of a value quoted in a message.
const QUOTE_CHARS: usize = 40;

/// `text` in backticks, cut to [`QUOTE_CHARS`] characters.
fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("`{}…`", &text[..cut]),
        None => format!("`{text}`"),
    }
}

impl Located {
    /// The value at a dotted path (`services.api.calls.0.to`), or the deepest existing
    /// ancestor of it.
    pub fn find(&self, path: &str) -> &Located {
        let mut here = self;
        for seg in path.split('.').filter(|s| !s.is_empty()) {
            let next = match &here.node {
                Node::Map(entries) => entries.iter().find(|(k, _)| k == seg).map(|(_, v)| v),
                Node::Seq(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
                Node::Scalar(_) => None,
            };
            match next {
                Some(n) => here = n,
                None => break,
            }
        }
        here
    }

    /// Every value with its dotted path, in document order.
    pub fn walk(&self) -> Vec<(String, &Located)> {
        let mut out = Vec::new();
        fn go<'a>(path: String, n: &'a Located, out: &mut Vec<(String, &'a Located)>) {
            out.push((path.clone(), n));
            let join = |k: &str| if path.is_empty() { k.to_owned() } else { format!("{path}.{k}") };
            match &n.node {
                Node::Map(entries) => entries.iter().for_each(|(k, v)| go(join(k), v, out)),
                Node::Seq(items) => items.iter().enumerate().for_each(|(i, v)| go(join(&i.to_string()), v, out)),
                Node::Scalar(_) => {}
            }
        }
        go(String::new(), self, &mut out);
        out
    }

    /// The dotted path of the value that starts at or most recently before `at`,
    /// preferring the deepest one that starts exactly there.
    pub fn path_at(&self, at: (usize, usize)) -> String {
        self.value_at(at).0
    }

    /// [`Located::path_at`] with the value found there.
    pub fn value_at(&self, at: (usize, usize)) -> (String, &Located) {
        let mut best: (String, &Located) = (String::new(), self);
        for (path, node) in self.walk() {
            if node.at <= at && node.at >= best.1.at {
                best = (path, node);
            }
        }
        best
    }

    /// The path and value of the map entry whose key starts exactly at `at`.
    pub fn entry_at(&self, at: (usize, usize)) -> Option<(String, &Located)> {
        self.walk().into_iter().find(|(_, n)| n.key_at == at && at != (0, 0))
    }

    /// What kind of value this is, in words for messages: `a mapping`, `a list`,
    /// `nothing`, or the value itself in backticks.
    pub fn describe(&self) -> String {
        match &self.node {
            Node::Map(_) => "a mapping".into(),
            Node::Seq(_) => "a list".into(),
            Node::Scalar(Value::Null) => "nothing (an empty value)".into(),
            Node::Scalar(Value::String(s)) => quote(s),
            Node::Scalar(v) => quote(&v.to_string()),
        }
    }

    /// The path of the map entry `key` whose value is the first at or after `at`: for
    /// errors that point at a key rather than at its value.
    pub fn path_of_key_after(&self, key: &str, at: (usize, usize)) -> Option<String> {
        self.walk()
            .into_iter()
            .filter(|(p, n)| p.rsplit('.').next() == Some(key) && n.at >= at)
            .min_by_key(|(_, n)| n.at)
            .map(|(p, _)| p)
    }

    /// The path of the innermost mapping that encloses `at` and lacks `field`: where a
    /// "missing field" error belongs. A node encloses the positions from its start up to
    /// the start of the next node that is not its descendant.
    pub fn map_missing(&self, field: &str, at: (usize, usize)) -> String {
        let nodes = self.walk();
        let mut best = String::new();
        for (i, (path, node)) in nodes.iter().enumerate() {
            let Node::Map(entries) = &node.node else { continue };
            if entries.iter().any(|(k, _)| k == field) {
                continue;
            }
            let prefix = format!("{path}.");
            let end = nodes[i + 1..]
                .iter()
                .find(|(p, _)| !(path.is_empty() || p.starts_with(&prefix)))
                .map_or((usize::MAX, usize::MAX), |(_, n)| n.at);
            // Block mappings enclose only what is indented at least as far as they are.
            if node.at <= at && at < end && at.1 >= node.at.1 && path.len() >= best.len() {
                best = path.clone();
            }
        }
        best
    }

    /// This tree as a JSON value.
    pub fn to_json(&self) -> Value {
        match &self.node {
            Node::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Node::Seq(items) => Value::Array(items.iter().map(Located::to_json).collect()),
            Node::Scalar(v) => v.clone(),
        }
    }
}
