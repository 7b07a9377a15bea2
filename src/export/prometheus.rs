//! `resim export prometheus-rules`: a scenario's SLOs as the Prometheus recording and
//! multi-window, multi-burn-rate alerting rules Sloth (slok/sloth, its
//! `internal/prometheus` generator and `alert_rules_v1` plugin) generates, so that the
//! rules a team deploys are the rules resim simulated: `report.json`'s `severity_alerts`
//! are these alerts, evaluated on the simulated windows ([`crate::report::slo`]).
//!
//! Per SLO, three groups, as Sloth names them (`{id}` is `{service}-{slo}`, the service
//! being the SLO's workload or service):
//! - `sloth-slo-sli-recordings-{id}`: `slo:sli_error:ratio_rate{window}` for every window
//!   of the scenario's alert rules (workbook time, as written: `5m`, `1h`...), the SLI's
//!   error ratio over it, and over the SLO period the average of the shortest one;
//! - `sloth-slo-meta-recordings-{id}`: `slo:objective:ratio`, `slo:error_budget:ratio`,
//!   `slo:time_period:days`, `slo:current_burn_rate:ratio`, `slo:period_burn_rate:ratio`,
//!   `slo:period_error_budget_remaining:ratio` and `sloth_slo_info`;
//! - `sloth-slo-alerts-{id}`: one alert per severity (page, then ticket) ORing that
//!   severity's rules, each `max(short > (factor * budget)) without (sloth_window) and
//!   max(long > ...)`, labelled `sloth_severity`, with Sloth's title and summary.
//!
//! Every rule carries `sloth_id`, `sloth_service` and `sloth_slo` (recordings of a window
//! also `sloth_window`). The SLI is the SLO's `prometheus` queries, or queries on resim's
//! metric names ([`super::prometheus_sli`]).

use super::prometheus_sli::{EventQueries, default_queries, percent_text, prom_duration, quoted};
use crate::engine::SimTime;
use crate::model::{Model, Slo, SloTarget};
use crate::report::slo::{alert_name, allowed_bad_fraction, severities};
use crate::scenario::{Scenario, ScenarioError};

/// Whether a rule records a metric or raises an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A recording rule (`record:`).
    Record,
    /// An alerting rule (`alert:`).
    Alert,
}

/// One Prometheus rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Recording or alerting.
    pub kind: Kind,
    /// The recorded metric's or the alert's name.
    pub name: String,
    /// The PromQL expression.
    pub expr: String,
    /// Labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// Annotations, sorted by name (alerts only).
    pub annotations: Vec<(String, String)>,
}

/// A rule group.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// Unique within the file.
    pub name: String,
    /// Its rules, evaluated in order.
    pub rules: Vec<Rule>,
}

/// The name of the recording of the error ratio over `window`.
pub fn sli_metric(window: &str) -> String {
    format!("slo:sli_error:ratio_rate{window}")
}

/// The rules for every SLO of `scenario`, in scenario order.
pub fn rule_groups(scenario: &Scenario) -> Result<Vec<Group>, ScenarioError> {
    let model = &scenario.model;
    if model.slos.is_empty() {
        return Err(ScenarioError::at_key("slos", "the scenario has no SLOs, so there are no rules to export")
            .with_help(
                "add e.g. slos: [{ name: availability, workload: users, kind: availability, objective: 99.9% }]",
            ));
    }
    let windows = rule_windows(model)?;
    let mut groups = Vec::with_capacity(3 * model.slos.len());
    let mut ids: Vec<String> = Vec::new();
    for (i, slo) in model.slos.iter().enumerate() {
        let key = format!("slos.{i}");
        let service = target_name(model, slo);
        let id = format!("{service}-{}", slo.name);
        if ids.contains(&id) {
            return Err(ScenarioError::at_key(
                format!("{key}.name"),
                format!("a second SLO gets the Sloth id `{id}` ({{service}}-{{slo}}), and rule groups must be unique"),
            )
            .with_help("rename one of the SLOs"));
        }
        ids.push(id.clone());
        let queries = queries(scenario, slo, &service, &key)?;
        let period = prom_duration(slo.period).ok_or_else(|| {
            ScenarioError::at_key(format!("{key}.period"), "Prometheus ranges are whole milliseconds")
                .with_help("write the period in whole milliseconds, e.g. 30d")
        })?;
        let base = vec![("sloth_id", id.clone()), ("sloth_service", service.clone()), ("sloth_slo", slo.name.clone())];
        let slo_rules = SloRules { slo, base, windows: &windows, period };
        groups.push(Group { name: format!("sloth-slo-sli-recordings-{id}"), rules: slo_rules.sli(&queries) });
        groups.push(Group { name: format!("sloth-slo-meta-recordings-{id}"), rules: slo_rules.meta() });
        groups.push(Group { name: format!("sloth-slo-alerts-{id}"), rules: slo_rules.alerts(model) });
    }
    Ok(groups)
}

/// The workload's or service's name, Sloth's `service`.
fn target_name(model: &Model, slo: &Slo) -> String {
    match slo.target {
        SloTarget::Workload(w) => model.workloads[w].name.clone(),
        SloTarget::Service(s) => model.services[s].name.clone(),
    }
}

/// The SLO's own queries when the scenario gives them (checked for `{{.window}}`), else
/// the defaults on resim's metric names.
fn queries(scenario: &Scenario, slo: &Slo, service: &str, key: &str) -> Result<EventQueries, ScenarioError> {
    let spec = scenario.spec.slos.iter().find(|s| s.name == slo.name).and_then(|s| s.prometheus.as_ref());
    let Some(p) = spec else { return Ok(default_queries(slo, service)) };
    for (field, q) in [("error_query", &p.error_query), ("total_query", &p.total_query)] {
        // A constant total (`1`) carries a raw error ratio, as the Sloth and OpenSLO
        // importers write Sloth's `raw` SLI: `(ratio) / (1)` is the ratio.
        let constant = q.trim().parse::<f64>().is_ok_and(|x| x > 0.0);
        if !constant && !EventQueries::has_window(q) {
            return Err(ScenarioError::at_key(
                format!("{key}.prometheus.{field}"),
                "the query has no `{{.window}}`, so every window's recording would query the same range",
            )
            .with_help(
                "write the range as [{{.window}}], e.g. sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))",
            ));
        }
    }
    Ok(EventQueries { error: p.error_query.clone(), total: p.total_query.clone() })
}

/// The alert rules' windows (workbook time), distinct, shortest first, as Prometheus
/// durations.
fn rule_windows(model: &Model) -> Result<Vec<(SimTime, String)>, ScenarioError> {
    let mut times: Vec<SimTime> = model.alerting.rules.iter().flat_map(|r| [r.short, r.long]).collect();
    times.sort();
    times.dedup();
    times
        .into_iter()
        .map(|t| {
            prom_duration(t).map(|d| (t, d)).ok_or_else(|| {
                ScenarioError::at_key("alerting.rules", "a window is not a whole number of milliseconds")
                    .with_help("Prometheus ranges are whole milliseconds: write windows like 5m, 1h, 90s")
            })
        })
        .collect()
}

/// One SLO's rules: its labels, the rules' windows and its period.
struct SloRules<'a> {
    slo: &'a Slo,
    base: Vec<(&'static str, String)>,
    windows: &'a [(SimTime, String)],
    period: String,
}

impl SloRules<'_> {
    /// The selector Sloth puts on every reference to the SLO's recordings.
    fn filter(&self) -> String {
        let parts: Vec<String> = self.base.iter().map(|(k, v)| format!("{k}={}", quoted(v))).collect();
        format!("{{{}}}", parts.join(", "))
    }

    /// The base labels plus `extra`, sorted by name.
    fn labels(&self, extra: &[(&str, String)]) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> =
            self.base.iter().chain(extra).map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        all.sort();
        all
    }

    fn record(&self, name: String, expr: String, extra: &[(&str, String)]) -> Rule {
        Rule { kind: Kind::Record, name, expr, labels: self.labels(extra), annotations: Vec::new() }
    }

    /// The error ratio per window, then over the period (the shortest window's average,
    /// as Sloth computes it; skipped when the period is one of the windows).
    fn sli(&self, queries: &EventQueries) -> Vec<Rule> {
        let mut rules: Vec<Rule> = (self.windows.iter())
            .map(|(_, w)| self.record(sli_metric(w), queries.ratio(w), &[("sloth_window", w.clone())]))
            .collect();
        if !self.windows.iter().any(|(t, _)| *t == self.slo.period) {
            let (short, period, filter) = (sli_metric(&self.windows[0].1), &self.period, self.filter());
            let expr = format!(
                "sum_over_time({short}{filter}[{period}])\n/ ignoring (sloth_window)\ncount_over_time({short}{filter}[{period}])"
            );
            rules.push(self.record(sli_metric(period), expr, &[("sloth_window", period.clone())]));
        }
        rules
    }

    /// Sloth's meta recordings.
    fn meta(&self) -> Vec<Rule> {
        let (o, f) = (self.slo.objective, self.filter());
        let per_budget = |metric: String| {
            format!("{metric}{f}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{f}")
        };
        let info = [
            ("sloth_mode", "resim-export".to_owned()),
            ("sloth_objective", percent_text(o)),
            ("sloth_spec", "resim".to_owned()),
            ("sloth_version", env!("CARGO_PKG_VERSION").to_owned()),
        ];
        vec![
            self.record("slo:objective:ratio".into(), format!("vector({o})"), &[]),
            self.record("slo:error_budget:ratio".into(), format!("vector(1-{o})"), &[]),
            self.record(
                "slo:time_period:days".into(),
                format!("vector({})", self.slo.period.as_secs_f64() / 86_400.0),
                &[],
            ),
            self.record("slo:current_burn_rate:ratio".into(), per_budget(sli_metric(&self.windows[0].1)), &[]),
            self.record("slo:period_burn_rate:ratio".into(), per_budget(sli_metric(&self.period)), &[]),
            self.record(
                "slo:period_error_budget_remaining:ratio".into(),
                format!("1 - slo:period_burn_rate:ratio{f}"),
                &[],
            ),
            self.record("sloth_slo_info".into(), "vector(1)".into(), &info),
        ]
    }

    /// One alert per severity, ORing its rules (Sloth's `mwmbAlertTpl`, for any number of
    /// pairs).
    fn alerts(&self, model: &Model) -> Vec<Rule> {
        let (f, budget) = (self.filter(), allowed_bad_fraction(self.slo.objective));
        let window = |t: SimTime| &self.windows.iter().find(|(u, _)| *u == t).expect("every rule window is listed").1;
        severities(&model.alerting.rules)
            .into_iter()
            .map(|(severity, rules)| {
                let pairs: Vec<String> = (rules.iter())
                    .map(|&i| {
                        let r = &model.alerting.rules[i];
                        let above = |t: SimTime| {
                            format!(
                                "max({}{f} > ({} * {budget})) without (sloth_window)",
                                sli_metric(window(t)),
                                r.burn_rate
                            )
                        };
                        format!("(\n    {}\n    and\n    {}\n)", above(r.short), above(r.long))
                    })
                    .collect();
                let who = "{{$labels.sloth_service}} {{$labels.sloth_slo}}";
                Rule {
                    kind: Kind::Alert,
                    name: alert_name(&self.slo.name),
                    expr: pairs.join("\nor\n"),
                    labels: vec![("sloth_severity".into(), severity.into())],
                    annotations: vec![
                        ("summary".into(), format!("{who} SLO error budget burn rate is over expected.")),
                        ("title".into(), format!("({severity}) {who} SLO error budget burn rate is too fast.")),
                    ],
                }
            })
            .collect()
    }
}

/// The rules file for `scenario`: a comment naming where it came from, then `groups:`.
pub fn prometheus_rules(scenario: &Scenario) -> Result<String, ScenarioError> {
    let groups = rule_groups(scenario)?;
    let name = scenario.model.name.replace(['\n', '\r'], " ");
    let mut out = format!(
        "# Generated by `resim export prometheus-rules` from the scenario {name:?}: the rules\n\
         # Sloth (https://github.com/slok/sloth) generates for its SLOs, and the alerts resim\n\
         # simulated (report.json's slos[].severity_alerts).\n# DO NOT EDIT.\n\ngroups:\n"
    );
    for g in &groups {
        out.push_str(&format!("- name: {}\n  rules:\n", yaml_str(&g.name)));
        for r in &g.rules {
            let kind = match r.kind {
                Kind::Record => "record",
                Kind::Alert => "alert",
            };
            out.push_str(&format!("  - {kind}: {}\n", yaml_str(&r.name)));
            out.push_str(&format!("    expr: {}", yaml_block(&r.expr, "      ")));
            for (title, map) in [("labels", &r.labels), ("annotations", &r.annotations)] {
                if !map.is_empty() {
                    out.push_str(&format!("    {title}:\n"));
                    for (k, v) in map {
                        out.push_str(&format!("      {k}: {}\n", yaml_str(v)));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// A YAML double-quoted scalar (JSON's escapes are YAML's).
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A multi-line value as a literal block indented by `indent`; one line as a quoted scalar.
fn yaml_block(s: &str, indent: &str) -> String {
    if !s.contains('\n') {
        return format!("{}\n", yaml_str(s));
    }
    let mut out = String::from("|\n");
    for line in s.lines() {
        if !line.trim().is_empty() {
            out.push_str(indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::Value;

    use super::*;
    use crate::scenario::load_str;

    const SHOP: &str = r#"
name: shop
duration: 10m
services:
  api: { servers: 4, service_time: { exponential: { mean: 20ms } } }
  db: { servers: 2, service_time: { exponential: { mean: 5ms } } }
workloads:
  - { name: users, target: api, arrivals: { poisson: { rate: 50/s } } }
slos:
  - { name: availability, workload: users, kind: availability, objective: 99.9% }
  - { name: db-latency, service: db, kind: latency, threshold: 50ms, objective: 99% }
  - name: checkout
    workload: users
    kind: availability
    objective: 99.5%
    period: 7d
    prometheus:
      error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total_query: sum(rate(http_requests_total[{{ .window }}]))
"#;

    fn scenario(text: &str) -> Scenario {
        load_str(text, Path::new("t.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn parsed(text: &str) -> Value {
        serde_saphyr::from_str(&prometheus_rules(&scenario(text)).expect("export")).expect("the YAML parses")
    }

    fn names(group: &Value) -> Vec<String> {
        let rules = group["rules"].as_array().expect("rules");
        rules.iter().map(|r| r["record"].as_str().or(r["alert"].as_str()).expect("a name").to_owned()).collect()
    }

    #[test]
    fn groups_and_rules_have_sloths_names() {
        let doc = parsed(SHOP);
        let groups = doc["groups"].as_array().expect("groups");
        let group_names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().expect("name")).collect();
        assert_eq!(
            group_names[..3],
            [
                "sloth-slo-sli-recordings-users-availability",
                "sloth-slo-meta-recordings-users-availability",
                "sloth-slo-alerts-users-availability"
            ]
        );
        assert_eq!(group_names[3], "sloth-slo-sli-recordings-db-db-latency");
        assert_eq!(groups.len(), 9);
        let windows = ["5m", "30m", "1h", "6h", "30d"].map(|w| format!("slo:sli_error:ratio_rate{w}"));
        assert_eq!(names(&groups[0]), windows);
        assert_eq!(
            names(&groups[1]),
            [
                "slo:objective:ratio",
                "slo:error_budget:ratio",
                "slo:time_period:days",
                "slo:current_burn_rate:ratio",
                "slo:period_burn_rate:ratio",
                "slo:period_error_budget_remaining:ratio",
                "sloth_slo_info"
            ]
        );
        assert_eq!(names(&groups[2]), ["AvailabilityErrorBudgetBurn"]);
        let r = &groups[0]["rules"][1];
        assert_eq!(r["labels"]["sloth_id"], "users-availability");
        assert_eq!(r["labels"]["sloth_service"], "users");
        assert_eq!(r["labels"]["sloth_slo"], "availability");
        assert_eq!(r["labels"]["sloth_window"], "30m");
        let alert = &groups[2]["rules"][0];
        assert_eq!(alert["labels"]["sloth_severity"], "page");
        assert_eq!(
            alert["annotations"]["title"],
            "(page) {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is too fast."
        );
        let info = &groups[1]["rules"][6]["labels"];
        assert_eq!(
            (info["sloth_objective"].as_str(), info["sloth_slo"].as_str()),
            (Some("99.9"), Some("availability"))
        );
        // The 7-day SLO's period window and meta recordings.
        assert_eq!(names(&groups[6]).last().map(String::as_str), Some("slo:sli_error:ratio_rate7d"));
        assert_eq!(groups[7]["rules"][2]["expr"], "vector(7)");
    }

    #[test]
    fn queries_are_the_slos_own_or_resims_metrics() {
        let doc = parsed(SHOP);
        let expr = |g: usize, r: usize| doc["groups"][g]["rules"][r]["expr"].as_str().expect("expr").to_owned();
        assert_eq!(
            expr(6, 0),
            "(sum(rate(http_requests_total{code=~\"5..\"}[5m])))\n/\n(sum(rate(http_requests_total[5m])))\n"
        );
        assert!(expr(0, 2).contains(r#"resim_workload_requests_total{workload="users",outcome!~"ok|degraded"}[1h]"#));
        assert!(expr(3, 3).contains(
            r#"resim_service_request_duration_seconds_bucket{service="db",outcome=~"ok|degraded",le="0.05"}[6h]"#
        ));
        assert!(expr(0, 4).starts_with(
            r#"sum_over_time(slo:sli_error:ratio_rate5m{sloth_id="users-availability", sloth_service="users", sloth_slo="availability"}[30d])"#
        ));
    }

    #[test]
    fn thresholds_are_factor_times_budget_with_a_pair_per_rule() {
        let text = format!(
            "{SHOP}alerting:\n  rules:\n    - {{ burn_rate: 14.4, long: 1h, short: 5m }}\n    - {{ burn_rate: 3, long: 1d, short: 2h, severity: ticket }}\n    - {{ burn_rate: 1, long: 3d, short: 6h, severity: ticket }}\n"
        );
        let doc = parsed(&text);
        let alerts = doc["groups"][5]["rules"].as_array().expect("db's alerts");
        assert_eq!(alerts.len(), 2, "a page and a ticket alert");
        let page = alerts[0]["expr"].as_str().expect("expr");
        let ticket = alerts[1]["expr"].as_str().expect("expr");
        assert_eq!(alerts[1]["labels"]["sloth_severity"], "ticket");
        // 99%: the budget is 0.01, printed so Prometheus reads the very double resim uses.
        assert_eq!(page.matches("> (14.4 * 0.01))").count(), 2, "{page}");
        assert_eq!(ticket.matches("\nor\n").count(), 1, "{ticket}");
        assert!(ticket.contains(
            "ratio_rate2h{sloth_id=\"db-db-latency\", sloth_service=\"db\", sloth_slo=\"db-latency\"} > (3 * 0.01)"
        ));
        assert!(ticket.contains("ratio_rate3d{") && ticket.contains("> (1 * 0.01)) without (sloth_window)"));
        assert_eq!("0.01".parse::<f64>().unwrap(), allowed_bad_fraction(0.99));
        let windows = names(&doc["groups"][3]);
        assert_eq!(windows.len(), 7, "5m 2h 1h 6h 1d 3d and the period: {windows:?}");
    }

    #[test]
    fn errors_name_the_key_and_the_fix() {
        let none = SHOP.split("slos:").next().expect("head").to_owned();
        let e = prometheus_rules(&scenario(&none)).unwrap_err();
        assert_eq!(e.key, "slos");
        let fixed = SHOP.replace("[{{ .window }}]", "[5m]");
        let e = prometheus_rules(&scenario(&fixed)).unwrap_err();
        assert_eq!(e.key, "slos.2.prometheus.total_query");
        assert!(e.help.expect("help").contains("{{.window}}"));
        // Sloth's ids are `{service}-{slo}`: workload `a` with SLO `b-c` and workload
        // `a-b` with SLO `c` would share `a-b-c`.
        let clash = "
name: clash
duration: 1m
services:
  api: { servers: 1, service_time: { exponential: { mean: 10ms } } }
workloads:
  - { name: a, target: api, arrivals: { poisson: { rate: 5/s } } }
  - { name: a-b, target: api, arrivals: { poisson: { rate: 5/s } } }
slos:
  - { name: b-c, workload: a, kind: availability, objective: 99% }
  - { name: c, workload: a-b, kind: availability, objective: 99% }
";
        let e = prometheus_rules(&scenario(clash)).unwrap_err();
        assert_eq!(e.key, "slos.1.name");
        assert!(e.message.contains("`a-b-c`"), "{}", e.message);
    }
}
