//! Issue 21, case 1: every input is read under a cap, and a device, FIFO or endless pipe is refused within
//! seconds and a bounded amount of memory, with nothing written; and `compare` refuses a report missing a
//! key it reads instead of passing a regression gate on what is left.
//!
//! Each child runs under `sh` with `ulimit -v` (virtual memory, so an allocation past the limit fails and the
//! process aborts instead of exiting 2) and is killed after [`FAST_S`]: the timeout guards a hang, it is not
//! a benchmark.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use resim::RunOptions;
use resim::scenario::load_str;

use super::{BASE, BIN, Outcome, assert_mentions, assert_refused, edit, finish, listing, path_str, tempdir};

/// Seconds a refused input may take.
const FAST_S: u64 = 5;

/// Virtual memory the child may use, KiB (200 MB).
const MEMORY_KB: u64 = 200 * 1000;

/// Runs `script` under `sh` in `cwd` with at most [`MEMORY_KB`] of memory and [`FAST_S`] seconds; `$RESIM`
/// is the binary.
fn bounded(cwd: &Path, script: &str) -> Outcome {
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(format!("ulimit -v {MEMORY_KB}; {script}")).env("RESIM", BIN).current_dir(cwd);
    finish(&mut sh, FAST_S)
}

/// Runs `script` (see [`bounded`]) in a fresh folder holding `files`; checks that it exits 2 with a message
/// mentioning `needles` and that the folder holds only `files` afterwards.
fn refused(script: &str, files: &[(&str, &[u8])], needles: &[&str]) -> String {
    let tmp = tempdir();
    for (name, bytes) in files {
        fs::write(tmp.path().join(name), bytes).expect("write an input");
    }
    refused_in(tmp.path(), script, needles)
}

fn refused_in(cwd: &Path, script: &str, needles: &[&str]) -> String {
    let before = listing(cwd);
    let o = bounded(cwd, script);
    assert!(o.status.is_some(), "`{script}` did not finish within {FAST_S} s");
    assert_refused(&o, script);
    assert_mentions(&o.stderr, needles);
    assert_eq!(listing(cwd), before, "`{script}` wrote into its working directory");
    o.stderr
}

/// A report.json of BASE, made in-process.
fn report_json() -> String {
    let text = edit(BASE, "duration: 10s\n", "duration: 10s\nreplications: 2\n");
    let scenario = load_str(&text, Path::new("t.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    resim::run(&scenario.model, &RunOptions::default()).to_json()
}

const DEVICE: &str = "it is a character device, not a regular file";
const SUGGESTION: &str = "save it to a regular file first, or pass `-` to read standard input";

#[test]
fn a_device_as_the_scenario_is_refused_without_reading_it() {
    for cmd in ["check /dev/zero", "run /dev/zero --out out", "sweep /dev/zero --out out", "theory /dev/zero"] {
        refused(&format!("exec \"$RESIM\" {cmd}"), &[], &["cannot read the scenario", DEVICE, "/dev/zero", SUGGESTION]);
    }
}

#[test]
fn an_endless_pipe_as_the_scenario_stops_at_the_cap() {
    for cmd in ["check /dev/stdin", "check -", "run - --out out"] {
        refused(&format!("yes | exec \"$RESIM\" {cmd}"), &[], &["<stdin>", "larger than 16 MiB"]);
    }
}

#[test]
fn a_fifo_as_the_scenario_is_refused_without_blocking() {
    let tmp = tempdir();
    let made = Command::new("mkfifo").arg(tmp.path().join("s.yaml")).status().expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    for cmd in ["check s.yaml", "run s.yaml --out out"] {
        refused_in(tmp.path(), &format!("exec \"$RESIM\" {cmd}"), &["s.yaml", "a FIFO (named pipe)", SUGGESTION]);
    }
}

#[test]
fn a_scenario_from_standard_input_reads_like_a_file() {
    let tmp = tempdir();
    // Samples files of a scenario read from standard input are found from the working directory.
    let text =
        edit(BASE, "service_time: { exponential: { mean: 5ms } }", "service_time: { empirical: { file: lat.txt } }");
    fs::write(tmp.path().join("s.yaml"), &text).expect("write the scenario");
    fs::write(tmp.path().join("lat.txt"), "1ms\n2ms\n3ms\n").expect("write the samples");
    let o = bounded(tmp.path(), "exec \"$RESIM\" check - < s.yaml");
    o.assert_ok();
    assert!(o.stdout.starts_with("<stdin>: ok ("), "{}", o.stdout);
    let o = bounded(tmp.path(), "exec \"$RESIM\" run - --out out --set replications=1 -q < s.yaml");
    o.assert_ok();
    assert!(tmp.path().join("out/report.json").is_file(), "the run wrote its report");
    // Errors point into `<stdin>` by line and column.
    fs::write(tmp.path().join("bad.yaml"), edit(&text, "servers: 4", "servers: four")).expect("write");
    refused_in(tmp.path(), "exec \"$RESIM\" check - < bad.yaml", &["--> <stdin>:5:"]);
}

#[test]
fn a_device_or_fifo_as_a_samples_file_is_refused() {
    let text =
        edit(BASE, "service_time: { exponential: { mean: 5ms } }", "service_time: { empirical: { file: /dev/zero } }");
    refused("exec \"$RESIM\" check s.yaml", &[("s.yaml", text.as_bytes())], &["/dev/zero", DEVICE]);
}

#[test]
fn compare_refuses_a_device_or_an_endless_pipe() {
    let report = report_json();
    let files: &[(&str, &[u8])] = &[("r.json", report.as_bytes())];
    for script in ["exec \"$RESIM\" compare r.json /dev/zero", "exec \"$RESIM\" compare /dev/zero r.json --out o"] {
        refused(script, files, &["cannot read /dev/zero", DEVICE, SUGGESTION]);
    }
    refused("cat /dev/zero | exec \"$RESIM\" compare r.json -", files, &["cannot read <stdin>", "larger than 128 MiB"]);
    // A report from standard input compares like a file.
    let tmp = tempdir();
    fs::write(tmp.path().join("r.json"), &report).expect("write the report");
    let o = bounded(tmp.path(), "exec \"$RESIM\" compare r.json - --out o --fail-on-regression < r.json");
    o.assert_ok();
}

#[test]
fn compare_refuses_a_report_missing_what_it_reads() {
    let good: serde_json::Value = serde_json::from_str(&report_json()).expect("a report is JSON");
    let without = |key: &str| {
        let mut r = good.clone();
        r.as_object_mut().expect("an object").remove(key);
        r
    };
    let mut no_latency = good.clone();
    no_latency["workloads"]["users"].as_object_mut().expect("an object").remove("latency_s");
    let mut wrong_version = good.clone();
    wrong_version["schema"] = "resim.report/v0".into();
    let mut empty = good.clone();
    empty["workloads"] = serde_json::json!({});
    let cases = [
        (without("workloads"), "`workloads` is missing"),
        (without("services"), "`services` is missing"),
        (empty, "`workloads` is empty"),
        (no_latency, "`workloads.users.latency_s` is missing"),
        (wrong_version, r#"its `schema` is "resim.report/v0", expected "resim.report/v1""#),
    ];
    let good = good.to_string();
    for (bad, needle) in cases {
        let bad = bad.to_string();
        let files: &[(&str, &[u8])] = &[("a.json", good.as_bytes()), ("b.json", bad.as_bytes())];
        for script in ["a.json b.json", "b.json a.json", "a.json b.json --fail-on-regression"] {
            refused(&format!("exec \"$RESIM\" compare {script}"), files, &["b.json", needle]);
        }
    }
}

#[test]
fn merge_refuses_a_fifo_in_place_of_a_sweep_file() {
    let tmp = tempdir();
    let made = Command::new("mkfifo").arg(tmp.path().join("sweep.json")).status().expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let dir = path_str(tmp.path()).to_owned();
    let o = bounded(tmp.path(), &format!("exec \"$RESIM\" merge '{dir}'"));
    assert!(o.status.is_some(), "merge blocked on a FIFO");
    assert_refused(&o, "merge");
    assert_mentions(&o.stderr, &["sweep.json", "a FIFO (named pipe)"]);
    assert_eq!(listing(tmp.path()), BTreeSet::from(["sweep.json".to_owned()]));
}
