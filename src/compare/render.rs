//! A comparison as a terminal table and as Markdown (`compare.md`). Both render the same
//! cells (see [`cells`]), so the file and the terminal always agree.

use std::fmt::Write as _;

use super::snapshot::{Meta, MetricValue, Section, Unit};
use super::{Comparison, Failure, Marker, Row, Significance, TEST_NAME, Test};
use crate::report::fmt_secs;

/// Column titles.
pub const HEADER: [&str; 7] = ["metric", "A", "B", "change", "change %", "significant", "direction"];

/// The seven cells of a row, as text.
pub fn cells(r: &Row) -> [String; 7] {
    let (abs, rel) = change(r);
    [r.label(), value(r.unit, r.a), value(r.unit, r.b), abs, rel, significance(r), marker(r.marker).to_owned()]
}

/// A value with its CI half-width; `—` when absent.
pub fn value(unit: Unit, v: Option<MetricValue>) -> String {
    match v {
        None => "—".into(),
        Some(MetricValue::Flag(true)) => "met".into(),
        Some(MetricValue::Flag(false)) => "breached".into(),
        Some(MetricValue::Stat(s)) => match s.mean {
            None => "no data".into(),
            Some(m) => match s.half {
                Some(h) => format!("{} ±{}", amount(unit, m), amount(unit, h)),
                None => amount(unit, m),
            },
        },
    }
}

/// A number in a unit, without sign.
pub fn amount(unit: Unit, x: f64) -> String {
    match unit {
        Unit::Ratio => format!("{:.3}%", x * 100.0),
        Unit::Seconds => fmt_secs(x),
        Unit::Count | Unit::PerSecond | Unit::Plain => num(x),
    }
}

fn num(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x.abs() >= 1e5 || x == x.trunc() {
        format!("{x:.0}")
    } else if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else if x.abs() >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.4}")
    }
}

fn change(r: &Row) -> (String, String) {
    let Some(c) = r.change else {
        return match (&r.a, &r.b) {
            (Some(_), None) => ("only in A".into(), String::new()),
            (None, Some(_)) => ("only in B".into(), String::new()),
            (Some(MetricValue::Flag(a)), Some(MetricValue::Flag(b))) if a != b => ("changed".into(), String::new()),
            _ => ("—".into(), String::new()),
        };
    };
    let sign = if c.abs > 0.0 {
        "+"
    } else if c.abs < 0.0 {
        "-"
    } else {
        ""
    };
    let abs = match r.unit {
        Unit::Ratio => format!("{sign}{:.3} pp", c.abs.abs() * 100.0),
        u => format!("{sign}{}", amount(u, c.abs.abs())),
    };
    let rel = match c.rel {
        _ if c.abs == 0.0 => "0.00%".into(),
        Some(x) => format!("{:+.2}%", x * 100.0),
        None => "n/a (A = 0)".into(),
    };
    (abs, rel)
}

/// The significance cell: `yes (p=…)`, `no (p=…)`, or why there is no test.
pub fn significance(r: &Row) -> String {
    match r.test {
        Test::OneSided => "—".into(),
        Test::NoData => "n/a (no data)".into(),
        Test::Verdict => "n/a (verdict)".into(),
        Test::Welch(Significance::NotApplicable) => "n/a (1 replication)".into(),
        Test::Welch(Significance::Deterministic { differs: true }) => "yes (exact)".into(),
        Test::Welch(Significance::Deterministic { differs: false }) => "no (identical)".into(),
        Test::Welch(s @ Significance::Tested { p, .. }) => {
            let p = if p < 1e-4 { "p<0.0001".to_owned() } else { format!("p={p:.4}") };
            format!("{} ({p})", if s.significant() { "yes" } else { "no" })
        }
    }
}

/// `better`, `worse` or `neutral`.
pub fn marker(m: Marker) -> &'static str {
    match m {
        Marker::Better => "better",
        Marker::Worse => "worse",
        Marker::Neutral => "neutral",
    }
}

/// One line about a side: file, scenario, seed, replications.
pub fn describe(m: &Meta) -> String {
    let opt = |x: Option<u64>| x.map_or("?".to_owned(), |v| v.to_string());
    format!(
        "{} (scenario {}, seed {}, {} replications)",
        m.path.display(),
        m.scenario,
        opt(m.seed),
        opt(m.replications)
    )
}

/// The header table: `[what, A, B]` for the report file, scenario, seed, replications.
pub fn provenance(c: &Comparison) -> [[String; 3]; 4] {
    let opt = |x: Option<u64>| x.map_or("?".to_owned(), |v| v.to_string());
    let (a, b) = (&c.a, &c.b);
    [
        ["report".into(), a.path.display().to_string(), b.path.display().to_string()],
        ["scenario".into(), a.scenario.clone(), b.scenario.clone()],
        ["seed".into(), opt(a.seed), opt(b.seed)],
        ["replications".into(), opt(a.replications), opt(b.replications)],
    ]
}

/// Rows grouped by section, in order.
pub fn sections(c: &Comparison) -> Vec<(Section, Vec<&Row>)> {
    let mut out: Vec<(Section, Vec<&Row>)> = Vec::new();
    for r in &c.rows {
        match out.last_mut() {
            Some((s, rows)) if *s == r.section => rows.push(r),
            _ => out.push((r.section, vec![r])),
        }
    }
    out
}

/// The checks' outcome as lines (`None`: no checks were asked for).
pub fn check_lines(checks: Option<&[Failure]>) -> Vec<String> {
    match checks {
        None => Vec::new(),
        Some([]) => vec!["regression checks: all passed".into()],
        Some(fs) => fs.iter().map(|f| format!("regression check FAILED: {}: {}", f.check, f.detail)).collect(),
    }
}

/// The terminal table.
pub fn render_text(c: &Comparison, checks: Option<&[Failure]>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "A: {}\nB: {}\ntest: {TEST_NAME}", describe(&c.a), describe(&c.b));
    for (section, rows) in sections(c) {
        let table: Vec<[String; 7]> = rows.iter().map(|r| cells(r)).collect();
        let mut widths = HEADER.map(|h| h.chars().count());
        for row in &table {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let _ = writeln!(s, "\n{}", section.title());
        let header = HEADER.map(str::to_owned);
        for row in std::iter::once(&header).chain(&table) {
            let mut line = String::from(" ");
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                let pad = " ".repeat(w - cell.chars().count());
                // Names and words left-aligned, numbers right-aligned.
                if matches!(i, 0 | 5 | 6) { line += &format!(" {cell}{pad}") } else { line += &format!(" {pad}{cell}") }
            }
            let _ = writeln!(s, "{}", line.trim_end());
        }
    }
    let _ = writeln!(s, "\nverdict: {}", c.verdict());
    for l in check_lines(checks) {
        let _ = writeln!(s, "{l}");
    }
    s
}

fn md_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace('`', "\\`").replace('<', "&lt;")
}

/// `compare.md`.
pub fn render_markdown(c: &Comparison, checks: Option<&[Failure]>) -> String {
    let mut s = String::from("# resim compare\n\n| | A (baseline) | B (candidate) |\n|---|---|---|\n");
    for [name, a, b] in provenance(c) {
        let _ = writeln!(s, "| {name} | {} | {} |", md_escape(&a), md_escape(&b));
    }
    let _ = writeln!(s, "\n**Verdict:** {}\n\nSignificance: {TEST_NAME}.", md_escape(&c.verdict()));
    for w in &c.warnings {
        let _ = writeln!(s, "\n> Warning: {}", md_escape(w));
    }
    if checks.is_some() {
        let _ = writeln!(s, "\n## Regression checks\n");
        for l in check_lines(checks) {
            let _ = writeln!(s, "- {}", md_escape(&l));
        }
    }
    for (section, rows) in sections(c) {
        let _ = writeln!(s, "\n## {}\n\n| {} |\n|{}", section.title(), HEADER.join(" | "), "---|".repeat(7));
        for r in rows {
            let cells = cells(r).map(|c| md_escape(&c));
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{Change, Direction, Stat};

    fn row(unit: Unit, a: f64, b: f64, test: Test) -> Row {
        let st = |m| Some(MetricValue::Stat(Stat { mean: Some(m), half: Some(0.001), n: 10 }));
        Row {
            section: Section::Workloads,
            entity: "users".into(),
            name: "availability",
            unit,
            direction: Direction::HigherBetter,
            a: st(a),
            b: st(b),
            change: Some(Change { abs: b - a, rel: Some((b - a) / a) }),
            test,
            marker: Marker::Worse,
        }
    }

    #[test]
    fn cells_of_a_ratio() {
        let r = row(Unit::Ratio, 0.99, 0.98, Test::Welch(Significance::Tested { t: -5.0, df: 17.0, p: 0.0001234 }));
        assert_eq!(
            cells(&r),
            [
                "users availability",
                "99.000% ±0.100%",
                "98.000% ±0.100%",
                "-1.000 pp",
                "-1.01%",
                "yes (p=0.0001)",
                "worse"
            ]
            .map(str::to_owned)
        );
        let one = row(Unit::Seconds, 0.1, 0.2, Test::Welch(Significance::NotApplicable));
        assert_eq!(significance(&one), "n/a (1 replication)");
        assert_eq!(change(&one).0, "+100.00ms");
    }

    #[test]
    fn one_sided_rows() {
        let mut r = row(Unit::Count, 1.0, 2.0, Test::OneSided);
        r.b = None;
        r.change = None;
        assert_eq!(change(&r).0, "only in A");
        assert_eq!(value(Unit::Count, r.b), "—");
    }
}
