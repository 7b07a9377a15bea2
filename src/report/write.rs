//! Atomic output: a file through a temporary file and a rename; a whole output folder
//! through a temporary sibling folder and one rename.
//!
//! A rename within one directory is atomic on POSIX file systems, so a reader (or a run
//! interrupted half-way) sees either the old complete file or the new complete one.
//! Files alone are not enough: a folder of a dozen files renamed one by one can hold
//! report.json of one run beside report.html of another after a `kill -9`. So a run
//! builds its whole folder as `.<name>.tmp-<pid>` beside `--out` ([`Staging`]) and swaps
//! it in with one rename: `renameat2(RENAME_EXCHANGE)` on Linux, which exchanges the two
//! trees atomically, or elsewhere (and on file systems without it) a rename of the old
//! folder aside, then of the new one into place. The old tree, now under a temporary
//! name, is deleted afterwards. A lock file `.<name>.lock` beside the folder ([`OutputLock`],
//! an `flock`, which dies with its process) refuses a second run to the same folder, and
//! makes every `.<name>.tmp-*` folder found while holding it the leftover of a killed run.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically, creating parent directories.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("output");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Why an output folder cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// `--out` names a file.
    #[error("cannot write into {0}: it is a file, not a folder; choose another output folder with --out")]
    NotAFolder(PathBuf),
    /// `--out` holds files that no resim run wrote: replacing it would delete them.
    #[error(
        "the output folder {0} already holds files resim did not write (no report.json, sweep.json, compare.md, points/ or \
         shards/ in it): a run replaces its whole output folder, so choose a new or empty folder with --out"
    )]
    NotAnOutput(PathBuf),
    /// Another process holds the lock.
    #[error(
        "another resim run is writing into {out} (it holds {lock}): wait for it to finish, or choose another folder \
         with --out"
    )]
    Busy {
        /// The output folder.
        out: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// A file system call failed.
    #[error("cannot write into {path}: {source}")]
    Io {
        /// What was being written.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

/// Entries whose presence marks a folder as a resim output (a run's, a sweep's or a
/// comparison's).
const OUTPUT_MARKS: [&str; 5] = ["report.json", "sweep.json", "points", "shards", "compare.md"];

/// Where an output folder goes: its parent and its name, checked without creating anything.
#[derive(Clone, Debug)]
pub struct OutputPlace {
    out: PathBuf,
    parent: PathBuf,
    name: OsString,
}

impl OutputPlace {
    /// Checks that `out` can become an output folder: it is absent, empty or a previous
    /// resim output (never a file, never a folder of someone else's files), and its nearest
    /// existing ancestor is a writable folder. Creates nothing.
    pub fn check(out: &Path) -> Result<Self, OutputError> {
        // `.`, `..` and `/` have no usable name: resolve them (they exist).
        let out = match out.file_name() {
            Some(_) if !out.ends_with("..") => out.to_path_buf(),
            _ => out.canonicalize().map_err(io_at(out))?,
        };
        let name = out.file_name().map(OsString::from).ok_or_else(|| OutputError::NotAnOutput(out.clone()))?;
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        match fs::metadata(&out) {
            Ok(m) if !m.is_dir() => return Err(OutputError::NotAFolder(out)),
            Ok(_) => {
                let mut entries = fs::read_dir(&out).map_err(io_at(&out))?;
                let empty = entries.next().is_none();
                if !empty && !OUTPUT_MARKS.iter().any(|m| out.join(m).exists()) {
                    return Err(OutputError::NotAnOutput(out));
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {}
            Err(e) => return Err(io_at(&out)(e)),
        }
        let mut ancestor = parent.as_path();
        while !ancestor.exists() {
            ancestor = ancestor.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        }
        if !ancestor.is_dir() {
            return Err(OutputError::NotAFolder(ancestor.to_path_buf()));
        }
        writable(ancestor).map_err(io_at(ancestor))?;
        Ok(Self { out, parent, name })
    }

    /// The output folder, as given (resolved when it was `.`, `..` or `/`).
    pub fn out(&self) -> PathBuf {
        self.out.clone()
    }

    /// A sibling of the folder: `.<name><suffix>`.
    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut s = OsString::from(".");
        s.push(&self.name);
        s.push(suffix);
        self.parent.join(s)
    }

    /// The lock file beside the folder.
    pub fn lock_path(&self) -> PathBuf {
        self.sibling(".lock")
    }

    /// Temporary folders left beside the output folder by runs that were killed: named
    /// `.<name>.tmp-<pid>` (or `.<name>.tmp-<pid>.old`), sorted. Only meaningful while
    /// holding the exclusive lock, which no live run writing them can hold at the same time.
    pub fn leftovers(&self) -> Vec<PathBuf> {
        let mut prefix = OsString::from(".");
        prefix.push(&self.name);
        prefix.push(".tmp-");
        let prefix = prefix.to_string_lossy().into_owned();
        let mut out: Vec<PathBuf> = fs::read_dir(&self.parent)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let rest = name.strip_prefix(&prefix).map(|r| r.strip_suffix(".old").unwrap_or(r));
                rest.is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|e| e.path())
            .collect();
        out.sort();
        out
    }
}

/// Whether the current user may create entries in `dir`.
#[cfg(unix)]
fn writable(dir: &Path) -> io::Result<()> {
    rustix::fs::access(dir, rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK).map_err(io::Error::from)
}

#[cfg(not(unix))]
fn writable(dir: &Path) -> io::Result<()> {
    if fs::metadata(dir)?.permissions().readonly() {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "the folder is read-only"));
    }
    Ok(())
}

/// How an output folder is locked: one writer, or many writers of disjoint parts (the
/// shards of a sweep writing into one shared folder).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// The only writer: replaces the whole folder.
    Exclusive,
    /// One of several writers that each add their own files.
    Shared,
}

/// A held lock on an output folder (an `flock` on `.<name>.lock`): released when dropped,
/// or when the process dies, however it dies.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    path: PathBuf,
    mode: LockMode,
}

impl OutputLock {
    /// Takes the lock of the folder at `place` (its parent must exist), or says who holds it.
    pub fn acquire(place: &OutputPlace, mode: LockMode) -> Result<Self, OutputError> {
        let path = place.lock_path();
        // The holder deletes the file when it is done; a lock taken on a file deleted
        // meanwhile guards nothing, so check the path still names the locked file.
        for _ in 0..100 {
            let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io_at(&path))?;
            let locked = match mode {
                LockMode::Exclusive => file.try_lock(),
                LockMode::Shared => file.try_lock_shared(),
            };
            match locked {
                Ok(()) if same_file(&file, &path) => return Ok(Self { file, path, mode }),
                Ok(()) => continue,
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(OutputError::Busy { out: place.out(), lock: path });
                }
                Err(fs::TryLockError::Error(e)) => return Err(io_at(&path)(e)),
            }
        }
        Err(OutputError::Busy { out: place.out(), lock: path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutputLock {
    /// Deletes the lock file while still holding the lock (a shared holder only when it is
    /// the last one), so a finished run leaves nothing beside its folder.
    fn drop(&mut self) {
        if self.mode == LockMode::Exclusive || self.file.try_lock().is_ok() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

/// An output folder being built as `.<name>.tmp-<pid>` beside its final place. Dropped
/// without [`Staging::commit`], it is deleted: the previous output stays as it was.
#[derive(Debug)]
pub struct Staging {
    place: OutputPlace,
    tmp: PathBuf,
    lock: OutputLock,
    committed: bool,
}

impl Staging {
    /// Creates the parent folders, takes the exclusive lock (unless `lock` already holds
    /// it) and creates the empty temporary folder.
    pub fn begin(place: &OutputPlace, lock: Option<OutputLock>) -> Result<Self, OutputError> {
        fs::create_dir_all(&place.parent).map_err(io_at(&place.parent))?;
        let lock = match lock {
            Some(l) => l,
            None => OutputLock::acquire(place, LockMode::Exclusive)?,
        };
        let tmp = place.sibling(&format!(".tmp-{}", std::process::id()));
        // A folder of this name is a leftover of a dead process that had our pid.
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io_at(&tmp))?;
        }
        fs::create_dir(&tmp).map_err(io_at(&tmp))?;
        Ok(Self { place: place.clone(), tmp, lock, committed: false })
    }

    /// The temporary folder to write into.
    pub fn dir(&self) -> &Path {
        &self.tmp
    }

    /// The lock file held.
    pub fn lock_path(&self) -> &Path {
        self.lock.path()
    }

    /// Deletes the temporary folders of killed runs (not this one's).
    pub fn remove_leftovers(&self) {
        for dir in self.place.leftovers().into_iter().filter(|d| *d != self.tmp) {
            let _ = fs::remove_dir_all(dir);
        }
    }

    /// Swaps the finished folder into place with one rename, then deletes the previous
    /// output and any leftovers. On failure the previous output is where it was.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let out = self.place.out();
        // Its entries on disk before it is published (a folder opens as a file on Unix only).
        #[cfg(unix)]
        File::open(&self.tmp).and_then(|d| d.sync_all()).map_err(io_at(&self.tmp))?;
        let old = swap(&self.tmp, &out, &self.place.sibling(&format!(".tmp-{}.old", std::process::id())))
            .map_err(io_at(&out))?;
        self.committed = true;
        if let Some(old) = old {
            let _ = fs::remove_dir_all(old);
        }
        self.remove_leftovers();
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Puts `new` at `out` with one rename and returns where the previous `out` went, if
/// there was one: `new` itself after an exchange, else `aside`.
fn swap(new: &Path, out: &Path, aside: &Path) -> io::Result<Option<PathBuf>> {
    match fs::symlink_metadata(out) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return fs::rename(new, out).map(|()| None),
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    if exchange(new, out)? {
        return Ok(Some(new.to_path_buf()));
    }
    fs::rename(out, aside)?;
    if let Err(e) = fs::rename(new, out) {
        let _ = fs::rename(aside, out);
        return Err(e);
    }
    Ok(Some(aside.to_path_buf()))
}

/// Exchanges `a` and `b` atomically (Linux's `renameat2(RENAME_EXCHANGE)`); `false` where
/// the system or the file system cannot.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if e == Errno::INVAL || e == Errno::NOSYS || e == Errno::NOTSUP => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange(_: &Path, _: &Path) -> io::Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/report.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(names(&dir.path().join("sub")), ["report.json"]);
    }

    #[test]
    fn a_staged_folder_replaces_the_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/out");
        let place = OutputPlace::check(&out).unwrap();
        assert!(!dir.path().join("a").exists(), "checking creates nothing");
        for (files, leftover) in [(&["report.json", "stale.svg"][..], true), (&["report.json"][..], false)] {
            if leftover {
                fs::create_dir_all(dir.path().join("a/.out.tmp-999999999")).unwrap();
            }
            let s = Staging::begin(&place, None).unwrap();
            for f in files {
                fs::write(s.dir().join(f), f).unwrap();
            }
            s.commit().unwrap();
        }
        assert_eq!(names(&out), ["report.json"], "nothing of the previous run survives");
        assert_eq!(names(&dir.path().join("a")), ["out"], "no lock file, no temporary folder");
    }

    #[test]
    fn an_abandoned_folder_leaves_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("report.json"), "old").unwrap();
        let place = OutputPlace::check(&out).unwrap();
        let s = Staging::begin(&place, None).unwrap();
        fs::write(s.dir().join("report.json"), "new").unwrap();
        drop(s);
        assert_eq!(fs::read_to_string(out.join("report.json")).unwrap(), "old");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn a_second_writer_is_refused_and_shards_share() {
        let dir = tempfile::tempdir().unwrap();
        let place = OutputPlace::check(&dir.path().join("out")).unwrap();
        let first = OutputLock::acquire(&place, LockMode::Exclusive).unwrap();
        let busy = OutputLock::acquire(&place, LockMode::Exclusive).unwrap_err();
        assert!(busy.to_string().contains("another resim run is writing into"), "{busy}");
        assert!(OutputLock::acquire(&place, LockMode::Shared).is_err());
        drop(first);
        let a = OutputLock::acquire(&place, LockMode::Shared).unwrap();
        let b = OutputLock::acquire(&place, LockMode::Shared).unwrap();
        assert!(OutputLock::acquire(&place, LockMode::Exclusive).is_err());
        drop(a);
        assert!(place.lock_path().exists(), "the other shard still holds it");
        drop(b);
        assert!(!place.lock_path().exists());
    }

    #[test]
    fn files_and_foreign_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "x").unwrap();
        assert!(matches!(OutputPlace::check(&file), Err(OutputError::NotAFolder(_))));
        assert!(matches!(OutputPlace::check(&file.join("out")), Err(OutputError::NotAFolder(_))));
        let mine = dir.path().join("mine");
        fs::create_dir(&mine).unwrap();
        fs::write(mine.join("thesis.tex"), "x").unwrap();
        assert!(matches!(OutputPlace::check(&mine), Err(OutputError::NotAnOutput(_))));
        fs::write(mine.join("report.json"), "{}").unwrap();
        assert!(OutputPlace::check(&mine).is_ok());
    }

    #[test]
    fn leftovers_are_only_this_folders_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        for d in [".out.tmp-12", ".out.tmp-13.old", ".out.tmp-x", ".out.tmp-x.tmp-14", ".other.tmp-15", "out"] {
            fs::create_dir(dir.path().join(d)).unwrap();
        }
        let place = OutputPlace::check(&dir.path().join("out")).unwrap();
        let found: Vec<PathBuf> = place.leftovers();
        assert_eq!(found, [dir.path().join(".out.tmp-12"), dir.path().join(".out.tmp-13.old")]);
    }
}
