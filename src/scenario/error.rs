//! Scenario errors that point at the file, line, column and key, say what was
//! expected, and suggest the nearest valid key for a misspelling.

use std::fmt;
use std::path::PathBuf;

/// A problem with a scenario file, located as precisely as the input allows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The scenario file (or `--set` for command-line overrides).
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// Dotted path of the offending key, e.g. `services.api.capacity`.
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// How to fix it, e.g. "did you mean `servers`?".
    pub help: Option<String>,
    /// The offending source line, for display.
    pub source_line: Option<String>,
}

impl ScenarioError {
    /// An error at `key` with no location yet.
    pub fn at_key(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: PathBuf::new(),
            line: 0,
            column: 0,
            key: key.into(),
            message: message.into(),
            help: None,
            source_line: None,
        }
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = if self.key.is_empty() { String::new() } else { format!("{}: ", self.key) };
        writeln!(f, "{key}{}", self.message)?;
        if self.line > 0 {
            write!(f, "  --> {}:{}:{}", self.file.display(), self.line, self.column)?;
        } else {
            write!(f, "  --> {}", self.file.display())?;
        }
        if let Some(src) = &self.source_line {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            let (shown, caret) = snippet(src, self.column);
            write!(f, "\n{pad} |\n{num} | {shown}\n{pad} | {}^", " ".repeat(caret))?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// What validation returns.
pub(crate) type Result<T> = std::result::Result<T, ScenarioError>;

/// An error at `key`, for `return err(key, "...")` in validation.
pub(crate) fn err<T>(key: impl Into<String>, message: impl Into<String>) -> Result<T> {
    Err(ScenarioError::at_key(key, message))
}

/// Most characters of a source line shown around the error column.
const SNIPPET_WIDTH: usize = 100;

/// A window of at most [`SNIPPET_WIDTH`] characters of `line` around 1-based `column`,
/// with control characters escaped (a file must not drive the terminal), and the
/// caret's offset in it.
fn snippet(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    let col = column.saturating_sub(1).min(chars.len());
    let start = col.saturating_sub(SNIPPET_WIDTH / 2);
    let end = (start + SNIPPET_WIDTH).min(chars.len());
    let mut shown = String::new();
    let mut caret = 0;
    if start > 0 {
        shown.push('…');
        caret += 1;
    }
    for (i, &c) in chars[start..end].iter().enumerate() {
        let piece: String = if c.is_control() && c != '\t' { c.escape_default().collect() } else { c.to_string() };
        if start + i < col {
            caret += piece.chars().count();
        }
        shown.push_str(&piece);
    }
    if end < chars.len() {
        shown.push('…');
    }
    (shown, caret)
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 3) && d < c.len().max(word.len()))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["servers", "capacity", "service_time", "instances"];
        assert_eq!(suggest("severs", keys), Some("servers"));
        assert_eq!(suggest("capactiy", keys), Some("capacity"));
        assert_eq!(suggest("service-time", keys), Some("service_time"));
        assert_eq!(suggest("zebra", keys), None);
    }

    #[test]
    fn renders_location_snippet_and_help() {
        let mut e =
            ScenarioError::at_key("services.api.severs", "unknown key `severs`").with_help("did you mean `servers`?");
        e.file = "x.yaml".into();
        e.line = 4;
        e.column = 5;
        e.source_line = Some("    severs: 4".into());
        let text = e.to_string();
        assert!(text.contains("services.api.severs: unknown key `severs`"));
        assert!(text.contains("--> x.yaml:4:5"));
        assert!(text.contains("4 |     severs: 4"));
        assert!(text.contains("  |     ^"));
        assert!(text.contains("help: did you mean `servers`?"));
    }
}
