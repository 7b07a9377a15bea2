//! The output folder of `run`, `sweep` and `merge` as one unit: checked before any work,
//! locked against a second writer, built in a temporary sibling and swapped in whole
//! (see [`resim::report::Staging`]); and what a signal does to it.
//!
//! SIGINT, SIGTERM and SIGHUP take the same path (ctrlc's `termination` feature). The
//! handler runs on its own thread while the main one may be writing; one mutex orders
//! the two around the swap, so the message the handler prints is true: before the swap,
//! the temporary folder and the lock file are deleted and the previous output is as it
//! was; after it, the output is this run's, complete.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use resim::report::{LockMode, OutputLock, OutputPlace, Staging};

/// Exit status after an interruption (128 + SIGINT).
pub(crate) const INTERRUPTED: u8 = 130;

/// What the signal handler must know about the output in progress.
struct Pending {
    out: Option<PathBuf>,
    lock: Option<PathBuf>,
    tmp: Option<PathBuf>,
    committed: bool,
    /// A shard writing into a shared folder: its points stay where they were written.
    shared: bool,
}

static PENDING: Mutex<Pending> =
    Mutex::new(Pending { out: None, lock: None, tmp: None, committed: false, shared: false });

fn pending() -> MutexGuard<'static, Pending> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Checks `out` before any work and, when its parent folder exists, takes its lock now, so
/// a second run to the same folder is refused before it simulates. Creates nothing but
/// the lock file (deleted again however the run ends, short of `kill -9`).
pub(crate) fn prepare(out: &Path, mode: LockMode) -> Result<(OutputPlace, Option<OutputLock>), String> {
    let place = OutputPlace::check(out).map_err(|e| e.to_string())?;
    let parent_exists = place.lock_path().parent().is_some_and(Path::is_dir);
    let lock = if parent_exists { Some(OutputLock::acquire(&place, mode).map_err(|e| e.to_string())?) } else { None };
    let mut p = pending();
    p.out = Some(place.out());
    p.shared = mode == LockMode::Shared;
    // A shared lock file stays: the other shards still hold it.
    p.lock = lock.as_ref().filter(|_| !p.shared).map(|l| l.path().to_path_buf());
    Ok((place, lock))
}

/// Starts building the output folder in its temporary sibling.
/// A signal arriving meanwhile waits until the folder is registered for deletion (it
/// would otherwise find a folder created but not yet known, and leave it behind).
pub(crate) fn begin(place: &OutputPlace, lock: Option<OutputLock>) -> Result<Staging, String> {
    let mut p = pending();
    let staging = Staging::begin(place, lock).map_err(|e| e.to_string())?;
    p.lock = Some(staging.lock_path().to_path_buf());
    p.tmp = Some(staging.dir().to_path_buf());
    Ok(staging)
}

/// Swaps the finished folder in; a signal arriving meanwhile waits for the swap to end.
pub(crate) fn commit(staging: Staging) -> Result<(), String> {
    let mut p = pending();
    staging.commit().map_err(|e| e.to_string())?;
    p.committed = true;
    Ok(())
}

/// Installs `handler` for SIGINT, SIGTERM and SIGHUP.
pub(crate) fn on_signal(handler: impl FnMut() + Send + 'static) {
    let _ = ctrlc::set_handler(handler);
}

/// Stops the process at once (exit 130). Before the swap, the temporary folder is deleted
/// unless `keep` (a sweep's finished points, which `--resume` takes up), and the previous
/// output is left as it was; after it, the output is this run's.
pub(crate) fn quit(keep: bool) -> ! {
    let p = pending();
    let out = p.out.as_ref().map_or_else(|| "the output folder".to_owned(), |o| o.display().to_string());
    if p.shared {
        eprintln!("\ninterrupted: the points finished so far are in {out}; rerun with --resume to finish the rest");
    } else if p.committed {
        eprintln!("\ninterrupted after the outputs were written: {out} holds this run's complete outputs");
    } else {
        let kept = p.tmp.as_ref().filter(|_| keep);
        if let Some(tmp) = p.tmp.as_ref().filter(|_| !keep) {
            // The main thread may still be adding files: try again while it races us (on
            // a loaded machine five quick tries were seen to lose).
            for _ in 0..200 {
                if std::fs::remove_dir_all(tmp).is_ok() || !tmp.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        if let Some(lock) = &p.lock {
            let _ = std::fs::remove_file(lock);
        }
        match kept {
            Some(tmp) => eprintln!(
                "\ninterrupted: {out} left as it was before this run; the points finished so far are kept in {} \
                 for --resume",
                tmp.display()
            ),
            None => eprintln!("\ninterrupted: {out} left as it was before this run"),
        }
    }
    std::process::exit(i32::from(INTERRUPTED));
}
