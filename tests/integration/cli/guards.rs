//! Closed pipes and resource guards: a closed stdout is never a panic; runaway queues and
//! event budgets stop with a message, and an interrupted run leaves the previous outputs
//! whole.

use std::collections::BTreeSet;
use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;
use std::{fs, thread};

use serde_json::Value;

use super::{BASE, BIN, SHORT, TIMEOUT_S, example, listing, path_str, reader, resim, tempdir, wait_or_kill};

// ---------------------------------------------------------------------------------------------------------------
// Closed pipes
// ---------------------------------------------------------------------------------------------------------------

/// Exit 0, or killed by SIGPIPE; never a panic.
fn assert_pipe_tolerated(status: Option<ExitStatus>, stderr: &str) {
    assert!(!stderr.contains("panicked"), "panicked on a closed pipe:\n{stderr}");
    let status = status.expect("the process must not hang on a closed pipe");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if status.signal() == Some(13) {
            return;
        }
    }
    assert_eq!(status.code(), Some(0), "exit status on a closed pipe; stderr:\n{stderr}");
}

#[test]
fn stdout_closed_after_a_few_bytes() {
    let mut child = Command::new(BIN)
        .arg("schema")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = [0u8; 10];
    child.stdout.take().expect("stdout").read_exact(&mut first).expect("read 10 bytes"); // dropped: `| head -c 10`
    let err = reader(child.stderr.take().expect("stderr"));
    let status = wait_or_kill(&mut child, TIMEOUT_S);
    let stderr = String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned();
    assert_eq!(&first[..1], b"{");
    assert_pipe_tolerated(status, &stderr);
}

#[test]
fn stdout_closed_before_any_output() {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    let file = example("web-shop.yaml");
    let mut run = vec!["run", file.as_str(), "--out", path_str(&out)];
    run.extend(SHORT);
    let theory = ["theory", file.as_str(), "--replications", "2", "--set", "duration=10s"];
    for args in [&["schema"][..], &run, &theory, &["check", file.as_str()]] {
        let (read_end, write_end) = std::io::pipe().expect("pipe");
        drop(read_end); // every write now fails with EPIPE
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(tmp.path())
            .stdin(Stdio::null())
            .stdout(write_end)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let err = reader(child.stderr.take().expect("stderr"));
        let status = wait_or_kill(&mut child, TIMEOUT_S);
        let stderr = String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned();
        assert_pipe_tolerated(status, &stderr);
    }
    let report: Value = serde_json::from_str(&fs::read_to_string(out.join("report.json")).expect("report written"))
        .expect("report.json is JSON");
    assert_eq!(report["schema"], "resim.report/v1", "the report is written even when stdout is closed");
}

// ---------------------------------------------------------------------------------------------------------------
// Resource guards
// ---------------------------------------------------------------------------------------------------------------

/// An unstable M/M/1 without a capacity (ρ = 2): its queue grows by ~100 requests a second.
const RUNAWAY: &str = "\
name: runaway
duration: 1h
services:
  api: { servers: 1, service_time: { exponential: { mean: 10ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 200/s } } }
";

#[test]
fn runaway_queues_and_event_budgets_stop_with_a_message_and_write_nothing() {
    let tmp = tempdir();
    let file = tmp.path().join("runaway.yaml");
    fs::write(&file, RUNAWAY).expect("write the scenario");
    for (flag, value, needles) in [
        ("--max-in-flight", "5000", ["5001 requests in flight", "--max-in-flight", "capacity"]),
        ("--max-events", "20000", ["20000", "--max-events", "duration"]),
    ] {
        let out = tmp.path().join(format!("out{flag}"));
        let o = resim(&["run", path_str(&file), "--out", path_str(&out), flag, value]);
        o.assert_no_panic();
        assert_eq!(o.code(), Some(2), "{flag}: {}", o.stderr);
        for n in needles {
            assert!(o.stderr.contains(n), "{flag}: `{n}` missing from:\n{}", o.stderr);
        }
        assert!(!out.exists(), "{flag}: nothing is written, not even an empty folder");
    }
    // Within the guards the same scenario runs.
    let out = tmp.path().join("ok");
    resim(&["run", path_str(&file), "--out", path_str(&out), "-q", "--set", "duration=10s"]).assert_ok();
    assert!(out.join("report.json").is_file());
    let o = resim(&["run", path_str(&file), "--max-events", "0"]);
    assert_eq!(o.code(), Some(2), "{}", o.stderr);
}

#[test]
fn an_interrupted_run_leaves_the_previous_outputs_whole() {
    let tmp = tempdir();
    let file = tmp.path().join("long.yaml");
    // Long enough (about a minute) to be interrupted mid-simulation.
    fs::write(&file, BASE.replace("duration: 10s", "duration: 200h")).expect("write the scenario");
    let out = tmp.path().join("out");
    fs::create_dir(&out).expect("create out");
    fs::write(out.join("report.json"), "previous").expect("a previous report");
    let mut child = Command::new(BIN)
        .args(["run", path_str(&file), "--out", path_str(&out), "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    thread::sleep(Duration::from_millis(700));
    // The shell's own `kill`, so the test needs no procps.
    let sent = Command::new("sh").args(["-c", &format!("kill -INT {}", child.id())]).status().expect("sh");
    assert!(sent.success());
    let status = wait_or_kill(&mut child, TIMEOUT_S).expect("the run stops on SIGINT");
    assert_eq!(status.code(), Some(130));
    assert_eq!(listing(&out), BTreeSet::from(["report.json".to_owned()]), "no temporary or partial file");
    assert_eq!(fs::read_to_string(out.join("report.json")).expect("report"), "previous");
}
