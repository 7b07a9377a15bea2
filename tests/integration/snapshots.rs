//! Snapshots (insta) of what users read, for three example scenarios that between them
//! cover plain queueing (`mmck-basic`), calls with timeouts and a breaker
//! (`breaker-dead-dependency`), and retries, a fault, SLOs and a blast radius
//! (`retry-storm`): the terminal summary of `resim run`, the outline of `report.html`, the
//! head of `timeseries.csv`, and the `resim compare` table.
//!
//! Everything is rendered in-process by the library calls the CLI makes, so the bytes are
//! those `resim run` writes, minus what varies between runs: the CLI's wall-clock line
//! after the summary (scripts/regen.sh drops it too) and the report path it prints. The
//! page is reduced to its structure; each inline chart becomes one line naming its size and
//! title, because chart pixels are checked elsewhere (outputs.rs) and would make every
//! layout tweak a hundred-line diff.
//!
//! After an intended change, review the new snapshots with `cargo insta review` (or run
//! with `INSTA_UPDATE=always` and read `git diff tests/integration/snapshots/`).

use std::fmt::Write as _;
use std::path::Path;

use resim::compare::render::render_text;
use resim::compare::snapshot::from_report;
use resim::compare::{Thresholds, compare, regressions};
use resim::report::charts::render_charts;
use resim::report::{render_html, render_summary, timeseries_csv};
use resim::run::mser::resolve_warmup;
use resim::{Report, RunOptions, run};

use crate::common::example_scenario;

/// The plain M/M/c/K station. Shortened from 10 replications × 2h (warm-up 10m).
const MMCK_BASIC: (&str, &[&str]) = ("mmck-basic.yaml", &["replications=3", "duration=20m", "warmup=2m"]);
/// The hanging dependency; run as written (2 replications × 10m, under a second).
const BREAKER: (&str, &[&str]) = ("breaker-dead-dependency.yaml", &[]);
/// The same with the circuit breaker its comments suggest: the B side of the comparison.
const BREAKER_FIXED: (&str, &[&str]) = (
    "breaker-dead-dependency.yaml",
    &["services.checkout.calls.1.breaker={ consecutive: { failures: 5, successes: 2, open_for: 30s } }"],
);
/// The metastable retry storm with its surge at 5m and three SLOs. Shortened from 3
/// replications × 15m; 8m still holds the surge and the storm it leaves behind.
const RETRY_STORM: (&str, &[&str]) = ("retry-storm.yaml", &["replications=2", "duration=8m"]);

/// Timeseries rows kept after the header.
const CSV_ROWS: usize = 5;

/// Runs example `file` with `--set`-style overrides as `resim run` does (including an
/// automatic warm-up, resolved first).
fn report_of((file, sets): (&str, &[&str])) -> Report {
    let scenario = example_scenario(file, sets);
    let (scenario, _) = resolve_warmup(&scenario).unwrap_or_else(|e| panic!("{file}: {e}"));
    run(&scenario.model, &RunOptions::default())
}

/// `text` with the crate version (in the page footer) replaced, so a release does not
/// touch every snapshot.
fn without_version(text: &str) -> String {
    text.replace(&format!("resim {}", env!("CARGO_PKG_VERSION")), "resim [version]")
}

/// Snapshots the summary, the page outline and the timeseries head of `case`.
fn assert_outputs(name: &str, case: (&str, &[&str])) {
    let report = report_of(case);
    insta::assert_snapshot!(format!("{name}-summary"), render_summary(&report));
    let charts = render_charts(&report).unwrap_or_else(|e| panic!("{name}: {e}"));
    insta::assert_snapshot!(format!("{name}-html"), without_version(&html_outline(&render_html(&report, &charts))));
    insta::assert_snapshot!(format!("{name}-timeseries"), csv_head(&timeseries_csv(&report).expect("csv")));
}

#[test]
fn mmck_basic_outputs() {
    assert_outputs("mmck-basic", MMCK_BASIC);
}

#[test]
fn breaker_dead_dependency_outputs() {
    assert_outputs("breaker-dead-dependency", BREAKER);
}

#[test]
fn retry_storm_outputs() {
    assert_outputs("retry-storm", RETRY_STORM);
}

/// `resim compare A B --fail-on-regression` between the hanging dependency without and
/// with a breaker: every section, the significance column and the gate's verdict.
#[test]
fn compare_breaker_table() {
    let snapshot = |side: &str, case| {
        let json = serde_json::from_str(&report_of(case).to_json()).expect("report.json parses");
        from_report(Path::new(side).join("report.json").as_path(), &json).expect("a report")
    };
    let comparison = compare(&snapshot("without-breaker", BREAKER), &snapshot("with-breaker", BREAKER_FIXED));
    let checks = regressions(&comparison, &Thresholds::default());
    insta::assert_snapshot!("breaker-compare", render_text(&comparison, Some(&checks)));
}

/// The header and first rows of timeseries.csv, then every series it holds (kind,
/// series, metric, in order of first appearance) and the number of rows.
fn csv_head(csv: &str) -> String {
    let mut out: String = csv.lines().take(1 + CSV_ROWS).map(|l| format!("{l}\n")).collect();
    let mut series: Vec<String> = Vec::new();
    let mut rows = 0;
    for line in csv.lines().skip(1) {
        rows += 1;
        let cols: Vec<&str> = line.split(',').collect();
        let key = cols[3..6].join(" ");
        if !series.contains(&key) {
            series.push(key);
        }
    }
    let _ = writeln!(out, "...\n{rows} rows; series (kind series metric):");
    for s in series {
        let _ = writeln!(out, "  {s}");
    }
    out
}

/// A parsed HTML node.
enum Node {
    Element(Element),
    Text(String),
}

/// An element with its attributes in source order.
struct Element {
    tag: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
}

/// HTML elements that never have a closing tag.
const VOID: [&str; 6] = ["meta", "link", "br", "hr", "img", "input"];
/// Elements that start a line of the outline; the others are folded into their parent's
/// line as `[tag text]`.
const BLOCK: [&str; 25] = [
    "html",
    "head",
    "body",
    "header",
    "footer",
    "section",
    "nav",
    "div",
    "main",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "figure",
    "figcaption",
    "table",
    "tr",
    "a",
    "img",
    "svg",
    "title",
];

/// Parses the page resim writes (well-formed apart from void elements) into a tree,
/// dropping comments, the doctype and the style sheet. Panics on a closing tag that does
/// not match, which would be a broken page.
fn parse_html(html: &str) -> Element {
    let mut stack = vec![Element { tag: String::new(), attrs: Vec::new(), children: Vec::new() }];
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            push_text(&mut stack, rest);
            break;
        };
        push_text(&mut stack, &rest[..lt]);
        rest = &rest[lt..];
        let gt = rest.find('>').expect("an unclosed tag");
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let done = stack.pop().expect("an open element");
            assert_eq!(done.tag, name, "</{name}> closes <{}>", done.tag);
            stack.last_mut().expect("a parent").children.push(Node::Element(done));
            continue;
        }
        let self_closing = tag.ends_with('/');
        let el = element(tag.trim_end_matches('/'));
        if el.tag == "style" {
            rest = &rest[rest.find("</style>").expect("a closed style sheet") + "</style>".len()..];
        } else if self_closing || VOID.contains(&el.tag.as_str()) {
            stack.last_mut().expect("a parent").children.push(Node::Element(el));
        } else {
            stack.push(el);
        }
    }
    assert_eq!(stack.len(), 1, "unclosed <{}>", stack.last().map_or("", |e| e.tag.as_str()));
    stack.pop().expect("the document")
}

/// Adds `text` to the open element with each run of white space as one space (kept at
/// the ends, where it separates inline elements); white space alone is layout, dropped.
fn push_text(stack: &mut [Element], text: &str) {
    if text.trim().is_empty() {
        return;
    }
    let mut collapsed = String::new();
    for (i, word) in text.split(char::is_whitespace).enumerate() {
        if i > 0 && !collapsed.ends_with(' ') {
            collapsed.push(' ');
        }
        collapsed += word;
    }
    stack.last_mut().expect("a parent").children.push(Node::Text(collapsed));
}

/// The element of an opening tag's inside, e.g. `a href="#x"`.
fn element(inside: &str) -> Element {
    let (tag, mut rest) = inside.split_once(char::is_whitespace).unwrap_or((inside, ""));
    let mut attrs = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let end = rest.find(['=', ' ']).unwrap_or(rest.len());
        let name = rest[..end].to_owned();
        rest = &rest[end..];
        let value = match rest.strip_prefix('=') {
            Some(v) => {
                let quote = v.chars().next().expect("a value");
                let close = v[1..].find(quote).expect("a closed value") + 1;
                rest = &v[close + 1..];
                v[1..close].to_owned()
            }
            None => String::new(),
        };
        attrs.push((name, value));
    }
    Element { tag: tag.to_owned(), attrs, children: Vec::new() }
}

/// One line per block element, indented by depth: `tag#id.class attr=value: text`.
/// A table row is one line of its cells (`th: ...` or `td: ...`); an inline chart shows
/// its size and first text (its title).
fn html_outline(html: &str) -> String {
    let mut out = String::new();
    for child in &parse_html(html).children {
        outline(child, 0, &mut out);
    }
    out
}

fn outline(node: &Node, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let el = match node {
        Node::Text(t) => return writeln!(out, "{indent}\"{}\"", t.trim()).expect("write to a String"),
        Node::Element(el) => el,
    };
    let line = if el.tag == "svg" {
        let title = first_text(el).unwrap_or_default();
        format!("svg {}×{}: {}", attr(el, "width"), attr(el, "height"), title.trim())
    } else if el.tag == "tr" {
        // Named by its first cell's tag, so header rows (`th`) stand apart from data (`td`).
        let first = el.children.iter().find_map(|c| match c {
            Node::Element(e) => Some(e.tag.as_str()),
            Node::Text(_) => None,
        });
        let cells: Vec<String> = el.children.iter().map(|c| inline(c).trim().to_owned()).collect();
        format!("{}: {}", first.unwrap_or("tr"), cells.join(" | "))
    } else if el.children.iter().any(is_block) {
        label(el)
    } else {
        let text: String = el.children.iter().map(inline).collect();
        if text.trim().is_empty() { label(el) } else { format!("{}: {}", label(el), text.trim()) }
    };
    let _ = writeln!(out, "{indent}{line}");
    if !matches!(el.tag.as_str(), "svg" | "tr") && el.children.iter().any(is_block) {
        for child in &el.children {
            outline(child, depth + 1, out);
        }
    }
}

fn is_block(node: &Node) -> bool {
    matches!(node, Node::Element(e) if BLOCK.contains(&e.tag.as_str()))
}

/// `tag#id.class other=value ...`.
fn label(el: &Element) -> String {
    let mut s = el.tag.clone();
    for (name, value) in &el.attrs {
        match name.as_str() {
            "id" => s += &format!("#{value}"),
            "class" => s += &format!(".{}", value.replace(' ', ".")),
            _ => s += &format!(" {name}={value}"),
        }
    }
    s
}

/// A node as inline text: elements as `[label text]`, except a table cell without
/// attributes, which is its text.
fn inline(node: &Node) -> String {
    match node {
        Node::Text(t) => t.clone(),
        Node::Element(el) => {
            let text: String = el.children.iter().map(inline).collect();
            if matches!(el.tag.as_str(), "td" | "th") && el.attrs.is_empty() {
                text
            } else {
                format!("[{} {text}]", label(el))
            }
        }
    }
}

fn attr<'a>(el: &'a Element, name: &str) -> &'a str {
    el.attrs.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
}

/// The first text under `el` in document order.
fn first_text(el: &Element) -> Option<String> {
    el.children.iter().find_map(|c| match c {
        Node::Text(t) => Some(t.clone()),
        Node::Element(e) => first_text(e),
    })
}
