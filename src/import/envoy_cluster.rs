//! Envoy's cluster (`envoy.config.cluster.v3.Cluster`): `circuit_breakers` (the
//! DEFAULT-priority threshold and its `retry_budget`), `outlier_detection`, `lb_policy`
//! and `health_checks`, with Envoy's defaults for what the file leaves out.

use serde_json::Value;

use super::envoy_map::{
    self, BREAKER_PROTO, CLUSTER_PROTO, Given, OUTLIER_DEFAULTS, OUTLIER_PROTO, Outlier, Refused, Thresholds,
};
use super::{Cursor, Ignored, Origin, units};
use crate::scenario::ScenarioError;

/// A cluster's policies, as resim simulates them.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// Its name.
    pub name: Given<String>,
    /// Its DEFAULT-priority thresholds.
    pub thresholds: Thresholds,
    /// Its outlier detection, if configured.
    pub outlier: Option<Outlier>,
    /// resim's balancer for its `lb_policy`.
    pub balancer: Given<&'static str>,
    /// Its active health check, as `health_check.*` keys.
    pub health: Vec<(&'static str, Given<Value>)>,
}

const PLUMBING: [&str; 37] = [
    "@type",
    "name",
    "alt_stat_name",
    "type",
    "eds_cluster_config",
    "connect_timeout",
    "per_connection_buffer_limit_bytes",
    "load_assignment",
    "transport_socket",
    "transport_socket_matches",
    "typed_extension_protocol_options",
    "http_protocol_options",
    "http2_protocol_options",
    "common_http_protocol_options",
    "upstream_http_protocol_options",
    "dns_lookup_family",
    "dns_refresh_rate",
    "dns_failure_refresh_rate",
    "respect_dns_ttl",
    "dns_resolvers",
    "use_tcp_for_dns_lookups",
    "dns_resolution_config",
    "typed_dns_resolver_config",
    "wait_for_warm_on_init",
    "upstream_bind_config",
    "metadata",
    "protocol_selection",
    "upstream_connection_options",
    "close_connections_on_host_health_failure",
    "ignore_health_on_host_removal",
    "track_timeout_budgets",
    "track_cluster_stats",
    "preconnect_policy",
    "connection_pool_per_downstream_connection",
    "max_requests_per_connection",
    "cleanup_interval",
    "common_lb_config",
];

const PLUMBING_WHY: &str = "names, endpoints, DNS, TLS, protocol and connection options do not change what is \
                            simulated (resim has no connections; the scenario gives the instances; Envoy's panic \
                            threshold in common_lb_config is not modelled)";

/// Reads the cluster at `c`.
pub fn cluster(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Cluster, ScenarioError> {
    let refused: [Refused; 4] = [
        ("load_balancing_policy", "is a balancer extension resim cannot run", "use `lb_policy`"),
        ("cluster_type", "is a custom cluster extension resim cannot run", "use a plain cluster"),
        ("lb_subset_config", "routes to endpoint subsets by metadata; resim's instances are alike", "remove it"),
        ("filters", "are upstream network filters resim cannot run", "remove them"),
    ];
    let known = [
        "circuit_breakers",
        "outlier_detection",
        "lb_policy",
        "least_request_lb_config",
        "round_robin_lb_config",
        "health_checks",
    ];
    envoy_map::check(c, &known, &PLUMBING, PLUMBING_WHY, &refused, ignored)?;
    let name = c.require("name")?;
    let name = Given::new(name.str()?.to_owned(), name.origin());
    let thresholds = match c.get("circuit_breakers") {
        Some(cb) => circuit_breakers(&cb, ignored)?,
        None => Thresholds::envoy(&Origin::default_in(&c.origin(), "circuit_breakers", "")),
    };
    let outlier = c.get("outlier_detection").map(|o| outlier_detection(&o, ignored)).transpose()?;
    Ok(Cluster { name, thresholds, outlier, balancer: balancer(c, ignored)?, health: health_checks(c, ignored)? })
}

fn balancer(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Given<&'static str>, ScenarioError> {
    let choices = match c.get("least_request_lb_config") {
        Some(l) => {
            let why = "active_request_bias weighs hosts by weight, and resim's instances weigh the same";
            let refused: [Refused; 1] =
                [("slow_start_config", "ramps new hosts up slowly; resim does not model it", "remove it")];
            envoy_map::check(&l, &["choice_count"], &["active_request_bias"], why, &refused, ignored)?;
            l.get("choice_count").map(|n| n.u32()).transpose()?.unwrap_or(2)
        }
        None => 2,
    };
    if let Some(rr) = c.get("round_robin_lb_config") {
        let refused: [Refused; 1] =
            [("slow_start_config", "ramps new hosts up slowly; resim does not model it", "remove it")];
        envoy_map::check(&rr, &[], &[], "", &refused, ignored)?;
    }
    match c.get("lb_policy") {
        Some(p) => Ok(Given::new(envoy_map::balancer(p.str()?, choices, &p)?, p.origin())),
        None => {
            let note = format!("Envoy's default: {CLUSTER_PROTO} lb_policy ROUND_ROBIN");
            Ok(Given::new("round_robin", Origin::default_in(&c.origin(), "lb_policy", note)))
        }
    }
}

/// `circuit_breakers`: the DEFAULT-priority threshold (HIGH-priority ones serve routes
/// of HIGH priority, which resim's edges are not).
fn circuit_breakers(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Thresholds, ScenarioError> {
    let why = "per-host thresholds cap connections, and resim has none";
    c.check_keys(&["thresholds"], &["per_host_thresholds"], why, ignored)?;
    let parent = c.origin();
    let mut t = Thresholds::envoy(&Origin::default_in(&parent, "thresholds", ""));
    for th in c.get("thresholds").map(|l| l.items()).transpose()?.unwrap_or_default() {
        if th.get("priority").map(|p| p.str()).transpose()?.is_some_and(|p| p == "HIGH") {
            ignored.push(Ignored { origin: th.origin(), reason: "HIGH priority: resim's routes are DEFAULT".into() });
            continue;
        }
        threshold(&th, &mut t, ignored)?;
    }
    Ok(t)
}

fn threshold(c: &Cursor, t: &mut Thresholds, ignored: &mut Vec<Ignored>) -> Result<(), ScenarioError> {
    let known = ["priority", "max_pending_requests", "max_requests", "max_retries", "retry_budget"];
    let why = "resim has no connections or connection pools; remaining-capacity stats are not simulated";
    c.check_keys(&known, &["max_connections", "max_connection_pools", "track_remaining"], why, ignored)?;
    for (key, slot) in [
        ("max_pending_requests", &mut t.max_pending_requests),
        ("max_requests", &mut t.max_requests),
        ("max_retries", &mut t.max_retries),
    ] {
        if let Some(v) = c.get(key) {
            *slot = Given::new(v.u32()?, v.origin());
        }
    }
    if let Some(b) = c.get("retry_budget") {
        let why = "resim's budget counts active requests at each retry, without an interval";
        b.check_keys(&["budget_percent", "min_retry_concurrency"], &["budget_interval"], why, ignored)?;
        let note =
            |k: &str| Origin::default_in(&b.origin(), k, format!("Envoy's default: {BREAKER_PROTO} RetryBudget"));
        let percent = match b.get("budget_percent") {
            Some(p) => envoy_map::percent_fraction(&p)?,
            None => Given::new(0.2, note("budget_percent").noted(format!("Envoy's default: {BREAKER_PROTO} 20%"))),
        };
        let min = match b.get("min_retry_concurrency") {
            Some(m) => Given::new(m.u32()?, m.origin()),
            None => Given::new(3, note("min_retry_concurrency")),
        };
        t.budget = Some((percent, min));
    }
    Ok(())
}

/// `outlier_detection`: every key resim's `outlier_ejection` has, Envoy's defaults for
/// the others (resim's keys are Envoy's names).
fn outlier_detection(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Outlier, ScenarioError> {
    let refused: [Refused; 1] = [("monitors", "are outlier-detection extensions resim cannot run", "remove them")];
    let mut known: Vec<&str> = OUTLIER_DEFAULTS.iter().map(|(k, _)| *k).collect();
    known.extend(["max_ejection_time_jitter", "detect_degraded_hosts"]);
    let uneject = ["successful_active_health_check_uneject_host"];
    let why = "resim's health checks and outlier ejection act apart: a passing probe does not return an ejected host";
    envoy_map::check(c, &known, &uneject, why, &refused, ignored)?;
    let mut o = Outlier::envoy(&c.origin(), &format!("Envoy's default: {OUTLIER_PROTO}"));
    for (key, kind) in OUTLIER_DEFAULTS {
        if let Some(v) = c.get(key) {
            o.put(key, kind.read(&v)?, v.origin());
        }
    }
    if let Some(j) = c.get("max_ejection_time_jitter")
        && units::go(&j)?.0 != 0
    {
        let mut e = j.error("a random extra ejection time: resim ejects for exactly the computed time");
        e.help = Some("remove it or set it to 0s".into());
        return Err(e);
    }
    if let Some(d) = c.get("detect_degraded_hosts")
        && d.bool()?
    {
        let mut e = d.error("degraded hosts are marked by a response header resim's services never send");
        e.help = Some("remove it".into());
        return Err(e);
    }
    Ok(o)
}

/// `health_checks`: one active check, as the service's `health_check`.
fn health_checks(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Vec<(&'static str, Given<Value>)>, ScenarioError> {
    let Some(list) = c.get("health_checks") else { return Ok(Vec::new()) };
    let items = list.items()?;
    let Some(hc) = items.first() else { return Ok(Vec::new()) };
    if items.len() > 1 {
        let mut e = items[1].error("a second health check: resim probes each instance one way");
        e.help = Some("keep one health check".into());
        return Err(e);
    }
    let plumbing = [
        "http_health_check",
        "tcp_health_check",
        "grpc_health_check",
        "custom_health_check",
        "event_log_path",
        "event_logger",
        "always_log_health_check_failures",
        "always_log_health_check_success",
        "reuse_connection",
        "initial_jitter",
        "interval_jitter",
        "interval_jitter_percent",
        "no_traffic_interval",
        "no_traffic_healthy_interval",
        "unhealthy_interval",
        "unhealthy_edge_interval",
        "healthy_edge_interval",
        "tls_options",
        "transport_socket_match_criteria",
        "alt_port",
    ];
    let why = "how the probe is sent, and its jitter and special intervals: resim probes every instance at \
               `interval`";
    let known = ["timeout", "interval", "unhealthy_threshold", "healthy_threshold"];
    hc.check_keys(&known, &plumbing, why, ignored)?;
    let mut out = Vec::new();
    for key in known {
        // All four are required in Envoy's health_check.proto.
        let v = hc.require(key)?;
        let value = if key.ends_with("threshold") { v.u32()?.into() } else { units::resim(units::go(&v)?) };
        out.push((key, Given::new(value, v.origin())));
    }
    Ok(out)
}
