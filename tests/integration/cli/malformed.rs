//! Malformed input: exit 2, a located helpful message, nothing written, no panic.

use std::fs;

use super::{BASE, edit, path_str, refuse, refuse_file, resim, tempdir, with_routes};

// ---------------------------------------------------------------------------------------------------------------
// Malformed input: exit 2, a located helpful message, nothing written, no panic
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn base_scenario_is_valid() {
    let tmp = tempdir();
    let file = tmp.path().join("base.yaml");
    fs::write(&file, BASE).expect("write");
    resim(&["check", path_str(&file)]).assert_ok();
}

#[test]
fn missing_file() {
    let tmp = tempdir();
    let file = tmp.path().join("no/such/scenario.yaml");
    refuse_file(path_str(&file), &[]).mentions(&["cannot read the scenario", path_str(&file), "help: check the path"]);
}

#[test]
fn scenario_path_is_a_directory() {
    let tmp = tempdir();
    refuse_file(path_str(tmp.path()), &[]).mentions(&["cannot read the scenario", "directory"]);
}

#[test]
fn binary_garbage_is_not_utf8() {
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80).collect();
    refuse(garbage, &[]).mentions(&["cannot read the scenario", "UTF-8"]);
}

#[test]
fn control_characters_are_located() {
    refuse("\u{0}\u{1}\u{2}\u{3}garbage\n", &[]).mentions(&["unexpected character"]).at(1, 1);
}

#[test]
fn unclosed_bracket_is_located() {
    refuse("name: t\nduration: 10s\nservices: [\n", &[]).mentions(&["unclosed bracket"]).at(3, 11);
    let json = r#"{"name": "t", "duration": "10s", "services": {"api": {"servers": 1}"#;
    refuse(json, &[]).mentions(&["unclosed"]).at(1, 46);
    refuse("name: [unclosed\nduration: 10s\n", &[]).at(2, 9);
}

#[test]
fn empty_file_and_wrong_shape() {
    refuse("", &[]).mentions(&["the file is empty", "a mapping with name, duration and services", "resim init"]);
    refuse("[]\n", &[]).mentions(&["mapping", "found a list"]).at(1, 1);
    refuse("just a string\n", &[]).mentions(&["found `just a string`"]).at(1, 1);
}

#[test]
fn unknown_top_level_key_suggests_the_nearest() {
    refuse(edit(BASE, "duration:", "duraton:"), &[])
        .mentions(&["duraton: unknown key `duraton`", "help: did you mean `duration`?"])
        .at(2, 1);
}

#[test]
fn misspelt_nested_key_is_located_with_a_snippet() {
    let r = refuse(edit(BASE, "    servers: 4", "    severs: 4"), &[]);
    r.mentions(&["services.api.severs", "unknown key `severs`"]).at(5, 5);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(lines[0].starts_with("error: services.api.severs: unknown key `severs`; expected one of: servers"));
    assert_eq!(lines[1], format!("  --> {}:5:5", r.file));
    assert_eq!(lines[2..5], ["  |", "5 |     severs: 4", "  |     ^"]);
    assert_eq!(lines.last(), Some(&"  = help: did you mean `servers`?"));
}

#[test]
fn unknown_distribution_kind_suggests_the_nearest() {
    refuse(edit(BASE, "{ exponential: { mean: 50ms } }", "{ exponental: { mean: 50ms } }"), &[])
        .mentions(&["services.api.service_time", "unknown kind `exponental`", "did you mean `exponential`?"])
        .at(7, 21);
}

#[test]
fn zero_servers() {
    refuse(edit(BASE, "servers: 4", "servers: 0"), &[]).mentions(&["services.api.servers", "between 1 and"]).at(5, 14);
}

#[test]
fn capacity_below_servers_explains_kendall() {
    refuse(edit(BASE, "capacity: 50", "capacity: 2"), &[])
        .mentions(&["services.api.capacity", "capacity 2 is below servers 4", "Kendall"])
        .at(6, 15);
}

#[test]
fn negative_values() {
    refuse(edit(BASE, "rate: 64/s", "rate: -5/s"), &[])
        .mentions(&["workloads.0.arrivals.poisson.rate", "`-5/s`", ">= 0", "64/s"])
        .at(13, 34);
    refuse(edit(BASE, "servers: 4", "servers: -4"), &[]).mentions(&["services.api.servers"]).at(5, 14);
    refuse(edit(BASE, "mean: 50ms", "mean: -50ms"), &[])
        .mentions(&["services.api.service_time.exponential.mean", "negative"])
        .at(7, 42);
}

#[test]
fn bad_duration_unit() {
    refuse(edit(BASE, "duration: 10s", "duration: 5 parsecs"), &[])
        .mentions(&["duration:", "unknown unit `parsecs`", "250us, 50ms, 1.5s"])
        .at(2, 11);
    refuse(edit(BASE, "duration: 10s", "duration: 0s"), &[]).mentions(&["duration:", "longer than 0"]).at(2, 11);
}

#[test]
fn route_probability_above_one() {
    refuse(with_routes("      - { to: db, probability: 1.5 }\n"), &[])
        .mentions(&["services.api.routes.0.probability", "probability 1.5 is outside 0..1"])
        .at(8, 32);
}

#[test]
fn route_probabilities_summing_above_one() {
    refuse(with_routes("      - { to: db, probability: 0.7 }\n      - { to: db, probability: 0.6 }\n"), &[])
        .mentions(&["services.api.routes", "add up to", "more than 1", "help: the remainder (1 - sum)"])
        .at(8, 7);
}

#[test]
fn call_to_unknown_service_suggests_the_nearest() {
    let text = edit(BASE, "    capacity: 50\n", "    capacity: 50\n    calls:\n      - to: dbb\n");
    refuse(text, &[])
        .mentions(&["services.api.calls.0.to", "there is no service `dbb`", "did you mean `db`?"])
        .at(8, 13);
}

#[test]
fn call_cycles_are_loops() {
    let text = "name: t\nduration: 10s\nservices:\n  a:\n    service_time: { constant: { value: 1ms } }\n    calls:\n      \
                - to: b\n  b:\n    service_time: { constant: { value: 1ms } }\n    calls:\n      - to: a\n";
    refuse(text, &[]).mentions(&["services.a.calls", "loop", "a -> b -> a", "help:"]).at(7, 7);
    let text = edit(BASE, "    capacity: 50\n", "    capacity: 50\n    calls: [ { to: api } ]\n");
    refuse(text, &[]).mentions(&["services.api.calls", "loop", "api -> api"]);
}

#[test]
fn routes_that_never_leave() {
    let text = with_routes("      - { to: db, probability: 1 }\n")
        .replace("{ mean: 5ms } }\n", "{ mean: 5ms } }\n    routes: [ { to: api, probability: 1 } ]\n");
    refuse(text, &[]).mentions(&["services.api.routes", "api, db can never leave", "help:"]);
    refuse(with_routes("      - { to: api, probability: 1.0 }\n"), &[]).mentions(&["api can never leave"]);
}

#[test]
fn absurd_sizes_are_refused() {
    refuse(edit(BASE, "servers: 4", "servers: 4000000000"), &[])
        .mentions(&["services.api.servers", "1000000", "4000000000"])
        .at(5, 14);
    refuse(edit(BASE, "servers: 4", "servers: 5000000000"), &[]).mentions(&["services.api.servers"]).at(5, 14);
    refuse(edit(BASE, "capacity: 50", "capacity: 2000000000"), &[])
        .mentions(&["services.api.capacity", "exceeds", "omit it for an unbounded queue"])
        .at(6, 15);
    refuse(edit(BASE, "    servers: 4\n", "    servers: 4\n    instances: 100000\n"), &[])
        .mentions(&["services.api.instances", "between 1 and"]);
    // Each service within its limit, the fleet beyond the total.
    let mut fleet = String::from("name: fleet\nduration: 10s\nservices:\n");
    for i in 0..101 {
        fleet += &format!("  s{i}: {{ instances: 10000, service_time: {{ constant: {{ value: 1ms }} }} }}\n");
    }
    refuse(fleet, &[]).mentions(&["services", "1010000 stations", "at most 1000000", "help:"]);
    refuse(edit(BASE, "duration: 10s\n", "duration: 10s\nreplications: 1000000\n"), &[])
        .mentions(&["replications", "between 1 and 100000"])
        .at(3, 15);
    refuse(edit(BASE, "duration: 10s", "duration: 1000000h"), &[]).mentions(&["duration", "100 years"]).at(2, 11);
    refuse(edit(BASE, "duration: 10s", "duration: 1000000000000h"), &[]).mentions(&["duration", "too long"]);
    refuse(edit(BASE, "duration: 10s", "duration: 1h").replace("64/s", "1e12/s"), &[])
        .mentions(&["arrivals per replication", "limit", "help: shorten the duration or lower the rates"])
        .at(2, 11);
}

#[test]
fn absurd_sizes_from_the_command_line_are_refused() {
    refuse(BASE, &["--replications", "1000000"]).mentions(&["replications", "100000"]);
    refuse(BASE, &["--set", "duration=1000000h"]).mentions(&["duration", "100 years"]);
    refuse(BASE, &["--set", "services.api.servers=4000000000"]).mentions(&["services.api.servers", "1000000"]);
    refuse(BASE, &["--set", "duration=1h", "--set", "workloads.0.arrivals.poisson.rate=1e12/s"])
        .mentions(&["arrivals per replication"]);
}

#[test]
fn alias_bombs_and_deep_nesting_are_refused() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        bomb += &format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n");
    }
    refuse(bomb, &[]);
    let deep = format!("name: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    refuse(deep, &[]).mentions(&["recursion"]);
}

#[test]
fn empty_services() {
    refuse("name: t\nduration: 10s\nservices: {}\n", &[])
        .mentions(&["services: a scenario needs at least one service"])
        .at(3, 11);
    refuse("name: t\nduration: 10s\nservices:\n", &[]).mentions(&["services"]);
}

#[test]
fn duplicate_workload_names() {
    let text = format!("{BASE}  - {{ name: users, target: db, arrivals: {{ poisson: {{ rate: 1/s }} }} }}\n");
    refuse(text, &[]).mentions(&["workloads.1.name", "`users`", "names must be unique"]).at(14, 13);
}

#[test]
fn workload_target_unknown() {
    refuse(edit(BASE, "target: api", "target: apj"), &[])
        .mentions(&["workloads.0.target", "there is no service `apj`", "did you mean `api`?"])
        .at(12, 13);
}

#[test]
fn lognormal_needs_a_parameter_pair() {
    for params in ["{ mean: 3ms }", "{}", "{ mean: 3ms, p99: 20ms }"] {
        let text = edit(BASE, "{ exponential: { mean: 50ms } }", &format!("{{ lognormal: {params} }}"));
        refuse(text, &[])
            .mentions(&["services.api.service_time.lognormal", "give `mean` and `sd`, or `median` and `p99`"])
            .at(7, 32);
    }
}

#[test]
fn set_with_a_misspelt_key_suggests_the_nearest() {
    refuse(BASE, &["--set", "services.api.severs=3"]).mentions(&[
        "--set services.api.severs",
        "unknown key `severs`",
        "did you mean `servers`?",
    ]);
    refuse(BASE, &["--set", "duraton=1m"]).mentions(&["--set duraton", "did you mean `duration`?"]);
}

#[test]
fn set_with_bad_values() {
    refuse(BASE, &["--set", "services.api.servers=0"]).mentions(&["services.api.servers", "(after --set)"]);
    refuse(BASE, &["--set", "services.api.servers=abc"]).mentions(&["--set services.api.servers", "whole number"]);
    refuse(BASE, &["--set", "services.api.servers=[1"]).mentions(&["--set services.api.servers", "cannot be read"]);
    refuse(BASE, &["--set", "services.api.servers.x=3"]).mentions(&["`services.api.servers` is a plain value"]);
    refuse(BASE, &["--set", "workloads.5.target=api"]).mentions(&["`5` is not an index", "1 item, 0"]);
    refuse(BASE, &["--set", "duration=5 parsecs"]).mentions(&["unknown unit `parsecs`"]);
}

#[test]
fn malformed_set_is_a_usage_error() {
    refuse(BASE, &["--set", "novalue"]).mentions(&["--set", "`novalue` is not KEY=VALUE", "services.api.servers=8"]);
    refuse(BASE, &["--set", "=3"]).mentions(&["is not a dotted key path"]);
    refuse(BASE, &["--set", "a..b=3"]).mentions(&["`a..b` is not a dotted key path"]);
    refuse(BASE, &["--seed", "abc"]).mentions(&["--seed"]);
    refuse(BASE, &["--seed", "-1"]);
    refuse(BASE, &["--replications", "4294967296"]).mentions(&["--replications"]);
}

#[test]
fn file_larger_than_16_mib_says_the_limit() {
    let tmp = tempdir();
    let file = tmp.path().join("huge.yaml");
    // Sparse: no 16 MiB written to disk.
    fs::File::create(&file).and_then(|f| f.set_len(16 * 1024 * 1024 + 1)).expect("create a sparse file");
    refuse_file(path_str(&file), &[]).mentions(&["16777217 bytes", "limited to 16777216 bytes"]);
}
