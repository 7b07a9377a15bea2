//! Empirical samples read from a file: `empirical: { file: latencies.csv, unit: ms }`.
//!
//! Users have latency logs, not YAML lists, so an empirical distribution may name a file
//! instead of listing `samples`. The file is read when the scenario is loaded, never by
//! [`super::validate`] or the engine: loading ([`super::load`]) resolves the path
//! against the scenario file's folder, reads each file once with [`read_file`], and
//! leaves the values in the spec ([`super::dist_spec::EmpiricalSpec::loaded`]), so the
//! model is built from data fixed at load time and the same file always gives the same
//! report. This module reads files only: it knows no spec types, which sit above it.
//!
//! Two formats, chosen by whether `column` is given:
//! - one value per line: a duration with its unit (`12ms`, `0.3s`), or a plain number
//!   (`12.5`) in the `unit` of the spec — a plain number without `unit` is refused rather
//!   than guessed, since a column of milliseconds read as seconds is 1000 times off;
//! - CSV with a header row (`column: latency_ms`): the values are the named column's.
//!   Records are read one per line, so every error names its exact line.
//!
//! Blank lines and lines starting with `#` are skipped in both. Reading is bounded: the
//! file may hold at most [`MAX_FILE_BYTES`] and [`MAX_SAMPLES`] values, it is read as a
//! stream that stops at the first value past the limit, and only regular files are
//! opened (not devices or pipes, which could block or never end).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::error::suggest;
use super::units::{TimeUnit, parse_duration};
use crate::engine::{SimTime, fnv1a64};
use crate::input::{self, InputError};

/// Most values in an empirical distribution, inline or read from a file.
pub const MAX_SAMPLES: usize = 1_000_000;
/// Largest samples file read (a million values with a few CSV columns each).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Most values read from files over the whole scenario, a file named twice counting twice:
/// each use is a copy in the model.
pub const MAX_TOTAL_SAMPLES: usize = 10 * MAX_SAMPLES;
/// Longest bad value quoted in a message.
const QUOTE_CHARS: usize = 40;

/// The values of one samples file, as read with one `unit` and `column`.
#[derive(PartialEq, Eq)]
pub struct SamplesFile {
    /// The path read: the `file` key joined to the scenario file's folder.
    pub path: PathBuf,
    /// The unit plain numbers were read in.
    pub unit: Option<TimeUnit>,
    /// The CSV column read, if any.
    pub column: Option<String>,
    /// The values, in file order.
    pub values: Vec<SimTime>,
    /// FNV-1a of the values (little-endian nanoseconds): what a sweep hashes.
    pub digest: u64,
}

impl std::fmt::Debug for SamplesFile {
    /// The values are counted, not listed: there may be a million.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamplesFile")
            .field("path", &self.path)
            .field("unit", &self.unit)
            .field("column", &self.column)
            .field("values", &format_args!("[{} values]", self.values.len()))
            .field("digest", &format_args!("{:016x}", self.digest))
            .finish()
    }
}

/// Why a samples file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SamplesError {
    /// The file as a whole: missing, unreadable, too large, empty, too many values.
    #[error("{message}")]
    File {
        /// What is wrong, naming the file.
        message: String,
        /// How to fix it.
        help: String,
    },
    /// One line of the file.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line in the samples file.
        line: usize,
        /// The line's text, for display.
        text: Option<String>,
        /// What is wrong, quoting the bad value.
        message: String,
        /// How to fix it.
        help: String,
    },
}

impl SamplesError {
    fn file(message: String, help: &str) -> Self {
        SamplesError::File { message, help: help.to_owned() }
    }
}

const VALUE_HELP: &str =
    "write one duration per line (e.g. 12ms or 0.3s), or plain numbers with a `unit` (e.g. unit: ms)";

/// Reads the samples file at `path`.
pub fn read_file(path: &Path, unit: Option<TimeUnit>, column: Option<&str>) -> Result<SamplesFile, SamplesError> {
    // Not standard input: it may be the scenario itself.
    let input = input::open(path, MAX_FILE_BYTES, false).map_err(|e| match e {
        InputError::TooLarge { .. } => too_large(path),
        InputError::Io { .. } => SamplesError::file(
            format!("cannot read the samples file {}: {}", path.display(), e.reason()),
            "a relative path is read from the scenario file's folder; check it, or give an absolute path",
        ),
        _ => SamplesError::file(format!("the samples file {}: {}", path.display(), e.reason()), &e.help()),
    })?;
    let values = parse(BufReader::new(input), unit, column, path)?;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.0.to_le_bytes()).collect();
    Ok(SamplesFile { path: path.to_owned(), unit, column: column.map(str::to_owned), digest: fnv1a64(&bytes), values })
}

fn too_large(path: &Path) -> SamplesError {
    SamplesError::file(
        format!("the samples file {} is larger than {MAX_FILE_BYTES} bytes", path.display()),
        "keep at most a million values, without unneeded columns",
    )
}

fn too_many(path: &Path) -> SamplesError {
    SamplesError::file(
        format!("the samples file {} holds more than {MAX_SAMPLES} values", path.display()),
        "resample it to at most a million values (e.g. every 10th line); the tail survives uniform thinning",
    )
}

fn empty(path: &Path) -> SamplesError {
    SamplesError::file(
        format!("the samples file {} holds no values", path.display()),
        "write one duration per line (blank lines and `#` comments are skipped)",
    )
}

/// Reads the values of a samples file: one per line, or, with `column`, the named column
/// of CSV whose first line (after blank lines and comments) is the header.
///
/// The CSV is read line by line, so line numbers are exact: fields are separated by
/// commas, may be quoted (`"1,5"`, with `""` for a quote), and cannot span lines.
pub fn parse(
    input: impl BufRead,
    unit: Option<TimeUnit>,
    column: Option<&str>,
    path: &Path,
) -> Result<Vec<SimTime>, SamplesError> {
    let mut values = Vec::new();
    let mut buf = Vec::new();
    let (mut line, mut bytes) = (0usize, 0u64);
    // With `column`: the column's index and the number of fields, once the header is read.
    let mut header: Option<(usize, usize)> = None;
    // A line without an end must not grow without bound either.
    let mut input = input.take(MAX_FILE_BYTES + 1);
    loop {
        buf.clear();
        let n = input.read_until(b'\n', &mut buf).map_err(|e| {
            SamplesError::file(format!("cannot read the samples file {}: {e}", path.display()), "check the file")
        })?;
        if n == 0 {
            break;
        }
        line += 1;
        bytes += n as u64;
        if bytes > MAX_FILE_BYTES {
            return Err(too_large(path));
        }
        let fail = |text: &str, message: String, help: &str| SamplesError::Line {
            line,
            text: Some(text.trim_end().to_owned()),
            message,
            help: help.to_owned(),
        };
        let Ok(text) = std::str::from_utf8(&buf) else {
            return Err(SamplesError::Line {
                line,
                text: None,
                message: "the line is not UTF-8 text".into(),
                help: VALUE_HELP.into(),
            });
        };
        let text = if line == 1 { text.trim_start_matches('\u{feff}') } else { text };
        let t = text.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let fields;
        let value = match (column, header) {
            (None, _) => t,
            (Some(c), None) => {
                let names = split_csv(t).map_err(|m| fail(text, m, CSV_HELP))?;
                let Some(index) = names.iter().position(|h| h == c.trim()) else {
                    let help = match suggest(c, names.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => {
                            let shown: Vec<String> = names.iter().take(20).map(|n| quote(n)).collect();
                            format!("the first line is the header; its columns are: {}", shown.join(", "))
                        }
                    };
                    return Err(fail(text, format!("the header has no column `{}`", quote(c)), &help));
                };
                header = Some((index, names.len()));
                continue;
            }
            (Some(_), Some((index, count))) => {
                fields = split_csv(t).map_err(|m| fail(text, m, CSV_HELP))?;
                if fields.len() != count {
                    return Err(fail(
                        text,
                        format!("this row has {} fields, but the header has {count}", fields.len()),
                        CSV_HELP,
                    ));
                }
                fields[index].as_str()
            }
        };
        if values.len() == MAX_SAMPLES {
            return Err(too_many(path));
        }
        let parsed = parse_value(value, unit).map_err(|message| match column {
            Some(c) => fail(text, format!("in column `{}`: {message}", quote(c)), VALUE_HELP),
            // A first line without a digit is most likely a header.
            None if values.is_empty() && !t.contains(|c: char| c.is_ascii_digit()) => fail(
                text,
                message,
                &format!("if `{}` is a header, name the column to read: `column: {}`", quote(t), quote(t)),
            ),
            None => fail(text, message, VALUE_HELP),
        })?;
        values.push(parsed);
    }
    if values.is_empty() {
        return Err(empty(path));
    }
    Ok(values)
}

const CSV_HELP: &str =
    "with `column`, the file is CSV: a header line, then comma-separated fields, one record per line";

/// The fields of one CSV line, trimmed. Quoted fields may hold commas; `""` is a quote.
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    loop {
        match chars.next() {
            None if quoted => return Err("a quoted field is not closed (fields cannot span lines)".into()),
            None => {
                fields.push(field.trim().to_owned());
                return Ok(fields);
            }
            Some('"') if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            Some('"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            Some(',') if !quoted => {
                fields.push(field.trim().to_owned());
                field.clear();
            }
            Some(c) => field.push(c),
        }
    }
}

/// Parses one value: a duration with a unit (`12ms`), or a plain number in `unit`.
pub fn parse_value(text: &str, unit: Option<TimeUnit>) -> Result<SimTime, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("the value is empty".into());
    }
    let shown = quote(t);
    if t.chars().count() > QUOTE_CHARS || t.contains(char::is_control) {
        return Err(format!("`{shown}` is not a duration"));
    }
    // No unit letters after the number: a plain number.
    if !t.ends_with(|c: char| c.is_ascii_digit() || c == '.') {
        return parse_duration(t).map_err(|m| m.replace("a bare number is seconds", "a plain number needs `unit`"));
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    if !digits.contains(|c: char| c.is_ascii_digit())
        || digits.matches('.').count() > 1
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        return Err(format!("`{shown}` is not a duration (a number such as 12.5, with or without a unit)"));
    }
    if t.starts_with('-') {
        return Err(format!("`{shown}` is negative; durations are 0 or more"));
    }
    match unit {
        Some(u) => parse_duration(&format!("{t}{}", u.suffix())),
        None => Err(format!("`{shown}` has no unit: write `{shown}ms` (or another unit), or set the file's `unit`")),
    }
}

/// `text` shortened to [`QUOTE_CHARS`] with control characters escaped, for messages.
fn quote(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(QUOTE_CHARS)
        .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect();
    if text.chars().count() > QUOTE_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    const MS: fn(u64) -> SimTime = SimTime::from_millis;

    fn lines(text: &str, unit: Option<TimeUnit>) -> Result<Vec<SimTime>, SamplesError> {
        parse(text.as_bytes(), unit, None, Path::new("lat.txt"))
    }

    fn csv(text: &str, unit: Option<TimeUnit>, column: &str) -> Result<Vec<SimTime>, SamplesError> {
        parse(text.as_bytes(), unit, Some(column), Path::new("lat.csv"))
    }

    /// The line and message of a line error.
    fn at(e: SamplesError) -> (usize, String) {
        match e {
            SamplesError::Line { line, message, .. } => (line, message),
            other => panic!("not a line error: {other:?}"),
        }
    }

    #[test]
    fn values_take_their_own_unit_or_the_files() {
        assert_eq!(parse_value("12ms", None), Ok(MS(12)));
        assert_eq!(parse_value(" 0.3s ", None), Ok(MS(300)));
        assert_eq!(parse_value("12.5", Some(TimeUnit::Ms)), Ok(SimTime(12_500 * 1000)));
        assert_eq!(parse_value(".5", Some(TimeUnit::S)), Ok(MS(500)));
        assert_eq!(parse_value("7", Some(TimeUnit::Us)), Ok(SimTime(7 * 1000)));
        assert_eq!(parse_value("2s", Some(TimeUnit::Ms)), Ok(MS(2000)), "a written unit wins");
        assert_eq!(parse_value("0", Some(TimeUnit::Ms)), Ok(SimTime::ZERO));
    }

    #[test]
    fn bad_values_are_refused_with_the_text() {
        for (text, unit, needle) in [
            ("12", None, "`12` has no unit"),
            ("-3", Some(TimeUnit::Ms), "`-3` is negative"),
            ("-3ms", None, "negative"),
            ("1e3", Some(TimeUnit::Ms), "`1e3` is not a duration"),
            ("1.2.3", Some(TimeUnit::Ms), "`1.2.3` is not a duration"),
            (".", Some(TimeUnit::Ms), "`.` is not a duration"),
            ("12xs", None, "unknown unit `xs`"),
            ("latency", None, "plain number needs `unit`"),
            ("", None, "empty"),
            ("1\u{1b}[2J", None, "\\u{1b}"),
        ] {
            let m = parse_value(text, unit).expect_err(text);
            assert!(m.contains(needle), "{text:?}: {m}");
            assert!(!m.contains('\u{1b}'), "raw control character in {m:?}");
        }
        let long = "9".repeat(1000) + "x";
        let m = parse_value(&long, None).unwrap_err();
        assert!(m.len() < 200, "a long value is quoted in full: {m}");
    }

    #[test]
    fn lines_skip_blanks_comments_crlf_and_a_bom() {
        let v =
            lines("\u{feff}# exported 2026-11-25\r\n12ms\r\n\r\n  # p99 outlier below\n 300ms \n5ms", None).unwrap();
        assert_eq!(v, vec![MS(12), MS(300), MS(5)]);
        assert_eq!(lines("1\n2.5\n", Some(TimeUnit::Ms)).unwrap(), vec![MS(1), SimTime(2_500 * 1000)]);
    }

    #[test]
    fn a_bad_line_is_reported_with_its_number() {
        let (line, message) = at(lines("# header comment\n12ms\n\n13ms\n12xs\n", None).unwrap_err());
        assert_eq!(line, 5);
        assert!(message.contains("`12xs`"), "{message}");
        match lines("latency_ms\n12\n", None).unwrap_err() {
            SamplesError::Line { line: 1, help, .. } => assert!(help.contains("column: latency_ms"), "{help}"),
            other => panic!("{other:?}"),
        }
        let (line, message) = at(parse(&b"1ms\n\xff\xfe\n"[..], None, None, Path::new("x")).unwrap_err());
        assert_eq!((line, message.contains("UTF-8")), (2, true));
    }

    #[test]
    fn empty_files_are_refused() {
        for text in ["", "\n\n", "# only a comment\n"] {
            assert!(
                matches!(lines(text, None), Err(SamplesError::File { message, .. }) if message.contains("no values"))
            );
        }
        assert!(
            matches!(csv("a,b\n", None, "a"), Err(SamplesError::File { message, .. }) if message.contains("no values"))
        );
    }

    #[test]
    fn csv_reads_the_named_column() {
        let text = "\u{feff}ts,latency_ms,status\n# warm-up excluded\n1,12.5,200\n\n2, 7 ,500\n3,\"1s\",200\n";
        let v = csv(text, Some(TimeUnit::Ms), "latency_ms").unwrap();
        assert_eq!(v, vec![SimTime(12_500 * 1000), MS(7), MS(1000)]);
        assert_eq!(csv(text, Some(TimeUnit::Ms), "ts").unwrap(), vec![MS(1), MS(2), MS(3)]);
    }

    #[test]
    fn csv_errors_name_the_line() {
        let (line, message) = at(csv("ts,ms\n1,2\n# c\n2,oops\n", Some(TimeUnit::Ms), "ms").unwrap_err());
        assert_eq!(line, 4);
        assert!(message.contains("`oops`") && message.contains("column `ms`"), "{message}");
        let (line, message) = at(csv("ts,ms\n1,2\n3\n", Some(TimeUnit::Ms), "ms").unwrap_err());
        assert_eq!(line, 3);
        assert!(message.contains("1 fields, but the header has 2"), "{message}");
        match csv("ts,latency_ms\n1,2\n", Some(TimeUnit::Ms), "latency").unwrap_err() {
            SamplesError::Line { line: 1, message, help, .. } => {
                assert!(message.contains("no column `latency`"), "{message}");
                assert_eq!(help, "did you mean `latency_ms`?");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(csv("# nothing\n", None, "ms"), Err(SamplesError::File { .. })));
        let (line, message) = at(csv("a,b\n\"1,2\n", None, "a").unwrap_err());
        assert_eq!(line, 2);
        assert!(message.contains("not closed"), "{message}");
    }

    #[test]
    fn more_than_the_limit_is_refused_without_reading_on() {
        // An endless stream of values: reading must stop just past the limit.
        let e = parse(BufReader::new(EndlessLines), Some(TimeUnit::Ms), None, Path::new("big.txt")).unwrap_err();
        assert!(
            matches!(&e, SamplesError::File { message, .. } if message.contains("more than 1000000 values")),
            "{e:?}"
        );
        let text = "1ms\n".repeat(MAX_SAMPLES);
        assert_eq!(lines(&text, None).map(|v| v.len()), Ok(MAX_SAMPLES));
        let header = "x\n".to_owned();
        let e =
            parse((header + &"1\n".repeat(MAX_SAMPLES + 1)).as_bytes(), Some(TimeUnit::Ms), Some("x"), Path::new("b"))
                .unwrap_err();
        assert!(matches!(&e, SamplesError::File { message, .. } if message.contains("more than")), "{e:?}");
    }

    #[test]
    fn an_endless_line_stops_at_the_byte_limit() {
        let e = parse(BufReader::new(std::io::repeat(b'1')), None, None, Path::new("big.txt")).unwrap_err();
        assert!(matches!(&e, SamplesError::File { message, .. } if message.contains("larger than")), "{e:?}");
    }

    /// `1ms\n` forever.
    struct EndlessLines;
    impl Read for EndlessLines {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = b"1ms\n"[i % 4];
            }
            Ok(buf.len() / 4 * 4)
        }
    }

    #[test]
    fn files_are_read_from_disk_with_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lat.txt");
        std::fs::write(&path, "3ms\n5ms\n").unwrap();
        let f = read_file(&path, None, None).unwrap();
        assert_eq!(f.values, vec![MS(3), MS(5)]);
        assert_eq!(f.digest, read_file(&path, Some(TimeUnit::Ms), None).unwrap().digest, "the digest is of values");
        std::fs::write(&path, "3ms\n6ms\n").unwrap();
        assert_ne!(f.digest, read_file(&path, None, None).unwrap().digest);
        let missing = read_file(&dir.path().join("nope.csv"), None, None).unwrap_err().to_string();
        assert!(missing.contains("nope.csv") && missing.contains("No such file or directory"), "{missing}");
        let is_dir = read_file(dir.path(), None, None).unwrap_err().to_string();
        assert!(is_dir.contains("is a directory"), "{is_dir}");
        let device = read_file(Path::new("/dev/zero"), None, None).unwrap_err().to_string();
        assert!(device.contains("not a regular file"), "{device}");
    }
}
