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
