//! Reading an input file under a cap: every file resim reads (scenarios, samples files,
//! reports, sweep and shard files) comes through here.
//!
//! A file's reported size cannot be trusted (`/proc` files report 0, a file may grow while
//! it is read, `/dev/zero` never ends), and opening a FIFO blocks until a writer comes. So
//! the path is stat-ed first, without opening it: anything but a regular file (a folder, a
//! FIFO, a socket, a character or block device) is refused with what it is and what to do
//! instead; a regular file is then read through `take(cap + 1)`, so one byte past the cap
//! proves it too large whatever its size said. `-` (and `/dev/stdin`) read standard input
//! through the same cap, where the caller allows it.

use std::fmt;
use std::fs::{File, Metadata};
use std::io::{self, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The path that names standard input on the command line.
pub const STDIN: &str = "-";

/// How messages name standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// Largest `report.json`, `point.json`, `sweep.json` or shard file read back (by
/// `compare`, `merge` and `sweep --resume`). Reports are read into typed records without
/// their time series, so memory stays near the file's size.
pub const MAX_REPORT_BYTES: u64 = 128 * 1024 * 1024;

/// Why an input was not read. Each message names the file; [`InputError::help`] says
/// what to do.
#[derive(Debug)]
pub enum InputError {
    /// The path is missing or unreadable.
    Io {
        /// The path, as the user gave it (`<stdin>` for standard input).
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Not a regular file: a folder, a FIFO, a socket or a device.
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead, e.g. "a FIFO (named pipe)".
        what: &'static str,
        /// Whether the caller reads standard input (`-`) instead.
        stdin: bool,
    },
    /// Standard input is a terminal, where nothing was piped in.
    Terminal,
    /// More than `cap` bytes.
    TooLarge {
        /// The path.
        path: PathBuf,
        /// The cap, in bytes.
        cap: u64,
        /// The size the file reported, when it was over the cap before reading.
        size: Option<u64>,
    },
    /// Read as text, but not UTF-8.
    NotUtf8 {
        /// The path.
        path: PathBuf,
    },
}

impl InputError {
    /// The path the error is about (`<stdin>` for standard input).
    pub fn path(&self) -> &Path {
        match self {
            InputError::Io { path, .. }
            | InputError::NotAFile { path, .. }
            | InputError::TooLarge { path, .. }
            | InputError::NotUtf8 { path } => path,
            InputError::Terminal => Path::new(STDIN_NAME),
        }
    }

    /// What is wrong, without the path: "it is a FIFO (named pipe), not a regular file".
    pub fn reason(&self) -> String {
        match self {
            InputError::Io { source, .. } => source.to_string(),
            InputError::NotAFile { what, .. } => format!("it is {what}, not a regular file"),
            InputError::Terminal => "standard input is a terminal".to_owned(),
            InputError::TooLarge { cap, size: Some(n), .. } => format!("it is {n} bytes, {}", over(*cap)),
            InputError::TooLarge { cap, size: None, .. } => format!("it is {}", over(*cap)),
            InputError::NotUtf8 { .. } => "it is not UTF-8 text".to_owned(),
        }
    }

    /// How to fix it.
    pub fn help(&self) -> String {
        match self {
            InputError::Io { .. } => "check the path".to_owned(),
            InputError::NotAFile { stdin: true, .. } => {
                "save it to a regular file first, or pass `-` to read standard input (e.g. `< FILE` or a pipe)"
                    .to_owned()
            }
            InputError::NotAFile { stdin: false, .. } => "save it to a regular file first".to_owned(),
            InputError::Terminal => {
                "pipe the input in (e.g. `resim check - < scenario.yaml`), or name a file".to_owned()
            }
            InputError::TooLarge { .. } => "trim the file, or split it".to_owned(),
            InputError::NotUtf8 { .. } => "save the file as UTF-8 text".to_owned(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}: {}", self.path().display(), self.reason())
    }
}

impl std::error::Error for InputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InputError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// "larger than 16 MiB (limited to 16777216 bytes)", or for a cap that is not a whole
/// number of MiB, "larger than 9 bytes".
fn over(cap: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if cap >= MIB && cap.is_multiple_of(MIB) {
        format!("larger than {} MiB (limited to {cap} bytes)", cap / MIB)
    } else {
        format!("larger than {cap} bytes")
    }
}

/// True when `path` names standard input: `-` or `/dev/stdin`.
pub fn is_stdin(path: &Path) -> bool {
    path == Path::new(STDIN) || path == Path::new("/dev/stdin")
}

/// How messages name `path`: `<stdin>` for standard input, else the path itself. Relative
/// paths inside a scenario read from standard input resolve against the working
/// directory, as `<stdin>` has no folder.
pub fn shown(path: &Path) -> PathBuf {
    if is_stdin(path) { PathBuf::from(STDIN_NAME) } else { path.to_owned() }
}

/// What a file that is not a regular file is, for messages.
fn kind(meta: &Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else {
        Some("not a file")
    }
}

/// Opens the regular file at `path` for reading at most `cap + 1` bytes; anything else is
/// refused before it is opened. `stdin` says whether the caller's message may suggest `-`.
pub fn open(path: &Path, cap: u64, stdin: bool) -> Result<io::Take<File>, InputError> {
    let io = |source| InputError::Io { path: path.to_owned(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    if let Some(what) = kind(&meta) {
        return Err(InputError::NotAFile { path: path.to_owned(), what, stdin });
    }
    if meta.len() > cap {
        return Err(InputError::TooLarge { path: path.to_owned(), cap, size: Some(meta.len()) });
    }
    Ok(File::open(path).map_err(io)?.take(cap + 1))
}

/// Reads the whole of `path` (standard input for `-` or `/dev/stdin`), refusing more than
/// `cap` bytes and anything but a regular file or standard input.
pub fn read_bytes(path: &Path, cap: u64) -> Result<Vec<u8>, InputError> {
    let shown = shown(path);
    let mut bytes = Vec::new();
    if is_stdin(path) {
        read_stdin(cap, &mut bytes)?;
    } else {
        let mut file = open(path, cap, true)?;
        // The size said, capped: one allocation for an honest file.
        let expected = file.get_ref().metadata().map_or(0, |m| m.len().min(cap));
        bytes.reserve_exact(usize::try_from(expected).unwrap_or(0) + 1);
        read_capped(&mut file, cap, &mut bytes).map_err(|source| InputError::Io { path: shown.clone(), source })?;
    }
    if bytes.len() as u64 > cap {
        return Err(InputError::TooLarge { path: shown, cap, size: None });
    }
    Ok(bytes)
}

/// Appends at most `cap + 1` bytes of `r` to `bytes`, never holding more than that:
/// `read_to_end` doubles its buffer, which would reserve twice the cap.
fn read_capped(r: &mut impl Read, cap: u64, bytes: &mut Vec<u8>) -> io::Result<()> {
    let limit = usize::try_from(cap).unwrap_or(usize::MAX).saturating_add(1);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let want = chunk.len().min(limit.saturating_sub(bytes.len()));
        if want == 0 {
            return Ok(());
        }
        let n = match r.read(&mut chunk[..want]) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if bytes.capacity() - bytes.len() < n {
            // Double, but never past the limit.
            bytes.reserve_exact(bytes.capacity().max(n).min(limit - bytes.len()));
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
}

/// Most bytes of standard input kept for a second read: a scenario's cap, so a scenario
/// piped in can be read again (by `check` and `sweep`, for its `sweep:` section; a
/// stream cannot be read twice), while a larger input (a report) is not held twice.
const KEEP_BYTES: u64 = 16 * 1024 * 1024;

/// Standard input as first read, when it was at most [`KEEP_BYTES`] and within the
/// reader's cap.
static STDIN_KEPT: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// Standard input into `bytes`, at most `cap + 1` bytes; from [`STDIN_KEPT`] after the
/// first time.
fn read_stdin(cap: u64, bytes: &mut Vec<u8>) -> Result<(), InputError> {
    let mut kept = STDIN_KEPT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(first) = kept.as_deref() {
        let n = first.len().min(usize::try_from(cap).unwrap_or(usize::MAX).saturating_add(1));
        bytes.extend_from_slice(&first[..n]);
        return Ok(());
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return Err(InputError::Terminal);
    }
    read_capped(&mut stdin.lock(), cap, bytes)
        .map_err(|source| InputError::Io { path: PathBuf::from(STDIN_NAME), source })?;
    if bytes.len() as u64 <= cap.min(KEEP_BYTES) {
        *kept = Some(bytes.clone());
    }
    Ok(())
}

/// [`read_bytes`] as UTF-8 text.
pub fn read_text(path: &Path, cap: u64) -> Result<String, InputError> {
    let bytes = read_bytes(path, cap)?;
    String::from_utf8(bytes).map_err(|_| InputError::NotUtf8 { path: shown(path) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file_without_opening_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_bytes(dir.path(), 10).unwrap_err();
        assert_eq!(e.reason(), "it is a directory, not a regular file");
        let e = read_bytes(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(e.to_string().contains("/dev/zero: it is a character device"), "{e}");
        assert!(e.help().contains("pass `-`"), "{}", e.help());
        assert!(!open(Path::new("/dev/null"), 10, false).unwrap_err().help().contains('-'));
    }

    #[test]
    fn caps_what_is_read_whatever_the_size_says() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"0123456789").unwrap();
        assert_eq!(read_bytes(&f, 10).unwrap(), b"0123456789");
        assert_eq!(read_bytes(&f, 9).unwrap_err().reason(), "it is 10 bytes, larger than 9 bytes");
        // /proc files report a size of 0 and hold more.
        let e = read_bytes(Path::new("/proc/self/maps"), 8).unwrap_err();
        assert_eq!(e.reason(), "it is larger than 8 bytes");
        assert_eq!(over(16 * 1024 * 1024), "larger than 16 MiB (limited to 16777216 bytes)");
    }

    #[test]
    fn text_must_be_utf8_and_stdin_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, [0xff, 0xfe]).unwrap();
        assert!(matches!(read_text(&f, 10), Err(InputError::NotUtf8 { .. })));
        assert_eq!(shown(Path::new("-")), Path::new("<stdin>"));
        assert_eq!(shown(Path::new("/dev/stdin")), Path::new("<stdin>"));
        assert_eq!(shown(Path::new("a.yaml")), Path::new("a.yaml"));
    }
}
