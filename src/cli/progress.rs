//! The progress line of a long `resim run`: replications finished and the wall time
//! left, on stderr, only when stderr is a terminal and the run is expected to take more
//! than [`SHOW_AFTER_S`] seconds. Nothing of it reaches an output file.
//!
//! Until the first replication finishes, the time left comes from the budget's event
//! estimate at [`EVENTS_PER_SECOND`] per thread; after, from the pace so far.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use resim::run::budget::{Estimate, wall};
use resim::run::progress;

/// Expected seconds past which the line is shown.
pub(crate) const SHOW_AFTER_S: f64 = 3.0;
/// Events one thread handles per second, for the first guess of the time left.
pub(crate) const EVENTS_PER_SECOND: f64 = 1e7;

/// A progress line drawn by its own thread until dropped.
pub(crate) struct Line {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Line {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the line for a run of `estimate` on `threads` threads, when it is worth one.
pub(crate) fn start(estimate: &Estimate, threads: usize, quiet: bool) -> Option<Line> {
    let threads = threads.max(1).min(estimate.runs.max(1) as usize) as f64;
    let expected = estimate.total_events() / EVENTS_PER_SECOND / threads;
    if quiet || !std::io::stderr().is_terminal() || expected < SHOW_AFTER_S {
        return None;
    }
    progress::reset();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let runs = estimate.runs;
    let thread = std::thread::spawn(move || draw(runs, expected, &flag));
    Some(Line { stop, thread: Some(thread) })
}

/// Redraws the line four times a second until `stop`.
fn draw(runs: u64, expected: f64, stop: &AtomicBool) {
    let bar = ProgressBar::with_draw_target(Some(runs), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{elapsed} [{bar:30}] {pos}/{len} replications, {msg}") {
        bar.set_style(style);
    }
    #[allow(clippy::disallowed_methods)] // wall time for the terminal only, never in an output file
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let done = progress::finished().min(runs);
        let spent = started.elapsed().as_secs_f64();
        let left = if done == 0 { expected - spent } else { spent * (runs - done) as f64 / done as f64 };
        bar.set_message(if left > 0.0 { format!("about {} left", wall(left)) } else { "finishing".into() });
        bar.set_position(done);
        std::thread::sleep(Duration::from_millis(250));
    }
    bar.finish_and_clear();
}
