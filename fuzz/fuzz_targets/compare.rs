//! Fuzzes what `resim compare` does with its inputs: each read as a report (its `schema`
//! and every key a comparison reads checked), then aligned, tested, gated and rendered.
//! The input is two reports separated by a NUL byte, or one compared both ways against a
//! real report. Any input must give an error naming its file, or a comparison; never a
//! panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use resim::compare::html::render_html;
use resim::compare::render::{render_markdown, render_text};
use resim::compare::snapshot::parse;
use resim::compare::{Thresholds, compare, regressions};

/// A real report, the other side when the input holds one.
const BASELINE: &[u8] = include_bytes!("../../reports/prime-day/report.json");

fuzz_target!(|data: &[u8]| {
    let (a, b) = match data.iter().position(|&x| x == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (BASELINE, data),
    };
    let read = |name: &str, bytes: &[u8]| {
        parse(Path::new(name), bytes).map_err(|e| assert!(e.to_string().contains(name), "{e} does not name {name}"))
    };
    let (Ok(a), Ok(b)) = (read("a.json", a), read("b.json", b)) else { return };
    let gate = Thresholds { max_p99_increase: Some(0.1), min_availability: Some(0.99), max_error_increase: Some(0.01) };
    for (x, y) in [(&a, &b), (&b, &a)] {
        let c = compare(x, y);
        let failures = regressions(&c, &gate);
        let _ = render_text(&c, Some(&failures));
        let _ = render_markdown(&c, Some(&failures));
        let _ = render_html(&c, None);
    }
});
