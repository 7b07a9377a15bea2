//! A small JSON parser that keeps where every value starts, for the trace readers.
//!
//! Why not `serde_json::Value`: it forgets positions, and every span needs one (its
//! [`SpanAt`](super::SpanAt)) as does every semantic error ("`spanId` is not hex" at line 3,
//! column 1207, `resourceSpans[0].scopeSpans[1].spans[3].spanId`). Why not the scenario's
//! located tree (`scenario::tree`): it goes through a YAML parser and owns every string,
//! several times slower and larger on a 100 MB trace file. This parser is one pass over
//! the bytes; strings without escapes (nearly all of a trace file: ids, names, numbers in
//! quotes) borrow from the text; numbers stay as their text until read. It parses a
//! stream of top-level values separated by whitespace, which covers both the collector's
//! JSON lines (one `ExportTraceServiceRequest` per line) and a single pretty-printed
//! document; and it hands each format's one big list (`resourceSpans`, Jaeger's `data`,
//! Zipkin's top-level list) to the reader item by item as it is parsed
//! ([`Parser::next_streaming`]), so memory holds the file's text, the spans read and
//! one item's tree. Measured on a 100 MB OTLP JSON-lines file: 0.9 s and 250 MB; on the
//! same spans as one 165 MB pretty document: 1.3 s and 310 MB (keeping the whole tree
//! instead: 3.2 s and 970 MB).
//!
//! The grammar is RFC 8259's; nesting deeper than [`MAX_DEPTH`] is refused rather than
//! recursed into, so no input can overflow the stack.

use std::borrow::Cow;
use std::cell::Cell;
use std::path::Path;

use crate::scenario::ScenarioError;

/// Deepest nesting accepted: trace formats nest about eight levels (OTLP's
/// `resourceSpans[].scopeSpans[].spans[].attributes[].value.arrayValue...`).
pub(crate) const MAX_DEPTH: usize = 64;

/// A JSON value and the byte offset where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Val<'t> {
    /// Byte offset of the value's first character in the text.
    pub(crate) off: usize,
    /// The value.
    pub(crate) kind: Kind<'t>,
}

/// What a [`Val`] holds.
#[derive(Clone, Debug)]
pub(crate) enum Kind<'t> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Num(&'t str),
    /// A string, unescaped.
    Str(Cow<'t, str>),
    /// An array.
    Arr(Vec<Val<'t>>),
    /// An object, entries in file order.
    Obj(Vec<(Cow<'t, str>, Val<'t>)>),
}

impl Val<'_> {
    /// The value in words, naming an object's first keys: `an object with keys `data`, `total``.
    pub(crate) fn describe_keys(&self) -> String {
        match &self.kind {
            Kind::Obj(entries) if !entries.is_empty() => {
                let mut keys: Vec<String> = entries.iter().take(4).map(|(k, _)| format!("`{k}`")).collect();
                if entries.len() > 4 {
                    keys.push("…".into());
                }
                format!("an object with keys {}", keys.join(", "))
            }
            _ => self.describe(),
        }
    }

    /// The value in words, for messages: `an object`, `a list`, or the value itself.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            Kind::Null => "null".into(),
            Kind::Bool(b) => format!("`{b}`"),
            Kind::Num(n) => format!("the number `{n}`"),
            Kind::Str(s) if s.chars().count() > 40 => format!("`{}…`", s.chars().take(40).collect::<String>()),
            Kind::Str(s) => format!("`{s}`"),
            Kind::Arr(_) => "a list".into(),
            Kind::Obj(_) => "an object".into(),
        }
    }

    /// The object entry `key`, if this is an object holding it with a non-null value.
    pub(crate) fn get(&self, key: &str) -> Option<&Self> {
        match &self.kind {
            Kind::Obj(entries) => {
                entries.iter().find(|(k, _)| k == key).map(|(_, v)| v).filter(|v| !matches!(v.kind, Kind::Null))
            }
            _ => None,
        }
    }
}

/// A syntax error: what was wrong, at which byte.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    /// Byte offset.
    pub(crate) off: usize,
    /// What was expected.
    pub(crate) message: String,
}

/// Reads top-level values from a text one at a time.
pub(crate) struct Parser<'t> {
    text: &'t str,
    pos: usize,
    depth: usize,
}

type Parsed<T> = Result<T, SyntaxError>;

impl<'t> Parser<'t> {
    /// A parser at the start of `text`.
    pub(crate) fn new(text: &'t str) -> Self {
        Parser { text, pos: 0, depth: 0 }
    }

    /// The next top-level value, or `None` when only whitespace is left.
    #[cfg(test)]
    pub(crate) fn next_value(&mut self) -> Parsed<Option<Val<'t>>> {
        self.ws();
        if self.pos >= self.text.len() {
            return Ok(None);
        }
        self.value().map(Some)
    }

    fn err<T>(&self, message: impl Into<String>) -> Parsed<T> {
        Err(SyntaxError { off: self.pos, message: message.into() })
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Parsed<Val<'t>> {
        self.ws();
        let off = self.pos;
        let kind = match self.peek() {
            None => return self.err("the text ends where a value was expected (is the file cut short?)"),
            Some(b'{') => self.object()?,
            Some(b'[') => self.array()?,
            Some(b'"') => Kind::Str(self.string()?),
            Some(b't') => self.literal("true", Kind::Bool(true))?,
            Some(b'f') => self.literal("false", Kind::Bool(false))?,
            Some(b'n') => self.literal("null", Kind::Null)?,
            Some(b'-' | b'0'..=b'9') => Kind::Num(self.number()?),
            Some(_) => {
                let c = self.text[self.pos..].chars().next().unwrap_or(' ');
                return self.err(format!("expected a JSON value, found `{}`", c.escape_debug()));
            }
        };
        Ok(Val { off, kind })
    }

    fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        self.pos += 1;
        Ok(())
    }

    fn object(&mut self) -> Parsed<Kind<'t>> {
        let mut entries = Vec::new();
        self.each_entry(|p: &mut Self, key| {
            let value = p.value()?;
            entries.push((key, value));
            Ok::<_, SyntaxError>(())
        })?;
        Ok(Kind::Obj(entries))
    }

    fn array(&mut self) -> Parsed<Kind<'t>> {
        let mut items = Vec::new();
        self.each_item(|v| {
            items.push(v);
            Ok::<_, SyntaxError>(())
        })?;
        Ok(Kind::Arr(items))
    }

    /// Parses the object at `{`, handing each key to `entry`, which parses its value.
    fn each_entry<E: From<SyntaxError>>(
        &mut self,
        mut entry: impl FnMut(&mut Self, Cow<'t, str>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.enter()?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Ok(self.err("expected a key in double quotes")?);
            }
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Ok(self.err(format!("expected `:` after the key `{key}`"))?);
            }
            self.pos += 1;
            entry(self, key)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => break,
                None => return Ok(self.err("the text ends inside an object (is the file cut short?)")?),
                _ => return Ok(self.err("expected `,` or `}` after an object entry")?),
            }
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(())
    }

    /// Parses the list at `[`, handing each item to `item` as soon as it is parsed.
    fn each_item<E: From<SyntaxError>>(&mut self, mut item: impl FnMut(Val<'t>) -> Result<(), E>) -> Result<(), E> {
        self.enter()?;
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            item(self.value()?)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => break,
                None => return Ok(self.err("the text ends inside a list (is the file cut short?)")?),
                _ => return Ok(self.err("expected `,` or `]` after a list item")?),
            }
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(())
    }

    /// The next top-level value like [`Parser::next_value`], except for its one big list
    /// — the list at `key` of a top-level object, or with no `key` a top-level list —
    /// whose items go to `item` (with the top-level value's offset and their index) as
    /// soon as each is parsed, and are not kept: the value returned holds an empty list
    /// there, and says whether that happened. A 1 GiB Jaeger document is then held one
    /// trace at a time, not as one tree several times the file's size.
    pub(crate) fn next_streaming<E: From<SyntaxError>>(
        &mut self,
        key: Option<&str>,
        mut item: impl FnMut(usize, usize, Val<'t>) -> Result<(), E>,
    ) -> Result<Option<(Val<'t>, bool)>, E> {
        self.ws();
        let off = self.pos;
        let mut streamed = false;
        let mut stream = |p: &mut Self| {
            let mut i = 0;
            p.each_item::<E>(|v| {
                item(off, i, v)?;
                i += 1;
                Ok(())
            })
        };
        let kind = match (key, self.peek()) {
            (_, None) => return Ok(None),
            (None, Some(b'[')) => {
                stream(self)?;
                streamed = true;
                Kind::Arr(Vec::new())
            }
            (Some(k), Some(b'{')) => {
                let mut entries = Vec::new();
                self.each_entry::<E>(|p: &mut Self, name| {
                    p.ws();
                    let at = p.pos;
                    if name == k && !streamed && p.peek() == Some(b'[') {
                        stream(p)?;
                        streamed = true;
                        entries.push((name, Val { off: at, kind: Kind::Arr(Vec::new()) }));
                    } else {
                        let v = p.value()?;
                        entries.push((name, v));
                    }
                    Ok(())
                })?;
                Kind::Obj(entries)
            }
            _ => return Ok(Some((self.value()?, false))),
        };
        Ok(Some((Val { off, kind }, streamed)))
    }

    fn literal(&mut self, word: &str, kind: Kind<'t>) -> Parsed<Kind<'t>> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(kind)
        } else {
            self.err(format!("expected `{word}`"))
        }
    }

    fn number(&mut self) -> Parsed<&'t str> {
        let start = self.pos;
        let b = self.text.as_bytes();
        let digits = |p: &mut usize| {
            let s = *p;
            while b.get(*p).is_some_and(u8::is_ascii_digit) {
                *p += 1;
            }
            *p > s
        };
        let mut p = self.pos;
        if b.get(p) == Some(&b'-') {
            p += 1;
        }
        let int_start = p;
        if !digits(&mut p) || (b[int_start] == b'0' && p - int_start > 1) {
            self.pos = int_start;
            return self.err("expected digits without a leading zero");
        }
        if b.get(p) == Some(&b'.') {
            p += 1;
            if !digits(&mut p) {
                self.pos = p;
                return self.err("expected digits after the decimal point");
            }
        }
        if let Some(b'e' | b'E') = b.get(p) {
            p += 1;
            if let Some(b'+' | b'-') = b.get(p) {
                p += 1;
            }
            if !digits(&mut p) {
                self.pos = p;
                return self.err("expected digits in the exponent");
            }
        }
        self.pos = p;
        Ok(&self.text[start..p])
    }

    /// A string at `"`: borrowed when it has no escapes.
    fn string(&mut self) -> Parsed<Cow<'t, str>> {
        self.pos += 1;
        let start = self.pos;
        let b = self.text.as_bytes();
        while let Some(&c) = b.get(self.pos) {
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(Cow::Borrowed(&self.text[start..self.pos - 1]));
                }
                b'\\' => return self.escaped(start).map(Cow::Owned),
                0..=0x1f => return self.err("a control character inside a string (escape it, e.g. `\\n`)"),
                _ => self.pos += 1,
            }
        }
        self.err("the text ends inside a string (is the file cut short?)")
    }

    /// The rest of a string holding escapes, from its content's start.
    fn escaped(&mut self, start: usize) -> Parsed<String> {
        let mut out = String::from(&self.text[start..self.pos]);
        loop {
            let Some(c) = self.text[self.pos..].chars().next() else {
                return self.err("the text ends inside a string (is the file cut short?)");
            };
            match c {
                '"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                '\\' => {
                    self.pos += 1;
                    let e = self.peek();
                    self.pos += 1;
                    match e {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => out.push(self.unicode()?),
                        _ => {
                            self.pos -= 1;
                            return self.err("an unknown escape (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
                        }
                    }
                }
                c if (c as u32) < 0x20 => return self.err("a control character inside a string"),
                c => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    fn hex4(&mut self) -> Parsed<u32> {
        let digits = self.text.get(self.pos..self.pos + 4).filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
        match digits.and_then(|h| u32::from_str_radix(h, 16).ok()) {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => self.err("expected four hex digits after `\\u`"),
        }
    }

    /// The character of a `\u` escape (after the `u`), joining a UTF-16 surrogate pair.
    fn unicode(&mut self) -> Parsed<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) {
            if self.text[self.pos..].starts_with("\\u") {
                self.pos += 2;
                let lo = self.hex4()?;
                if (0xDC00..0xE000).contains(&lo) {
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return char::from_u32(c).map_or_else(|| self.err("an invalid surrogate pair"), Ok);
                }
            }
            return self.err("a lone UTF-16 surrogate in `\\u` escapes");
        }
        char::from_u32(hi).map_or_else(|| self.err("a lone UTF-16 surrogate in `\\u` escapes"), Ok)
    }
}

/// Longest source line quoted under an error: JSON lines can be megabytes long, and the
/// location and key path already say where.
const MAX_QUOTED_LINE: usize = 2000;

/// A trace file's text, turning byte offsets into 1-based lines and columns (columns in
/// characters). Spans are located in file order, so the last answer is kept and the next
/// one counts on from it: locating every span of a file is one pass over it.
pub(crate) struct Text<'t> {
    /// The file as messages name it.
    pub(crate) file: &'t Path,
    /// Its text.
    pub(crate) text: &'t str,
    /// The last offset located, its line, the offset its line starts at, its column.
    last: Cell<(usize, usize, usize, usize)>,
}

impl<'t> Text<'t> {
    /// The text of `file`.
    pub(crate) fn new(file: &'t Path, text: &'t str) -> Self {
        Text { file, text, last: Cell::new((0, 1, 0, 1)) }
    }

    /// Line and column of byte `off`.
    pub(crate) fn line_col(&self, off: usize) -> (usize, usize) {
        let off = off.min(self.text.len());
        let (mut from, mut line, mut line_start, mut col) = self.last.get();
        if off < from {
            (from, line, line_start, col) = (0, 1, 0, 1);
        }
        for (i, c) in self.text[from..off].char_indices() {
            if c == '\n' {
                line += 1;
                line_start = from + i + 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        self.last.set((off, line, line_start, col));
        (line, col)
    }

    /// An error at byte `off`, about `key`.
    pub(crate) fn error(&self, off: usize, key: &str, message: impl Into<String>) -> ScenarioError {
        let mut e = ScenarioError::at_key(key, message);
        e.file = self.file.to_owned();
        (e.line, e.column) = self.line_col(off);
        let start = self.text[..off.min(self.text.len())].rfind('\n').map_or(0, |i| i + 1);
        let end = self.text[start..].find('\n').map_or(self.text.len(), |i| start + i);
        if end - start <= MAX_QUOTED_LINE {
            e.source_line = Some(self.text[start..end].trim_end_matches('\r').to_owned());
        }
        e
    }

    /// A syntax error, located. One at the end of the text is put at the end of the
    /// last record (not past the final newline): that is where the file was cut.
    pub(crate) fn syntax(&self, e: &SyntaxError) -> ScenarioError {
        let content_end = self.text.trim_end().len();
        if e.off >= content_end {
            return self.error(content_end, "", format!("not valid JSON: {}", e.message)).with_help(
                "the file looks cut short (a collector stopped mid-write?): drop its last, incomplete record \
                 or export it again",
            );
        }
        self.error(e.off, "", format!("not valid JSON: {}", e.message))
            .with_help("fix the JSON at this point; every trace format resim reads is JSON")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<Val<'_>> {
        let mut p = Parser::new(text);
        let mut out = Vec::new();
        while let Some(v) = p.next_value().unwrap() {
            out.push(v);
        }
        out
    }

    #[test]
    fn parses_lines_and_documents_keeping_offsets_and_borrowing() {
        let text = "{\"a\": [1, -2.5e3, \"x\\u00e9\\ud83d\\ude00\"], \"b\": null}\n[true,false]\n";
        let vals = all(text);
        assert_eq!(vals.len(), 2);
        assert_eq!(vals[1].off, text.find('[').map(|_| text.find("\n[").unwrap() + 1).unwrap());
        let a = vals[0].get("a").unwrap();
        let Kind::Arr(items) = &a.kind else { panic!() };
        assert!(matches!(items[1].kind, Kind::Num("-2.5e3")));
        assert!(matches!(&items[2].kind, Kind::Str(s) if s == "xé😀"));
        assert!(vals[0].get("b").is_none());
        let v = all("{\"k\":\"plain\"}");
        assert!(matches!(&v[0].get("k").unwrap().kind, Kind::Str(Cow::Borrowed("plain"))));
    }

    #[test]
    fn refuses_bad_json_at_its_offset() {
        for (text, off) in [("{\"a\" 1}", 5), ("[1,]", 3), ("[01]", 1), ("{\"a\":tru}", 5), ("{\"a\":[1,2", 9)] {
            let e = Parser::new(text).next_value().unwrap_err();
            assert_eq!(e.off, off, "{text}: {}", e.message);
        }
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(Parser::new(&deep).next_value().unwrap_err().message.contains("nested"));
    }

    #[test]
    fn locates_offsets_in_any_order() {
        let t = Text::new(Path::new("f"), "ab\ncé\nx");
        assert_eq!(t.line_col(4), (2, 2));
        assert_eq!(t.line_col(7), (3, 1));
        assert_eq!(t.line_col(1), (1, 2));
        let e = t.error(3, "k", "m");
        assert_eq!((e.line, e.column, e.source_line.as_deref()), (2, 1, Some("cé")));
    }
}
