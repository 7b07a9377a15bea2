//! Walking a parsed trace file with the key path of where one is (`Cur`), and reading
//! the fields every format shares: hex ids, times, and the check that a span id is not
//! used twice in a trace.
//!
//! The key path is a chain of borrowed segments on the stack, rendered only when an
//! error needs it (`resourceSpans[0].scopeSpans[1].spans[3].spanId`), so walking a
//! well-formed file allocates nothing for paths.

use std::collections::HashMap;

use super::json::{Kind, Text, Val};
use super::span::SpanAt;
use crate::scenario::ScenarioError;

type Result<T> = std::result::Result<T, ScenarioError>;

/// One step of a key path.
#[derive(Clone, Copy, Debug)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// A value of a trace file, with the path that led to it.
#[derive(Clone, Copy)]
pub(crate) struct Cur<'a, 't> {
    /// The value.
    pub(crate) v: &'a Val<'t>,
    /// The file it is in.
    pub(crate) text: &'a Text<'t>,
    seg: Option<Seg<'a>>,
    parent: Option<&'a Cur<'a, 't>>,
}

impl<'a, 't> Cur<'a, 't> {
    /// A top-level value of `text`.
    pub(crate) fn root(v: &'a Val<'t>, text: &'a Text<'t>) -> Self {
        Cur { v, text, seg: None, parent: None }
    }

    /// Item `i` of the list at `key` (or of the list itself, with no key) of the
    /// top-level value at byte `top`, which the parser streamed past rather than kept
    /// (`Parser::next_streaming`): `f` gets it with its full path.
    pub(crate) fn streamed<R>(
        text: &'a Text<'t>,
        top: usize,
        key: Option<&str>,
        i: usize,
        v: &Val<'t>,
        f: impl FnOnce(&Cur<'_, 't>) -> R,
    ) -> R {
        let top = Val { off: top, kind: Kind::Null };
        let root = Cur::root(&top, text);
        let list = match key {
            Some(k) => Cur { v: &top, text, seg: Some(Seg::Key(k)), parent: Some(&root) },
            None => root,
        };
        f(&Cur { v, text, seg: Some(Seg::Index(i)), parent: Some(&list) })
    }

    /// The key path, e.g. `data[0].spans[2].references[0].spanID`.
    pub(crate) fn path(&self) -> String {
        let mut segs = Vec::new();
        let mut here = Some(self);
        while let Some(c) = here {
            segs.extend(c.seg);
            here = c.parent;
        }
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Key(k) if out.is_empty() => out.push_str(k),
                Seg::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    /// An error at this value.
    pub(crate) fn error(&self, message: impl Into<String>) -> ScenarioError {
        self.text.error(self.v.off, &self.path(), message)
    }

    /// Where this value is, for a span read from it.
    pub(crate) fn span_at(&self) -> SpanAt {
        let (line, column) = self.text.line_col(self.v.off);
        SpanAt { file: self.text.file.to_owned(), line, column }
    }

    /// The entry `key` of this object, if present and not null.
    pub(crate) fn get<'b>(&'b self, key: &str) -> Option<Cur<'b, 't>> {
        let Kind::Obj(entries) = &self.v.kind else { return None };
        let (k, v) = entries.iter().find(|(k, _)| k == key)?;
        if matches!(v.kind, Kind::Null) {
            return None;
        }
        Some(Cur { v, text: self.text, seg: Some(Seg::Key(k)), parent: Some(self) })
    }

    /// The entry `key`, or an error saying that `what` is missing.
    pub(crate) fn require<'b>(&'b self, key: &str, what: &str) -> Result<Cur<'b, 't>> {
        self.get(key).ok_or_else(|| self.missing(key, what))
    }

    /// The error for entry `key` (`what`) missing from this object: at the object, keyed
    /// by the path the entry would have.
    pub(crate) fn missing(&self, key: &str, what: &str) -> ScenarioError {
        if !matches!(self.v.kind, Kind::Obj(_)) {
            return self.error(format!("expected an object with `{key}` ({what}), found {}", self.v.describe()));
        }
        let mut e = self.error(format!("`{key}` is missing: expected {what}"));
        e.key = if e.key.is_empty() { key.to_owned() } else { format!("{}.{key}", e.key) };
        e
    }

    /// The items of this list (an error for anything else).
    pub(crate) fn items<'b>(&'b self) -> Result<impl Iterator<Item = Cur<'b, 't>> + 'b> {
        let Kind::Arr(items) = &self.v.kind else {
            return Err(self.error(format!("expected a list, found {}", self.v.describe())));
        };
        Ok(items.iter().enumerate().map(move |(i, v)| Cur {
            v,
            text: self.text,
            seg: Some(Seg::Index(i)),
            parent: Some(self),
        }))
    }

    /// The entries of this object (an error for anything else).
    pub(crate) fn entries<'b>(&'b self) -> Result<impl Iterator<Item = (&'a str, Cur<'b, 't>)> + 'b> {
        let v: &'a Val<'t> = self.v;
        let Kind::Obj(entries) = &v.kind else {
            return Err(self.error(format!("expected an object, found {}", self.v.describe())));
        };
        Ok(entries
            .iter()
            .map(move |(k, v)| (&**k, Cur { v, text: self.text, seg: Some(Seg::Key(k)), parent: Some(self) })))
    }

    /// The value as text (strings only).
    pub(crate) fn str(&self) -> Result<&'a str> {
        match &self.v.kind {
            Kind::Str(s) => Ok(s),
            _ => Err(self.error(format!("expected text in double quotes, found {}", self.v.describe()))),
        }
    }

    /// The value as a whole number in 0..=u64::MAX: a number, or its decimal text (the
    /// protobuf JSON mapping writes 64-bit integers as strings, OTLP's times included).
    pub(crate) fn u64(&self, what: &str) -> Result<u64> {
        let digits = match &self.v.kind {
            Kind::Num(n) => Some(*n),
            Kind::Str(s) => Some(&**s),
            _ => None,
        };
        digits.and_then(|d| d.trim().parse::<u64>().ok()).ok_or_else(|| {
            self.error(format!("expected {what} as a whole number (or its decimal text), found {}", self.v.describe()))
        })
    }

    /// The value as a boolean (`true`/`false`, or the text of one).
    pub(crate) fn bool(&self) -> Result<bool> {
        match &self.v.kind {
            Kind::Bool(b) => Ok(*b),
            Kind::Str(s) if s == "true" || s == "false" => Ok(s == "true"),
            _ => Err(self.error(format!("expected true or false, found {}", self.v.describe()))),
        }
    }

    /// A hex id of at most `bits` bits, not zero. `help` says how the format writes it.
    pub(crate) fn hex_id(&self, bits: u32, help: &str) -> Result<u128> {
        let s = self.str().map_err(|e| e.with_help(help.to_owned()))?;
        let digits = (bits / 4) as usize;
        let id = if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut e = self.error(format!("expected an id of up to {digits} hex digits, found {}", self.v.describe()));
            e = if let Some(hex) = base64_hex(s) {
                e.with_help(format!("this is base64 (protobuf's JSON default for bytes) of the id `{hex}`; {help}"))
            } else {
                e.with_help(help.to_owned())
            };
            return Err(e);
        } else if s.len() > digits {
            return Err(self
                .error(format!("expected an id of up to {digits} hex digits ({bits} bits), found {} digits", s.len()))
                .with_help(help.to_owned()));
        } else {
            u128::from_str_radix(s, 16).unwrap_or(0)
        };
        if id == 0 {
            return Err(self.error("an all-zero id is invalid (W3C Trace Context: it means no id)").with_help(
                "a root span has no parent id at all; any other zero id is an exporter bug: drop the span",
            ));
        }
        Ok(id)
    }

    /// A 64-bit span id.
    pub(crate) fn span_id(&self, help: &str) -> Result<u64> {
        self.hex_id(64, help).map(|id| id as u64)
    }
}

/// The hex of an 8- or 16-byte id written in base64 (RFC 4648's alphabet, padded, as
/// protobuf's JSON mapping writes `bytes`), if `s` is that.
fn base64_hex(s: &str) -> Option<String> {
    if !(s.len() == 12 || s.len() == 24) || !s.ends_with('=') {
        return None;
    }
    let mut bits: u32 = 0;
    let mut n = 0;
    let mut hex = String::new();
    for b in s.trim_end_matches('=').bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            hex.push_str(&format!("{:02x}", (bits >> n) & 0xff));
        }
    }
    Some(hex)
}

/// A span's start and end in nanoseconds from the start and either its end (`end`) or
/// its duration, checked: the end is never before the start.
pub(crate) fn checked_end(start: i64, end: i64, at: &Cur<'_, '_>, help: &str) -> Result<i64> {
    if end < start {
        return Err(at
            .error(format!("the span ends {} ns before it starts", i128::from(start) - i128::from(end)))
            .with_help(help.to_owned()));
    }
    Ok(end)
}

/// Nanoseconds from a whole number of microseconds (Jaeger's and Zipkin's unit).
pub(crate) fn micros(at: &Cur<'_, '_>, what: &str) -> Result<i64> {
    let us = match &at.v.kind {
        Kind::Num(n) if n.starts_with('-') => n.parse::<i64>().ok(),
        _ => None,
    };
    let us = match us {
        Some(v) => v,
        None => i64::try_from(at.u64(&format!("{what} in microseconds"))?).unwrap_or(i64::MAX),
    };
    us.checked_mul(1000).ok_or_else(|| at.error(format!("{what} is out of range: more microseconds than fit")))
}

/// Span ids already read, per trace, to refuse one used twice.
#[derive(Default)]
pub(crate) struct Seen {
    first: HashMap<(u128, u64), SpanAt>,
}

impl Seen {
    /// Records span `id` of `trace`, read at `at` (its id at `id_at`), or refuses it as a
    /// duplicate, naming where it was first read.
    pub(crate) fn check(&mut self, trace: u128, id: u64, id_at: &Cur<'_, '_>, at: &SpanAt) -> Result<()> {
        if let Some(first) = self.first.get(&(trace, id)) {
            return Err(id_at
                .error(format!(
                    "span id {id:016x} appears twice in trace {trace:032x}; first at {}:{}:{}",
                    first.file.display(),
                    first.line,
                    first.column
                ))
                .with_help(
                    "a span id is unique within its trace: is the same file (or the same spans) read twice, \
                     or does an exporter reuse ids?",
                ));
        }
        self.first.insert((trace, id), at.clone());
        Ok(())
    }
}

/// Nanoseconds from a whole number of nanoseconds that must fit an `i64` (until 2262).
pub(crate) fn nanos(at: &Cur<'_, '_>, what: &str) -> Result<i64> {
    let n = at.u64(&format!("{what} in nanoseconds since the Unix epoch"))?;
    i64::try_from(n).map_err(|_| at.error(format!("{what} is past the year 2262: {n} ns")))
}
