//! OpenSLO v1 `SLI` specs (inline `indicator` or `kind: SLI` documents) read into the
//! deployed Prometheus queries of a resim SLO, and whether they measure latency.
//!
//! A `ratioMetric` becomes Sloth's `events` form: `bad` is the error query as is, `good`
//! becomes `(total) - (good)`; a precomputed `raw` ratio becomes the error ratio over a
//! total of `1` (`1 - (raw)` for a ratio of successes). resim's exported rules evaluate
//! the queries at each alert window (`{{.window}}`, Sloth's convention), so a query keeps
//! `{{.window}}` if it has one; otherwise its range selectors (`[5m]`) become
//! `[{{.window}}]`, and a bare counter selector (`counter: true`) becomes
//! `sum(rate(Q[{{.window}}]))`. A query with no range that is not a counter has no
//! window to scale and is refused. A query on another metric source (Datadog, ...) is
//! listed as not simulated: the SLO still runs, measured on resim's own requests.

use super::slo_common::bucket_threshold;
use super::{Cursor, Ignored};
use crate::engine::SimTime;
use crate::scenario::ScenarioError;

/// Where SLIs and DataSources are found by name.
pub trait Lookup<'a> {
    /// The document of `kind` named by the text at `at` (an error located there if none).
    fn find(&self, kind: &str, at: &Cursor<'a>) -> Result<Cursor<'a>, ScenarioError>;
}

/// What an SLI says for a resim SLO.
#[derive(Clone, Debug, Default)]
pub struct Sli {
    /// The Prometheus `(error_query, total_query)`, when every query is Prometheus.
    pub queries: Option<(String, String)>,
    /// The threshold of a histogram-bucket ratio (a latency SLI).
    pub latency: Option<SimTime>,
    /// A `thresholdMetric`'s query text (the objective's `op` and `value` complete it).
    pub threshold_query: Option<String>,
    /// How the queries were derived.
    pub notes: Vec<String>,
}

const WINDOW: &str = "{{.window}}";

/// The spec of an SLI at `at` (a mapping with `spec`, inline or a document).
pub fn read<'a>(at: &Cursor<'a>, defs: &dyn Lookup<'a>, ignored: &mut Vec<Ignored>) -> Result<Sli, ScenarioError> {
    at.check_keys(&["ratioMetric", "thresholdMetric"], &["description"], "a description, for people", ignored)?;
    match (at.get("ratioMetric"), at.get("thresholdMetric")) {
        (Some(r), None) => ratio(&r, defs, ignored),
        (None, Some(t)) => {
            // The query samples a latency metric; resim measures each request instead, and
            // its exported rules count requests over the threshold on its own metrics.
            let q = metric(&t, defs, None, false, ignored)?;
            if q.prom.is_some() {
                let origin = t.require("metricSource")?.require("spec")?.origin();
                let reason = "a threshold metric's query: resim counts requests answered within the objective's                               value, on its own metrics";
                ignored.push(Ignored { origin, reason: reason.into() });
            }
            Ok(Sli { threshold_query: Some(q.text), ..Sli::default() })
        }
        (Some(_), Some(t)) => Err(t
            .error("an SLI has both `ratioMetric` and `thresholdMetric`")
            .with_help("OpenSLO takes one of them: keep the one the SLO measures")),
        (None, None) => Err(at
            .error("the SLI has no `ratioMetric` or `thresholdMetric`")
            .with_help("give `ratioMetric: { counter: true, bad: ..., total: ... }` (OpenSLO v1 SLI)")),
    }
}

fn ratio<'a>(at: &Cursor<'a>, defs: &dyn Lookup<'a>, ignored: &mut Vec<Ignored>) -> Result<Sli, ScenarioError> {
    at.check_keys(&["counter", "good", "bad", "total", "rawType", "raw"], &[], "", ignored)?;
    let counter = at.get("counter").map(|c| c.bool()).transpose()?;
    if let Some(raw) = at.get("raw") {
        if let Some(extra) = ["good", "bad", "total"].iter().find_map(|k| at.get(k)) {
            return Err(extra.error("a ratio metric has `raw` and a good/bad/total query").with_help("keep one form"));
        }
        let kind_at = at.require("rawType").map_err(|e| e.with_help("say `rawType: success` or `failure`"))?;
        let q = metric(&raw, defs, None, true, ignored)?;
        let (error, note) = match kind_at.str()? {
            "failure" => (q.prom.clone(), "a raw failure ratio over a total of 1"),
            "success" => {
                (q.prom.as_ref().map(|p| format!("1 - ({p})")), "a raw success ratio: 1 - (raw), over a total of 1")
            }
            other => {
                return Err(kind_at.error(format!("rawType `{other}` is neither `success` nor `failure`")));
            }
        };
        let mut notes = q.notes;
        notes.push(note.to_owned());
        return Ok(Sli { queries: error.map(|e| (e, "1".to_owned())), notes, ..Sli::default() });
    }
    let total = metric(&at.require("total")?, defs, counter, true, ignored)?;
    let (numerator, good) = match (at.get("good"), at.get("bad")) {
        (Some(g), None) => (metric(&g, defs, counter, true, ignored)?, true),
        (None, Some(b)) => (metric(&b, defs, counter, true, ignored)?, false),
        (Some(_), Some(b)) => {
            return Err(b.error("a ratio metric has both `good` and `bad`").with_help("OpenSLO takes one numerator"));
        }
        (None, None) => return Err(at.error("a ratio metric needs `good` or `bad` over `total`")),
    };
    let latency = bucket_threshold(&numerator.text);
    let queries = match (numerator.prom, total.prom) {
        (Some(n), Some(t)) if good => Some((format!("({t}) - ({n})"), t)),
        (Some(n), Some(t)) => Some((n, t)),
        _ => None,
    };
    let mut notes = numerator.notes;
    notes.extend(total.notes);
    if good && queries.is_some() {
        notes.push("error query: (total) - (good)".into());
    }
    if let Some(t) = latency {
        let side = if good { "within" } else { "outside" };
        notes.push(format!(
            "a latency SLO: the {} query counts requests {side} the histogram bucket le={}",
            if good { "good" } else { "bad" },
            crate::engine::format::format_duration(t)
        ));
    }
    Ok(Sli { queries, latency, threshold_query: None, notes })
}

/// A metric's query: its text, and its windowed Prometheus form if it is Prometheus.
struct Query {
    text: String,
    prom: Option<String>,
    notes: Vec<String>,
}

/// The query of a `metricSource` under `at` (`good`, `total`, `raw`, `thresholdMetric`),
/// evaluated over `{{.window}}` when `window` (ratio queries; see [`windowed`]).
fn metric<'a>(
    at: &Cursor<'a>,
    defs: &dyn Lookup<'a>,
    counter: Option<bool>,
    window: bool,
    ignored: &mut Vec<Ignored>,
) -> Result<Query, ScenarioError> {
    at.check_keys(&["metricSource"], &[], "", ignored)?;
    let ms = at.require("metricSource")?;
    ms.check_keys(&["type", "spec", "metricSourceRef"], &[], "", ignored)?;
    let kind = match (ms.get("type"), ms.get("metricSourceRef")) {
        (Some(t), _) => t.str()?.to_owned(),
        (None, Some(r)) => {
            let ds = defs.find("DataSource", &r)?;
            ds.require("type")?.str()?.to_owned()
        }
        (None, None) => {
            return Err(ms.error("the metric source has no `type` or `metricSourceRef`").with_help(
                "add `type: Prometheus` (OpenSLO: `type` can only be omitted with a DataSource reference)",
            ));
        }
    };
    let spec = ms.require("spec")?;
    if !kind.eq_ignore_ascii_case("prometheus") {
        ignored.push(Ignored {
            origin: spec.origin(),
            reason: format!(
                "a {kind} query: resim measures the SLI on its own requests, and exports rules on its own metric names"
            ),
        });
        let text = spec.get("query").and_then(|q| q.str().ok()).unwrap_or_default().to_owned();
        return Ok(Query { text, prom: None, notes: Vec::new() });
    }
    spec.check_keys(&["query"], &[], "", ignored)?;
    let q_at = spec.require("query")?;
    let text = q_at.str()?.to_owned();
    if !window {
        return Ok(Query { prom: Some(text.clone()), text, notes: Vec::new() });
    }
    let (prom, note) = windowed(&text, counter, &q_at)?;
    Ok(Query { text, prom: Some(prom), notes: note.into_iter().collect() })
}

/// `query` evaluated over `{{.window}}` (see the module docs), with a note when rewritten.
fn windowed(query: &str, counter: Option<bool>, at: &Cursor) -> Result<(String, Option<String>), ScenarioError> {
    if query.contains(WINDOW) {
        return Ok((query.to_owned(), None));
    }
    let (rewritten, ranges) = replace_ranges(query);
    if !ranges.is_empty() {
        let note = format!("`{query}`: range {} evaluated over {WINDOW}", ranges.join(", "));
        return Ok((rewritten, Some(note)));
    }
    let q = query.trim();
    let bare = !q.is_empty()
        && q.find('{').map_or(q, |i| &q[..i]).chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        && q.find('{').is_none_or(|i| q.ends_with('}') && !q[i..].contains(['(', ')']));
    if counter == Some(true) && bare {
        let windowed = format!("sum(rate({q}[{WINDOW}]))");
        return Ok((windowed.clone(), Some(format!("counter `{q}` read as {windowed}"))));
    }
    Err(at
        .error("the query has no range to evaluate it over a window")
        .with_help("write it as a rate over a range, e.g. sum(rate(http_requests_total{code=~\"5..\"}[5m])), or mark a plain counter selector `counter: true`"))
}

/// `query` with every range selector `[5m]` (not a subquery `[5m:1m]`) made
/// `[{{.window}}]`, and the ranges replaced.
fn replace_ranges(query: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(query.len());
    let mut ranges = Vec::new();
    let mut rest = query;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']').map(|c| c + open) else { break };
        let inner = &rest[open + 1..close];
        let is_range = !inner.is_empty()
            && inner.chars().all(|c| c.is_ascii_digit() || "smhdwy".contains(c))
            && inner.starts_with(|c: char| c.is_ascii_digit());
        out.push_str(&rest[..open]);
        if is_range {
            out.push('[');
            out.push_str(WINDOW);
            out.push(']');
            let shown = format!("[{inner}]");
            if !ranges.contains(&shown) {
                ranges.push(shown);
            }
        } else {
            out.push_str(&rest[open..=close]);
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    (out, ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_become_the_window_and_subqueries_stay() {
        let (q, r) = replace_ranges(r#"sum(rate(http_requests_total{code=~"5.."}[5m])) + max_over_time(x[1h:1m])"#);
        assert_eq!(q, r#"sum(rate(http_requests_total{code=~"5.."}[{{.window}}])) + max_over_time(x[1h:1m])"#);
        assert_eq!(r, vec!["[5m]".to_owned()]);
        assert_eq!(replace_ranges("up").1.len(), 0);
    }

    #[test]
    fn bare_counters_are_rated_and_queries_without_a_range_refused() {
        let src = super::super::Source::parse("q: x\n".into(), std::path::Path::new("s.yaml")).unwrap();
        let at = src.doc(0).require("q").unwrap();
        let counter = windowed(r#"http_requests_total{code="500"}"#, Some(true), &at).unwrap();
        assert_eq!(counter.0, r#"sum(rate(http_requests_total{code="500"}[{{.window}}]))"#);
        assert_eq!(
            windowed("sum(rate(x[{{.window}}]))", None, &at).unwrap(),
            ("sum(rate(x[{{.window}}]))".into(), None)
        );
        for refused in [("sum(up)", Some(true)), ("up", Some(false)), ("up", None)] {
            let e = windowed(refused.0, refused.1, &at).unwrap_err();
            assert_eq!((e.line, e.key.as_str()), (1, "q"), "{refused:?}");
            assert!(e.help.unwrap().contains("counter: true"));
        }
    }
}
