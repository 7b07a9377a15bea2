//! Fuzzes `--set`: the first line names an example scenario, each further line is one
//! `KEY=VALUE` argument, parsed as the command line parses it and applied by the loader
//! `resim run` uses. Any input must give a message naming the override, or a checked
//! scenario; never a panic.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use resim::scenario::{Override, load_str};

/// The scenarios overrides are applied to: one plain, one with calls, pools of
/// instances and a closed population, one with health checks and failover.
const SCENARIOS: [(&str, &str); 3] = [
    ("mmck-basic", include_str!("../../scenarios/mmck-basic.yaml")),
    ("web-shop", include_str!("../../scenarios/web-shop.yaml")),
    ("failover", include_str!("../../scenarios/failover.yaml")),
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().trim();
    let (name, yaml) = SCENARIOS.iter().find(|(n, _)| *n == first).copied().unwrap_or(SCENARIOS[0]);
    // An argument the command line refuses never reaches the loader.
    let Ok(overrides) = lines.map(str::parse::<Override>).collect::<Result<Vec<_>, _>>() else { return };
    // Where the file would be, so samples files resolve as they do for the real one.
    let file = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios")).join(format!("{name}.yaml"));
    if let Err(e) = load_str(yaml, &file, &overrides) {
        let _ = e.to_string();
    }
});
