//! Messages for users (issue 21, case 9): a wrong value is blamed on its own key, with
//! what was expected and a suggestion; no library's type or function name reaches the
//! user; `--set` through a name that is not there is refused with the nearest name; and
//! a distribution's 10⁶ inline samples, the documented limit, are read.

use std::fs;

use super::{BASE, assert_refused, edit, path_str, refuse, resim, tempdir};

/// BASE with a call from `api` to `db` carrying a timeout (line 7 `calls:`, 8 `- to: db`,
/// 9 `timeout: 1s`).
fn with_call() -> String {
    edit(BASE, "    capacity: 50\n", "    capacity: 50\n    calls:\n      - to: db\n        timeout: 1s\n")
}

/// Words that show a message speaks of code rather than of the scenario: Rust types and
/// generics, serde's and serde-saphyr's API and data-model terms, type names of the spec.
const JARGON: [&str; 22] = [
    "Option<",
    "::",
    "from_str",
    "weak recursion",
    "mapping start",
    "sequence start",
    "string scalar",
    "struct ",
    "enum ",
    "variant",
    "deserialize",
    "invalid type:",
    "configured policy",
    "DuplicateKeyPolicy",
    "Options",
    "f64",
    "u32",
    "u64",
    "Spec",
    "externally tagged",
    "budget breached",
    "non-finite float",
];

/// Asserts `stderr` uses none of [`JARGON`].
fn assert_plain(what: &str, stderr: &str) {
    for j in JARGON {
        assert!(!stderr.contains(j), "{what}: the message speaks of code ({j:?}):\n{stderr}");
    }
}

/// Scenario texts that are refused, each for a different reason the YAML reader or serde
/// reports: empty and bare files, several documents, tags, anchors and aliases, merge keys,
/// values of the wrong shape or type, non-finite numbers, untagged and tagged choices.
fn malformed() -> Vec<(&'static str, String)> {
    let svc = "name: t\nduration: 10s\nservices:\n  a: { service_time: { constant: { value: 1ms } } }\n";
    vec![
        ("empty file", String::new()),
        ("bare scalar", "just a string\n".into()),
        ("bare number", "42\n".into()),
        ("null document", "~\n".into()),
        ("list document", "[a, b]\n".into()),
        ("two documents", format!("{BASE}---\nname: u\n")),
        ("null name", edit(BASE, "name: t", "name: ~")),
        ("empty name", edit(BASE, "name: t", "name:")),
        ("name a mapping", edit(BASE, "name: t", "name: { a: 1 }")),
        ("tagged name", edit(BASE, "name: t", "name: !!int 5")),
        ("unsupported tag", edit(BASE, "services:\n", "services: !!seq\n")),
        ("self alias", "name: &a [*a]\n".into()),
        ("unknown alias", "name: *nowhere\n".into()),
        ("merge of a scalar", svc.replace("a: {", "b: { <<: 5 }\n  a: {")),
        ("services a list", "name: t\nduration: 10s\nservices:\n  - a\n".into()),
        ("service a number", "name: t\nduration: 10s\nservices:\n  a: 5\n".into()),
        ("service empty", format!("{svc}  b:\n")),
        ("calls a mapping", edit(&with_call(), "    calls:\n", "    calls: {}\n    xcalls:\n")),
        ("duration true", edit(BASE, "duration: 10s", "duration: true")),
        ("duration infinite", edit(BASE, "duration: 10s", "duration: .inf")),
        ("timeout true", edit(&with_call(), "timeout: 1s", "timeout: true")),
        ("rate a list", edit(BASE, "rate: 64/s", "rate: [1]")),
        ("rate nan", edit(BASE, "rate: 64/s", "rate: .nan")),
        ("mean nan", edit(BASE, "mean: 50ms", "mean: .nan")),
        ("servers nan", edit(BASE, "servers: 4", "servers: .nan")),
        ("probability text", edit(&with_call(), "timeout: 1s", "probability: abc")),
        ("optional maybe", edit(&with_call(), "timeout: 1s", "optional: maybe")),
        ("retry a number", edit(&with_call(), "timeout: 1s", "retry: 3")),
        ("zones nested", edit(BASE, "servers: 4", "zones: [[a]]")),
        ("no kind", edit(BASE, "{ exponential: { mean: 50ms } }", "{}")),
        (
            "two kinds",
            edit(BASE, "{ exponential: { mean: 50ms } }", "{ exponential: { mean: 5ms }, constant: { value: 1ms } }"),
        ),
        ("kind a list", edit(BASE, "{ exponential: { mean: 50ms } }", "[exponential]")),
        ("kind without settings", edit(BASE, "servers: 4", "load_balancer: { random: 5 }")),
        ("fault add true", edit(BASE, "duration: 10s\n", "duration: 10s\nfaults: [ { target: db, add: true } ]\n")),
        ("sweep param true", edit(BASE, "duration: 10s\n", "duration: 10s\nsweep: { params: { x: true } }\n")),
        ("sample true", edit(BASE, "{ exponential: { mean: 50ms } }", "{ empirical: { samples: [1ms, true] } }")),
        ("samples a number", edit(BASE, "{ exponential: { mean: 50ms } }", "{ empirical: { samples: 5 } }")),
        ("warmup a list", edit(BASE, "duration: 10s\n", "duration: 10s\nwarmup: [1]\n")),
        ("pushback true", edit(BASE, "servers: 4", "pushback: { retry_after: true }")),
        ("duplicate key", edit(BASE, "name: t\n", "name: t\nname: u\n")),
        ("key a list", svc.replace("  a: {", "  [a]: {")),
        ("replications text", edit(BASE, "duration: 10s\n", "duration: 10s\nreplications: abc\n")),
    ]
}

#[test]
fn no_message_speaks_of_code() {
    for (what, text) in malformed() {
        let r = refuse(&text, &[]);
        assert_plain(what, &r.stderr);
    }
    let sets = [
        "services.api.servers=.nan",
        "services.api.servers=[1",
        "services.api.servers=",
        "duration=true",
        "name=~",
        "services.api.service_time={}",
        "services.apii.servers=4",
        "workloads.7.target=api",
    ];
    for set in sets {
        let r = refuse(BASE, &["--set", set]);
        assert_plain(set, &r.stderr);
    }
}

#[test]
fn every_message_says_what_was_expected_and_how_to_fix_it() {
    for (what, text) in malformed() {
        let r = refuse(&text, &[]);
        assert!(r.stderr.contains("  = help: "), "{what}: no suggestion:\n{}", r.stderr);
        assert!(!r.stderr.contains("  = help: \n"), "{what}: an empty suggestion:\n{}", r.stderr);
    }
}

#[test]
fn a_wrong_type_is_blamed_on_its_own_key() {
    refuse(edit(BASE, "duration: 10s", "duration: true"), &[])
        .mentions(&["error: duration: expected a duration like 250us", "found `true`", "help: e.g. `duration: 250us`"])
        .at(2, 11);
    refuse(edit(&with_call(), "timeout: 1s", "timeout: true"), &[])
        .mentions(&["error: services.api.calls.0.timeout: expected a duration", "found `true`"])
        .at(9, 18);
    refuse(edit(BASE, "rate: 64/s", "rate: true"), &[])
        .mentions(&["error: workloads.0.arrivals.poisson.rate: expected a rate like 64/s", "help: e.g. `rate: 64/s`"])
        .at(13, 34);
    refuse(edit(BASE, "duration: 10s\n", "duration: 10s\nwindow: [1]\n"), &[])
        .mentions(&["error: window: expected a duration", "found a list"])
        .at(3, 9);
    refuse(BASE, &["--set", "duration=true"]).mentions(&["--set duration: expected a duration", "found `true`"]);
}

#[test]
fn non_finite_numbers_name_their_key() {
    refuse(edit(BASE, "mean: 50ms", "mean: .nan"), &[])
        .mentions(&["error: services.api.service_time.exponential.mean: `.nan` is not a finite number", "help:"])
        .at(7, 42);
    refuse(edit(BASE, "duration: 10s", "duration: .inf"), &[]).mentions(&["error: duration: `.inf`"]).at(2, 11);
    refuse(edit(BASE, "rate: 64/s", "rate: -.inf"), &[])
        .mentions(&["error: workloads.0.arrivals.poisson.rate: `-.inf` is not a finite number"])
        .at(13, 34);
}

#[test]
fn set_through_an_unknown_name_is_refused_with_the_nearest() {
    refuse(BASE, &["--set", "services.apii.servers=4"]).mentions(&[
        "--set services.apii.servers: there is no service `apii` (services: api, db)",
        "did you mean `api`?",
        "--set 'services.apii={ ... }'",
    ]);
    refuse(BASE, &["--set", "services.apii.service_time={ constant: { value: 1ms } }"])
        .mentions(&["there is no service `apii`", "did you mean `api`?"]);
    refuse(BASE, &["--set", "services.api.pools.fast.servers=2"]).mentions(&["there is no pool `fast`"]);
    refuse(BASE, &["--set", "workloads.7.target=api"])
        .mentions(&["`7` is not an index of `workloads` (it has 1 item, 0)", "--set 'workloads.1={ ... }'"]);
}

#[test]
fn set_may_add_a_whole_entry() {
    let tmp = tempdir();
    let file = tmp.path().join("s.yaml");
    fs::write(&file, BASE).expect("write");
    let cache = "services.cache={ service_time: { constant: { value: 1ms } } }";
    let o = resim(&["check", path_str(&file), "--set", cache]);
    o.assert_ok();
    assert!(o.stdout.contains("3 services"), "{}", o.stdout);
    let second = "workloads.1={ name: batch, target: db, arrivals: { poisson: { rate: 5/s } } }";
    let o = resim(&["check", path_str(&file), "--set", second]);
    o.assert_ok();
    assert!(o.stdout.contains("2 workloads"), "{}", o.stdout);
    refuse(BASE, &["--set", "services.cache={ servers: 2 }"])
        .mentions(&["--set services.cache: missing field `service_time`"]);
}

/// BASE with `api`'s service time drawn from `n` inline samples.
fn inline_samples(n: usize) -> String {
    let samples: Vec<String> = (0..n).map(|i| format!("{}us", 1 + i % 997)).collect();
    let dist = format!("{{ empirical: {{ samples: [{}] }} }}", samples.join(","));
    edit(BASE, "{ exponential: { mean: 50ms } }", &dist)
}

#[test]
fn a_million_inline_samples_are_read() {
    let tmp = tempdir();
    let file = tmp.path().join("s.yaml");
    let text = inline_samples(1_000_000);
    assert!(text.len() < 16 * 1024 * 1024, "the scenario must fit the file limit");
    fs::write(&file, &text).expect("write");
    resim(&["check", path_str(&file)]).assert_ok();
    // One more than a distribution may hold: refused by validation, at its key.
    let text = inline_samples(1_000_001);
    fs::write(&file, &text).expect("write");
    let o = resim(&["check", path_str(&file)]);
    assert_refused(&o, "10^6 + 1 inline samples");
    assert!(o.stderr.contains("services.api.service_time.empirical.samples"), "{}", o.stderr);
    assert!(o.stderr.contains("between 1 and 1000000 samples"), "{}", o.stderr);
}

#[test]
fn more_values_than_the_reader_takes_are_refused_with_the_way_out() {
    let samples = vec!["1"; 2_000_001].join(",");
    let text = edit(BASE, "{ exponential: { mean: 50ms } }", &format!("{{ empirical: {{ samples: [{samples}] }} }}"));
    refuse(text, &[]).mentions(&["more than 2000000 values", "help: move large empirical samples into a file"]);
}

#[test]
fn command_line_numbers_are_refused_in_words() {
    for args in [["--seed", "abc"], ["--seed", "-1"], ["--replications", "4294967296"], ["--replications", "1.5"]] {
        let r = refuse(BASE, &args);
        r.mentions(&[args[0], "expected a whole number from 0 to"]);
        assert!(!r.stderr.contains("invalid digit") && !r.stderr.contains("..="), "{}", r.stderr);
    }
}
