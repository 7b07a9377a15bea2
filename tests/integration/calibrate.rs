//! `resim calibrate` as a user runs it: each format's fixture gives a scenario that
//! `resim check` accepts, every malformed fixture is refused with a located message.

use std::path::Path;

use crate::common::{Ran, resim_in};

/// `resim ARGS` from the repository's root, where the fixtures' paths are relative.
fn resim(args: &[&str]) -> Ran {
    resim_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

const FIXTURES: &str = "tests/fixtures/traces";

#[test]
fn every_well_formed_fixture_calibrates_to_a_scenario_check_accepts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut yamls = Vec::new();
    for (file, format) in [
        ("otlp/shop.jsonl", "otlp"),
        ("otlp/shop.pretty.json", "otlp"),
        ("jaeger/shop.json", "jaeger"),
        ("zipkin/shop.json", "zipkin"),
    ] {
        let out = dir.path().join(format!("{}.yaml", file.replace(['/', '.'], "_")));
        let path = Path::new(FIXTURES).join(file);
        let run = resim(&["calibrate", path.to_str().unwrap(), "--format", format, "--out", out.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{file}: {}", run.stderr);
        let said = &run.stdout;
        assert!(said.contains("23 spans in 4 traces") && said.contains("5 services"), "{file}: {said}");
        let check = resim(&["check", out.to_str().unwrap()]);
        assert_eq!(check.code, 0, "{file}: {}", check.stderr);
        yamls.push(std::fs::read_to_string(&out).expect("written"));
    }
    // The same traces in four files: the same scenario but for its names (Zipkin's
    // instrumentations write operation names in lower case).
    let body = |y: &str| {
        let kept = |l: &&str| !l.starts_with('#') && !l.trim_start().trim_start_matches("- ").starts_with("name:");
        y.lines().filter(kept).collect::<Vec<_>>().join("\n")
    };
    for y in &yamls[1..] {
        assert_eq!(body(y), body(&yamls[0]));
    }
}

#[test]
fn every_malformed_fixture_is_refused_with_its_location() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = Path::new(FIXTURES).join("bad");
    let mut files: Vec<_> = std::fs::read_dir(&bad).expect("bad/").map(|e| e.expect("entry").path()).collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // `jaeger_read_as_otlp.json` is Jaeger's JSON given as OTLP.
        let format = match name.split('_').next() {
            Some(f @ ("jaeger" | "zipkin")) if !name.contains("read_as_otlp") => f,
            _ => "otlp",
        };
        let out = dir.path().join("never.yaml");
        let run = resim(&["calibrate", path.to_str().unwrap(), "--format", format, "--out", out.to_str().unwrap()]);
        let err = &run.stderr;
        assert_eq!(run.code, 2, "{name}: {err}");
        assert!(err.contains(&format!("{name}:")), "{name}: the message names the file and line: {err}");
        assert!(!out.exists(), "{name}: nothing written on a refusal");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
}

#[test]
fn a_misspelt_format_is_refused_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("x.yaml");
    let run = resim(&[
        "calibrate",
        "tests/fixtures/traces/zipkin/shop.json",
        "--format",
        "zipkn",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = &run.stderr;
    assert_eq!(run.code, 2, "{err}");
    assert!(err.contains("did you mean `zipkin`?"), "{err}");
}

/// A known scenario: a front end calling a back end for half of its requests.
const KNOWN: &str = "
name: known
duration: 10m
replications: 3
seed: 3
services:
  front: { servers: 8, service_time: { exponential: { mean: 10ms } }, calls: [ { to: back, probability: 0.5 } ] }
  back: { servers: 8, service_time: { lognormal: { mean: 20ms, sd: 10ms } } }
workloads:
  - { name: users, target: front, arrivals: { poisson: { rate: 50/s } } }
";

/// `services.<name>.<key>.mean` of a report.json, as f64.
fn service_figure(report: &serde_json::Value, service: &str, path: &[&str]) -> f64 {
    let mut v = &report["services"][service];
    for k in path {
        v = &v[*k];
    }
    v["mean"].as_f64().unwrap_or_else(|| panic!("{service}.{path:?} in the report"))
}

/// The checks of the round trip on the scenario calibrated from `file` in `format`
/// (into `<format>.yaml`, re-run into `<format>-run/`) against the run `a` that wrote the
/// traces. Returns what `resim calibrate` said of the spans it read ("N spans in M
/// traces ...").
fn round_trip(p: &dyn Fn(&str) -> String, file: &str, format: &str) -> String {
    let yaml = p(&format!("{format}.yaml"));
    let cal = resim(&["calibrate", &p(&format!("a/{file}")), "--format", format, "--out", &yaml]);
    assert_eq!(cal.code, 0, "{format}: {}", cal.stderr);

    // The graph exactly; the parameters within their sampling error (about 30,000
    // requests of replication 0, the one traced).
    let model = resim::scenario::load_file(Path::new(&yaml), &[]).expect("loads").model;
    let names: Vec<&str> = model.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["back", "front"], "{format}");
    let (back, front) = (&model.services[0], &model.services[1]);
    assert!(back.steps.is_empty() && back.routes.is_empty(), "{format}");
    assert_eq!(front.steps.len(), 1, "{format}");
    let call = &front.steps[0].calls[0];
    assert_eq!(call.to, 0, "{format}");
    // Binomial: sd of the share over 30,000 requests is 0.0029; 4 sd.
    assert!((call.probability - 0.5).abs() < 0.012, "{format}: {}", call.probability);
    let mean = |d: &resim::model::Dist| d.moments().mean;
    // Standard errors of the means: 10 ms / sqrt(30,000) = 58 us; 10 ms / sqrt(15,000) =
    // 82 us (Jaeger's and Zipkin's whole microseconds move a mean by well under 1 us).
    assert!((mean(&front.service_time) - 0.010).abs() < 4.0 * 58e-6, "{format}: {:?}", front.service_time);
    assert!((mean(&back.service_time) - 0.020).abs() < 4.0 * 82e-6, "{format}: {:?}", back.service_time);
    assert!(matches!(front.service_time, resim::model::Dist::Exponential(_)), "{format}: {:?}", front.service_time);
    assert!(matches!(back.service_time, resim::model::Dist::Lognormal(_)), "{format}: {:?}", back.service_time);

    // Simulated, the calibrated scenario reproduces each service's mean latency within
    // 5% and its p99 within 10% (issue 27's bar).
    let out = format!("{format}-run");
    let again = resim(&["run", &yaml, "--out", &p(&out), "--replications", "3", "-q"]);
    assert_eq!(again.code, 0, "{format}: {}", again.stderr);
    let read = |dir: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p(&format!("{dir}/report.json"))).expect("report")).expect("JSON")
    };
    let (a, b) = (read("a"), read(&out));
    for s in ["front", "back"] {
        let (wa, wb) = (service_figure(&a, s, &["mean_sojourn_s"]), service_figure(&b, s, &["mean_sojourn_s"]));
        assert!((wb / wa - 1.0).abs() < 0.05, "{format}: {s}: mean latency {wa} simulated, {wb} calibrated");
        let (qa, qb) = (service_figure(&a, s, &["latency_s", "p99"]), service_figure(&b, s, &["latency_s", "p99"]));
        assert!((qb / qa - 1.0).abs() < 0.10, "{format}: {s}: p99 {qa} simulated, {qb} calibrated");
    }
    cal.stdout.lines().find(|l| l.contains(" spans in ")).unwrap_or_default().to_owned()
}

/// Issue 27's round trip, for each of the three formats: a known scenario simulated,
/// its traces written once as OTLP, Jaeger and Zipkin, each calibrated back.
#[test]
fn resim_s_own_traces_in_every_format_calibrate_back_to_the_scenario_that_made_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |name: &str| dir.path().join(name).to_str().expect("UTF-8 path").to_owned();
    std::fs::write(p("known.yaml"), KNOWN).expect("written");
    let run = resim(&[
        "run",
        &p("known.yaml"),
        "--out",
        &p("a"),
        "--trace-sample",
        "1",
        "--trace-max",
        "100000",
        "--trace-format",
        "otlp,jaeger,zipkin",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!Path::new(&p("a/trace.json")).exists(), "no Chrome trace unless asked");
    let read = [("trace.otlp.jsonl", "otlp"), ("trace.jaeger.json", "jaeger"), ("trace.zipkin.json", "zipkin")]
        .map(|(file, format)| round_trip(&p, file, format));
    // The same spans in every file: the same count of spans and traces read.
    assert!(read[0].contains(" spans in "), "{read:?}");
    assert_eq!(read[1], read[0], "Jaeger");
    assert_eq!(read[2], read[0], "Zipkin");
}
