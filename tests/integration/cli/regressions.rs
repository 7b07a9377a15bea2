//! Product bugs found at the command line, each test stating the correct behaviour; and
//! that scenario files write only inside `out/`, that a missing samples file is refused
//! with its path, and that `init` writes a starter that checks and runs.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::{
    BASE, TIMEOUT_S, assert_mentions, assert_refused, edit, example, listing, path_str, refuse, refuse_file, resim,
    resim_in, tempdir, with_routes,
};

// ---------------------------------------------------------------------------------------------------------------
// Known product bugs: each test states the correct behaviour and is ignored until the bug is fixed.
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn bug_missing_required_key_is_named_by_its_own_path() {
    let r = refuse(edit(BASE, "duration: 10s\n", ""), &[]);
    assert!(r.stderr.starts_with("error: duration: missing field `duration`\n"), "{}", r.stderr);
    let r = refuse(edit(BASE, "name: t\n", ""), &[]);
    assert!(r.stderr.starts_with("error: name: missing field `name`\n"), "{}", r.stderr);
    let r = refuse(edit(BASE, "duration: 10s\n", "").replace("name: t\n", "name: t\nreplications: 2\n"), &[]);
    assert!(r.stderr.starts_with("error: duration: missing field `duration`\n"), "{}", r.stderr);
}

#[test]
fn bug_file_errors_are_not_blamed_on_overrides() {
    let text = edit(BASE, "    servers: 4", "    severs: 4");
    let r = refuse(text, &["--seed", "3"]);
    r.mentions(&["services.api.severs", "did you mean `servers`?"]).at(5, 5);
    assert!(!r.stderr.contains("--set seed"), "the user never set `seed` wrongly:\n{}", r.stderr);
    let text = edit(BASE, "duration: 10s", "duration: 5 parsecs");
    let r = refuse(text, &["--set", "services.api.servers=2"]);
    r.mentions(&["duration", "parsecs"]).at(2, 11);
    assert!(!r.stderr.contains("--set services.api.servers"), "{}", r.stderr);
}

#[test]
fn bug_overrides_do_not_change_how_the_file_is_read() {
    let tmp = tempdir();
    let texts = [edit(BASE, "name: t", "name: 2024"), edit(BASE, "servers: 4", "servers: '4'")];
    for (i, text) in texts.iter().enumerate() {
        let file = tmp.path().join(format!("s{i}.yaml"));
        fs::write(&file, text).expect("write");
        let file = path_str(&file);
        resim(&["check", file]).assert_ok();
        let o = resim(&["check", file, "--seed", "1"]);
        o.assert_ok();
    }
}

#[test]
fn bug_duplicate_key_message_is_for_users() {
    let text = edit(BASE, "  db:\n", "  api:\n    service_time: { constant: { value: 1ms } }\n  db:\n");
    let r = refuse(text, &[]);
    r.mentions(&["duplicate", "api"]).at(8, 3);
    assert!(!r.stderr.contains("DuplicateKeyPolicy") && !r.stderr.contains("Options"), "{}", r.stderr);
}

#[test]
fn bug_error_snippet_is_bounded() {
    let samples = vec!["\"1ms\""; 100_000].join(",");
    let json = format!(
        r#"{{"name":"t","duration":"10s","services":{{"api":{{"severs":2,"service_time":{{"empirical":{{"samples":[{samples}]}}}}}}}}}}"#
    );
    let r = refuse(json, &[]);
    r.mentions(&["services.api.severs", "did you mean `servers`?"]);
    assert!(r.stderr.len() < 16 * 1024, "stderr is {} bytes for a one-key typo", r.stderr.len());
}

#[test]
fn bug_error_snippet_escapes_control_characters() {
    let r = refuse("name: t\u{1b}[2J\u{1b}]0;pwned\u{7}\nduration: 10s\n", &[]);
    r.mentions(&["unexpected character"]);
    assert!(!r.stderr.contains('\u{1b}') && !r.stderr.contains('\u{7}'), "raw control characters:\n{:?}", r.stderr);
}

#[test]
fn bug_scenario_name_cannot_escape_the_output_folder() {
    let tmp = tempdir();
    let cwd = tmp.path().join("a/b");
    fs::create_dir_all(&cwd).expect("create cwd");
    let absolute = tmp.path().join("absolute");
    for name in ["../../escaped", path_str(&absolute)] {
        let file = tmp.path().join("s.yaml");
        fs::write(&file, edit(BASE, "name: t", &format!("name: '{name}'"))).expect("write");
        let o = resim_in(&cwd, &["run", path_str(&file), "-q", "--set", "duration=1s"], TIMEOUT_S);
        o.assert_no_panic();
        assert!(!tmp.path().join("a/escaped").exists(), "`name: ../../escaped` wrote outside out/");
        assert!(!absolute.exists(), "an absolute `name` wrote to {}", absolute.display());
        assert!(o.code() == Some(2) || o.code() == Some(0), "{}", o.stderr);
    }
}

/// Every file under `dir`, as paths relative to it.
pub(super) fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.insert(path.strip_prefix(dir).expect("under dir").to_owned());
            }
        }
    }
    out
}

/// Nothing in a scenario chooses where outputs go but `name`, and `name` is reduced to
/// one folder under `out/`: names, workload names (in chart file names) and swept values
/// that try to climb out, or are absolute, leave every file under `./out`.
#[test]
fn scenario_files_can_only_write_inside_out() {
    let tmp = tempdir();
    let cwd = tmp.path().join("a/b/cwd");
    fs::create_dir_all(&cwd).expect("create cwd");
    let absolute = tmp.path().join("absolute");
    for name in ["../../escape", path_str(&absolute), "/etc/resim-escape", "..", "../", "."] {
        let text = edit(BASE, "name: t", &format!("name: '{name}'")).replace("- name: users", "- name: '../../../w'");
        let sweep = format!(
            "sweep: {{ params: {{ name: ['../../p', '{}'], services.api.servers: [4, 5] }} }}\n",
            path_str(&absolute)
        );
        fs::write(tmp.path().join("s.yaml"), text + &sweep).expect("write");
        let file = tmp.path().join("s.yaml");
        let o = resim_in(&cwd, &["run", path_str(&file), "-q", "--set", "duration=1s"], TIMEOUT_S);
        o.assert_ok();
        let o = resim_in(&cwd, &["sweep", path_str(&file), "-q", "--set", "duration=1s", "--jobs", "1"], TIMEOUT_S);
        o.assert_ok();
        let stray: Vec<PathBuf> = files_under(tmp.path())
            .into_iter()
            .filter(|p| p != Path::new("s.yaml") && !p.starts_with("a/b/cwd/out"))
            .collect();
        assert_eq!(stray, Vec::<PathBuf>::new(), "`name: {name}` wrote outside ./out");
        assert_eq!(listing(&cwd), BTreeSet::from(["out".to_owned()]));
        assert!(!Path::new("/etc/resim-escape").exists(), "an absolute `name` wrote into /etc");
        let outs = listing(&cwd.join("out"));
        assert!(outs.iter().all(|o| !o.starts_with('.') && !o.contains('/')), "{outs:?}");
        let _ = fs::remove_dir_all(cwd.join("out"));
    }
}

/// A samples file that is missing is refused by every command, located at its key, with
/// the path it was looked for at and the system's reason.
#[test]
fn a_missing_samples_file_is_refused_with_its_path() {
    let text = edit(BASE, "{ exponential: { mean: 50ms } }", "{ empirical: { file: latencies.csv, unit: ms } }");
    let tmp = tempdir();
    let file = tmp.path().join("scenario.yaml");
    fs::write(&file, &text).expect("write the scenario");
    let wanted = tmp.path().join("latencies.csv");
    refuse_file(path_str(&file), &[])
        .mentions(&[
            "services.api.service_time.empirical.file: cannot read the samples file",
            path_str(&wanted),
            "No such file or directory",
            "help: a relative path is read from the scenario file's folder",
        ])
        .at(7, 40);
    // Beside the scenario, it is found whatever the working directory.
    fs::write(&wanted, "12.5\n7\n30\n").expect("write the samples");
    resim(&["check", path_str(&file)]).assert_ok();
    fs::write(&wanted, "12.5\n7ms\n3O\n").expect("write the samples");
    let o = resim(&["check", path_str(&file)]);
    assert_refused(&o, "a bad sample");
    assert_mentions(&o.stderr, &["`3O`", &format!("--> {}:3:1", path_str(&wanted)), "3 | 3O"]);
}

#[test]
fn bug_huge_jobs_is_clamped_or_refused() {
    let tmp = tempdir();
    let file = example("mmck-basic.yaml");
    let out = tmp.path().join("out");
    let args = ["run", file.as_str(), "--out", path_str(&out), "--jobs", "100000", "--set", "duration=1s", "-q"];
    let o = resim_in(tmp.path(), &args, 30);
    assert!(o.status.is_some(), "resim hung (killed after 30 s); stderr starts:\n{:.2000}", o.stderr);
    o.assert_no_panic();
    match o.code() {
        Some(0) => assert!(out.join("report.json").exists()),
        Some(2) => assert_mentions(&o.stderr, &["jobs"]),
        code => panic!("exit {code:?}:\n{:.2000}", o.stderr),
    }
}

#[test]
fn bug_zero_time_closed_loop_is_refused() {
    let text = edit(BASE, "{ exponential: { mean: 50ms } }", "{ constant: { value: 0s } }")
        .replace("{ poisson: { rate: 64/s } }", "{ closed: { users: 1, think_time: { constant: { value: 0s } } } }");
    let tmp = tempdir();
    let file = tmp.path().join("zero.yaml");
    fs::write(&file, text).expect("write");
    let o = resim_in(tmp.path(), &["check", path_str(&file)], TIMEOUT_S);
    assert_refused(&o, "check of a zero-time loop");
    assert_mentions(&o.stderr, &["workloads.0.arrivals.closed.think_time"]);
    let o = resim_in(tmp.path(), &["run", path_str(&file), "--out", "out", "--jobs", "1"], 20);
    assert!(o.status.is_some(), "the run never ends (killed after 20 s)");
    assert_refused(&o, "run of a zero-time loop");
}

#[test]
fn bug_route_sum_is_printed_readably() {
    let r = refuse(with_routes("      - { to: db, probability: 0.7 }\n      - { to: db, probability: 0.6 }\n"), &[]);
    r.mentions(&["add up to 1.3,"]);
}

#[test]
fn bug_replications_flag_is_named_in_its_error() {
    let r = refuse(BASE, &["--replications", "0"]);
    r.mentions(&["replications", "between 1 and"]);
    assert!(!r.stderr.contains("after --set"), "{}", r.stderr);
}

#[test]
fn bug_directory_scenario_gets_relevant_help() {
    let tmp = tempdir();
    let r = refuse_file(path_str(tmp.path()), &[]);
    assert!(!r.stderr.contains("UTF-8"), "misleading help:\n{}", r.stderr);
}

#[test]
fn init_writes_a_starter_that_checks_and_runs() {
    let dir = tempdir();
    resim_in(dir.path(), &["init"], TIMEOUT_S).assert_ok();
    let file = dir.path().join("scenario.yaml");
    let text = fs::read_to_string(&file).expect("starter written");
    assert!(text.starts_with("# Generated by `resim init`"), "the starter opens with a comment");
    resim_in(dir.path(), &["check", "scenario.yaml"], TIMEOUT_S).assert_ok();
    resim_in(dir.path(), &["run", "scenario.yaml", "--replications", "2", "--set", "duration=1m", "-q"], TIMEOUT_S)
        .assert_ok();
    // It does not overwrite by accident.
    let again = resim_in(dir.path(), &["init"], TIMEOUT_S);
    assert_eq!(again.code(), Some(2));
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    resim_in(dir.path(), &["init", "--force"], TIMEOUT_S).assert_ok();
    resim_in(dir.path(), &["init", "other.yaml"], TIMEOUT_S).assert_ok();
    assert!(dir.path().join("other.yaml").exists());
}
