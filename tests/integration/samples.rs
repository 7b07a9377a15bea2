//! Empirical samples read from a file (`empirical: { file, unit, column }`): resolved
//! against the scenario's folder, refused with located errors, bounded, hashed into a
//! sweep's identity, and giving the waiting times queueing theory predicts.

use std::fs;
use std::path::{Path, PathBuf};

use resim::model::Dist;
use resim::report::Statistic;
use resim::scenario::{Override, ScenarioError, load_file, load_str};
use resim::sweep::plan::{SweepOptions, load_point, plan};
use resim::{RunOptions, run};
use tempfile::TempDir;

use crate::common::assert_error;

/// A scenario whose `api` service reads its service time as `{DIST}`.
///
/// Lines: 1 name, 2 duration, 3 services, 4 api, 5 servers, 6 service_time, 7 workloads, 8 the workload.
const SCENARIO: &str = "\
name: samples
duration: 10s
services:
  api:
    servers: 2
    service_time: {DIST}
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 10/s } } }
";

/// A folder holding `sub/s.yaml` (SCENARIO with `dist`) and the given files beside it.
struct Dir {
    tmp: TempDir,
}

impl Dir {
    fn new(dist: &str, files: &[(&str, &str)]) -> Dir {
        let tmp = tempfile::tempdir().expect("temporary directory");
        fs::create_dir(tmp.path().join("sub")).expect("create sub/");
        let d = Dir { tmp };
        d.write("s.yaml", &SCENARIO.replace("{DIST}", dist));
        for (name, text) in files {
            d.write(name, text);
        }
        d
    }

    /// `sub/<name>`.
    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join("sub").join(name)
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.path(name), text).expect("write");
    }

    fn scenario(&self) -> PathBuf {
        self.path("s.yaml")
    }

    fn refusal(&self, overrides: &[Override]) -> ScenarioError {
        match load_file(&self.scenario(), overrides) {
            Ok(_) => panic!("accepted: {}", fs::read_to_string(self.scenario()).unwrap_or_default()),
            Err(e) => e,
        }
    }
}

fn api_samples(model: &resim::model::Model) -> Vec<u64> {
    match &model.services[0].service_time {
        Dist::Empirical(v) => v.iter().map(|t| t.0).collect(),
        other => panic!("not empirical: {other:?}"),
    }
}

const MS: u64 = 1_000_000;
const KEY: &str = "services.api.service_time.empirical";

#[test]
fn the_file_is_read_from_the_scenarios_folder_not_the_working_directory() {
    let d = Dir::new("{ empirical: { file: lat.txt } }", &[("lat.txt", "# from prod\n3ms\n\n5ms\n0.012s\n")]);
    let s = load_file(&d.scenario(), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api_samples(&s.model), [3 * MS, 5 * MS, 12 * MS]);
    assert_eq!(s.samples.len(), 1);
    assert_eq!(s.samples[0].path, d.path("lat.txt"));
    // load_str resolves against the folder of the path it is given, even a virtual one.
    let text = fs::read_to_string(d.scenario()).expect("read");
    let virtual_file = d.path("not-on-disk.yaml");
    let s = load_str(&text, &virtual_file, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api_samples(&s.model), [3 * MS, 5 * MS, 12 * MS]);
    // ... and a bare file name against the working directory, where lat.txt is not.
    let e = load_str(&text, Path::new("s.yaml"), &[]).unwrap_err();
    assert_error(&e, &format!("{KEY}.file"), &["lat.txt", "No such file or directory"]);
    // An absolute path is taken as it is.
    let absolute = d.path("lat.txt");
    let d2 = Dir::new(&format!("{{ empirical: {{ file: '{}' }} }}", absolute.display()), &[]);
    let s = load_file(&d2.scenario(), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api_samples(&s.model), [3 * MS, 5 * MS, 12 * MS]);
}

#[test]
fn a_csv_column_is_read_with_its_unit_and_parent_folders_resolve() {
    let csv = "timestamp,latency_ms,status\n2026-11-25T10:00:00Z,12.5,200\n2026-11-25T10:00:01Z,7,500\n";
    let d = Dir::new("{ empirical: { file: ../data/lat.csv, column: latency_ms, unit: ms } }", &[]);
    fs::create_dir(d.tmp.path().join("data")).expect("mkdir");
    fs::write(d.tmp.path().join("data/lat.csv"), csv).expect("write");
    let s = load_file(&d.scenario(), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api_samples(&s.model), [12_500_000, 7 * MS]);
}

#[test]
fn inline_and_file_samples_give_byte_identical_reports() {
    let values = ["3ms", "5ms", "12ms", "40ms", "4ms"];
    let inline = Dir::new(&format!("{{ empirical: {{ samples: [{}] }} }}", values.join(", ")), &[]);
    let file = Dir::new("{ empirical: { file: lat.txt } }", &[("lat.txt", &values.join("\n"))]);
    let report = |d: &Dir| {
        let s = load_file(&d.scenario(), &[]).unwrap_or_else(|e| panic!("{e}"));
        run(&s.model, &RunOptions::default()).to_json()
    };
    let from_file = report(&file);
    assert_eq!(report(&inline), from_file);
    assert_eq!(report(&file), from_file, "the same file gives the same bytes");
}

#[test]
fn samples_and_file_are_exclusive() {
    let both = Dir::new("{ empirical: { samples: [3ms], file: lat.txt } }", &[("lat.txt", "3ms\n")]);
    let e = both.refusal(&[]);
    assert_error(&e, KEY, &["either `samples` or `file`, not both"]);
    assert_eq!((e.line, e.column), (6, 32));
    let neither = Dir::new("{ empirical: {} }", &[]);
    assert_error(&neither.refusal(&[]), KEY, &["give `samples`", "or a `file`"]);
    let unit = Dir::new("{ empirical: { samples: [3ms], unit: ms } }", &[]);
    assert_error(&unit.refusal(&[]), &format!("{KEY}.unit"), &["`unit` is for reading a samples `file`"]);
    let column = Dir::new("{ empirical: { samples: [3ms], column: x } }", &[]);
    assert_error(&column.refusal(&[]), &format!("{KEY}.column"), &["`column`"]);
    let unknown = Dir::new("{ empirical: { fille: lat.txt } }", &[]);
    assert_error(&unknown.refusal(&[]), &format!("{KEY}.fille"), &["did you mean `file`?"]);
    let bad_unit = Dir::new("{ empirical: { file: lat.txt, unit: parsecs } }", &[]);
    assert_error(&bad_unit.refusal(&[]), &format!("{KEY}.unit"), &["`parsecs`", "ms"]);
}

#[test]
fn a_missing_file_is_located_at_its_key_with_the_path_and_the_os_error() {
    let d = Dir::new("{ empirical: { file: nope.csv } }", &[]);
    let e = d.refusal(&[]);
    let resolved = d.path("nope.csv");
    assert_error(
        &e,
        &format!("{KEY}.file"),
        &[&resolved.display().to_string(), "No such file or directory", "help:", "scenario file's folder"],
    );
    assert_eq!(e.file, d.scenario(), "the error points into the scenario");
    assert_eq!((e.line, e.column), (6, 40));
    assert_eq!(e.source_line.as_deref(), Some("    service_time: { empirical: { file: nope.csv } }"));
    let dir = Dir::new("{ empirical: { file: . } }", &[]);
    assert_error(&dir.refusal(&[]), &format!("{KEY}.file"), &["is a directory"]);
    let empty = Dir::new("{ empirical: { file: '' } }", &[]);
    assert_error(&empty.refusal(&[]), &format!("{KEY}.file"), &["name is empty"]);
}

#[test]
fn a_bad_value_names_the_samples_file_its_line_and_the_text() {
    let d = Dir::new("{ empirical: { file: lat.txt } }", &[("lat.txt", "# latencies\n3ms\n\n4ms\n12xs\n5ms\n")]);
    let e = d.refusal(&[]);
    assert_eq!(e.key, format!("{KEY}.file"));
    assert_eq!(e.file, d.path("lat.txt"), "the error points into the samples file");
    assert_eq!((e.line, e.column), (5, 1));
    assert_eq!(e.source_line.as_deref(), Some("12xs"));
    let text = e.to_string();
    assert!(text.contains("`12xs` has an unknown unit `xs`"), "{text}");
    assert!(text.contains(&format!("--> {}:5:1", d.path("lat.txt").display())), "{text}");
    // Negative values are refused like inline ones.
    d.write("lat.txt", "3ms\n-4ms\n");
    let e = d.refusal(&[]);
    assert_eq!((e.line, e.message.contains("`-4ms` is negative")), (2, true), "{e}");
    d.write("lat.txt", "3\n");
    let e = d.refusal(&[]);
    assert!(e.to_string().contains("`3` has no unit"), "{e}");
    // In a CSV column, too.
    let d = Dir::new("{ empirical: { file: lat.csv, column: ms, unit: ms } }", &[("lat.csv", "ts,ms\n1,2\n2,-3\n")]);
    let e = d.refusal(&[]);
    assert_eq!((e.file.clone(), e.line), (d.path("lat.csv"), 3));
    assert!(e.message.contains("`-3` is negative") && e.message.contains("column `ms`"), "{e}");
}

#[test]
fn empty_and_oversized_files_are_refused() {
    let d = Dir::new("{ empirical: { file: lat.txt } }", &[("lat.txt", "# nothing yet\n\n")]);
    assert_error(&d.refusal(&[]), &format!("{KEY}.file"), &["holds no values"]);
    d.write("lat.txt", &"1ms\n".repeat(1_000_001));
    assert_error(&d.refusal(&[]), &format!("{KEY}.file"), &["more than 1000000 values"]);
    d.write("lat.txt", &"1ms\n".repeat(1_000_000));
    assert_eq!(api_samples(&load_file(&d.scenario(), &[]).unwrap_or_else(|e| panic!("{e}")).model).len(), 1_000_000);
}

#[test]
fn a_file_named_many_times_counts_many_times() {
    let services: String =
        (0..11).map(|i| format!("  s{i:02}:\n    service_time: {{ empirical: {{ file: lat.txt }} }}\n")).collect();
    let text = format!("name: t\nduration: 10s\nservices:\n{services}");
    let tmp = tempfile::tempdir().expect("tmp");
    fs::write(tmp.path().join("lat.txt"), "1ms\n".repeat(1_000_000)).expect("write");
    let e = load_str(&text, &tmp.path().join("t.yaml"), &[]).unwrap_err();
    assert_error(&e, "services.s10.service_time.empirical.file", &["more than 10000000 values in all"]);
}

#[test]
fn files_in_mixtures_think_times_and_faults_are_read() {
    let tmp = tempfile::tempdir().expect("tmp");
    fs::write(tmp.path().join("lat.txt"), "2ms\n4ms\n").expect("write");
    let text = "\
name: t
duration: 10s
services:
  api:
    service_time: { mixture: [ { weight: 1, dist: { constant: { value: 1ms } } }, { weight: 1, dist: { empirical: { file: lat.txt } } } ] }
workloads:
  - { name: users, target: api, arrivals: { closed: { users: 2, think_time: { empirical: { file: lat.txt } } } } }
faults:
  - { kind: latency, target: api, at: 1s, for: 1s, add: { empirical: { file: lat.txt } } }
";
    let s = load_str(text, &tmp.path().join("t.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.samples.len(), 1, "one file, read once");
    let e = load_str(&text.replace("lat.txt } } } } }", "nope.txt } } } } }"), &tmp.path().join("t.yaml"), &[])
        .unwrap_err();
    assert_error(&e, "workloads.0.arrivals.closed.think_time.empirical.file", &["nope.txt"]);
    assert_eq!(e.line, 7);
    let e =
        load_str(&text.replace("lat.txt } } } ]", "nope.txt } } } ]"), &tmp.path().join("t.yaml"), &[]).unwrap_err();
    assert_error(&e, "services.api.service_time.mixture.1.dist.empirical.file", &["nope.txt"]);
}

#[test]
fn overrides_name_files_relative_to_the_scenario_and_take_the_blame() {
    let d = Dir::new("{ exponential: { mean: 5ms } }", &[("lat.txt", "7ms\n")]);
    let set = |s: &str| s.parse::<Override>().expect("override");
    let s = load_file(&d.scenario(), &[set("services.api.service_time={ empirical: { file: lat.txt } }")])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api_samples(&s.model), [7 * MS]);
    let e = d.refusal(&[set("services.api.service_time={ empirical: { file: nope.txt } }")]);
    assert_eq!(e.key, "--set services.api.service_time");
    assert!(e.message.contains("nope.txt") && e.message.contains("after --set"), "{e}");
}

/// `SCENARIO` with a `sweep:` section over the servers.
fn sweep_dir(values: &str) -> Dir {
    let d = Dir::new("{ empirical: { file: lat.txt } }", &[("lat.txt", values)]);
    let text =
        fs::read_to_string(d.scenario()).expect("read") + "sweep: { params: { services.api.servers: [1, 2] } }\n";
    d.write("s.yaml", &text);
    d
}

fn sweep_hash(d: &Dir) -> String {
    let text = fs::read_to_string(d.scenario()).expect("read");
    let base = load_str(&text, &d.scenario(), &[]).unwrap_or_else(|e| panic!("{e}"));
    let p = plan(&text, &d.scenario(), &[], &base, &SweepOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    // Points reuse the base scenario's values.
    let point = load_point(&p, 1, &text, &d.scenario(), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(std::sync::Arc::ptr_eq(&point.samples[0], &base.samples[0]), "the point read the file again");
    p.definition.scenario_hash
}

#[test]
fn a_sweeps_hash_changes_with_the_samples_files_values() {
    let a = sweep_hash(&sweep_dir("3ms\n5ms\n"));
    assert_eq!(a, sweep_hash(&sweep_dir("# same values\n3ms\n5000us\n")), "comments and notation do not count");
    assert_ne!(a, sweep_hash(&sweep_dir("3ms\n6ms\n")), "a changed value changes the sweep");
}

// ---------------------------------------------------------------------------------------------------------------
// Queueing theory with measured service times
// ---------------------------------------------------------------------------------------------------------------

/// Service times in ms: mostly 2–11 ms, with a slow tail of 30–80 ms (mean 11.15 ms).
fn tail_samples() -> Vec<u64> {
    let mut v: Vec<u64> = (1..=90).map(|i| 2 + i % 10).collect();
    v.extend([40, 50, 60, 70, 80, 60, 50, 40, 30, 50]);
    v
}

fn moments(ms: &[u64]) -> (f64, f64) {
    let n = ms.len() as f64;
    let s: Vec<f64> = ms.iter().map(|&m| m as f64 / 1e3).collect();
    (s.iter().sum::<f64>() / n, s.iter().map(|x| x * x).sum::<f64>() / n)
}

fn assert_covers(stat: &Statistic, theory: f64, what: &str) {
    let [lo, hi] = stat.ci95.unwrap_or_else(|| panic!("{what}: no interval"));
    assert!(lo <= theory && theory <= hi, "{what}: theory {theory:.6} outside the 95% CI [{lo:.6}, {hi:.6}]");
}

/// Runs `api` with the samples as a CSV column in ms, `servers` workers, Poisson `rate`:
/// 20 replications of 10 minutes. (Of seeds 1 to 8, the M/G/1 interval covers the
/// theory for all but seed 3, with means on both sides: a 95% interval misses by chance.)
fn run_with_samples(servers: u32, rate: f64) -> resim::Report {
    let csv: String = std::iter::once("id,latency_ms\n".to_owned())
        .chain(tail_samples().iter().enumerate().map(|(i, m)| format!("{i},{m}\n")))
        .collect();
    let dist = "{ empirical: { file: lat.csv, column: latency_ms, unit: ms } }";
    let d = Dir::new(dist, &[("lat.csv", &csv)]);
    let text = fs::read_to_string(d.scenario())
        .expect("read")
        .replace("servers: 2", &format!("servers: {servers}"))
        .replace("rate: 10/s", &format!("rate: {rate}/s"))
        .replace("duration: 10s", "duration: 10m\nwarmup: 10s\nreplications: 20\nseed: 7");
    d.write("s.yaml", &text);
    let s = load_file(&d.scenario(), &[]).unwrap_or_else(|e| panic!("{e}"));
    run(&s.model, &RunOptions::default())
}

#[test]
fn without_queueing_the_sojourn_is_the_mean_of_the_file() {
    // M/G/∞ in effect: 1000 workers for ~1 busy on average, so nobody waits.
    let report = run_with_samples(1000, 100.0);
    let (mean, _) = moments(&tail_samples());
    assert_covers(&report.services["api"].mean_sojourn_s, mean, "M/G/inf sojourn");
}

#[test]
fn a_single_server_waits_as_pollaczek_khinchine_predicts() {
    // M/G/1 at rho = 0.5: W = E[S] + lambda E[S^2] / (2 (1 - rho)).
    let (mean, second) = moments(&tail_samples());
    let rate = 0.5 / mean;
    let report = run_with_samples(1, rate);
    let w = mean + rate * second / (2.0 * (1.0 - 0.5));
    assert_covers(&report.services["api"].mean_sojourn_s, w, "M/G/1 sojourn");
}
