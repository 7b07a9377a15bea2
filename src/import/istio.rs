//! The Istio reader: `DestinationRule` and `VirtualService` documents
//! (networking.istio.io v1, v1beta1, v1alpha3), read as istiod translates them into
//! Envoy's cluster and route settings, whose semantics [`super::envoy_map`] maps.
//!
//! A host's rules apply to every caller of its service (a sidecar in each caller
//! applies them): the route `timeout` and `retries`, and the cluster's thresholds, on
//! the edges `*->service`; outlier detection and the balancer on the service. Every
//! host named by a rule gets istiod's defaults for what no rule sets: thresholds of
//! 2³² − 1, `LEAST_REQUEST`, no route timeout (`setTimeout` in istio/istio
//! `pilot/pkg/networking/core/route/route.go`), and, without a `VirtualService` route,
//! istiod's default retry policy (`DefaultPolicy` in
//! `pilot/pkg/networking/core/route/retry/retry.go`: 2 retries on
//! `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`,
//! other hosts first with 5 re-picks, Envoy's 25 ms back-off).
//!
//! Names: a host is the service the `hosts` map names, else its first label
//! (`reviews.prod.svc.cluster.local` is `reviews`).

use std::collections::BTreeMap;

use super::envoy_map::{self, Given, ROUTE_PROTO, Refused, Retry};
use super::istio_rule::{self, HostPolicy};
use super::{Context, Cursor, Entry, Ignored, Imported, Origin, Target, units};
use crate::engine::SimTime;
use crate::scenario::ScenarioError;

/// Where istiod's retry translation lives.
const ISTIOD_RETRY: &str = "istio/istio pilot/pkg/networking/core/route/retry/retry.go";
/// Istio's networking API reference, for errors about a field's form.
const REFERENCE: &str = "https://istio.io/latest/docs/reference/config/networking/";
/// istiod's `defaultRetryOn`.
const DEFAULT_RETRY_ON: &str = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

/// One host's settings, gathered from every document.
struct Host {
    service: String,
    named_at: Origin,
    policy: HostPolicy,
    rule_at: Option<Origin>,
    routes: Vec<Route>,
}

/// One `VirtualService` HTTP route to a host.
struct Route {
    timeout: Option<Given<SimTime>>,
    retry: Option<Retry>,
}

/// Reads Istio files.
pub fn read(entry: &Entry, ctx: &Context) -> Result<Imported, ScenarioError> {
    let mut hosts: BTreeMap<String, Host> = BTreeMap::new();
    let mut ignored = Vec::new();
    for src in &entry.files {
        for doc in src.documents() {
            document(&doc, entry, &mut hosts, &mut ignored).map_err(|e| envoy_map::with_reference(e, REFERENCE))?;
        }
    }
    for (name, h) in &hosts {
        envoy_map::unknown_service(&Given::new(name.clone(), h.named_at.clone()), &h.service, ctx)?;
    }
    let mut out = Imported { ignored, ..Imported::default() };
    for host in hosts.values() {
        emit(host, ctx, &mut out);
    }
    envoy_map::deduplicated(out)
}

fn emit(host: &Host, ctx: &Context, out: &mut Imported) {
    let svc = Target::Service(host.service.clone());
    out.set(&svc, "load_balancer", host.policy.balancer.value, host.policy.balancer.origin.clone());
    if let Some(o) = &host.policy.outlier {
        o.emit(&host.service, out);
    }
    if ctx.known && !ctx.edges.iter().any(|(_, to)| *to == host.service) {
        let reason =
            format!("no service calls `{}` in the scenario: its route and thresholds apply to no call", host.service);
        out.ignored.push(Ignored { origin: host.named_at.clone(), reason });
        return;
    }
    let edge = Target::Edge { from: None, to: host.service.clone() };
    let default_retry;
    let routes: Vec<(Option<&Given<SimTime>>, Option<&Retry>)> = if host.routes.is_empty() {
        default_retry = istiod_retry(&Origin::default_in(&host.named_at, "(no VirtualService route).retries", ""));
        vec![(None, Some(&default_retry))]
    } else {
        host.routes.iter().map(|r| (r.timeout.as_ref(), r.retry.as_ref())).collect()
    };
    let retries = routes.iter().any(|(_, r)| r.is_some());
    host.policy.thresholds.emit(&edge, retries, out);
    for (timeout, retry) in routes {
        if let Some(t) = timeout {
            out.set(&edge, "overall_timeout", units::resim(t.value), t.origin.clone());
        }
        if let Some(r) = retry {
            r.emit(&edge, out);
        }
    }
}

/// One document, by its `kind`.
fn document(
    doc: &Cursor,
    entry: &Entry,
    hosts: &mut BTreeMap<String, Host>,
    ignored: &mut Vec<Ignored>,
) -> Result<(), ScenarioError> {
    let why = "the resource's API version, name, namespace, labels and status do not change what is simulated";
    doc.check_keys(&["kind", "spec"], &["apiVersion", "metadata", "status"], why, ignored)?;
    let kind = doc.require("kind")?;
    match kind.str()? {
        "DestinationRule" => destination_rule(&doc.require("spec")?, entry, hosts, ignored),
        "VirtualService" => virtual_service(&doc.require("spec")?, entry, hosts, ignored),
        "Gateway" | "ServiceEntry" | "Sidecar" | "PeerAuthentication" | "AuthorizationPolicy" | "WorkloadEntry" => {
            let reason = "configures no timeout, retry or circuit breaking";
            ignored.push(Ignored { origin: doc.origin(), reason: reason.into() });
            Ok(())
        }
        other => {
            let mut e = kind.error(format!("`{other}` is not an Istio kind resim reads"));
            e.help = Some("give DestinationRule and VirtualService documents".into());
            Err(e)
        }
    }
}

/// The host entry for `name` at `at`, created with istiod's defaults.
fn host<'h>(
    name: &str,
    at: &Cursor,
    entry: &Entry,
    hosts: &'h mut BTreeMap<String, Host>,
) -> Result<&'h mut Host, ScenarioError> {
    if name.contains('*') {
        let mut e = at.error(format!("wildcard host `{name}`: resim applies a rule to one service"));
        e.help = Some("name the host in full".into());
        return Err(e);
    }
    let service = entry.map.get(name).cloned().unwrap_or_else(|| name.split('.').next().unwrap_or(name).to_owned());
    Ok(hosts.entry(name.to_owned()).or_insert_with(|| Host {
        service,
        named_at: at.origin(),
        policy: HostPolicy::istiod(&at.origin()),
        rule_at: None,
        routes: Vec::new(),
    }))
}

fn destination_rule(
    spec: &Cursor,
    entry: &Entry,
    hosts: &mut BTreeMap<String, Host>,
    ignored: &mut Vec<Ignored>,
) -> Result<(), ScenarioError> {
    let refused: [Refused; 1] = [(
        "workloadSelector",
        "applies the rule to some callers only",
        "remove it; resim applies a rule to every caller of the host",
    )];
    let why = "visibility across namespaces does not change what is simulated";
    envoy_map::check(spec, &["host", "trafficPolicy", "subsets"], &["exportTo"], why, &refused, ignored)?;
    if let Some(s) = spec.get("subsets") {
        istio_rule::subsets(&s, ignored)?;
    }
    let at = spec.require("host")?;
    let h = host(at.str()?, &at, entry, hosts)?;
    if let Some(first) = &h.rule_at {
        let mut e = at.error(format!("a second DestinationRule for `{}` (the first at {first})", at.str()?));
        e.help = Some("Istio applies one rule per host: merge them".into());
        return Err(e);
    }
    h.rule_at = Some(at.origin());
    if let Some(tp) = spec.get("trafficPolicy") {
        istio_rule::traffic_policy(&tp, &mut h.policy, ignored)?;
    }
    Ok(())
}

fn virtual_service(
    spec: &Cursor,
    entry: &Entry,
    hosts: &mut BTreeMap<String, Host>,
    ignored: &mut Vec<Ignored>,
) -> Result<(), ScenarioError> {
    let why = "the hosts a service is reached by, its visibility, and TCP/TLS routes (no HTTP policy) do not \
               change what is simulated";
    spec.check_keys(&["http", "gateways"], &["hosts", "exportTo", "tcp", "tls"], why, ignored)?;
    if let Some(g) = spec.get("gateways") {
        let names: Vec<&str> = g.items()?.iter().map(Cursor::str).collect::<Result<_, _>>()?;
        if !names.contains(&"mesh") {
            let reason =
                "bound to gateways only (no `mesh`): its routes apply at the edge of the mesh, not between services";
            ignored.push(Ignored { origin: g.origin(), reason: reason.into() });
            return Ok(());
        }
    }
    for r in spec.get("http").map(|h| h.items()).transpose()?.unwrap_or_default() {
        http_route(&r, entry, hosts, ignored)?;
    }
    Ok(())
}

fn http_route(
    c: &Cursor,
    entry: &Entry,
    hosts: &mut BTreeMap<String, Host>,
    ignored: &mut Vec<Ignored>,
) -> Result<(), ScenarioError> {
    let refused: [Refused; 5] = [
        (
            "fault",
            "injects delays and aborts",
            "describe the failures with resim's `faults` (a `latency` or `error` fault on the service)",
        ),
        ("mirror", "mirrors traffic: extra load resim would not send", "remove it, or add the mirror as a call"),
        ("mirrors", "mirror traffic: extra load resim would not send", "remove them, or add the mirror as a call"),
        ("mirrorPercentage", "mirrors traffic: extra load resim would not send", "remove it"),
        ("delegate", "hands the route to another VirtualService", "inline the delegate's routes"),
    ];
    let plumbing = ["name", "match", "rewrite", "headers", "corsPolicy", "redirect", "directResponse"];
    let why = "matching, rewrites, headers, CORS and answers the proxy gives itself do not change what is simulated";
    envoy_map::check(c, &["route", "timeout", "retries"], &plumbing, why, &refused, ignored)?;
    let Some(dests) = c.get("route") else { return Ok(()) };
    let items = dests.items()?;
    let mut named: Vec<(String, Cursor)> = Vec::new();
    for d in &items {
        d.check_keys(&["destination", "weight"], &["headers"], "headers", ignored)?;
        let dest = d.require("destination")?;
        dest.check_keys(&["host"], &["subset", "port"], "resim's instances of a service are alike", ignored)?;
        let at = dest.require("host")?;
        named.push((at.str()?.to_owned(), at));
    }
    if let Some((other, at)) = named.iter().find(|(h, _)| *h != named[0].0) {
        let mut e = at.error(format!("the route splits traffic between `{}` and `{other}`", named[0].0));
        e.help = Some("give each route one host; split traffic with calls' `probability` in the scenario".into());
        return Err(e);
    }
    let Some((name, at)) = named.first() else { return Ok(()) };
    let timeout = match c.get("timeout") {
        Some(t) => match units::go(&t)? {
            SimTime::ZERO => None,
            d => Some(Given::new(d, t.origin())),
        },
        None => None,
    };
    let retry = match c.get("retries") {
        Some(r) => retries(&r, ignored)?,
        None => Some(istiod_retry(&Origin::default_in(&c.origin(), "retries", ""))),
    };
    host(name, at, entry, hosts)?.routes.push(Route { timeout, retry });
    Ok(())
}

/// istiod's default retry policy, noted as defaults under `at`.
fn istiod_retry(at: &Origin) -> Retry {
    let d = |key: &str, what: &str| Origin::default_in(at, key, format!("istiod's default: {ISTIOD_RETRY} {what}"));
    let back = format!("Envoy's default: {ROUTE_PROTO} RetryBackOff (25ms base, 10x base cap)");
    let on = envoy_map::outcomes(DEFAULT_RETRY_ON, &[]).unwrap_or_default();
    Retry {
        num_retries: Given::new(2, d("attempts", "defaultNumRetries")),
        per_try_timeout: None,
        retry_on: Given::new(on, d("retryOn", DEFAULT_RETRY_ON)),
        base: Given::new(envoy_map::BASE_INTERVAL, Origin::default_in(at, "backoff", back.clone())),
        cap: Given::new(envoy_map::default_cap(envoy_map::BASE_INTERVAL), Origin::default_in(at, "backoff", back)),
        previous_hosts: Given::new(true, d("retryIgnorePreviousHosts", "previous_hosts predicate")),
        reselects: Given::new(5, d("host_selection_retry_max_attempts", "HostSelectionRetryMaxAttempts")),
    }
}

/// `retries` (HTTPRetry), as `ConvertPolicy` translates it; `None` when `attempts` is
/// 0, which disables retries.
fn retries(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Option<Retry>, ScenarioError> {
    let refused: [Refused; 1] = [(
        "retryRemoteLocalities",
        "moves retries to other localities (Envoy's previous_priorities), which resim does not model",
        "remove it; resim's balancer picks among all of a service's instances",
    )];
    let known = ["attempts", "perTryTimeout", "retryOn", "retryIgnorePreviousHosts", "backoff"];
    if let Some(r) = c.get("retryRemoteLocalities") {
        if r.bool()? {
            envoy_map::refuse(c, &refused)?;
        }
        ignored
            .push(Ignored { origin: r.origin(), reason: "false: retries stay in the locality, as resim's do".into() });
    }
    let mut all = known.to_vec();
    all.push("retryRemoteLocalities");
    c.check_keys(&all, &[], "", ignored)?;
    let at = c.origin();
    let attempts = match c.get("attempts") {
        Some(a) => Given::new(a.u32()?, a.origin()),
        None => Given::new(0, Origin::default_in(&at, "attempts", "unset: 0")),
    };
    if attempts.value == 0 {
        let reason = "0 attempts: istiod sets no retry policy, as resim without `retry`";
        ignored.push(Ignored { origin: attempts.origin, reason: reason.into() });
        return Ok(None);
    }
    let mut r = istiod_retry(&at);
    r.num_retries = attempts;
    if let Some(on) = c.get("retryOn") {
        // istiod's parseRetryOn: numbers are status codes, which turn on retriable-status-codes.
        let (codes, names): (Vec<&str>, Vec<&str>) =
            on.str()?.split(',').map(str::trim).filter(|s| !s.is_empty()).partition(|s| s.parse::<u32>().is_ok());
        let codes: Vec<u32> = codes.iter().filter_map(|s| s.parse().ok()).collect();
        let mut conditions = names.join(",");
        if !codes.is_empty() {
            conditions.push_str(",retriable-status-codes");
        }
        r.retry_on = Given::new(envoy_map::retry_on(&conditions, &codes, &on)?, on.origin());
    }
    if let Some(t) = c.get("perTryTimeout") {
        r.per_try_timeout = Some(Given::new(units::go(&t)?, t.origin()));
    }
    if let Some(p) = c.get("retryIgnorePreviousHosts") {
        r.previous_hosts = Given::new(p.bool()?, p.origin());
    }
    if let Some(b) = c.get("backoff") {
        let base = units::go(&b)?;
        if base == SimTime::ZERO {
            return Err(b.error("a back-off of 0: Envoy requires a base interval above 0"));
        }
        r.base = Given::new(base, b.origin());
        let note = format!("Envoy's default: {ROUTE_PROTO} 10x base_interval");
        r.cap = Given::new(envoy_map::default_cap(base), b.origin().noted(note));
    }
    Ok(Some(r))
}
