//! Sweeps: byte-identical output whatever `--jobs`, shards that merge into the unsharded
//! result, resume after an interruption, objective and constraints, located errors for
//! bad parameters, and honest confidence intervals.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rayon::prelude::*;
use resim::report::Report;
use resim::run::mser::resolve_warmup;
use resim::run::precision::{Precision, worst_ratio};
use resim::theory::mmck;
use resim::{RunOptions, run::run_precise, run_replications};
use serde_json::Value;
use tempfile::TempDir;

use crate::common::{component_unavailable, scenario};

const BIN: &str = env!("CARGO_BIN_EXE_resim");

/// A small M/M/c/K scenario; sweeps over it take milliseconds.
const SMALL: &str = "\
name: small
duration: 2m
warmup: 10s
replications: 3
seed: 11
services:
  api:
    servers: 2
    capacity: 6
    service_time: { exponential: { mean: 50ms } }
workloads:
  - name: users
    target: api
    arrivals: { poisson: { rate: 30/s } }
";

/// Parameters giving 6 points.
const GRID: [&str; 4] = ["--param", "services.api.servers=1..3", "--param", "services.api.capacity=4,8"];

struct Dir {
    tmp: TempDir,
    file: PathBuf,
}

impl Dir {
    fn new(text: &str) -> Dir {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let file = tmp.path().join("small.yaml");
        fs::write(&file, text).expect("write the scenario");
        Dir { tmp, file }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `resim sweep FILE --out <name> ARGS`.
    fn sweep(&self, out: &str, args: &[&str]) -> Output {
        let mut all = vec!["sweep", self.file.to_str().unwrap(), "--out", out];
        all.extend(args);
        self.resim(&all)
    }

    fn resim(&self, args: &[&str]) -> Output {
        let o = Command::new(BIN).args(args).current_dir(self.tmp.path()).output().expect("run resim");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "resim panicked:\n{err}");
        o
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        fs::read(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn output_is_byte_identical_whatever_the_job_count() {
    let d = Dir::new(SMALL);
    let args: Vec<&str> = GRID.iter().copied().chain(["--objective", "min workloads.users.latency_s.p99"]).collect();
    ok(&d.sweep("one", &[&args[..], &["--jobs", "1"]].concat()));
    ok(&d.sweep("two", &[&args[..], &["--jobs", "2"]].concat()));
    for f in ["sweep.csv", "sweep.json", "points/5/report.json", "points/5/point.json", "charts/p99-users.svg"] {
        assert_eq!(d.read(&format!("one/{f}")), d.read(&format!("two/{f}")), "{f} differs between --jobs 1 and 2");
    }
    // With a precision target, points get extra batches in rounds: still identical.
    let precise = ["--precision", "10%", "--max-replications", "9"];
    ok(&d.sweep("p1", &[&GRID[..], &precise, &["--jobs", "1"]].concat()));
    ok(&d.sweep("p2", &[&GRID[..], &precise, &["--jobs", "2"]].concat()));
    assert_eq!(d.read("p1/sweep.csv"), d.read("p2/sweep.csv"), "precision sweeps differ between --jobs 1 and 2");
    let p1 = String::from_utf8(d.read("p1/sweep.csv")).unwrap();
    assert!(p1.lines().skip(1).any(|l| l.split(',').nth(3) != Some("3")), "no point needed more replications:\n{p1}");
    let csv = String::from_utf8(d.read("one/sweep.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 7, "{csv}");
    assert!(lines[0].starts_with("point,services.api.servers,services.api.capacity,replications,"), "{}", lines[0]);
    assert!(lines[0].contains("workloads.users.availability.mean,workloads.users.availability.ci_lo"), "{}", lines[0]);
    assert!(lines[2].starts_with("1,1,8,3,"), "{}", lines[2]);
}

#[test]
fn sharded_then_merged_equals_unsharded() {
    let d = Dir::new(SMALL);
    ok(&d.sweep("all", &GRID));
    let a = ok(&d.sweep("s0", &[&GRID[..], &["--shard", "0/2"]].concat()));
    assert!(a.contains("shard 0/2: 3 of its 3 points"), "{a}");
    ok(&d.sweep("s1", &[&GRID[..], &["--shard", "1/2"]].concat()));
    assert!(!d.path("s0/sweep.csv").exists(), "a shard writes no table of its own");
    ok(&d.resim(&["merge", "--out", "merged", "s0", "s1"]));
    // Shards sharing one folder, as on a cluster file system.
    ok(&d.sweep("shared", &[&GRID[..], &["--shard", "1/2"]].concat()));
    ok(&d.sweep("shared", &[&GRID[..], &["--shard", "0/2"]].concat()));
    ok(&d.resim(&["merge", "shared"]));
    for f in ["sweep.csv", "sweep.json", "points/3/report.json", "charts/heatmap-availability-users.svg"] {
        assert_eq!(d.read(&format!("all/{f}")), d.read(&format!("merged/{f}")), "merged {f}");
        assert_eq!(d.read(&format!("all/{f}")), d.read(&format!("shared/{f}")), "shared {f}");
    }
    // A missing shard is named, not silently dropped.
    let o = d.resim(&["merge", "--out", "half", "s0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("3 of 6 points missing"), "{o:?}");
    // Shards of another sweep are refused.
    ok(&d.sweep("other", &["--param", "services.api.servers=1,2", "--shard", "0/2"]));
    let o = d.resim(&["merge", "--out", "mixed", "s1", "other"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("different sweeps"), "{o:?}");
}

#[test]
fn resume_skips_finished_points_and_gives_the_same_tables() {
    let d = Dir::new(SMALL);
    ok(&d.sweep("full", &GRID));
    ok(&d.sweep("cut", &GRID));
    // Simulate an interruption: two points never finished, one was half-written.
    fs::remove_dir_all(d.path("cut/points/1")).unwrap();
    fs::remove_dir_all(d.path("cut/points/4")).unwrap();
    fs::remove_file(d.path("cut/points/5/point.json")).unwrap();
    fs::remove_file(d.path("cut/sweep.csv")).unwrap();
    let kept = d.path("cut/points/0/report.json");
    let before = fs::metadata(&kept).unwrap().modified().unwrap();
    let out = ok(&d.sweep("cut", &[&GRID[..], &["--resume"]].concat()));
    assert!(out.contains("6 of 6 points (3 run, 3 resumed)"), "{out}");
    assert_eq!(fs::metadata(&kept).unwrap().modified().unwrap(), before, "a finished point was recomputed");
    assert_eq!(d.read("full/sweep.csv"), d.read("cut/sweep.csv"));
    assert_eq!(d.read("full/sweep.json"), d.read("cut/sweep.json"));
    // A point from a different scenario is not reused.
    let changed = d.path("changed.yaml");
    fs::write(&changed, SMALL.replace("seed: 11", "seed: 12")).unwrap();
    let o = d.resim(&[&["sweep", changed.to_str().unwrap(), "--out", "cut", "--resume"][..], &GRID].concat());
    assert!(ok(&o).contains("(6 run, 0 resumed)"));
}

#[test]
fn objective_and_constraints_pick_the_right_point() {
    let d = Dir::new(SMALL);
    // Capacity planning: the busiest configuration that still serves 95% of requests.
    let o = d.sweep(
        "plan",
        &[
            &GRID[..],
            &["--objective", "max services.api.utilization", "--constraint", "workloads.users.availability >= 95%"],
        ]
        .concat(),
    );
    let text = ok(&o);
    let sweep: Value = serde_json::from_slice(&d.read("plan/sweep.json")).unwrap();
    let points = sweep["points"].as_array().unwrap();
    let avail = |p: &Value| p["metrics"]["workloads.users.availability"]["mean"].as_f64().unwrap();
    let util = |p: &Value| p["metrics"]["services.api.utilization"]["mean"].as_f64().unwrap();
    let feasible: Vec<&Value> = points.iter().filter(|p| avail(p) >= 0.95).collect();
    assert!(!feasible.is_empty() && feasible.len() < points.len(), "the constraint should bind");
    let best = feasible.iter().max_by(|a, b| util(a).total_cmp(&util(b))).unwrap();
    assert_eq!(sweep["choice"]["best"], best["index"], "{text}");
    assert_eq!(sweep["choice"]["infeasible"].as_u64().unwrap() as usize, points.len() - feasible.len());
    assert!(text.contains(&format!("best: point {}", best["index"])), "{text}");
    assert!(text.contains("runner-up: point") && text.contains("points infeasible"), "{text}");
    // No feasible point: the gate fails with exit 1 and says which constraint no point met.
    let o = d.sweep("none", &[&GRID[..], &["--constraint", "services.api.utilization > 2"]].concat());
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("met by 0 of 6"), "{o:?}");
}

#[test]
fn bad_parameters_are_refused_with_the_parameter_named() {
    let d = Dir::new(SMALL);
    for (args, needles) in [
        (vec!["--param", "services.api.severs=1,2"], vec!["--param services.api.severs", "did you mean `servers`?"]),
        (vec!["--param", "services.api.servers=0,1"], vec!["--param services.api.servers", "(point 0)"]),
        (vec!["--param", "services.api.servers=5..1"], vec!["backwards"]),
        (vec!["--param", "duration=1s..2s"], vec!["not a number", "50ms,100ms"]),
        (vec!["--param", "services.api.servers=1,2", "--samples", "4"], vec!["--samples", "--sampling random"]),
        (vec!["--param", "x=1", "--objective", "min workloads.users.latency_s.p98"], vec!["did you mean `p90`?"]),
        (vec!["--param", "x=1", "--shard", "2/2"], vec!["I/N"]),
        (vec![], vec!["nothing to sweep"]),
    ] {
        let o = d.sweep("out", &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: `{n}` missing from\n{err}");
        }
        assert!(!d.path("out").exists(), "{args:?}: wrote output despite the error");
    }
}

#[test]
fn of_several_bad_points_the_lowest_is_named_on_every_run() {
    // Points load in parallel; the message must not depend on which thread failed first.
    let d = Dir::new(SMALL);
    for _ in 0..6 {
        let o = d.sweep("out", &["--param", "services.api.servers=1,0,0,0,0,0,0,0", "--jobs", "2"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("(point 1)"), "not the lowest bad point:\n{err}");
    }
}

#[test]
fn the_sweep_section_is_used_by_sweep_and_ignored_by_run() {
    let text = format!(
        "{SMALL}sweep:\n  params:\n    services.api.servers: [1, 2]\n    workloads.0.arrivals.poisson.rate: {{ from: 10, to: 30, step: 10 }}\n  objective: {{ minimize: workloads.users.latency_s.p99 }}\n"
    );
    let d = Dir::new(&text);
    let out = ok(&d.sweep("s", &[]));
    assert!(out.contains("6 of 6 points") && out.contains("best: point"), "{out}");
    let csv = String::from_utf8(d.read("s/sweep.csv")).unwrap();
    assert!(csv.starts_with("point,services.api.servers,workloads.0.arrivals.poisson.rate,"), "{csv}");
    ok(&d.resim(&["run", d.file.to_str().unwrap(), "--out", "r", "-q"]));
    // Random and Latin-hypercube draws are reproducible.
    for method in ["random", "lhs"] {
        ok(&d.sweep(method, &["--sampling", method, "--samples", "5", "--param", "services.api.capacity=4..40"]));
        ok(&d.sweep(
            &format!("{method}2"),
            &["--sampling", method, "--samples", "5", "--param", "services.api.capacity=4..40"],
        ));
        assert_eq!(d.read(&format!("{method}/sweep.csv")), d.read(&format!("{method}2/sweep.csv")));
    }
    // A misspelt key in the section is located in the file.
    let bad = Dir::new(&text.replace("services.api.servers: [1, 2]", "services.api.severs: [1, 2]"));
    let o = bad.resim(&["check", bad.file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("sweep.params.services.api.severs") && err.contains(":17:26"), "{err}");
}

/// M/M/1 with λ = 5/s, μ = 10/s: the mean sojourn is 1/(μ − λ) = 0.2 s.
const MM1: &str = "\
name: mm1
duration: 400s
warmup: 40s
replications: 5
services:
  q: { service_time: { exponential: { mean: 100ms } } }
workloads:
  - { name: w, target: q, arrivals: { poisson: { rate: 5/s } } }
";

/// Independent experiments (seeds) in the coverage test.
const COVERAGE_RUNS: u64 = 1000;
/// The measured coverage may differ from 95% by this much: binomial sd √(0.95·0.05/1000) =
/// 0.0069, so 2.9 sd. Lets through an interval whose true coverage is 93–97% (e.g. a
/// normal quantile instead of Student's t at 5 replications gives 88%, caught).
const COVERAGE_TOL: f64 = 0.02;

#[test]
fn confidence_intervals_cover_the_true_mean_sojourn_95_percent_of_the_time() {
    let model = scenario(MM1).model;
    let truth = 1.0 / (10.0 - 5.0);
    let covered = (0..COVERAGE_RUNS)
        .into_par_iter()
        .filter(|&seed| {
            let mut m = model.clone();
            m.seed = 1_000 + seed;
            let reps = run_replications(&m, &RunOptions { jobs: Some(1) });
            Report::build(&m, &reps).services["q"].mean_sojourn_s.covers(truth)
        })
        .count();
    let fraction = covered as f64 / COVERAGE_RUNS as f64;
    println!("coverage of the 95% interval: {fraction:.3} over {COVERAGE_RUNS} runs");
    assert!((fraction - 0.95).abs() <= COVERAGE_TOL, "coverage {fraction}");
}

#[test]
fn precision_adds_replications_until_the_target_is_met() {
    let model = scenario(&MM1.replace("duration: 400s", "duration: 100s")).model;
    let p = Precision { relative: 0.05, max_replications: 60 };
    let one = run_precise(&model, &RunOptions { jobs: Some(1) }, p);
    let two = run_precise(&model, &RunOptions { jobs: Some(2) }, p);
    assert_eq!(one.to_json(), two.to_json(), "precision runs depend on the thread count");
    assert!(one.replications > 5, "{} replications", one.replications);
    assert!(worst_ratio(&one, 0.05) <= 1.0 || one.replications == 60, "{}", worst_ratio(&one, 0.05));
    // Replications continue the indices: the precise run is replications 0..n of a plain run
    // of n, so its first five are the plain run's five.
    let plain = run_replications(&model, &RunOptions::default());
    assert_eq!(plain.len(), 5);
    let mut longer = model.clone();
    longer.replications = one.replications;
    let continued = run_replications(&longer, &RunOptions::default());
    for (i, (a, b)) in plain.iter().zip(&continued).enumerate() {
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "replication {i} differs");
    }
    assert_eq!(Report::build(&longer, &continued).to_json(), one.to_json(), "not replications 0..n");
}

/// 100 workers with 10 s service times at load 0.9: starting empty, completions climb
/// from 0 to 9/s over the first ~30 s (time constant 10 s), a transient far above the noise.
const SLOW_START: &str = "\
name: slow-start
duration: 600s
warmup: auto
services:
  q: { servers: 100, service_time: { exponential: { mean: 10s } } }
workloads:
  - { name: w, target: q, arrivals: { poisson: { rate: 9/s } } }
";

#[test]
fn warmup_auto_cuts_a_known_transient() {
    let s = scenario(SLOW_START);
    let (resolved, choice) = resolve_warmup(&s).unwrap();
    let choice = choice.expect("auto warm-up resolved");
    println!("warm-up chosen: {:?} ({} of {} windows)", choice.warmup, choice.truncated_windows, choice.windows);
    let secs = choice.warmup.as_secs_f64();
    assert!((10.0..=120.0).contains(&secs), "warm-up {secs} s");
    assert_eq!(resolved.model.warmup, choice.warmup);
    assert!(!resolved.spec.warmup.is_auto());
    // A run with the resolved warm-up reports it, and its first windows are stationary: the
    // number inside there is the M/M/100's L, where a run without warm-up starts from 0.
    let mut model = resolved.model.clone();
    model.replications = TRANSIENT_REPLICATIONS;
    let report = resim::run(&model, &RunOptions::default());
    assert_eq!(report.warmup_s, secs);
    let stationary = mmck(9.0, 0.1, 100, None).unwrap().mean_in_system;
    let gauges = report.services["q"].gauges.as_ref().expect("gauges");
    let first = &gauges.mean_in_system[..TRANSIENT_WINDOWS];
    let early = first.iter().sum::<f64>() / first.len() as f64;
    println!("L over the first {TRANSIENT_WINDOWS} windows {early:.2}, stationary {stationary:.2}");
    assert!((early - stationary).abs() < TRANSIENT_TOL * stationary, "early L {early} vs {stationary}");
    assert!(resolve_warmup(&scenario(MM1)).unwrap().1.is_none());
}

/// Windows (of 6 s) at the start of the measured run of [`SLOW_START`] whose mean number
/// inside must already be stationary: 30 s, three relaxation times of 10 s.
const TRANSIENT_WINDOWS: usize = 5;
/// Replications of the run with the chosen warm-up.
const TRANSIENT_REPLICATIONS: u32 = 10;
/// Their mean may differ from the stationary L (92) by this share. Noise: L (near
/// Poisson(90)) averaged over 30 s with a 10 s relaxation time has a standard deviation of
/// 7% per replication, 2.2% over 10. Without a warm-up the mean is
/// 90·(1 − (10/30)(1 − e^-3)) ≈ 62 (−32%), with 10 s of warm-up ≈ 80 (−12%).
/// What it lets through: a warm-up of 20 s or more (under 4% of transient left).
const TRANSIENT_TOL: f64 = 0.07;

#[test]
fn run_accepts_warmup_auto_and_precision() {
    let d = Dir::new(&SMALL.replace("warmup: 10s", "warmup: auto"));
    let out =
        ok(&d.resim(&["run", d.file.to_str().unwrap(), "--out", "r", "--precision", "5%", "--max-replications", "20"]));
    assert!(out.contains("warm-up: auto ->") && out.contains("precision:"), "{out}");
    let report: Value = serde_json::from_slice(&d.read("r/report.json")).unwrap();
    // The CLI applied what the scenario leaves open: the warm-up MSER-5 chose and as many
    // replications as the 5% target needs, as the library computes them.
    let (resolved, choice) = resolve_warmup(&scenario(&SMALL.replace("warmup: 10s", "warmup: auto"))).unwrap();
    let warmup = choice.expect("auto warm-up resolved").warmup.as_secs_f64();
    let lib = run_precise(&resolved.model, &RunOptions::default(), Precision { relative: 0.05, max_replications: 20 });
    assert_eq!(report["warmup_s"].as_f64(), Some(warmup), "{out}");
    assert_eq!(lib.warmup_s, warmup);
    assert_eq!(report["replications"].as_u64(), Some(u64::from(lib.replications)), "{out}");
    assert!(worst_ratio(&lib, 0.05) <= 1.0 || lib.replications == 20, "{}", worst_ratio(&lib, 0.05));
}

/// Stops the test cluster however the test ends.
struct Cluster(PathBuf);

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(script("slurm-test-cluster.sh")).arg("stop").arg(&self.0).status();
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join(name)
}

/// True when `program` can be started (some Slurm tools exit non-zero on `-V` without a
/// configuration, so only a failure to start counts).
fn installed(program: &str) -> bool {
    Command::new(program).arg("-V").output().is_ok()
}

/// Seconds the Slurm job array may take before the test fails.
const SLURM_TIMEOUT_S: u64 = 50;

#[test]
fn a_slurm_job_array_gives_the_unsharded_sweep() {
    if !(installed("sbatch") && installed("slurmctld") && installed("munged")) {
        return component_unavailable("Slurm", "not installed (apt-get install -y slurm-wlm munge)");
    }
    let d = Dir::new(SMALL);
    ok(&d.sweep("single", &GRID));
    let conf_dir = d.path("cluster");
    let started = Command::new(script("slurm-test-cluster.sh")).arg("start").arg(&conf_dir).output().unwrap();
    let _cluster = Cluster(conf_dir.clone());
    if !started.status.success() {
        let why = format!("the test cluster did not start:\n{}", String::from_utf8_lossy(&started.stderr));
        return component_unavailable("Slurm", &why);
    }
    let conf = conf_dir.join("slurm.conf");
    let out = d.path("array");
    let command = format!(
        "{BIN} sweep {} {} --out {} --quiet --jobs 1 --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT",
        d.file.display(),
        GRID.join(" "),
        out.display()
    );
    let slurm = |program: &str, args: &[&str]| {
        let o = Command::new(program).env("SLURM_CONF", &conf).current_dir(d.tmp.path()).args(args).output().unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).trim().to_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let log = d.path("task-%a.log");
    let (submitted, job, err) = slurm(
        "sbatch",
        &[
            "--parsable",
            "--array=0-1",
            "--cpus-per-task=1",
            "--time=1",
            "--output",
            log.to_str().unwrap(),
            "--wrap",
            &command,
        ],
    );
    assert!(submitted, "sbatch failed: {err}");
    // Poll the queue (faster than `sbatch --wait`, which checks every few seconds).
    let mut finished = false;
    for _ in 0..SLURM_TIMEOUT_S * 10 {
        let (_, queued, _) = slurm("squeue", &["-h", "-j", &job]);
        if queued.is_empty() {
            finished = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let logs: String =
        (0..2).map(|i| fs::read_to_string(d.path(&format!("task-{i}.log"))).unwrap_or_default()).collect();
    assert!(finished, "the job array did not finish in {SLURM_TIMEOUT_S} s:\n{logs}");
    let (_, states, _) = slurm("scontrol", &["-o", "show", "job", &job]);
    let tasks: Vec<&str> = states.lines().collect();
    assert_eq!(tasks.len(), 2, "{states}");
    for t in tasks {
        assert!(t.contains("JobState=COMPLETED") && t.contains("ExitCode=0:0"), "a task failed: {t}\n{logs}");
    }
    ok(&d.resim(&["merge", out.to_str().unwrap()]));
    for f in ["sweep.csv", "sweep.json"] {
        assert_eq!(d.read(&format!("single/{f}")), d.read(&format!("array/{f}")), "{f} from the job array differs");
    }
    println!("slurm job array: 2 tasks, merged sweep identical to the unsharded one");
}

#[test]
fn ctrl_c_keeps_finished_points_and_resume_completes_the_sweep() {
    // 12 points of a few tens of milliseconds each on one thread: long enough to interrupt.
    let d = Dir::new(&SMALL.replace("duration: 2m", "duration: 1h"));
    let grid = ["--param", "services.api.servers=1..3", "--param", "services.api.capacity=4,6,8,10"];
    let child = Command::new(BIN)
        .args(["sweep", d.file.to_str().unwrap(), "--out", "cut", "--jobs", "1"])
        .args(grid)
        .current_dir(d.tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The sweep builds its folder as `.cut.tmp-<pid>` and swaps it in at the end.
    let first = d.path(&format!(".cut.tmp-{}/points/0/point.json", child.id()));
    for _ in 0..2000 {
        if first.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(first.exists(), "no point finished within 10 s");
    // The shell's own `kill`, so the test needs no procps.
    let killed = Command::new("sh").args(["-c", &format!("kill -INT {}", child.id())]).status().unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("rerun with --resume"), "{err}");
    let partial = String::from_utf8(d.read("cut/sweep.csv")).unwrap();
    let rows = partial.lines().count() - 1;
    assert!((1..12).contains(&rows), "{rows} rows after the interruption");
    let out = ok(&d.sweep("cut", &[&grid[..], &["--resume"]].concat()));
    assert!(out.contains(&format!("({} run, {rows} resumed)", 12 - rows)), "{out}");
    ok(&d.sweep("full", &grid));
    assert_eq!(d.read("full/sweep.csv"), d.read("cut/sweep.csv"));
}

/// Parses an SVG chart, failing the test with its name when it is not well-formed.
fn parse_svg(d: &Dir, rel: &str) -> String {
    let text = String::from_utf8(d.read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{rel} is not XML: {e}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg", "{rel}");
    text
}

#[test]
fn sweep_writes_line_charts_and_heat_maps() {
    let d = Dir::new(SMALL);
    ok(&d.sweep("out", &GRID));
    for (m, label) in [("availability", "availability"), ("p99", "p99 latency")] {
        let line = parse_svg(&d, &format!("out/charts/{m}-users.svg"));
        assert!(line.contains("services.api.servers"), "the x axis names the first parameter");
        assert!(line.contains("services.api.capacity=4"), "one line per value of the second parameter");
        assert!(line.contains("<polygon"), "the 95% CI is shaded");
        let heat = parse_svg(&d, &format!("out/charts/heatmap-{m}-users.svg"));
        assert!(heat.contains("services.api.capacity"), "the heat map names both parameters");
        // The colour scale: the metric named above the bar, its ends and middle labelled
        // in the metric's unit.
        let doc = roxmltree::Document::parse(&heat).unwrap();
        let texts: Vec<&str> =
            doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).map(str::trim).collect();
        let at = texts.iter().position(|t| *t == label).unwrap_or_else(|| panic!("no scale title in {texts:?}"));
        assert_eq!(texts[at + 1], "(mean)");
        let unit = if m == "availability" { "%" } else { "s" };
        assert!(texts.len() >= at + 3 && texts[at + 2..].iter().all(|t| t.ends_with(unit)), "{texts:?}");
    }
    assert!(!d.path("out/charts/metastability.svg").exists(), "no faults, no metastability map");
}

/// The example, shortened: 2 x 2 points around the boundary.
const META: [&str; 8] = [
    "--set",
    "duration=4m",
    "--set",
    "faults.0.at=1m",
    "--param",
    "faults.0.factor=1.2,1.8",
    "--param",
    "faults.0.for=5s,30s",
];

#[test]
fn the_metastability_map_shows_both_outcomes() {
    let d = Dir::new(
        &fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/metastability-sweep.yaml")).unwrap(),
    );
    ok(&d.sweep("one", &[&META[..], &["--jobs", "1"]].concat()));
    ok(&d.sweep("two", &[&META[..], &["--jobs", "2"]].concat()));
    let csv = String::from_utf8(d.read("one/sweep.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} column"));
    let (meta, ttr) = (col("blast_radius.surge.metastable"), col("blast_radius.surge.time_to_recover_s"));
    assert_eq!(meta, header.len() - 2, "the blast radius columns come last");
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    // Small short surge (point 0) recovers with a recovery time; large long one (point 3) does not.
    assert_eq!((rows[0][meta], rows[3][meta]), ("0", "1"), "{csv}");
    assert!(rows[0][ttr].parse::<f64>().is_ok(), "{csv}");
    assert_eq!(rows[3][ttr], "", "{csv}");
    let json: Value = serde_json::from_slice(&d.read("one/sweep.json")).unwrap();
    assert_eq!(json["points"][3]["blast_radius"]["surge"]["metastable"], true);
    let map = parse_svg(&d, "one/charts/metastability.svg");
    assert!(map.contains("<circle") && map.contains("not recovered"), "both markers and the legend");
    for f in [
        "sweep.csv",
        "sweep.json",
        "charts/metastability.svg",
        "charts/heatmap-p99-users.svg",
        "charts/availability-users.svg",
    ] {
        assert_eq!(d.read(&format!("one/{f}")), d.read(&format!("two/{f}")), "{f} differs between --jobs 1 and 2");
    }
}
