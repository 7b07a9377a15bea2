//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::ops::Range;
use std::path::{Path, PathBuf};

use resim::metrics::Outcome;
use resim::model::Model;
use resim::report::{ReplicationSummary, ServiceReport, Statistic};
use resim::scenario::{Override, Scenario, ScenarioError, load_file, load_str};
use resim::{Report, RunOptions, run, run_with_summaries};

/// The rule against a closed form: the simulated 95% CI covers it, or the mean is
/// within 1% of it.
pub const THEORY_REL_TOL: f64 = 0.01;
/// Counts checked against a binomial or Poisson expectation (pooled over replications)
/// must fall within this many standard deviations (two-sided 99.9%).
pub const Z: f64 = 3.29;
/// Two runs that should agree in distribution: their means differ by at most the 95%
/// half-width of the difference (`hypot` of the two half-widths), or by under 1%.
pub const SAME_REL_TOL: f64 = 0.01;
/// Every distribution family of the scenario format, by its YAML key.
pub const DIST_KINDS: [&str; 10] =
    ["exponential", "constant", "uniform", "lognormal", "gamma", "erlang", "weibull", "pareto", "empirical", "mixture"];
/// The outcomes that fail a request.
pub const FAILED: [Outcome; 4] = [Outcome::Error, Outcome::Timeout, Outcome::Rejected, Outcome::ShortCircuited];

/// True when the tests run in CI (`CI=true`, as `.ci/run`, GitHub Actions and GitLab set
/// it): a test that needs a component then fails when it is missing or does not start.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A test needs `component`, which is `why` unavailable: outside CI it says so and the
/// caller returns (skips); under [`in_ci`] this fails the test, so a CI run cannot pass
/// without running it.
pub fn component_unavailable(component: &str, why: &str) {
    assert!(!in_ci(), "CI=true, so {component} is required, but it is unavailable: {why}");
    println!("skipped: {component} is unavailable: {why}");
}

/// Debian's Chromium, if installed.
pub fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// Loads a scenario from YAML text, panicking with the rendered error on failure.
pub fn scenario(yaml: &str) -> Scenario {
    load_str(yaml, Path::new("test.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// The path of example `name` (a file name) in `scenarios/`.
pub fn example_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name)
}

/// Every example scenario: `scenarios/*.yaml` and, one folder down, the examples that
/// keep their imported files beside them (`scenarios/mesh/bookinfo.yaml`), sorted.
pub fn example_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let yaml = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .expect("a scenarios folder")
            .map(|e| e.expect("readable entry").path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml"))
            .collect()
    };
    let mut files = yaml(&root);
    for entry in std::fs::read_dir(&root).expect("scenarios/") {
        let dir = entry.expect("readable entry").path();
        if dir.is_dir() {
            files.extend(yaml(&dir));
        }
    }
    files.sort();
    files
}

/// The `reports/` folder of an example, as scripts/regen.sh names it: the file's stem,
/// prefixed by its folder below `scenarios/` (`mesh-bookinfo`).
pub fn report_name(example: &Path) -> String {
    let stem = example.file_stem().expect("a file name").to_string_lossy().into_owned();
    let parent = example.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned());
    match parent {
        Some(dir) if dir != "scenarios" => format!("{dir}-{stem}"),
        _ => stem,
    }
}

/// The import fixtures of `format` (`tests/fixtures/import/FORMAT`).
pub fn fixtures(format: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import").join(format)
}

/// What a run of the binary gave.
pub struct Ran {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `resim ARGS` in `dir`, so that the files it names print as given.
pub fn resim_in(dir: &Path, args: &[&str]) -> Ran {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_resim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the resim binary runs");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Parses `--set`-style overrides (`key=value`).
pub fn overrides(sets: &[&str]) -> Vec<Override> {
    sets.iter().map(|s| s.parse::<Override>().unwrap_or_else(|e| panic!("{s}: {e}"))).collect()
}

/// Loads example `name` of `scenarios/` with `--set`-style overrides, panicking with the
/// rendered error on failure.
pub fn example_scenario(name: &str, sets: &[&str]) -> Scenario {
    load_file(&example_path(name), &overrides(sets)).unwrap_or_else(|e| panic!("{e}"))
}

/// Loads and runs example `name` of `scenarios/` with `--set`-style overrides.
pub fn example(name: &str, sets: &[&str]) -> Sim {
    Sim::of(example_scenario(name, sets).model)
}

/// Loads and runs a scenario from YAML text.
pub fn run_yaml(yaml: &str) -> Report {
    run(&scenario(yaml).model, &RunOptions::default())
}

/// A scenario run with its per-replication summaries and its report. Modules add the
/// accessors they need in their own `impl Sim` blocks.
pub struct Sim {
    /// The model that ran.
    pub model: Model,
    /// Per-replication summaries, in replication order.
    pub reps: Vec<ReplicationSummary>,
    /// The report built from them.
    pub report: Report,
}

impl Sim {
    /// Loads and runs `yaml`.
    pub fn run(yaml: &str) -> Sim {
        Sim::run_with(yaml, &[])
    }

    /// Loads `yaml` with `--set`-style overrides and runs it.
    pub fn run_with(yaml: &str, sets: &[&str]) -> Sim {
        let scenario = load_str(yaml, Path::new("test.yaml"), &overrides(sets)).unwrap_or_else(|e| panic!("{e}"));
        Sim::of(scenario.model)
    }

    /// Runs `model`.
    pub fn of(model: Model) -> Sim {
        let (reps, report) = run_with_summaries(&model, &RunOptions::default());
        Sim { model, reps, report }
    }

    /// The report of service `name`.
    pub fn service(&self, name: &str) -> &ServiceReport {
        &self.report.services[name]
    }

    /// The id of service `name`.
    pub fn sid(&self, name: &str) -> usize {
        self.model.service_id(name).expect("service exists")
    }

    /// The index of workload `name`.
    pub fn wid(&self, name: &str) -> usize {
        self.model.workloads.iter().position(|w| w.name == name).expect("workload exists")
    }

    /// Sum over replications of workload `name`'s outcome `o`.
    pub fn outcome_total(&self, name: &str, o: Outcome) -> f64 {
        let w = self.wid(name);
        self.reps.iter().map(|r| r.workloads[w].outcomes[o as usize]).sum()
    }

    /// Sum over replications of workload `name`'s finished requests.
    pub fn requests_total(&self, name: &str) -> f64 {
        let w = self.wid(name);
        self.reps.iter().map(|r| r.workloads[w].outcomes.iter().sum::<f64>()).sum()
    }

    /// Per replication, workload `name`'s finished requests in windows `range` with an
    /// outcome in `which` (all when empty).
    pub fn window_counts(&self, name: &str, range: Range<usize>, which: &[Outcome]) -> Vec<f64> {
        let w = self.wid(name);
        self.reps
            .iter()
            .map(|r| {
                r.workloads[w].outcome_windows()[range.clone()]
                    .iter()
                    .map(|c| {
                        if which.is_empty() {
                            c.iter().sum::<f64>()
                        } else {
                            which.iter().map(|&o| c[o as usize]).sum()
                        }
                    })
                    .sum::<f64>()
            })
            .collect()
    }

    /// Sum over replications of [`Sim::window_counts`].
    pub fn window_total(&self, name: &str, range: Range<usize>, which: &[Outcome]) -> f64 {
        self.window_counts(name, range, which).iter().sum()
    }

    /// Per replication, the share of workload `name`'s requests finished in windows
    /// `range` that ended in `which`.
    pub fn window_share(&self, name: &str, range: Range<usize>, which: &[Outcome]) -> Statistic {
        let all = self.window_counts(name, range.clone(), &[]);
        let some = self.window_counts(name, range, which);
        Statistic::of(all.iter().zip(&some).map(|(&a, &s)| (a > 0.0).then(|| s / a)))
    }
}

/// Asserts that `sim` matches the closed form `theory` by [`THEORY_REL_TOL`].
pub fn assert_theory(what: &str, sim: &Statistic, theory: f64) {
    let rel = (sim.value() - theory).abs() / theory.abs().max(1e-12);
    assert!(
        sim.covers(theory) || rel < THEORY_REL_TOL,
        "{what}: theory {theory:.6}, simulated {:.6} (95% CI {:?}), off by {:.3}%",
        sim.value(),
        sim.ci95,
        rel * 100.0
    );
}

/// Asserts that `successes` out of `trials` independent trials fit probability `p`.
pub fn assert_binomial(what: &str, successes: f64, trials: f64, p: f64) {
    let sd = (trials * p * (1.0 - p)).sqrt();
    let z = (successes - trials * p) / sd.max(1e-12);
    assert!(z.abs() <= Z, "{what}: {successes} of {trials} = {:.5}, expected {p:.5} (z = {z:.2})", successes / trials);
}

/// Asserts that two estimates of the same quantity agree by [`SAME_REL_TOL`].
pub fn assert_same(what: &str, a: &Statistic, b: &Statistic) {
    let d = (a.value() - b.value()).abs();
    let band = a.half_width().unwrap_or(0.0).hypot(b.half_width().unwrap_or(0.0));
    let rel = d / a.value().abs().max(1e-12);
    assert!(
        d <= band || rel < SAME_REL_TOL,
        "{what}: {:.6} {:?} vs {:.6} {:?} (difference {d:.6}, 95% band {band:.6})",
        a.value(),
        a.ci95,
        b.value(),
        b.ci95
    );
}

/// The error `yaml` is refused with, panicking if it is accepted.
pub fn refusal(yaml: &str) -> ScenarioError {
    match load_str(yaml, Path::new("bad.yaml"), &[]) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(e) => e,
    }
}

/// Checks an error names `key`, mentions each of `needles`, and points into the file.
pub fn assert_error(e: &ScenarioError, key: &str, needles: &[&str]) {
    assert_eq!(e.key, key, "wrong key in:\n{e}");
    let text = e.to_string();
    for n in needles {
        assert!(text.contains(n), "`{n}` missing from:\n{text}");
    }
    assert!(e.line > 0, "error not located in the file:\n{text}");
}
