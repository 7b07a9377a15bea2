//! The committed sample reports match the engine: every example in `scenarios/` with a
//! committed `reports/<name>/report.json` is run as scripts/regen.sh runs it (the built
//! binary, `resim run scenarios/<name>.yaml --out DIR` from the repository root, default
//! seed and replications), and the fresh report.json must be byte-identical. A refactor
//! that changes a number fails here instead of leaving stale reports behind.
//!
//! All examples together take about 16 s of CPU in release mode (42 s wall on a busy
//! two-core machine), so this runs in every `cargo test --release`, CI included; the runs
//! are sequential because each already uses every core for its replications.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The examples with a committed report, as (scenario file, committed report.json), both
/// relative to the repository root.
fn committed() -> Vec<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate::common::example_files()
        .into_iter()
        .filter_map(|f| {
            let report = Path::new("reports").join(crate::common::report_name(&f)).join("report.json");
            let scenario = f.strip_prefix(root).expect("an example below the repository").to_path_buf();
            root.join(&report).is_file().then_some((scenario, report))
        })
        .collect()
}

/// Where two texts first differ: the line number and both lines.
fn first_difference(committed: &str, fresh: &str) -> String {
    let mut a = committed.lines();
    let mut b = fresh.lines();
    for n in 1.. {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => break,
            (x, y) => {
                return format!("line {n}: committed `{}`, fresh `{}`", x.unwrap_or("<end>"), y.unwrap_or("<end>"));
            }
        }
    }
    "only in line endings".to_owned()
}

#[test]
fn committed_reports_match_a_fresh_run() {
    let examples = committed();
    assert!(examples.len() >= 10, "only {} committed reports found", examples.len());
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut stale = Vec::new();
    for (scenario, report) in &examples {
        let out = tmp.path().join(crate::common::report_name(scenario));
        let run = Command::new(env!("CARGO_BIN_EXE_resim"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("run")
            .arg(scenario)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run resim");
        assert!(run.status.success(), "{}: {}", scenario.display(), String::from_utf8_lossy(&run.stderr));
        let fresh = std::fs::read_to_string(out.join("report.json")).expect("a fresh report.json");
        let old = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(report))
            .expect("the committed report.json");
        if fresh != old {
            stale.push(format!("  {}: {}", report.display(), first_difference(&old, &fresh)));
        }
    }
    assert!(
        stale.is_empty(),
        "{} committed report(s) differ from a fresh run of the current engine:\n{}\n\
         If the change is intended, run scripts/regen.sh, commit reports/ and explain in CHANGELOG.md \
         why the numbers moved; if not, the engine's behaviour changed by accident.",
        stale.len(),
        stale.join("\n")
    );
}
