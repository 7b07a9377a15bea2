//! The testbed's command line and its scenarios, without running anything for long: a
//! scenario it cannot deploy is refused before anything starts (exit 2, the key named),
//! the validation scenarios that scripts/validate.sh runs for real are deployable, and the
//! `validate` binary's exit status follows its verdicts.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A scratch folder of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("resim-testbed-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_undeployable_scenario_is_refused_with_exit_2_naming_the_key() {
    let dir = scratch("refused");
    let scenario = dir.join("health.yaml");
    std::fs::write(
        &scenario,
        "name: refused\nduration: 1s\nservices:\n  api:\n    servers: 2\n    service_time: { exponential: { mean: 10ms } }\n    \
         health_check: { interval: 1s, timeout: 100ms }\nworkloads:\n  - { name: users, target: api, arrivals: { poisson: { rate: 10/s } } }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_resim-testbed"))
        .arg(&scenario)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("services.api.health_check"), "{stderr}");
    assert!(!dir.join("out/report.json").exists(), "nothing is run or written");
}

#[test]
fn every_validation_scenario_loads_and_deploys() {
    let dir = root().join("validation");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    // Issue 25's six scenarios, the retry storm's budgeted twin, and any added since.
    assert!(files.len() >= 7, "{files:?}");
    for f in files {
        let scenario = resim::scenario::load_file(&f, &[]).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let span = scenario.model.warmup + scenario.model.duration;
        let real_s = span.as_secs_f64() * f64::from(scenario.model.replications);
        assert!((60.0..=120.0).contains(&real_s), "{}: {real_s} s of real time, issue 25 asks 60-120", f.display());
        // Every validation scenario deploys: scripts/validate.sh compares them all.
        let why = resim_testbed::support::unsupported(&scenario.model);
        assert!(why.is_empty(), "{}: {why:?}", f.display());
    }
}

#[test]
fn validate_exits_0_when_every_metric_agrees_1_when_one_does_not_2_when_unreadable() {
    let dir = scratch("validate");
    let report = |tput: f64| {
        format!(
            r#"{{"replications": 2, "duration_s": 10.0, "warmup_s": 1.0, "services": {{"api": {{"throughput_per_s": {{"mean": {tput}, "ci95": [{}, {}], "n": 2}}}}}}}}"#,
            tput - 0.1,
            tput + 0.1
        )
    };
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let (sim, same, off) =
        (write("sim.json", report(80.0)), write("same.json", report(80.5)), write("off.json", report(90.0)));
    let run = |real: &Path| Command::new(env!("CARGO_BIN_EXE_validate")).arg(real).arg(&sim).output().unwrap();
    let ok = run(&same);
    assert_eq!(ok.status.code(), Some(0));
    let table = String::from_utf8_lossy(&ok.stdout);
    assert!(
        table.contains("| service api: throughput/s | 80.50 ± 0.100 | 80.00 ± 0.100 | +0.62% | 2% | ✓ |"),
        "{table}"
    );
    assert_eq!(run(&off).status.code(), Some(1));
    assert_eq!(run(&dir.join("absent.json")).status.code(), Some(2));
}

#[test]
fn a_run_too_long_or_too_fast_for_real_time_is_refused_up_front() {
    let dir = scratch("too-big");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_resim-testbed"))
            .arg(root().join("scenarios/mmck-basic.yaml"))
            .args(args)
            .arg("--out")
            .arg(dir.join("out"))
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // mmck-basic: 10 replications of 2 h 10 min, 20 h of real time.
    let (code, stderr) = run(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--max-real-time") && stderr.contains("1300.0m"), "{stderr}");
    // Short enough, but a rate two cores cannot send and serve.
    let (code, stderr) =
        run(&["--set", "duration=10s", "--set", "warmup=0s", "--set", "replications=1", "--max-rate", "5/s"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--max-rate"), "{stderr}");
    assert!(!dir.join("out").exists(), "nothing is run or written");
}
