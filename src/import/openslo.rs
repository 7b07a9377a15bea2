//! OpenSLO v1 (github.com/OpenSLO/OpenSLO, README "Specification") read into resim
//! `slos` entries and `alerting.rules`.
//!
//! The files hold documents of seven kinds. `SLO`, `SLI`, `AlertPolicy`,
//! `AlertCondition` and `DataSource` (for a metric source's `type`) are read, in any
//! file and order, and referenced by name; `Service` and `AlertNotificationTarget` are
//! plumbing, listed as not simulated. Each SLO objective becomes one resim SLO (named
//! `<slo>-<objective displayName>` when there are several): its target from `service`,
//! its period from `timeWindow` (OpenSLO sets no default: resim's 30 days), its SLI from
//! [`super::openslo_sli`]. A `thresholdMetric` SLI is read only as a latency (`op: lte`,
//! `value` in the query's unit, seconds by Prometheus' convention): resim counts
//! requests, so "the metric stays within X" becomes "requests are answered within X".
//!
//! `budgetingMethod` must be `Occurrences`: resim's budgets count requests; `Timeslices`
//! and `RatioTimeslices` count good time slices, which resim does not compute.
//!
//! An `AlertPolicy`'s burn-rate condition becomes a resim rule: `threshold` is the burn
//! rate, `lookbackWindow` the long window, and the short window a twelfth of it (the SRE
//! workbook's rule for multi-window alerts, chapter 5 table 5-8: 1h/5m, 6h/30m, and
//! Sloth's 1d/2h, 3d/6h). `alertAfter` (a `for:` delay) has no resim counterpart and is
//! listed as not simulated.

use super::openslo_sli::{self, Lookup, Sli};
use super::slo_common::{Alerts, Rule, SloOut, description, target};
use super::{Context, Cursor, Entry, Ignored, Imported, Origin, Target, units};
use crate::engine::SimTime;
use crate::engine::format::format_duration;
use crate::scenario::ScenarioError;
use crate::scenario::error::suggest;
use crate::scenario::slo_spec::Severity;

/// The kinds OpenSLO v1 defines.
const KINDS: [&str; 7] =
    ["SLO", "SLI", "AlertPolicy", "AlertCondition", "DataSource", "Service", "AlertNotificationTarget"];

const NAMES_WHY: &str = "names, labels and annotations: they describe objects, they do not change what is measured";

/// resim's default SLO period (OpenSLO's `timeWindow` is optional and has no default).
const DEFAULT_PERIOD: SimTime = SimTime(30 * 86_400 * 1_000_000_000);

/// The named documents of an import.
#[derive(Default)]
struct Defs<'a> {
    items: Vec<(String, String, Cursor<'a>)>,
}

impl<'a> Lookup<'a> for Defs<'a> {
    fn find(&self, kind: &str, at: &Cursor<'a>) -> Result<Cursor<'a>, ScenarioError> {
        let name = at.str()?;
        if let Some((_, _, doc)) = self.items.iter().find(|(k, n, _)| k == kind && n == name) {
            return Ok(doc.clone());
        }
        let names = self.items.iter().filter(|(k, _, _)| k == kind).map(|(_, n, _)| n.as_str());
        let help = match suggest(name, names.clone()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("add a `kind: {kind}` document named `{name}` to the imported files"),
        };
        Err(at.error(format!("no {kind} is named `{name}`")).with_help(help))
    }
}

/// Reads OpenSLO files.
pub fn read(entry: &Entry, ctx: &Context) -> Result<Imported, ScenarioError> {
    let mut out = Imported::default();
    let mut defs = Defs::default();
    for src in &entry.files {
        for doc in src.documents() {
            collect(doc, &mut defs, &mut out.ignored)?;
        }
    }
    let mut alerts = Alerts::default();
    for (kind, _, doc) in &defs.items {
        if kind == "SLO" {
            slo(doc, &defs, entry, ctx, &mut out, &mut alerts)?;
        }
    }
    alerts.finish(&mut out, "OpenSLO");
    // A document referenced by several SLOs is read once for each; list its fields once.
    let mut seen: Vec<Ignored> = Vec::with_capacity(out.ignored.len());
    for i in out.ignored.drain(..) {
        if !seen.contains(&i) {
            seen.push(i);
        }
    }
    out.ignored = seen;
    Ok(out)
}

/// Checks a document's header and files it by kind and name.
fn collect<'a>(doc: Cursor<'a>, defs: &mut Defs<'a>, ignored: &mut Vec<Ignored>) -> Result<(), ScenarioError> {
    let api = doc
        .require("apiVersion")
        .map_err(|e| e.with_help("an OpenSLO document starts with `apiVersion: openslo/v1`"))?;
    if api.str()? != "openslo/v1" {
        return Err(api
            .error(format!("OpenSLO `{}` is not read", api.str()?))
            .with_help("resim reads `apiVersion: openslo/v1`; `oslo convert` turns v1alpha documents into v1"));
    }
    let kind_at = doc.require("kind")?;
    let kind = kind_at.str()?;
    if !KINDS.contains(&kind) {
        let help = suggest(kind, KINDS.iter().copied())
            .map_or_else(|| format!("OpenSLO v1 kinds are {}", KINDS.join(", ")), |n| format!("did you mean `{n}`?"));
        return Err(kind_at.error(format!("`{kind}` is not an OpenSLO v1 kind")).with_help(help));
    }
    doc.check_keys(&["apiVersion", "kind", "metadata", "spec"], &[], "", ignored)?;
    let meta = doc.require("metadata")?;
    meta.check_keys(&["name"], &["displayName", "labels", "annotations"], NAMES_WHY, ignored)?;
    let name_at = meta.require("name")?;
    let name = name_at.str()?.to_owned();
    if matches!(kind, "Service" | "AlertNotificationTarget") {
        let reason =
            format!("an OpenSLO {kind}: it groups SLOs or routes notifications, it does not change what is simulated");
        ignored.push(Ignored { origin: doc.origin(), reason });
        return Ok(());
    }
    if defs.items.iter().any(|(k, n, _)| k == kind && *n == name) {
        return Err(name_at
            .error(format!("a second {kind} is named `{name}`"))
            .with_help("OpenSLO names each object of a kind once: rename one"));
    }
    let spec = doc.require("spec")?;
    if kind == "DataSource" {
        spec.check_keys(
            &["type", "description"],
            &["connectionDetails"],
            "how to connect to the metric source",
            ignored,
        )?;
        description(&spec, ignored);
        spec.require("type")?.str()?;
    }
    defs.items.push((kind.to_owned(), name, if kind == "SLO" { doc } else { spec }));
    Ok(())
}

/// `metadata.name` of a document or an inline object.
fn name_of<'a>(at: &Cursor<'a>) -> Result<&'a str, ScenarioError> {
    at.require("metadata")?.require("name")?.str()
}

fn slo(
    doc: &Cursor,
    defs: &Defs,
    entry: &Entry,
    ctx: &Context,
    out: &mut Imported,
    alerts: &mut Alerts,
) -> Result<(), ScenarioError> {
    let name = name_of(doc)?;
    let spec = doc.require("spec")?;
    let known =
        ["service", "indicator", "indicatorRef", "timeWindow", "budgetingMethod", "objectives", "alertPolicies"];
    spec.check_keys(&known, &["description"], "a description, for people", &mut out.ignored)?;
    budgeting(&spec)?;
    let (period, period_note) = time_window(&spec, &mut out.ignored)?;
    let service_at = spec.require("service")?;
    let service = service_at.str()?;
    let (target, how) = target(entry, ctx, &[name.to_owned(), service.to_owned()], service, &service_at)?;
    let sli = indicator(&spec, defs)?;
    let objectives = spec.require("objectives")?.items()?;
    if objectives.is_empty() {
        return Err(spec
            .require("objectives")?
            .error("the SLO has no objectives")
            .with_help("give one, e.g. `- target: 0.999`"));
    }
    let rules = policies(&spec, defs, &mut out.ignored)?;
    for (i, obj) in objectives.iter().enumerate() {
        let id = if objectives.len() == 1 { name.to_owned() } else { format!("{name}-{}", objective_name(obj, i)?) };
        let sli_at = indicator(obj, defs)?.or_else(|| sli.clone()).ok_or_else(|| {
            spec.error("the SLO has no `indicator` or `indicatorRef`")
                .with_help("give the SLI inline (`indicator: { metadata, spec }`) or by name (`indicatorRef`)")
        })?;
        let read = openslo_sli::read(&sli_at, defs, &mut out.ignored)?;
        let mut notes = vec![how.clone(), period_note.clone()];
        let (objective, latency) = objective(obj, &read, &mut notes, &mut out.ignored)?;
        notes.extend(read.notes.iter().cloned());
        let slo =
            SloOut { name: id.clone(), target: target.clone(), objective, period, latency, queries: read.queries };
        out.set(&Target::Slo(id.clone()), "", slo.value(), obj.origin().noted(notes.join("; ")));
        alerts.add(&id, obj.origin(), rules.clone());
    }
    Ok(())
}

/// A name for objective `i` of several: its `displayName` as a slug, else its index.
fn objective_name(obj: &Cursor, i: usize) -> Result<String, ScenarioError> {
    let Some(d) = obj.get("displayName") else { return Ok(i.to_string()) };
    let mut slug = String::new();
    for c in d.str()?.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    Ok(if slug.is_empty() { i.to_string() } else { slug.to_owned() })
}

/// Refuses every budgeting method but `Occurrences`.
fn budgeting(spec: &Cursor) -> Result<(), ScenarioError> {
    let at = spec.require("budgetingMethod")?;
    match at.str()? {
        "Occurrences" => Ok(()),
        m @ ("Timeslices" | "RatioTimeslices") => Err(at
            .error(format!(
                "a {m} budget counts good time slices; resim's error budgets count requests (OpenSLO's Occurrences)"
            ))
            .with_help("use `budgetingMethod: Occurrences` to simulate the objective over requests")),
        other => Err(at
            .error(format!("`{other}` is not an OpenSLO budgeting method"))
            .with_help("OpenSLO v1 has Occurrences, Timeslices and RatioTimeslices; resim simulates Occurrences")),
    }
}

/// The SLO period and a note on where it came from.
fn time_window(spec: &Cursor, ignored: &mut Vec<Ignored>) -> Result<(SimTime, String), ScenarioError> {
    let Some(tw) = spec.get("timeWindow") else {
        let note = "period: OpenSLO sets no default timeWindow; resim's default 30d".to_owned();
        return Ok((DEFAULT_PERIOD, note));
    };
    let items = tw.items()?;
    let [item] = items.as_slice() else {
        return Err(tw.error(format!("{} time windows; OpenSLO takes exactly one", items.len())));
    };
    item.check_keys(&["duration", "isRolling", "calendar"], &[], "", ignored)?;
    if let Some(r) = item.get("isRolling") {
        r.bool()?;
    }
    if let Some(c) = item.get("calendar") {
        let reason = "calendar alignment (start time, time zone): a simulated run is one window of the period's length";
        ignored.push(Ignored { origin: c.origin(), reason: reason.into() });
    }
    let d = item.require("duration")?;
    let (period, assumed) = units::openslo(&d)?;
    let mut note = format!("period from {}", d.origin());
    if let Some(a) = assumed {
        note.push_str(&format!(" ({a})"));
    }
    Ok((period, note))
}

/// The SLI spec an SLO or an objective names, inline or by reference.
fn indicator<'a>(at: &Cursor<'a>, defs: &Defs<'a>) -> Result<Option<Cursor<'a>>, ScenarioError> {
    match (at.get("indicator"), at.get("indicatorRef")) {
        (Some(i), None) => {
            i.check_keys(&["metadata", "spec", "apiVersion", "kind"], &[], "", &mut Vec::new())?;
            Ok(Some(i.require("spec")?))
        }
        (None, Some(r)) => defs.find("SLI", &r).map(Some),
        (Some(_), Some(r)) => {
            Err(r.error("both `indicator` and `indicatorRef`").with_help("OpenSLO takes one of them"))
        }
        (None, None) => Ok(None),
    }
}

/// An objective's target as a scenario writes it, and a threshold SLI's latency.
fn objective(
    obj: &Cursor,
    sli: &Sli,
    notes: &mut Vec<String>,
    ignored: &mut Vec<Ignored>,
) -> Result<(serde_json::Value, Option<SimTime>), ScenarioError> {
    let known = ["displayName", "op", "value", "target", "targetPercent", "indicator", "indicatorRef"];
    let not_read = ["timeSliceTarget", "timeSliceWindow", "compositeWeight"];
    let why = "time slices and composite weights: resim simulates each objective as its own Occurrences SLO";
    obj.check_keys(&known, &not_read, why, ignored)?;
    let value = match (obj.get("target"), obj.get("targetPercent")) {
        (Some(t), None) => {
            let x = t.f64().map_err(|e| e.with_help("a share of good events, e.g. target: 0.999"))?;
            if !(x > 0.0 && x < 1.0) {
                return Err(t.error(format!("target {x} is outside (0, 1)")).with_help("e.g. target: 0.999"));
            }
            serde_json::Value::from(x)
        }
        (None, Some(p)) => {
            let x = p.f64().map_err(|e| e.with_help("a percentage of good events, e.g. targetPercent: 99.9"))?;
            if !(x > 0.0 && x < 100.0) {
                return Err(p
                    .error(format!("targetPercent {x} is outside (0, 100)"))
                    .with_help("e.g. targetPercent: 99.9"));
            }
            serde_json::Value::from(format!("{x}%"))
        }
        (Some(_), Some(p)) => return Err(p.error("both `target` and `targetPercent`").with_help("OpenSLO takes one")),
        (None, None) => return Err(obj.error("the objective has no `target` or `targetPercent`")),
    };
    let Some(query) = &sli.threshold_query else {
        if let Some(op) = obj.get("op").or_else(|| obj.get("value")) {
            return Err(op
                .error("`op` and `value` belong to threshold metrics")
                .with_help("remove them for a ratio SLI"));
        }
        return Ok((value, sli.latency));
    };
    Ok((value, Some(threshold_latency(obj, query, notes)?)))
}

/// A `thresholdMetric` objective (`op: lte`, `value`) read as a latency threshold.
fn threshold_latency(obj: &Cursor, query: &str, notes: &mut Vec<String>) -> Result<SimTime, ScenarioError> {
    let op_at =
        obj.require("op").map_err(|e| e.with_help("a threshold metric's objective says `op: lte` and `value`"))?;
    let op = op_at.str()?;
    if !matches!(op, "lte" | "lt") {
        return Err(op_at
            .error(format!("`op: {op}` keeps the metric above a value; resim's SLOs bound latency from above"))
            .with_help("a latency objective is `op: lte` with the slowest good answer as `value`"));
    }
    let q = query.to_ascii_lowercase();
    if !["latency", "duration", "_seconds", "_milliseconds", "histogram_quantile"].iter().any(|w| q.contains(w)) {
        return Err(obj
            .error("a threshold metric that is not a latency: resim's SLOs count requests (availability) or requests within a latency")
            .with_help("use a ratioMetric (bad or good over total), or a latency query (a `_seconds` metric or histogram_quantile)"));
    }
    let value_at = obj.require("value")?;
    let x =
        value_at.f64().map_err(|e| e.with_help("the slowest good answer, in the metric's unit, e.g. value: 0.3"))?;
    let scale = if q.contains("_milliseconds") { 1e6 } else { 1e9 };
    if !(x > 0.0 && x * scale <= 3.6e12) {
        return Err(value_at.error(format!("latency {x} is not a positive duration up to an hour")));
    }
    let t = SimTime((x * scale).round() as u64);
    notes.push(format!(
        "a latency SLO: the threshold metric's `{op} {x}` read as requests answered within {} (resim counts requests, not samples of the metric)",
        format_duration(t)
    ));
    Ok(t)
}

/// The spec of an object given by name (`{ REF_KEY: name }`, a document of `kind`) or
/// inline (`{ kind, metadata, spec }`).
fn by_ref_or_inline<'a>(
    item: &Cursor<'a>,
    ref_key: &str,
    kind: &str,
    defs: &Defs<'a>,
    ignored: &mut Vec<Ignored>,
) -> Result<Cursor<'a>, ScenarioError> {
    match item.get(ref_key) {
        Some(r) => {
            item.check_keys(&[ref_key], &[], "", ignored)?;
            defs.find(kind, &r)
        }
        None => {
            item.check_keys(&["kind", "metadata", "spec", "apiVersion"], &[], "", ignored)?;
            item.require("spec")
        }
    }
}

/// The rules of an SLO's `alertPolicies`, inline or by reference.
fn policies(spec: &Cursor, defs: &Defs, ignored: &mut Vec<Ignored>) -> Result<Vec<(Rule, Origin)>, ScenarioError> {
    let Some(list) = spec.get("alertPolicies") else { return Ok(Vec::new()) };
    let mut rules = Vec::new();
    for item in list.items()? {
        let policy = by_ref_or_inline(&item, "alertPolicyRef", "AlertPolicy", defs, ignored)?;
        rules.extend(policy_rules(&policy, defs, ignored)?);
    }
    Ok(rules)
}

/// The rule of one AlertPolicy spec (OpenSLO allows one condition per policy).
fn policy_rules(spec: &Cursor, defs: &Defs, ignored: &mut Vec<Ignored>) -> Result<Vec<(Rule, Origin)>, ScenarioError> {
    let plumbing = ["alertWhenNoData", "alertWhenResolved", "notificationTargets"];
    let why = "notification routing: who is told and of what, not when a burn-rate alert fires";
    spec.check_keys(&["conditions", "alertWhenBreaching", "description"], &plumbing, why, ignored)?;
    description(spec, ignored);
    if let Some(b) = spec.get("alertWhenBreaching")
        && !b.bool()?
    {
        let reason = "alertWhenBreaching: false: the policy does not alert on a burning budget, so it adds no rule";
        ignored.push(Ignored { origin: b.origin(), reason: reason.into() });
        return Ok(Vec::new());
    }
    let conditions = spec.require("conditions")?;
    let items = conditions.items()?;
    let [item] = items.as_slice() else {
        return Err(conditions
            .error(format!("{} conditions; an OpenSLO v1 alert policy has exactly one", items.len()))
            .with_help("give each condition its own AlertPolicy"));
    };
    let cond = by_ref_or_inline(item, "conditionRef", "AlertCondition", defs, ignored)?;
    Ok(vec![condition(&cond, ignored)?])
}

/// An AlertCondition spec as a resim rule.
fn condition(spec: &Cursor, ignored: &mut Vec<Ignored>) -> Result<(Rule, Origin), ScenarioError> {
    spec.check_keys(&["severity", "condition"], &["description"], "a description, for people", ignored)?;
    let sev_at = spec.require("severity")?;
    let severity = match sev_at.str()?.to_ascii_lowercase().as_str() {
        "page" | "critical" => Severity::Page,
        "ticket" | "warning" => Severity::Ticket,
        other => {
            return Err(sev_at
                .error(format!("severity `{other}` is not one resim simulates"))
                .with_help("resim's alerts page or ticket: write `page` (or `critical`) or `ticket` (or `warning`)"));
        }
    };
    let c = spec.require("condition")?;
    c.check_keys(&["kind", "op", "threshold", "lookbackWindow", "alertAfter"], &[], "", ignored)?;
    if let Some(k) = c.get("kind")
        && k.str()? != "burnrate"
    {
        return Err(k
            .error(format!("condition kind `{}` is not read", k.str()?))
            .with_help("OpenSLO v1 defines `burnrate`"));
    }
    let op_at = c.require("op")?;
    if !matches!(op_at.str()?, "gte" | "gt") {
        return Err(op_at
            .error(format!("`op: {}` alerts while the budget burns slowly", op_at.str()?))
            .with_help("a burn-rate alert fires when the burn rate reaches the threshold: write `op: gte`"));
    }
    let th = c.require("threshold")?;
    let burn_rate = th.f64().map_err(|e| e.with_help("the burn rate that alerts, e.g. threshold: 14.4"))?;
    if burn_rate <= 0.0 {
        return Err(th.error("the burn-rate threshold must be above 0").with_help("e.g. threshold: 14.4"));
    }
    let (long, _) = units::openslo(&c.require("lookbackWindow")?)?;
    if let Some(after) = c.get("alertAfter") {
        // OpenSLO's default is `0m`, which the shorthand (a positive number) cannot say.
        let text = after.str()?;
        let zero = text.len() > 1 && text.trim_start_matches('0').len() == 1;
        let delay = if zero { SimTime(0) } else { units::openslo(&after)?.0 };
        if delay > SimTime(0) {
            let reason = format!(
                "alertAfter {}: resim fires as soon as both windows burn, so simulated alerts may come up to {} earlier",
                format_duration(delay),
                format_duration(delay)
            );
            ignored.push(Ignored { origin: after.origin(), reason });
        }
    }
    let short = SimTime(long.0 / 12);
    let note = format!(
        "burn rate {burn_rate} over lookbackWindow {}, short window {} (a twelfth: the SRE workbook's multi-window rule)",
        format_duration(long),
        format_duration(short)
    );
    Ok((Rule { burn_rate, long, short, severity }, c.origin().noted(note)))
}
