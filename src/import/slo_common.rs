//! What the OpenSLO and Sloth readers share: an SLO as a resim `slos` entry, its target
//! from the import's `services` map, the latency threshold a histogram query reveals, and
//! the alert rules, which resim holds once for every SLO (`alerting.rules`).
//!
//! **Targets.** The map is looked up by the most specific name first (`service/slo` in
//! Sloth, the SLO's own name in OpenSLO), then by the file's service; its value is
//! `workload:NAME` or `service:NAME`. Unmapped, the service is taken as a workload of
//! that name (what its users see), else as a service of that name; under a scenario
//! that has neither, it is an error located at the file's `service` field.
//!
//! **Latency.** Prometheus keeps latency in histograms; an SLI on latency counts the
//! requests in the bucket `le="X"` (good) or outside it (bad). So when the bad or good
//! query reads one `_bucket` series with one `le` value, the SLO becomes a resim
//! `latency` SLO with threshold X seconds (Prometheus' base unit; `_milliseconds_bucket`
//! in milliseconds); otherwise it is an `availability` SLO. The origin note says which.

use serde_json::{Map, Value, json};

use super::{Context, Cursor, Entry, Ignored, Imported, Origin, Target, units};
use crate::engine::SimTime;
use crate::scenario::ScenarioError;
use crate::scenario::error::suggest;
use crate::scenario::slo_spec::Severity;

/// An SLO read from a file, ready to be written as a resim `slos` entry.
#[derive(Clone, Debug)]
pub struct SloOut {
    /// The resim SLO name.
    pub name: String,
    /// `workload` or `service`, and the name.
    pub target: (&'static str, String),
    /// The objective as a scenario writes it (`"99.9%"` or `0.999`).
    pub objective: Value,
    /// The SLO period.
    pub period: SimTime,
    /// A latency SLO's threshold (`None`: availability).
    pub latency: Option<SimTime>,
    /// The deployed SLI as Prometheus `(error_query, total_query)`, if it is one.
    pub queries: Option<(String, String)>,
}

impl SloOut {
    /// The `slos` entry.
    pub fn value(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), Value::from(self.name.clone()));
        m.insert(self.target.0.into(), Value::from(self.target.1.clone()));
        m.insert("kind".into(), Value::from(if self.latency.is_some() { "latency" } else { "availability" }));
        m.insert("objective".into(), self.objective.clone());
        if let Some(t) = self.latency {
            m.insert("threshold".into(), units::resim(t));
        }
        m.insert("period".into(), period(self.period));
        if let Some((error, total)) = &self.queries {
            m.insert("prometheus".into(), json!({ "error_query": error, "total_query": total }));
        }
        Value::Object(m)
    }
}

/// An SLO period as a scenario writes it: whole days as `30d`, else resim's form.
fn period(t: SimTime) -> Value {
    const DAY: u64 = 86_400_000_000_000;
    if t.0 > 0 && t.0.is_multiple_of(DAY) { Value::from(format!("{}d", t.0 / DAY)) } else { units::resim(t) }
}

/// Lists a `description` under `at` as read and not simulated.
pub fn description(at: &Cursor, ignored: &mut Vec<Ignored>) {
    if let Some(d) = at.get("description") {
        ignored.push(Ignored { origin: d.origin(), reason: "a description, for people".into() });
    }
}

/// The map entry for `names` (most specific first), as `(kind, name, note)`; `None`
/// when none is mapped.
fn mapped(entry: &Entry, names: &[String]) -> Result<Option<(&'static str, String, String)>, ScenarioError> {
    for n in names {
        let Some(to) = entry.map.get(n) else { continue };
        let parsed = match to.split_once(':') {
            Some(("workload", x)) if !x.trim().is_empty() => ("workload", x.trim().to_owned()),
            Some(("service", x)) if !x.trim().is_empty() => ("service", x.trim().to_owned()),
            _ => {
                let key = if entry.key.starts_with("imports.") {
                    format!("{}.services.{n}", entry.key)
                } else {
                    format!("{} {n}", entry.key)
                };
                return Err(ScenarioError::at_key(key, format!("`{to}` is not an SLO target"))
                    .with_help(format!("map `{n}` to `workload:NAME` (what its users see) or `service:NAME`")));
            }
        };
        return Ok(Some((parsed.0, parsed.1, format!("`{n}` mapped to {to}"))));
    }
    Ok(None)
}

/// The target of an SLO whose file names `service` (at `at`): mapped by the first of
/// `names` in the entry's map, else the default rule above. Returns the target and a
/// note on how it was chosen.
pub fn target(
    entry: &Entry,
    ctx: &Context,
    names: &[String],
    service: &str,
    at: &Cursor,
) -> Result<((&'static str, String), String), ScenarioError> {
    if let Some((kind, name, note)) = mapped(entry, names)? {
        return Ok(((kind, name), note));
    }
    if !ctx.known || ctx.workloads.iter().any(|w| w == service) {
        return Ok((
            ("workload", service.to_owned()),
            format!("service `{service}` taken as the workload of that name"),
        ));
    }
    if ctx.services.iter().any(|s| s == service) {
        return Ok((("service", service.to_owned()), format!("service `{service}` taken as the service of that name")));
    }
    let all = ctx
        .workloads
        .iter()
        .map(|w| format!("workload:{w}"))
        .chain(ctx.services.iter().map(|s| format!("service:{s}")));
    let near = suggest(service, ctx.workloads.iter().chain(&ctx.services).map(String::as_str));
    let hint = near.map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
    Err(at.error(format!("the scenario has no workload or service `{service}`")).with_help(format!(
        "map it in the import{hint}: `services: {{ {service}: workload:NAME }}`; targets are: {}",
        all.collect::<Vec<_>>().join(", ")
    )))
}

/// The latency threshold a histogram query reads (see the module docs), if any.
pub fn bucket_threshold(query: &str) -> Option<SimTime> {
    let scale = if query.contains("_milliseconds_bucket") {
        1e6
    } else if query.contains("_bucket") {
        1e9
    } else {
        return None;
    };
    let mut values: Vec<&str> = Vec::new();
    let bytes = query.as_bytes();
    let mut from = 0;
    while let Some(i) = query[from..].find("le").map(|i| i + from) {
        from = i + 2;
        let before = if i == 0 { b'{' } else { bytes[i - 1] };
        if !matches!(before, b'{' | b',' | b' ') {
            continue;
        }
        let rest = query[i + 2..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else { continue };
        let Some(rest) = rest.trim_start().strip_prefix('"') else { continue };
        let Some(end) = rest.find('"') else { continue };
        if !values.contains(&&rest[..end]) {
            values.push(&rest[..end]);
        }
    }
    match values.as_slice() {
        [one] => {
            let x: f64 = one.parse().ok()?;
            (x.is_finite() && x > 0.0).then(|| SimTime((x * scale).round() as u64))
        }
        _ => None,
    }
}

/// One alert rule as resim writes it (`alerting.rules`).
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Burn-rate factor.
    pub burn_rate: f64,
    /// Long window.
    pub long: SimTime,
    /// Short window.
    pub short: SimTime,
    /// `page` or `ticket`.
    pub severity: Severity,
}

impl Rule {
    fn value(&self) -> Value {
        json!({
            "burn_rate": self.burn_rate,
            "long": units::resim(self.long),
            "short": units::resim(self.short),
            "severity": self.severity.as_str(),
        })
    }
}

/// The alert rules of every SLO of an import. resim's rules apply to every SLO, so the
/// import sets their union; an SLO that asked for fewer is listed as read and not
/// simulated as written.
#[derive(Debug, Default)]
pub struct Alerts {
    /// Each SLO's rules, with its name and origin.
    per_slo: Vec<(String, Origin, Vec<Rule>)>,
    /// The union, in order of first use, with the origin and note of its first use.
    union: Vec<(Rule, Origin)>,
}

impl Alerts {
    /// Records the rules of SLO `name` (declared at `origin`); each rule with its own origin.
    pub fn add(&mut self, name: &str, origin: Origin, rules: Vec<(Rule, Origin)>) {
        for (r, o) in &rules {
            if !self.union.iter().any(|(u, _)| u == r) {
                self.union.push((r.clone(), o.clone()));
            }
        }
        self.per_slo.push((name.to_owned(), origin, rules.into_iter().map(|(r, _)| r).collect()));
    }

    /// Sets `alerting.rules` to the union, and lists the SLOs it widens.
    pub fn finish(self, out: &mut Imported, format: &str) {
        let Some((_, first)) = self.union.first() else {
            for (name, origin, _) in self.per_slo {
                out.ignored.push(Ignored {
                    origin,
                    reason: format!("SLO `{name}` has no alert rules in {format}; resim alerts with its default rules"),
                });
            }
            return;
        };
        let value = Value::Array(self.union.iter().map(|(r, _)| r.value()).collect());
        let (mut places, mut notes): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        for (_, o) in &self.union {
            let place = Origin { note: None, ..o.clone() }.to_string();
            if !places.contains(&place) {
                places.push(place);
            }
            if let Some(n) = &o.note
                && !notes.contains(n)
            {
                notes.push(n.clone());
            }
        }
        let mut note = format!("the {format} alert rules of every SLO, from {}", places.join(", "));
        for n in notes {
            note.push_str("; ");
            note.push_str(&n);
        }
        let origin = first.clone().noted(note);
        out.set(&Target::Alerting, "rules", value, origin);
        for (name, origin, rules) in self.per_slo {
            if rules.len() < self.union.len() {
                out.ignored.push(Ignored {
                    origin,
                    reason: format!(
                        "SLO `{name}` asks for {} of the {} alert rules; resim's rules apply to every SLO, so the \
                         others apply to it too",
                        rules.len(),
                        self.union.len()
                    ),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_bucket_bound_is_a_latency_threshold() {
        let q = r#"sum(rate(http_request_duration_seconds_count[{{.window}}])) - sum(rate(http_request_duration_seconds_bucket{le="0.4",verb!="WATCH"}[{{.window}}]))"#;
        assert_eq!(bucket_threshold(q), Some(SimTime(400_000_000)));
        let q = r#"sum(rate(rpc_latency_milliseconds_bucket{job="x", le = "250"}[5m]))"#;
        assert_eq!(bucket_threshold(q), Some(SimTime(250_000_000)));
        for none in [
            r#"sum(rate(http_requests_total{code=~"5.."}[5m]))"#,
            r#"sum(rate(x_bucket{le="0.1"}[5m])) + sum(rate(x_bucket{le="0.2"}[5m]))"#,
            r#"sum(rate(x_bucket{handle="a"}[5m]))"#,
            r#"sum(rate(x_bucket{le="+Inf"}[5m]))"#,
        ] {
            assert_eq!(bucket_threshold(none), None, "{none}");
        }
    }

    #[test]
    fn slos_asking_for_fewer_rules_are_listed() {
        let o = Origin { file: "s.yaml".into(), line: 1, column: 1, key: String::new(), note: None };
        let page = Rule {
            burn_rate: 14.4,
            long: SimTime(3_600_000_000_000),
            short: SimTime(300_000_000_000),
            severity: Severity::Page,
        };
        let ticket = Rule { severity: Severity::Ticket, burn_rate: 3.0, ..page.clone() };
        let mut a = Alerts::default();
        a.add("a", o.clone(), vec![(page.clone(), o.clone()), (ticket, o.clone())]);
        a.add("b", o.clone(), vec![(page, o.clone())]);
        let mut out = Imported::default();
        a.finish(&mut out, "Sloth");
        assert_eq!(out.settings.len(), 1);
        assert_eq!(out.settings[0].value.as_array().unwrap().len(), 2);
        assert_eq!(out.ignored.len(), 1);
        assert!(out.ignored[0].reason.contains("`b` asks for 1 of the 2"), "{}", out.ignored[0].reason);
    }
}
