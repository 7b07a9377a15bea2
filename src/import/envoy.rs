//! The Envoy reader: a v3 bootstrap (`static_resources`: clusters, and listeners whose
//! `http_connection_manager` holds a `route_config`), or xDS resource lists
//! (`resources:` of `@type` Cluster, RouteConfiguration or Listener), or single
//! resources with their `@type`.
//!
//! The files configure the proxy of one service, the entry's `caller`: a route's
//! `timeout`, `retry_policy` and `hedge_policy` and its cluster's `circuit_breakers`
//! land on the edge caller->callee (every caller when none is named); the cluster's
//! `outlier_detection`, `lb_policy` and `health_checks` on the callee service.
//!
//! Names: a cluster is the service the `clusters` map names; else the cluster's own
//! name when the scenario has that service; else, for Istio's cluster names
//! (`outbound|9080||reviews.default.svc.cluster.local`), the host's first label
//! (`reviews`); else the name's first label split on `.` and `_` (`ratings_cluster`
//! and `ratings.internal` are `ratings`). Under a scenario, a cluster the caller does
//! not call is listed as ignored (a bootstrap names its control plane's cluster too),
//! unless the map names it, which makes it an error.

use super::envoy_cluster::{self, Cluster};
use super::envoy_map::{self, Given, Refused};
use super::envoy_route::{self, Rule};
use super::{Context, Cursor, Entry, Ignored, Imported, Target, units};
use crate::engine::SimTime;
use crate::scenario::ScenarioError;

/// The hedge delay written for Envoy's hedges, which are sent on per-try timeouts only:
/// a day, which no simulated call lasts, so that resim's timed hedge never fires.
const NO_TIMED_HEDGE: SimTime = SimTime::from_secs(86_400);

/// Envoy's v3 API reference, for errors about a field's form.
const REFERENCE: &str = "https://www.envoyproxy.io/docs/envoy/latest/api-v3/api";

/// What the files hold.
#[derive(Default)]
struct Read {
    clusters: Vec<Cluster>,
    rules: Vec<Rule>,
    ignored: Vec<Ignored>,
}

/// Reads Envoy files.
pub fn read(entry: &Entry, ctx: &Context) -> Result<Imported, ScenarioError> {
    let mut read = Read::default();
    for src in &entry.files {
        for doc in src.documents() {
            document(&doc, &mut read).map_err(|e| envoy_map::with_reference(e, REFERENCE))?;
        }
    }
    for name in read.clusters.iter().map(|c| &c.name).chain(read.rules.iter().map(|r| &r.cluster)) {
        if let Some(service) = entry.map.get(&name.value) {
            envoy_map::unknown_service(name, service, ctx)?;
        }
    }
    let mut out = Imported { ignored: read.ignored, ..Imported::default() };
    let names = Names { entry, ctx };
    for c in &read.clusters {
        let Some(service) = names.service(&c.name, &mut out.ignored) else { continue };
        let target = Target::Edge { from: entry.caller.clone(), to: service.clone() };
        let retries = read.rules.iter().any(|r| r.cluster.value == c.name.value && r.retry.is_some());
        c.thresholds.emit(&target, retries, &mut out);
        if let Some(o) = &c.outlier {
            o.emit(&service, &mut out);
        }
        let svc = Target::Service(service.clone());
        out.set(&svc, "load_balancer", c.balancer.value, c.balancer.origin.clone());
        for (key, g) in &c.health {
            out.set(&svc, &format!("health_check.{key}"), g.value.clone(), g.origin.clone());
        }
    }
    for r in &read.rules {
        let Some(service) = names.service(&r.cluster, &mut out.ignored) else { continue };
        rule(r, &Target::Edge { from: entry.caller.clone(), to: service }, &mut out);
    }
    envoy_map::deduplicated(out)
}

/// A route's keys on its edge.
fn rule(r: &Rule, target: &Target, out: &mut Imported) {
    if let Some(t) = &r.timeout {
        out.set(target, "overall_timeout", units::resim(t.value), t.origin.clone());
    }
    let Some(retry) = &r.retry else {
        if let Some(h) = &r.hedge {
            let reason = "no retry policy: Envoy's hedges are retries, so none is sent";
            out.ignored.push(Ignored { origin: h.clone(), reason: reason.into() });
        }
        return;
    };
    retry.emit(target, out);
    let Some(h) = &r.hedge else { return };
    if retry.per_try_timeout.is_none() || retry.num_retries.value == 0 {
        let reason = "hedges are sent on per-try timeouts, and the retry policy has none (or no retries)";
        out.ignored.push(Ignored { origin: h.clone(), reason: reason.into() });
        return;
    }
    let max = retry.num_retries.value.min(crate::scenario::validate_policy::MAX_HEDGES);
    let note = "Envoy hedges on per-try timeouts only; a delay no call reaches";
    out.set(target, "hedge.delay", units::resim(NO_TIMED_HEDGE), h.clone().noted(note));
    let note = format!("each hedge spends one of num_retries ({}), resim allows up to 3", retry.num_retries.value);
    out.set(target, "hedge.max", max, h.clone().noted(note));
    out.set(target, "hedge.hedge_on_per_try_timeout", true, h.clone());
    out.set(target, "hedge.cancel", true, h.clone().noted("Envoy resets the other requests when one answers"));
}

/// Cluster names to services.
struct Names<'a> {
    entry: &'a Entry,
    ctx: &'a Context,
}

impl Names<'_> {
    /// The service cluster `name` stands for, or `None` (listed as ignored) when the
    /// scenario's caller does not call it.
    fn service(&self, name: &Given<String>, ignored: &mut Vec<Ignored>) -> Option<String> {
        if let Some(s) = self.entry.map.get(&name.value) {
            return Some(s.clone());
        }
        let service = default_service(&name.value, &self.ctx.services);
        if !self.ctx.known {
            return Some(service);
        }
        let called = self
            .ctx
            .edges
            .iter()
            .any(|(from, to)| *to == service && self.entry.caller.as_ref().is_none_or(|caller| caller == from));
        if called {
            return Some(service);
        }
        let who = match self.entry.caller.as_deref() {
            Some(c) => format!("`{c}` does not call `{service}`"),
            None => format!("no service calls `{service}`"),
        };
        let reason = format!("{who} in the scenario; map the cluster in `clusters` if it is another service");
        if !ignored.iter().any(|i| i.origin == name.origin && i.reason == reason) {
            ignored.push(Ignored { origin: name.origin.clone(), reason });
        }
        None
    }
}

/// The default service of cluster `name` (see the module's doc).
pub fn default_service(name: &str, services: &[String]) -> String {
    if services.iter().any(|s| s == name) {
        return name.to_owned();
    }
    let host = name.rsplit('|').find(|s| !s.is_empty()).unwrap_or(name);
    host.split(['.', '_']).next().filter(|s| !s.is_empty()).unwrap_or(host).to_owned()
}

const BOOTSTRAP_PLUMBING: [&str; 31] = [
    "node",
    "admin",
    "dynamic_resources",
    "layered_runtime",
    "stats_sinks",
    "stats_config",
    "stats_flush_interval",
    "stats_flush_on_admin",
    "cluster_manager",
    "tracing",
    "watchdogs",
    "watchdog",
    "overload_manager",
    "hds_config",
    "flags_path",
    "bootstrap_extensions",
    "fatal_actions",
    "default_socket_interface",
    "header_prefix",
    "inline_headers",
    "perf_tracing_file_directory",
    "typed_dns_resolver_config",
    "application_log_config",
    "node_context_params",
    "use_tcp_for_dns_lookups",
    "enable_dispatcher_stats",
    "stats_server_version_override",
    "certificate_provider_instances",
    "grpc_async_client_manager_config",
    "memory_allocator_manager",
    "default_config_source",
];

const RESOURCE_PLUMBING: [&str; 5] = ["version_info", "type_url", "nonce", "control_plane", "canary"];

/// One document: a bootstrap, a resource list, or a single resource.
fn document(doc: &Cursor, read: &mut Read) -> Result<(), ScenarioError> {
    if doc.get("resources").is_some() {
        doc.check_keys(&["resources"], &RESOURCE_PLUMBING, "xDS response metadata", &mut read.ignored)?;
        for r in doc.require("resources")?.items()? {
            resource(&r, read)?;
        }
        return Ok(());
    }
    if doc.get("@type").is_some() {
        return resource(doc, read);
    }
    let why = "the bootstrap's node, admin, stats, runtime and discovery settings do not change what is simulated";
    doc.check_keys(&["static_resources"], &BOOTSTRAP_PLUMBING, why, &mut read.ignored)?;
    let Some(s) = doc.get("static_resources") else {
        let mut e = doc.error("neither an Envoy bootstrap (`static_resources`) nor xDS `resources`");
        e.help = Some("give a v3 bootstrap, or a list of resources each with its `@type`".into());
        return Err(e);
    };
    s.check_keys(&["clusters", "listeners"], &["secrets"], "TLS secrets", &mut read.ignored)?;
    for c in s.get("clusters").map(|l| l.items()).transpose()?.unwrap_or_default() {
        read.clusters.push(envoy_cluster::cluster(&c, &mut read.ignored)?);
    }
    for l in s.get("listeners").map(|l| l.items()).transpose()?.unwrap_or_default() {
        listener(&l, read)?;
    }
    Ok(())
}

/// A resource with its `@type`.
fn resource(r: &Cursor, read: &mut Read) -> Result<(), ScenarioError> {
    let at = r.require("@type")?;
    let kind = at.str()?;
    let name = kind.rsplit(['/', '.']).next().unwrap_or(kind);
    match name {
        "Cluster" => read.clusters.push(envoy_cluster::cluster(r, &mut read.ignored)?),
        "RouteConfiguration" => read.rules.extend(envoy_route::route_configuration(r, &mut read.ignored)?),
        "Listener" => listener(r, read)?,
        "ClusterLoadAssignment" | "Secret" | "ScopedRouteConfiguration" | "Runtime" => {
            let reason = "endpoints, secrets and runtime come from the scenario or do not change what is simulated";
            read.ignored.push(Ignored { origin: r.origin(), reason: reason.into() });
        }
        _ => {
            let mut e = at.error(format!("`{kind}` is not a resource resim reads"));
            e.help = Some(
                "give envoy.config.cluster.v3.Cluster, envoy.config.route.v3.RouteConfiguration or \
                           envoy.config.listener.v3.Listener resources"
                    .into(),
            );
            return Err(e);
        }
    }
    Ok(())
}

const LISTENER_PLUMBING: [&str; 31] = [
    "@type",
    "name",
    "address",
    "additional_addresses",
    "stat_prefix",
    "listener_filters",
    "listener_filters_timeout",
    "continue_on_listener_filters_timeout",
    "per_connection_buffer_limit_bytes",
    "metadata",
    "drain_type",
    "socket_options",
    "transparent",
    "freebind",
    "tcp_fast_open_queue_length",
    "traffic_direction",
    "udp_listener_config",
    "connection_balance_config",
    "reuse_port",
    "enable_reuse_port",
    "access_log",
    "tcp_backlog_size",
    "bind_to_port",
    "enable_mptcp",
    "ignore_global_conn_limit",
    "filter_chain_matcher",
    "max_connections_to_accept_per_socket_event",
    "internal_listener",
    "use_original_dst",
    "fcds_config",
    "socket_lifetime",
];

/// A listener: the `http_connection_manager` of each filter chain.
fn listener(l: &Cursor, read: &mut Read) -> Result<(), ScenarioError> {
    let why = "addresses, sockets, listener filters and access logs do not change what is simulated";
    l.check_keys(&["filter_chains", "default_filter_chain"], &LISTENER_PLUMBING, why, &mut read.ignored)?;
    let mut chains = l.get("filter_chains").map(|c| c.items()).transpose()?.unwrap_or_default();
    chains.extend(l.get("default_filter_chain"));
    for chain in chains {
        let plumbing =
            ["filter_chain_match", "transport_socket", "name", "metadata", "transport_socket_connect_timeout"];
        chain.check_keys(&["filters"], &plumbing, "matching and TLS", &mut read.ignored)?;
        for f in chain.get("filters").map(|c| c.items()).transpose()?.unwrap_or_default() {
            network_filter(&f, read)?;
        }
    }
    Ok(())
}

fn network_filter(f: &Cursor, read: &mut Read) -> Result<(), ScenarioError> {
    f.check_keys(&["name", "typed_config"], &["config_discovery"], "filter discovery", &mut read.ignored)?;
    let name = f.get("name").map(|n| n.str()).transpose()?.unwrap_or("");
    let typed = f.get("typed_config");
    let kind = typed.as_ref().and_then(|t| t.get("@type")).map(|t| t.str()).transpose()?.unwrap_or("");
    if !(name.ends_with("http_connection_manager") || kind.ends_with("HttpConnectionManager")) {
        let reason = format!("network filter `{name}` carries no HTTP routes");
        read.ignored.push(Ignored { origin: f.origin(), reason });
        return Ok(());
    }
    let Some(hcm) = typed else { return Err(f.error("the http_connection_manager has no `typed_config`")) };
    http_connection_manager(&hcm, read)
}

const HCM_PLUMBING: [&str; 45] = [
    "@type",
    "stat_prefix",
    "codec_type",
    "access_log",
    "access_log_options",
    "access_log_flush_interval",
    "flush_access_log_on_new_request",
    "use_remote_address",
    "xff_num_trusted_hops",
    "skip_xff_append",
    "generate_request_id",
    "preserve_external_request_id",
    "always_set_request_id_in_response",
    "request_id_extension",
    "server_name",
    "server_header_transformation",
    "scheme_header_transformation",
    "tracing",
    "common_http_protocol_options",
    "http_protocol_options",
    "http2_protocol_options",
    "http3_protocol_options",
    "stream_idle_timeout",
    "request_timeout",
    "request_headers_timeout",
    "drain_timeout",
    "delayed_close_timeout",
    "normalize_path",
    "merge_slashes",
    "path_with_escaped_slashes_action",
    "path_normalization_options",
    "upgrade_configs",
    "forward_client_cert_details",
    "set_current_client_cert_details",
    "internal_address_config",
    "via",
    "add_user_agent",
    "max_request_headers_kb",
    "local_reply_config",
    "strip_matching_host_port",
    "strip_any_host_port",
    "stream_error_on_invalid_http_message",
    "proxy_100_continue",
    "original_ip_detection_extensions",
    "early_header_mutation_extensions",
];

fn http_connection_manager(c: &Cursor, read: &mut Read) -> Result<(), ScenarioError> {
    let refused: [Refused; 1] = [(
        "scoped_routes",
        "picks route tables by request key, which resim's requests lack",
        "give one `route_config`",
    )];
    let why = "codec, logging, header handling and the downstream (listener) timeouts: the scenario's workloads \
               set how long users wait";
    let known = ["route_config", "rds", "http_filters"];
    envoy_map::check(c, &known, &HCM_PLUMBING, why, &refused, &mut read.ignored)?;
    if let Some(rds) = c.get("rds") {
        let reason = "routes discovered by RDS: give the RouteConfiguration resource in the files to read them";
        read.ignored.push(Ignored { origin: rds.origin(), reason: reason.into() });
    }
    for f in c.get("http_filters").map(|l| l.items()).transpose()?.unwrap_or_default() {
        http_filter(&f, &mut read.ignored)?;
    }
    if let Some(rc) = c.get("route_config") {
        read.rules.extend(envoy_route::route_configuration(&rc, &mut read.ignored)?);
    }
    Ok(())
}

/// An HTTP filter: those that change outcomes resim simulates its own way are refused.
fn http_filter(f: &Cursor, ignored: &mut Vec<Ignored>) -> Result<(), ScenarioError> {
    let name = f.get("name").map(|n| n.str()).transpose()?.unwrap_or("");
    let kind = f.get("typed_config").and_then(|t| t.get("@type")).map(|t| t.str()).transpose()?.unwrap_or("");
    let says = |word: &str| name.contains(word) || kind.to_ascii_lowercase().contains(&word.replace('_', ""));
    let refused = [
        ("fault", "injects faults", "describe the failures with resim's `faults`"),
        ("ratelimit", "limits the request rate", "set `rate_limit` on the call or the service in the scenario"),
        ("adaptive_concurrency", "limits concurrency adaptively", "set `concurrency_limit` in the scenario"),
        ("admission_control", "sheds load by success rate", "set `shed` or `concurrency_limit` in the scenario"),
    ];
    if let Some((_, does, help)) = refused.iter().find(|(w, _, _)| says(w)) {
        let mut e = f.error(format!("HTTP filter `{name}` {does}, which an import does not translate"));
        e.help = Some((*help).to_owned());
        return Err(e);
    }
    let reason = format!("HTTP filter `{name}` does not change what is simulated");
    ignored.push(Ignored { origin: f.origin(), reason });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_default_to_their_first_label() {
        let none: Vec<String> = Vec::new();
        assert_eq!(default_service("reviews", &none), "reviews");
        assert_eq!(default_service("ratings_cluster", &none), "ratings");
        assert_eq!(default_service("details.prod.svc", &none), "details");
        assert_eq!(default_service("outbound|9080||reviews.default.svc.cluster.local", &none), "reviews");
        assert_eq!(default_service("my_db", &["my_db".to_owned()]), "my_db");
    }
}
