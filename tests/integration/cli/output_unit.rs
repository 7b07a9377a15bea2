//! The output folder as one unit (issue 21, cases 6 to 8): whatever stops a run — `kill -9`
//! at any point of its writing, SIGTERM, a second run to the same folder, a limit — the
//! folder holds one complete run (every file from the same run) or the previous one, never
//! a mix, and nothing of a previous run or of a killed one survives the next run. Chart
//! file names are unique for any workload name.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::regressions::files_under;
use super::{BASE, BIN, SHORT, TIMEOUT_S, assert_mentions, assert_refused, example, listing, path_str, resim, tempdir};

/// Every file under `dir` (relative path) with its bytes.
type Tree = BTreeMap<String, Vec<u8>>;

fn tree(dir: &Path) -> Tree {
    files_under(dir)
        .into_iter()
        .map(|rel| {
            let bytes = fs::read(dir.join(&rel)).expect("read");
            (rel.to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

/// A scenario of `n` services, each with its own workload: quick to simulate, and its 2n+1
/// charts (each written and synced) make the writing phase long enough to be hit.
fn many(n: usize) -> String {
    let mut s = String::from("name: many\nduration: 20s\nwindow: 1s\nreplications: 2\nservices:\n");
    for i in 0..n {
        s += &format!("  s{i}: {{ servers: 2, service_time: {{ exponential: {{ mean: 5ms }} }} }}\n");
    }
    s += "workloads:\n";
    for i in 0..n {
        s += &format!("  - {{ name: w{i}, target: s{i}, arrivals: {{ poisson: {{ rate: 20/s }} }} }}\n");
    }
    s
}

fn spawn_run(file: &Path, out: &Path, seed: u64) -> Child {
    Command::new(BIN)
        .args(["run", path_str(file), "--out", path_str(out), "-q", "--seed", &seed.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn resim")
}

fn wait(child: &mut Child) -> (Option<i32>, String) {
    let status = super::wait_or_kill(child, TIMEOUT_S).expect("the run finishes");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    (status.code(), err)
}

/// Hidden siblings of `out` (temporary folders, lock files) in `parent`.
fn hidden(parent: &Path) -> BTreeSet<String> {
    listing(parent).into_iter().filter(|n| n.starts_with('.')).collect()
}

/// Whether a temporary sibling of `out` exists: the run has started writing.
fn writing(parent: &Path) -> bool {
    hidden(parent).iter().any(|n| n.contains(".tmp-"))
}

/// The outputs of a complete run of `file` with `seed`, in a folder of their own.
fn reference(parent: &Path, file: &Path, seed: u64) -> Tree {
    let out = parent.join(format!("ref-{seed}"));
    let (code, err) = wait(&mut spawn_run(file, &out, seed));
    assert_eq!(code, Some(0), "{err}");
    tree(&out)
}

/// A folder with the scenario of 40 services and the outputs of its runs with seeds 1 and 2.
fn two_references() -> (TempDir, PathBuf, [Tree; 2]) {
    let tmp = tempdir();
    let file = tmp.path().join("many.yaml");
    fs::write(&file, many(40)).expect("write the scenario");
    let refs = [reference(tmp.path(), &file, 1), reference(tmp.path(), &file, 2)];
    (tmp, file, refs)
}

#[test]
fn kill_9_at_twenty_points_of_the_writing_leaves_one_whole_run() {
    let (tmp, file, refs) = two_references();
    assert_ne!(refs[0]["report.json"], refs[1]["report.json"], "two seeds, two different runs");
    let parent = tmp.path().join("runs");
    fs::create_dir(&parent).expect("create runs/");
    let out = parent.join("out");
    // Time the writing phase once: from the temporary folder's appearance to the exit.
    let mut child = spawn_run(&file, &out, 1);
    while !writing(&parent) && child.try_wait().expect("poll").is_none() {
        thread::sleep(Duration::from_micros(200));
    }
    #[allow(clippy::disallowed_methods)] // the child's wall time, to aim the kills; never in a result
    let started = Instant::now();
    assert_eq!(wait(&mut child).0, Some(0));
    let phase = started.elapsed().max(Duration::from_millis(5));
    // 20 kills spread evenly over the writing phase (and a little past it), alternating seeds.
    for k in 0..20u32 {
        let seed = 1 + u64::from(k % 2);
        let mut child = spawn_run(&file, &out, seed);
        while !writing(&parent) && child.try_wait().expect("poll").is_none() {
            thread::sleep(Duration::from_micros(200));
        }
        thread::sleep(phase * k / 18);
        let _ = child.kill();
        let _ = child.wait();
        let now = tree(&out);
        assert!(refs.contains(&now), "kill {k} after {:?}: {out:?} mixes runs or misses files", phase * k / 18);
    }
    // The next run cleans up what the killed ones left.
    let (code, err) = wait(&mut spawn_run(&file, &out, 2));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(tree(&out), refs[1]);
    assert_eq!(listing(&parent), BTreeSet::from(["out".to_owned()]), "no temporary folder, no lock file");
}

#[test]
fn two_runs_to_one_folder_never_mix() {
    let (tmp, file, refs) = two_references();
    let out = tmp.path().join("out");
    let mut refused = 0;
    for _ in 0..4 {
        let mut a = spawn_run(&file, &out, 1);
        let mut b = spawn_run(&file, &out, 2);
        let ((ca, ea), (cb, eb)) = (wait(&mut a), wait(&mut b));
        for (code, err) in [(ca, &ea), (cb, &eb)] {
            match code {
                Some(0) => {}
                Some(2) => {
                    assert_mentions(err, &["another resim run is writing into", "out", "--out"]);
                    refused += 1;
                }
                other => panic!("exit {other:?}: {err}"),
            }
        }
        assert!(ca == Some(0) || cb == Some(0), "one of the two runs writes:\n{ea}\n{eb}");
        assert!(refs.contains(&tree(&out)), "the folder mixes the two runs");
    }
    assert!(refused > 0, "the runs overlapped (each takes most of a second), so one was refused");
    assert_eq!(hidden(tmp.path()), BTreeSet::new());
}

#[test]
fn a_held_lock_refuses_the_run_before_it_simulates() {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    let lock = fs::File::create(tmp.path().join(".out.lock")).expect("create the lock file");
    lock.try_lock().expect("lock it, as a running resim would");
    let file = example("mmck-basic.yaml");
    let mut args = vec!["run", file.as_str(), "--out", path_str(&out)];
    args.extend(SHORT);
    let o = resim(&args);
    assert_refused(&o, "a locked output folder");
    assert_mentions(&o.stderr, &["another resim run is writing into", ".out.lock", "--out"]);
    assert!(!out.exists());
    drop(lock);
    resim(&args).assert_ok();
    assert_eq!(listing(tmp.path()), BTreeSet::from(["out".to_owned()]), "the lock file is gone");
}

#[test]
fn sigterm_while_writing_leaves_the_previous_run_or_this_one_and_no_temporaries() {
    let (tmp, file, refs) = two_references();
    let parent = tmp.path().join("runs");
    fs::create_dir(&parent).expect("create runs/");
    let out = parent.join("out");
    assert_eq!(wait(&mut spawn_run(&file, &out, 1)).0, Some(0));
    for delay_ms in [0, 150, 400] {
        let mut child = spawn_run(&file, &out, 2);
        while !writing(&parent) && child.try_wait().expect("poll").is_none() {
            thread::sleep(Duration::from_micros(200));
        }
        thread::sleep(Duration::from_millis(delay_ms));
        // The shell's own `kill`, so the test needs no procps.
        let sent = Command::new("sh").args(["-c", &format!("kill -TERM {}", child.id())]).status().expect("sh");
        assert!(sent.success());
        let (code, err) = wait(&mut child);
        let now = tree(&out);
        match code {
            Some(130) if err.contains("left as it was before this run") => assert_eq!(now, refs[0], "{err}"),
            Some(130) => {
                assert_mentions(&err, &["holds this run's complete outputs"]);
                assert_eq!(now, refs[1]);
            }
            Some(0) => assert_eq!(now, refs[1], "finished before the signal"),
            other => panic!("exit {other:?}: {err}"),
        }
        assert!(!now.keys().any(|f| f.contains(".tmp-")), "no temporary file inside: {:?}", now.keys());
        assert_eq!(listing(&parent), BTreeSet::from(["out".to_owned()]), "nothing beside the folder");
        if now == refs[1] {
            assert_eq!(wait(&mut spawn_run(&file, &out, 1)).0, Some(0));
        }
    }
}

#[test]
fn a_run_keeps_nothing_of_the_previous_scenario() {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    let fresh = tmp.path().join("fresh");
    let run = |name: &str, out: &Path| {
        let file = example(name);
        let mut args = vec!["run", file.as_str(), "--out", path_str(out)];
        args.extend(SHORT);
        resim(&args).assert_ok();
    };
    run("retry-storm.yaml", &out);
    fs::write(out.join("charts/.services.svg.tmp-999999"), "left by an old resim's SIGTERM").expect("write");
    run("mmck-basic.yaml", &out);
    run("mmck-basic.yaml", &fresh);
    assert_eq!(tree(&out), tree(&fresh), "stale charts and temporaries are gone");
}

#[test]
fn a_limit_stop_creates_nothing_and_keeps_the_previous_output() {
    let tmp = tempdir();
    let file = example("mmck-basic.yaml");
    for out in [tmp.path().join("new/out"), tmp.path().join("old")] {
        let mut args = vec!["run", file.as_str(), "--out", path_str(&out), "--max-events", "5"];
        args.extend(SHORT);
        let o = resim(&args);
        assert_refused(&o, "--max-events 5");
        assert_mentions(&o.stderr, &["--max-events"]);
        assert_eq!(listing(tmp.path()), BTreeSet::new(), "nothing created, not even an empty folder");
    }
    let old = tmp.path().join("old");
    let mut args = vec!["run", file.as_str(), "--out", path_str(&old)];
    args.extend(SHORT);
    resim(&args).assert_ok();
    let before = tree(&old);
    args.extend(["--max-events", "5"]);
    assert_refused(&resim(&args), "--max-events 5 over an output");
    assert_eq!(tree(&old), before);
    assert_eq!(listing(tmp.path()), BTreeSet::from(["old".to_owned()]));
}

#[test]
fn a_file_where_the_folder_or_its_charts_go() {
    let tmp = tempdir();
    let file = example("mmck-basic.yaml");
    let with_out = |out: &Path| {
        let mut args = vec!["run".to_owned(), file.clone(), "--out".into(), path_str(out).into()];
        args.extend(SHORT.map(String::from));
        args
    };
    // Case 7: `D/charts` is a file in a previous output: replaced by the new folder, exit 0.
    let d = tmp.path().join("d");
    fs::create_dir(&d).expect("mkdir");
    fs::write(d.join("report.json"), "{}").expect("write");
    fs::write(d.join("charts"), "a file").expect("write");
    let args = with_out(&d);
    resim(&args.iter().map(String::as_str).collect::<Vec<_>>()).assert_ok();
    assert!(d.join("charts/services.svg").is_file());
    // A folder of someone else's files, or a file, is refused before simulating.
    let theirs = tmp.path().join("theirs");
    fs::create_dir(&theirs).expect("mkdir");
    fs::write(theirs.join("charts"), "a file").expect("write");
    let f = tmp.path().join("f");
    fs::write(&f, "a file").expect("write");
    for (out, needle) in [(&theirs, "did not write"), (&f, "is a file"), (&f.join("sub"), "is a file")] {
        let args = with_out(out);
        let o = resim(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_refused(&o, needle);
        assert_mentions(&o.stderr, &[needle, "--out"]);
    }
    assert_eq!(listing(&theirs), BTreeSet::from(["charts".to_owned()]));
    assert_eq!(fs::read_to_string(&f).expect("read"), "a file");
    assert_eq!(listing(tmp.path()), ["d", "f", "theirs"].map(String::from).into());
}

#[test]
fn colliding_workload_names_get_a_chart_each() {
    let tmp = tempdir();
    let file = tmp.path().join("s.yaml");
    let workloads = ["a b", "a_b", "a/b"]
        .map(|n| format!("  - name: \"{n}\"\n    target: api\n    arrivals: {{ poisson: {{ rate: 5/s }} }}\n"))
        .concat();
    let at = BASE.find("workloads:\n").expect("workloads") + "workloads:\n".len();
    fs::write(&file, format!("{}{workloads}", &BASE[..at])).expect("write the scenario");
    let out = tmp.path().join("out");
    resim(&["run", path_str(&file), "--out", path_str(&out), "-q"]).assert_ok();
    let charts = listing(&out.join("charts"));
    let latency: Vec<&String> = charts.iter().filter(|c| c.starts_with("latency-")).collect();
    assert_eq!(latency.len(), 3, "{charts:?}");
    assert!(charts.contains("latency-a_b.svg"), "the plain name keeps its file: {charts:?}");
    let html = fs::read_to_string(out.join("report.html")).expect("report.html");
    for c in &charts {
        assert_eq!(html.matches(&format!("id=\"{c}\"")).count(), 1, "{c}: one figure");
        assert_eq!(html.matches(&format!("href=\"#{c}\"")).count(), 1, "{c}: one link");
    }
    // Stable: a second run names them the same.
    let again = tmp.path().join("again");
    resim(&["run", path_str(&file), "--out", path_str(&again), "-q"]).assert_ok();
    assert_eq!(listing(&again.join("charts")), charts);
}

fn sweep_args<'a>(file: &'a str, out: &'a str, params: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["sweep", file, "--out", out, "--quiet", "--jobs", "1", "--set", "replications=2"];
    for p in params {
        args.extend(["--param", p]);
    }
    args
}

#[test]
fn a_small_sweep_replaces_a_big_one_whole() {
    let tmp = tempdir();
    let file = tmp.path().join("s.yaml");
    fs::write(&file, BASE).expect("write the scenario");
    let out = tmp.path().join("out");
    let (f, o) = (path_str(&file), path_str(&out));
    resim(&sweep_args(f, o, &["services.api.servers=1..4", "services.api.capacity=10,20,30"])).assert_ok();
    assert_eq!(listing(&out.join("points")).len(), 12);
    assert!(listing(&out.join("charts")).iter().any(|c| c.starts_with("heatmap-")));
    resim(&sweep_args(f, o, &["services.api.servers=1,2"])).assert_ok();
    let fresh = tmp.path().join("fresh");
    resim(&sweep_args(f, path_str(&fresh), &["services.api.servers=1,2"])).assert_ok();
    assert_eq!(listing(&out.join("points")), BTreeSet::from(["0".to_owned(), "1".to_owned()]));
    assert_eq!(tree(&out), tree(&fresh), "no points, heat maps or tables of the bigger sweep");
    assert_eq!(listing(tmp.path()), ["fresh", "out", "s.yaml"].map(String::from).into());
}

#[test]
fn a_sweep_killed_mid_way_resumes_from_its_temporary_folder() {
    let tmp = tempdir();
    let file = tmp.path().join("s.yaml");
    fs::write(&file, BASE.replace("duration: 10s", "duration: 1h")).expect("write the scenario");
    let (out, full) = (tmp.path().join("out"), tmp.path().join("full"));
    let (f, o) = (path_str(&file), path_str(&out));
    let grid = ["services.api.servers=2..9"];
    let mut child = Command::new(BIN).args(sweep_args(f, o, &grid)).stdout(Stdio::null()).spawn().expect("spawn");
    let finished = || {
        hidden(tmp.path())
            .iter()
            .any(|n| n.contains(".tmp-") && tmp.path().join(n).join("points/0/point.json").exists())
    };
    for _ in 0..TIMEOUT_S * 500 {
        if finished() || child.try_wait().expect("poll").is_some() {
            break;
        }
        thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(!out.exists() || tree(&out).contains_key("sweep.csv"), "never a half-written folder");
    let mut resume = sweep_args(f, o, &grid);
    resume.retain(|a| *a != "--quiet");
    resume.push("--resume");
    let again = resim(&resume);
    again.assert_ok();
    let resumed = again.stdout.split(" run, ").nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok());
    assert!(resumed.is_some_and(|n: usize| n >= 1), "points of the killed sweep are taken up:\n{}", again.stdout);
    resim(&sweep_args(f, path_str(&full), &grid)).assert_ok();
    assert_eq!(fs::read(out.join("sweep.csv")).expect("csv"), fs::read(full.join("sweep.csv")).expect("csv"));
    assert_eq!(tree(&out), tree(&full));
    assert_eq!(hidden(tmp.path()), BTreeSet::new(), "the killed sweep's folder is gone");
}
