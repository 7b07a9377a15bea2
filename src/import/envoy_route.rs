//! Envoy's route configuration (`envoy.config.route.v3.RouteConfiguration`): virtual
//! hosts, their routes, and each route's `timeout`, `retry_policy` and `hedge_policy`
//! (a virtual host's policies are the default of its routes; a route's own replaces it
//! whole, as Envoy does: "values are not inherited").

use super::envoy_map::{self, Given, ROUTE_PROTO, Refused, Retry};
use super::{Cursor, Ignored, Origin, units};
use crate::engine::SimTime;
use crate::scenario::ScenarioError;

/// One route to a cluster, as resim simulates it.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The cluster the route sends to.
    pub cluster: Given<String>,
    /// The route timeout (`None`: disabled with `0s`).
    pub timeout: Option<Given<SimTime>>,
    /// The retry policy, if any.
    pub retry: Option<Retry>,
    /// `hedge_policy.hedge_on_per_try_timeout` when true.
    pub hedge: Option<Origin>,
}

const HEADERS: &str = "headers, rewrites, metadata, CORS and per-filter config do not change what is simulated";

/// The routes of a `RouteConfiguration` at `c`.
pub fn route_configuration(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Vec<Rule>, ScenarioError> {
    let refused: [Refused; 2] = [
        ("vhds", "fetches virtual hosts on demand, which an import cannot read", "inline the virtual hosts"),
        (
            "request_mirror_policies",
            "mirrors traffic to another cluster: extra load resim would not send",
            "remove it, or model the mirror as a call in the scenario",
        ),
    ];
    let plumbing = [
        "@type",
        "name",
        "request_headers_to_add",
        "request_headers_to_remove",
        "response_headers_to_add",
        "response_headers_to_remove",
        "internal_only_headers",
        "most_specific_header_mutations_wins",
        "validate_clusters",
        "max_direct_response_body_size_bytes",
        "ignore_port_in_host_matching",
        "ignore_path_parameters_in_path_matching",
        "typed_per_filter_config",
        "metadata",
    ];
    envoy_map::check(c, &["virtual_hosts"], &plumbing, HEADERS, &refused, ignored)?;
    let mut rules = Vec::new();
    for vh in c.get("virtual_hosts").map(|v| v.items()).transpose()?.unwrap_or_default() {
        rules.extend(virtual_host(&vh, ignored)?);
    }
    Ok(rules)
}

fn virtual_host(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Vec<Rule>, ScenarioError> {
    let refused: [Refused; 3] = [
        ("rate_limits", "calls the global rate limit service, which resim does not run", RATE_HELP),
        ("retry_policy_typed_config", "is a retry extension resim cannot read", "use `retry_policy`"),
        ("request_mirror_policies", "mirrors traffic: extra load resim would not send", "remove it"),
    ];
    let plumbing = [
        "name",
        "domains",
        "request_headers_to_add",
        "request_headers_to_remove",
        "response_headers_to_add",
        "response_headers_to_remove",
        "cors",
        "typed_per_filter_config",
        "include_request_attempt_count",
        "include_attempt_count_in_response",
        "per_request_buffer_limit_bytes",
        "request_body_buffer_limit",
        "require_tls",
        "virtual_clusters",
        "metadata",
    ];
    let known = ["routes", "retry_policy", "hedge_policy"];
    envoy_map::check(c, &known, &plumbing, HEADERS, &refused, ignored)?;
    let retry = c.get("retry_policy").map(|r| retry_policy(&r, ignored)).transpose()?;
    let hedge = c.get("hedge_policy").map(|h| hedge_policy(&h)).transpose()?.flatten();
    let mut rules = Vec::new();
    for r in c.get("routes").map(|v| v.items()).transpose()?.unwrap_or_default() {
        if let Some(rule) = route(&r, &retry, &hedge, ignored)? {
            rules.push(rule);
        }
    }
    Ok(rules)
}

const RATE_HELP: &str = "set `rate_limit` on the call or the service in the scenario";

fn route(
    c: &Cursor,
    vh_retry: &Option<Retry>,
    vh_hedge: &Option<Origin>,
    ignored: &mut Vec<Ignored>,
) -> Result<Option<Rule>, ScenarioError> {
    let plumbing = [
        "name",
        "match",
        "metadata",
        "decorator",
        "typed_per_filter_config",
        "request_headers_to_add",
        "request_headers_to_remove",
        "response_headers_to_add",
        "response_headers_to_remove",
        "tracing",
        "per_request_buffer_limit_bytes",
        "request_body_buffer_limit",
        "stat_prefix",
    ];
    let answered_here = ["redirect", "direct_response", "non_forwarding_action", "filter_action"];
    let mut known = vec!["route"];
    known.extend(answered_here);
    envoy_map::check(c, &known, &plumbing, HEADERS, &[], ignored)?;
    if let Some(local) = answered_here.iter().find_map(|k| c.get(k)) {
        ignored.push(Ignored {
            origin: local.origin(),
            reason: "answered by the proxy itself: no call to simulate".into(),
        });
        return Ok(None);
    }
    let action = c.require("route")?;
    route_action(&action, vh_retry, vh_hedge, ignored).map(Some)
}

fn route_action(
    c: &Cursor,
    vh_retry: &Option<Retry>,
    vh_hedge: &Option<Origin>,
    ignored: &mut Vec<Ignored>,
) -> Result<Rule, ScenarioError> {
    let one_cluster = "set `cluster`: resim's call goes to one service (split the traffic with calls' \
                       `probability` in the scenario)";
    let refused: [Refused; 9] = [
        ("weighted_clusters", "splits traffic over several clusters, which one edge cannot express", one_cluster),
        ("cluster_header", "picks the cluster from a request header, which resim's requests lack", one_cluster),
        ("cluster_specifier_plugin", "picks the cluster with a plugin resim cannot run", one_cluster),
        ("inline_cluster_specifier_plugin", "picks the cluster with a plugin resim cannot run", one_cluster),
        ("request_mirror_policies", "mirrors traffic: extra load resim would not send", "remove it"),
        ("rate_limits", "calls the global rate limit service, which resim does not run", RATE_HELP),
        ("retry_policy_typed_config", "is a retry extension resim cannot read", "use `retry_policy`"),
        (
            "max_stream_duration",
            "bounds streams by gRPC headers resim's requests do not carry",
            "use the route `timeout` (resim's `overall_timeout`)",
        ),
        ("internal_redirect_policy", "follows redirects resim's services never send", "remove it"),
    ];
    let plumbing = [
        "prefix_rewrite",
        "regex_rewrite",
        "path_rewrite_policy",
        "host_rewrite_literal",
        "host_rewrite_header",
        "host_rewrite_path_regex",
        "auto_host_rewrite",
        "append_x_forwarded_host",
        "hash_policy",
        "upgrade_configs",
        "cors",
        "include_vh_rate_limits",
        "cluster_not_found_response_code",
        "metadata_match",
        "early_data_policy",
        "idle_timeout",
    ];
    let known = ["cluster", "timeout", "retry_policy", "hedge_policy", "priority"];
    envoy_map::check(
        c,
        &known,
        &plumbing,
        "rewrites, hashing and stream idle timeouts do not change what is simulated (a simulated answer never stalls mid-stream)",
        &refused,
        ignored,
    )?;
    if let Some(p) = c.get("priority")
        && p.str()? != "DEFAULT"
    {
        let mut e = p.error(format!("route priority `{}`: resim has one priority", p.str()?));
        e.help = Some("remove it (DEFAULT is Envoy's default)".into());
        return Err(e);
    }
    let cluster = c.require("cluster")?;
    let cluster = Given::new(cluster.str()?.to_owned(), cluster.origin());
    let retry = match c.get("retry_policy") {
        Some(r) => Some(retry_policy(&r, ignored)?),
        None => vh_retry.clone(),
    };
    let hedge = match c.get("hedge_policy") {
        Some(h) => hedge_policy(&h)?,
        None => vh_hedge.clone(),
    };
    Ok(Rule { cluster, timeout: route_timeout(c, ignored)?, retry, hedge })
}

/// The route `timeout`: 15 s when omitted, none when `0s`.
fn route_timeout(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Option<Given<SimTime>>, ScenarioError> {
    match c.get("timeout") {
        None => Ok(Some(Given::new(
            envoy_map::ROUTE_TIMEOUT,
            Origin::default_in(&c.origin(), "timeout", format!("Envoy's default: {ROUTE_PROTO} RouteAction.timeout")),
        ))),
        Some(t) => match units::go(&t)? {
            SimTime::ZERO => {
                ignored.push(Ignored { origin: t.origin(), reason: "0s disables the route timeout".into() });
                Ok(None)
            }
            d => Ok(Some(Given::new(d, t.origin()))),
        },
    }
}

/// Reads an Envoy `RetryPolicy`, with Envoy's defaults for what it omits.
pub fn retry_policy(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Retry, ScenarioError> {
    let refused: [Refused; 5] = [
        (
            "retry_priority",
            "moves retries to other priorities or localities, which resim does not model",
            "remove it; resim's balancer picks among all of a service's instances",
        ),
        ("retry_options_predicates", "is an extension resim cannot run", "remove it"),
        (
            "rate_limited_retry_back_off",
            "waits as the answer's reset headers say, which resim's answers do not carry",
            "remove it; a service's `pushback` in the scenario tells callers when to retry",
        ),
        ("retriable_headers", "retries on response headers, which resim's answers do not carry", "remove it"),
        (
            "retriable_request_headers",
            "retries only requests with some headers; resim's requests carry none",
            "remove it to retry every request",
        ),
    ];
    let known = [
        "retry_on",
        "num_retries",
        "per_try_timeout",
        "retry_back_off",
        "retry_host_predicate",
        "host_selection_retry_max_attempts",
        "retriable_status_codes",
    ];
    let idle = "a per-try idle timeout: a simulated answer never stalls mid-stream";
    envoy_map::check(c, &known, &["per_try_idle_timeout"], idle, &refused, ignored)?;
    let here = c.origin();
    let default = |key: &str| Origin::default_in(&here, key, format!("Envoy's default: {ROUTE_PROTO} RetryPolicy"));
    let num_retries = match c.get("num_retries") {
        Some(n) => Given::new(n.u32()?, n.origin()),
        None => Given::new(envoy_map::NUM_RETRIES, default("num_retries")),
    };
    let codes = match c.get("retriable_status_codes") {
        Some(l) => l.items()?.iter().map(Cursor::u32).collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let retry_on = match c.get("retry_on") {
        Some(on) => Given::new(envoy_map::retry_on(on.str()?, &codes, &on)?, on.origin()),
        None => Given::new(Vec::new(), default("retry_on").noted("no retry_on: Envoy retries nothing")),
    };
    let per_try_timeout =
        c.get("per_try_timeout").map(|t| Ok::<_, ScenarioError>(Given::new(units::go(&t)?, t.origin()))).transpose()?;
    let (base, cap) = back_off(c, &here)?;
    let previous_hosts = host_predicates(c, &default, ignored)?;
    let reselects = match c.get("host_selection_retry_max_attempts") {
        Some(n) => Given::new(n.u32()?, n.origin()),
        None => Given::new(1, default("host_selection_retry_max_attempts")),
    };
    Ok(Retry { num_retries, per_try_timeout, retry_on, base, cap, previous_hosts, reselects })
}

/// `retry_back_off`: `base_interval` (25 ms when the whole is omitted) and
/// `max_interval` (10 × base when omitted).
fn back_off(c: &Cursor, here: &Origin) -> Result<(Given<SimTime>, Given<SimTime>), ScenarioError> {
    let Some(b) = c.get("retry_back_off") else {
        let note = format!("Envoy's default: {ROUTE_PROTO} RetryBackOff (25ms base, 10x base cap)");
        let base = Given::new(envoy_map::BASE_INTERVAL, Origin::default_in(here, "retry_back_off", note));
        let cap = Given::new(envoy_map::default_cap(base.value), base.origin.clone());
        return Ok((base, cap));
    };
    b.check_keys(&["base_interval", "max_interval"], &[], "", &mut Vec::new())?;
    let at = b.require("base_interval")?;
    let base = Given::new(units::go(&at)?, at.origin());
    if base.value == SimTime::ZERO {
        return Err(at.error("`base_interval` must be greater than zero (Envoy's validation: gt 1ms)"));
    }
    let cap = match b.get("max_interval") {
        Some(m) => {
            let cap = units::go(&m)?;
            if cap < base.value {
                return Err(m.error("`max_interval` is below `base_interval`; Envoy refuses it"));
            }
            Given::new(cap, m.origin())
        }
        None => Given::new(
            envoy_map::default_cap(base.value),
            Origin::default_in(
                &b.origin(),
                "max_interval",
                format!("Envoy's default: {ROUTE_PROTO} 10x base_interval"),
            ),
        ),
    };
    Ok((base, cap))
}

/// `retry_host_predicate`: `previous_hosts` is simulated, `omit_canary_hosts` has
/// nothing to omit (resim has no canaries), others are refused.
fn host_predicates(
    c: &Cursor,
    default: &dyn Fn(&str) -> Origin,
    ignored: &mut Vec<Ignored>,
) -> Result<Given<bool>, ScenarioError> {
    let Some(list) = c.get("retry_host_predicate") else {
        return Ok(Given::new(false, default("retry_host_predicate")));
    };
    let mut found = Given::new(false, list.origin());
    for p in list.items()? {
        p.check_keys(&["name"], &["typed_config"], "the predicate's settings are read from its name", ignored)?;
        let at = p.require("name")?;
        let name = at.str()?;
        if name.ends_with("previous_hosts") {
            found = Given::new(true, at.origin());
        } else if name.ends_with("omit_canary_hosts") {
            ignored.push(Ignored { origin: at.origin(), reason: "resim's instances are never canaries".into() });
        } else {
            let mut e = at.error(format!("host predicate `{name}` cannot be simulated"));
            e.help = Some("resim simulates envoy.retry_host_predicates.previous_hosts; remove this one".into());
            return Err(e);
        }
    }
    Ok(found)
}

/// `hedge_policy`: the origin of `hedge_on_per_try_timeout: true`, if set. Envoy
/// implements neither `initial_requests` above 1 nor `additional_request_chance`
/// (route_components.proto hides both as not implemented), so other values are refused.
fn hedge_policy(c: &Cursor) -> Result<Option<Origin>, ScenarioError> {
    c.check_keys(
        &["initial_requests", "additional_request_chance", "hedge_on_per_try_timeout"],
        &[],
        "",
        &mut Vec::new(),
    )?;
    if let Some(n) = c.get("initial_requests")
        && n.u32()? != 1
    {
        let mut e = n.error("Envoy does not implement `initial_requests` above 1 (route_components.proto)");
        e.help = Some("remove it; for hedges after a delay use resim's `hedge.delay` in the scenario".into());
        return Err(e);
    }
    if let Some(chance) = c.get("additional_request_chance")
        && chance.get("numerator").map(|n| n.u32()).transpose()?.unwrap_or(0) != 0
    {
        let mut e = chance.error("Envoy does not implement `additional_request_chance` (route_components.proto)");
        e.help = Some("remove it".into());
        return Err(e);
    }
    match c.get("hedge_on_per_try_timeout") {
        Some(h) if h.bool()? => Ok(Some(h.origin())),
        _ => Ok(None),
    }
}
