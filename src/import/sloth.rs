//! Sloth's SLO specs (github.com/slok/sloth): the `prometheus/v1` file
//! (`pkg/prometheus/api/v1/v1.go`) and the Kubernetes `PrometheusServiceLevel` resource
//! (`sloth.slok.dev/v1`, `pkg/kubernetes/api/sloth/v1/types.go`, the same fields in
//! camelCase), read into resim `slos` entries and `alerting.rules`.
//!
//! Each SLO becomes a resim SLO named as Sloth names its rules, `{service}-{name}`
//! (Sloth's SLO ID, `internal/storage/io/sloth.go`): `objective` (Sloth's percentage), the period (Sloth has none in the
//! file: `sloth generate --default-slo-period`, 30 days), and the `events` queries as the
//! deployed SLI for `resim export prometheus-rules`. A `raw` SLI (an error ratio) is
//! carried as its error query over a total of `1`, so Sloth's `(error)/(total)` is the
//! ratio itself. A `plugin` SLI and SLO plugins run Go code at generation time and are
//! refused. An error query reading one histogram bucket `le="X"` makes a latency SLO
//! (see [`super::slo_common`]).
//!
//! Alerts are Sloth's multi-window, multi-burn-rate pairs (`internal/alert/windows/
//! google-30d.yaml`, from the SRE workbook's table 5-8): page on 2% of the budget in 1h
//! (short window 5m) and 5% in 6h (30m), ticket on 10% in 1d (2h) and 10% in 3d (6h);
//! the burn-rate factor is `budget% × period / long window` (`Windows.getBurnRateFactor`
//! in `internal/alert/window.go`): 14.4, 6, 3 and 1 over 30 days. `disable: true` drops
//! a severity's pair.

use super::slo_common::{Alerts, Rule, SloOut, bucket_threshold, description, target};
use super::{Context, Cursor, Entry, Ignored, Imported, Origin, Target};
use crate::engine::SimTime;
use crate::scenario::ScenarioError;
use crate::scenario::slo_spec::Severity;

/// The keys that differ between the file form and the Kubernetes resource.
struct Names {
    slo_plugins: &'static str,
    error_query: &'static str,
    total_query: &'static str,
    error_ratio_query: &'static str,
    page_alert: &'static str,
    ticket_alert: &'static str,
}

/// `version: prometheus/v1` (snake_case keys).
const FILE: Names = Names {
    slo_plugins: "slo_plugins",
    error_query: "error_query",
    total_query: "total_query",
    error_ratio_query: "error_ratio_query",
    page_alert: "page_alert",
    ticket_alert: "ticket_alert",
};

/// `apiVersion: sloth.slok.dev/v1`, `kind: PrometheusServiceLevel` (camelCase keys).
const CRD: Names = Names {
    slo_plugins: "sloPlugins",
    error_query: "errorQuery",
    total_query: "totalQuery",
    error_ratio_query: "errorRatioQuery",
    page_alert: "pageAlert",
    ticket_alert: "ticketAlert",
};

/// Sloth's default SLO period: `--default-slo-period` defaults to `30d`
/// (`cmd/sloth/commands/generate.go`).
const PERIOD: SimTime = SimTime(30 * 86_400 * 1_000_000_000);
const PERIOD_NOTE: &str = "Sloth's default: `sloth generate --default-slo-period` 30d (cmd/sloth/commands/generate.go)";

/// Sloth's default windows (`internal/alert/windows/google-30d.yaml`): severity, the
/// share of the period's budget in percent, long and short window in minutes.
const WINDOWS: [(Severity, f64, u64, u64); 4] = [
    (Severity::Page, 2.0, 60, 5),
    (Severity::Page, 5.0, 360, 30),
    (Severity::Ticket, 10.0, 1_440, 120),
    (Severity::Ticket, 10.0, 4_320, 360),
];

const LABELS_WHY: &str = "Prometheus labels and annotations of the generated rules: they route and describe alerts, \
                          they do not change what is measured";

/// Reads Sloth files.
pub fn read(entry: &Entry, ctx: &Context) -> Result<Imported, ScenarioError> {
    let mut out = Imported::default();
    let mut alerts = Alerts::default();
    for src in &entry.files {
        for doc in src.documents() {
            let (spec, names) = header(&doc, &mut out.ignored)?;
            read_spec(&spec, names, entry, ctx, &mut out, &mut alerts)?;
        }
    }
    alerts.finish(&mut out, "Sloth");
    Ok(out)
}

/// The spec of a document and its key names: the file form or the Kubernetes resource.
fn header<'a>(doc: &Cursor<'a>, ignored: &mut Vec<Ignored>) -> Result<(Cursor<'a>, &'static Names), ScenarioError> {
    if let Some(api) = doc.get("apiVersion") {
        if api.str()? != "sloth.slok.dev/v1" {
            return Err(api
                .error(format!("`{}` is not Sloth's Kubernetes API", api.str()?))
                .with_help("resim reads `apiVersion: sloth.slok.dev/v1`, `kind: PrometheusServiceLevel`"));
        }
        let kind = doc.require("kind")?;
        if kind.str()? != "PrometheusServiceLevel" {
            return Err(kind
                .error(format!("kind `{}` holds no SLOs", kind.str()?))
                .with_help("resim reads Sloth's `PrometheusServiceLevel` resources"));
        }
        doc.check_keys(
            &["apiVersion", "kind", "spec"],
            &["metadata", "status"],
            "Kubernetes object metadata",
            ignored,
        )?;
        return Ok((doc.require("spec")?, &CRD));
    }
    let version = doc.require("version").map_err(|e| {
        e.with_help("a Sloth file starts with `version: prometheus/v1` (or is a `sloth.slok.dev/v1` resource)")
    })?;
    if version.str()? != "prometheus/v1" {
        return Err(version
            .error(format!("Sloth spec version `{}` is not read", version.str()?))
            .with_help("resim reads `version: prometheus/v1`, Sloth's spec format"));
    }
    Ok((doc.clone(), &FILE))
}

/// An error for a field that runs code resim cannot run.
fn plugins_refused(at: &Cursor) -> ScenarioError {
    at.error("Sloth SLO plugins rewrite the generated rules with Go code, which resim cannot run")
        .with_help("remove the plugins to simulate the SLOs as Sloth's default rules define them")
}

fn read_spec(
    spec: &Cursor,
    names: &Names,
    entry: &Entry,
    ctx: &Context,
    out: &mut Imported,
    alerts: &mut Alerts,
) -> Result<(), ScenarioError> {
    if let Some(p) = spec.get(names.slo_plugins) {
        return Err(plugins_refused(&p));
    }
    spec.check_keys(&["version", "service", "slos", names.slo_plugins], &["labels"], LABELS_WHY, &mut out.ignored)?;
    let service_at = spec.require("service")?;
    let service = service_at.str()?;
    let slos = spec.require("slos")?;
    let items = slos.items()?;
    if items.is_empty() {
        // As Sloth's loader (`internal/storage/io/sloth.go`): "at least one SLO is required".
        return Err(slos.error("the spec has no SLOs").with_help("Sloth requires at least one entry in `slos`"));
    }
    for slo in items {
        read_slo(&slo, names, service, &service_at, entry, ctx, out, alerts)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn read_slo(
    slo: &Cursor,
    names: &Names,
    service: &str,
    service_at: &Cursor,
    entry: &Entry,
    ctx: &Context,
    out: &mut Imported,
    alerts: &mut Alerts,
) -> Result<(), ScenarioError> {
    if let Some(p) = slo.get("plugins") {
        return Err(plugins_refused(&p));
    }
    let known = ["name", "objective", "sli", "alerting", "plugins", "description"];
    slo.check_keys(&known, &["labels"], LABELS_WHY, &mut out.ignored)?;
    description(slo, &mut out.ignored);
    let name = slo.require("name")?.str()?;
    let id = format!("{service}-{name}");
    let objective_at = slo.require("objective")?;
    let objective = objective_at.f64().map_err(|e| e.with_help("Sloth's objective is a percentage, e.g. 99.9"))?;
    if !(objective > 0.0 && objective < 100.0) {
        let why = if objective == 100.0 { "100 leaves no error budget" } else { "it is a percentage in (0, 100)" };
        return Err(objective_at
            .error(format!("objective {objective} is not an SLO target: {why}"))
            .with_help("write the share of good events in percent, e.g. objective: 99.9"));
    }
    let (queries, mut notes) = sli(&slo.require("sli")?, names)?;
    let (target, how) = target(entry, ctx, &[format!("{service}/{name}"), service.to_owned()], service, service_at)?;
    notes.insert(0, how);
    let latency = bucket_threshold(&queries.0);
    if let Some(t) = latency {
        notes.push(format!(
            "a latency SLO: the error query counts requests outside the histogram bucket le={}",
            crate::engine::format::format_duration(t)
        ));
    }
    notes.push(format!("period: {PERIOD_NOTE}"));
    let out_slo = SloOut {
        name: id.clone(),
        target,
        objective: format!("{objective}%").into(),
        period: PERIOD,
        latency,
        queries: Some(queries),
    };
    out.set(&Target::Slo(id.clone()), "", out_slo.value(), slo.origin().noted(notes.join("; ")));
    let alerting_at = slo.require("alerting").map_err(|e| {
        e.with_help("Sloth requires `alerting: { name: ... }`; turn a severity off with `disable: true` under it")
    })?;
    let rules = alerting(&alerting_at, names, &mut out.ignored)?;
    alerts.add(&id, slo.origin(), rules);
    Ok(())
}

/// The SLI's `(error_query, total_query)` and notes on how they were derived.
fn sli(at: &Cursor, names: &Names) -> Result<((String, String), Vec<String>), ScenarioError> {
    if let Some(p) = at.get("plugin") {
        return Err(p
            .error("a Sloth SLI plugin builds its queries with Go code at generation time, which resim cannot run")
            .with_help(format!(
                "write the queries the plugin generates as `events: {{ {}: ..., {}: ... }}`",
                names.error_query, names.total_query
            )));
    }
    at.check_keys(&["events", "raw", "plugin"], &[], "", &mut Vec::new())?;
    match (at.get("events"), at.get("raw")) {
        (Some(ev), None) => {
            ev.check_keys(&[names.error_query, names.total_query], &[], "", &mut Vec::new())?;
            let error = ev.require(names.error_query)?.str()?.to_owned();
            let total = ev.require(names.total_query)?.str()?.to_owned();
            Ok(((error, total), Vec::new()))
        }
        (None, Some(raw)) => {
            raw.check_keys(&[names.error_ratio_query], &[], "", &mut Vec::new())?;
            let ratio = raw.require(names.error_ratio_query)?.str()?.to_owned();
            let note = "a raw SLI: the error ratio query over a total of 1, so Sloth's (error)/(total) is the ratio";
            Ok(((ratio, "1".to_owned()), vec![note.to_owned()]))
        }
        (Some(_), Some(raw)) => {
            Err(raw.error("an SLI has `events` and `raw`").with_help("Sloth takes one SLI type per SLO: keep one"))
        }
        (None, None) => Err(at
            .error("the SLI has no `events` or `raw` queries")
            .with_help(format!("give `events: {{ {}: ..., {}: ... }}`", names.error_query, names.total_query))),
    }
}

/// The rules of an SLO's `alerting`: the page and ticket pairs unless disabled.
fn alerting(at: &Cursor, names: &Names, ignored: &mut Vec<Ignored>) -> Result<Vec<(Rule, Origin)>, ScenarioError> {
    at.check_keys(&["name", names.page_alert, names.ticket_alert], &["labels", "annotations"], LABELS_WHY, ignored)?;
    // Sloth requires the alert name (`validate:"required"` on Alerting.Name) though it
    // only names the generated rules.
    at.require("name")?.str()?;
    let mut rules = Vec::new();
    for (key, severity) in [(names.page_alert, Severity::Page), (names.ticket_alert, Severity::Ticket)] {
        let origin = match at.get(key) {
            Some(alert) => {
                alert.check_keys(&["disable"], &["labels", "annotations"], LABELS_WHY, ignored)?;
                if let Some(d) = alert.get("disable")
                    && d.bool()?
                {
                    continue;
                }
                alert.origin().noted("Sloth's default windows (internal/alert/windows/google-30d.yaml)")
            }
            None => Origin::default_in(
                &at.origin(),
                key,
                "Sloth's default: enabled, with its default windows (internal/alert/windows/google-30d.yaml)",
            ),
        };
        for (s, budget_percent, long_min, short_min) in WINDOWS {
            if s != severity {
                continue;
            }
            let minute = 60_000_000_000u64;
            let long = SimTime(long_min * minute);
            // Windows.getBurnRateFactor: the hours that spend the budget share, over the long window's hours.
            let burn_rate = budget_percent * (PERIOD.0 as f64 / 3.6e12) / 100.0 / (long.0 as f64 / 3.6e12);
            let rule = Rule { burn_rate, long, short: SimTime(short_min * minute), severity };
            rules.push((rule, origin.clone()));
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_windows_give_sloths_burn_rates() {
        let mut ignored = Vec::new();
        let src = super::super::Source::parse("name: A\n".into(), std::path::Path::new("s.yaml")).unwrap();
        let rules = alerting(&src.doc(0), &FILE, &mut ignored).unwrap();
        let rates: Vec<f64> = rules.iter().map(|(r, _)| r.burn_rate).collect();
        assert_eq!(rates, vec![14.4, 6.0, 3.0, 1.0]);
    }
}
