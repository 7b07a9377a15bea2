//! Istio's `DestinationRule` `trafficPolicy`, translated as istiod translates it into
//! an Envoy cluster (istio/istio `pilot/pkg/networking/core/cluster_traffic_policy.go`):
//! `connectionPool` into circuit-breaker thresholds whose defaults are istiod's
//! (`getDefaultCircuitBreakerThresholds`: 2³² − 1 each, not Envoy's 1024/1024/3),
//! `outlierDetection` into Envoy's outlier detection (`applyOutlierDetection`, which
//! switches success-rate detection off), `loadBalancer` into `lb_policy` (istiod's
//! default is `LEAST_REQUEST`, `defaultLBAlgorithm`), `retryBudget` into the
//! thresholds' `retry_budget` (`applyRetryBudget`: 20%, at least 3).

use serde_json::Value;

use super::envoy_map::{self, Given, OUTLIER_PROTO, Outlier, Refused, Thresholds};
use super::{Cursor, Ignored, Origin, units};
use crate::scenario::ScenarioError;

/// Where istiod's cluster translation lives.
pub const ISTIOD_CLUSTER: &str = "istio/istio pilot/pkg/networking/core/cluster_traffic_policy.go";

/// A host's cluster policies, as istiod builds them.
#[derive(Clone, Debug)]
pub struct HostPolicy {
    /// Circuit-breaker thresholds and retry budget.
    pub thresholds: Thresholds,
    /// Outlier detection, if the rule has it.
    pub outlier: Option<Outlier>,
    /// resim's balancer.
    pub balancer: Given<&'static str>,
}

impl HostPolicy {
    /// What istiod gives a host no `DestinationRule` configures; `at` is where the host
    /// is named.
    pub fn istiod(at: &Origin) -> HostPolicy {
        let note = |what: &str| format!("istiod's default: {ISTIOD_CLUSTER} {what}");
        // The defaults are where a rule would set them, in the file that names the host.
        let root = Origin { key: "spec.trafficPolicy".into(), line: 0, column: 0, note: None, ..at.clone() };
        let max = |key: &str| {
            let key = format!("connectionPool.http.{key}");
            Given::new(u32::MAX, Origin::default_in(&root, &key, note("getDefaultCircuitBreakerThresholds")))
        };
        HostPolicy {
            thresholds: Thresholds {
                max_pending_requests: max("http1MaxPendingRequests"),
                max_requests: max("http2MaxRequests"),
                max_retries: max("maxRetries"),
                budget: None,
            },
            outlier: None,
            balancer: Given::new(
                "power_of_two",
                Origin::default_in(&root, "loadBalancer", note("defaultLBAlgorithm LEAST_REQUEST, Envoy's 2 choices")),
            ),
        }
    }
}

/// Reads a `trafficPolicy` at `c` into `p`.
pub fn traffic_policy(c: &Cursor, p: &mut HostPolicy, ignored: &mut Vec<Ignored>) -> Result<(), ScenarioError> {
    let refused: [Refused; 1] = [(
        "portLevelSettings",
        "sets policies by port, and resim's services have no ports",
        "move the settings up to `trafficPolicy`",
    )];
    let known = ["loadBalancer", "connectionPool", "outlierDetection", "retryBudget"];
    let why = "TLS, tunnelling and PROXY protocol settings do not change what is simulated";
    envoy_map::check(c, &known, &["tls", "tunnel", "proxyProtocol"], why, &refused, ignored)?;
    if let Some(lb) = c.get("loadBalancer") {
        p.balancer = load_balancer(&lb)?;
    }
    if let Some(pool) = c.get("connectionPool") {
        connection_pool(&pool, &mut p.thresholds, ignored)?;
    }
    if let Some(o) = c.get("outlierDetection") {
        p.outlier = Some(outlier_detection(&o, ignored)?);
    }
    if let Some(b) = c.get("retryBudget") {
        p.thresholds.budget = Some(retry_budget(&b, ignored)?);
    }
    Ok(())
}

fn load_balancer(c: &Cursor) -> Result<Given<&'static str>, ScenarioError> {
    let refused: [Refused; 4] = [
        ("consistentHash", "routes by a hash of the request, which resim's requests lack", LB_HELP),
        (
            "localityLbSetting",
            "shifts traffic between localities",
            "remove it; use `prefer_local_zone` in the scenario",
        ),
        ("warmup", "ramps new endpoints up slowly, which resim does not model", "remove it"),
        ("warmupDurationSecs", "ramps new endpoints up slowly, which resim does not model", "remove it"),
    ];
    envoy_map::check(c, &["simple"], &[], "", &refused, &mut Vec::new())?;
    let Some(s) = c.get("simple") else {
        return Ok(HostPolicy::istiod(&c.origin()).balancer);
    };
    let envoy = match s.str()? {
        // istiod maps LEAST_CONN (deprecated) and LEAST_REQUEST to Envoy's LEAST_REQUEST.
        "LEAST_REQUEST" | "LEAST_CONN" => "LEAST_REQUEST",
        "ROUND_ROBIN" => "ROUND_ROBIN",
        "RANDOM" => "RANDOM",
        "UNSPECIFIED" => return Ok(HostPolicy::istiod(&s.origin()).balancer),
        "PASSTHROUGH" => {
            let mut e = s.error("PASSTHROUGH sends to the caller's original destination, bypassing balancing");
            e.help = Some(LB_HELP.into());
            return Err(e);
        }
        other => {
            let mut e = s.error(format!("`{other}` is not an Istio load balancer"));
            e.help = Some("Istio's: UNSPECIFIED, RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST".into());
            return Err(e);
        }
    };
    Ok(Given::new(envoy_map::balancer(envoy, 2, &s)?, s.origin()))
}

const LB_HELP: &str = "use ROUND_ROBIN, RANDOM or LEAST_REQUEST, or set `load_balancer` in the scenario";

/// `connectionPool`: the HTTP limits are Envoy's thresholds (a value of 0 keeps
/// istiod's default, as `applyConnectionPool` reads only values above 0).
fn connection_pool(c: &Cursor, t: &mut Thresholds, ignored: &mut Vec<Ignored>) -> Result<(), ScenarioError> {
    c.check_keys(&["tcp", "http"], &[], "", ignored)?;
    let conns = "resim has no connections: connection counts, lifetimes, keep-alives and timeouts do not change \
                 what is simulated";
    if let Some(tcp) = c.get("tcp") {
        let plumbing = ["maxConnections", "connectTimeout", "tcpKeepalive", "maxConnectionDuration", "idleTimeout"];
        tcp.check_keys(&[], &plumbing, conns, ignored)?;
    }
    let Some(http) = c.get("http") else { return Ok(()) };
    let known = ["http1MaxPendingRequests", "http2MaxRequests", "maxRetries"];
    let plumbing = [
        "maxRequestsPerConnection",
        "idleTimeout",
        "h2UpgradePolicy",
        "useClientProtocol",
        "maxConcurrentStreams",
        "http2KeepAlive",
    ];
    http.check_keys(&known, &plumbing, conns, ignored)?;
    for (key, slot) in [
        ("http1MaxPendingRequests", &mut t.max_pending_requests),
        ("http2MaxRequests", &mut t.max_requests),
        ("maxRetries", &mut t.max_retries),
    ] {
        if let Some(v) = http.get(key) {
            let n = v.u32()?;
            if n > 0 {
                *slot = Given::new(n, v.origin());
            }
        }
    }
    Ok(())
}

/// `retryBudget`: `percent` (20 when omitted) and `minRetryConcurrency` (3 when 0).
fn retry_budget(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<(Given<f64>, Given<u32>), ScenarioError> {
    let why = "resim's budget counts active requests at each retry, without an interval";
    c.check_keys(&["percent", "minRetryConcurrency"], &["budgetInterval"], why, ignored)?;
    let note =
        |k: &str| Origin::default_in(&c.origin(), k, format!("istiod's default: {ISTIOD_CLUSTER} applyRetryBudget"));
    let percent = match c.get("percent") {
        Some(p) => envoy_map::percent_fraction(&p)?,
        None => Given::new(0.2, note("percent")),
    };
    let min = match c.get("minRetryConcurrency").map(|m| Ok::<_, ScenarioError>((m.u32()?, m.origin()))).transpose()? {
        Some((n, at)) if n > 0 => Given::new(n, at),
        _ => Given::new(3, note("minRetryConcurrency")),
    };
    Ok((percent, min))
}

/// `outlierDetection`, as `applyOutlierDetection` writes it over Envoy's defaults.
fn outlier_detection(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Outlier, ScenarioError> {
    let refused: [Refused; 2] = [
        (
            "consecutiveErrors",
            "is the removed name of a gateway-error count",
            "use `consecutiveGatewayErrors` or `consecutive5xxErrors`",
        ),
        (
            "outlierDetectionHttpErrorCodes",
            "counts chosen status codes as failures; resim's outlier ejection counts its outcomes",
            "remove it",
        ),
    ];
    let known = [
        "consecutive5xxErrors",
        "consecutiveGatewayErrors",
        "consecutiveLocalOriginFailures",
        "splitExternalLocalOriginErrors",
        "interval",
        "baseEjectionTime",
        "maxEjectionPercent",
        "minHealthPercent",
    ];
    envoy_map::check(c, &known, &[], "", &refused, &mut Vec::new())?;
    let mut o = Outlier::envoy(&c.origin(), &format!("Envoy's default: {OUTLIER_PROTO}"));
    let istiod = |key: &str| Origin::default_in(&c.origin(), key, format!("set by istiod: {ISTIOD_CLUSTER}"));
    o.put("enforcing_success_rate", 0.into(), istiod("enforcing_success_rate"));
    for (key, count, enforcing) in [
        ("consecutive5xxErrors", "consecutive_5xx", "enforcing_consecutive_5xx"),
        ("consecutiveGatewayErrors", "consecutive_gateway_failure", "enforcing_consecutive_gateway_failure"),
    ] {
        if let Some(v) = c.get(key) {
            let n = v.u32()?;
            o.put(count, n.into(), v.origin());
            let on = if n > 0 { 100 } else { 0 };
            o.put(enforcing, on.into(), v.origin().noted("istiod enforces 100% when the count is above 0"));
        }
    }
    for (key, resim) in [("interval", "interval"), ("baseEjectionTime", "base_ejection_time")] {
        if let Some(v) = c.get(key) {
            o.put(resim, units::resim(units::go(&v)?), v.origin());
        }
    }
    if let Some(v) = c.get("maxEjectionPercent") {
        let n = v.u32()?;
        if n > 0 {
            o.put("max_ejection_percent", n.into(), v.origin());
        }
    }
    local_origin(c, &mut o)?;
    if let Some(m) = c.get("minHealthPercent") {
        if m.f64()? > 0.0 {
            let mut e =
                m.error("a panic threshold: below it Envoy balances over ejected hosts too, which resim does not");
            e.help = Some("remove it (0, istiod's default, disables panic mode, as resim has none)".into());
            return Err(e);
        }
        ignored.push(Ignored { origin: m.origin(), reason: "0 disables Envoy's panic mode; resim has none".into() });
    }
    Ok(o)
}

/// `splitExternalLocalOriginErrors` and `consecutiveLocalOriginFailures`.
fn local_origin(c: &Cursor, o: &mut Outlier) -> Result<(), ScenarioError> {
    let Some(split) = c.get("splitExternalLocalOriginErrors") else {
        if let Some(n) = c.get("consecutiveLocalOriginFailures") {
            let mut e = n.error("counted only with `splitExternalLocalOriginErrors: true`; istiod drops it");
            e.help = Some("add `splitExternalLocalOriginErrors: true` or remove this".into());
            return Err(e);
        }
        return Ok(());
    };
    let on = split.bool()?;
    o.put("split_external_local_origin_errors", on.into(), split.origin());
    if !on {
        return Ok(());
    }
    let off = split.origin().noted("istiod switches local-origin success-rate detection off");
    o.put("enforcing_local_origin_success_rate", 0.into(), off);
    if let Some(n) = c.get("consecutiveLocalOriginFailures") {
        let count = n.u32()?;
        if count > 0 {
            o.put("consecutive_local_origin_failure", count.into(), n.origin());
            let note = n.origin().noted("istiod enforces 100%");
            o.put("enforcing_consecutive_local_origin_failure", Value::from(100), note);
        }
    }
    Ok(())
}

/// `subsets`: their names and labels are plumbing (resim's instances are alike); a
/// subset's own `trafficPolicy` is refused (resim has one policy per service).
pub fn subsets(c: &Cursor, ignored: &mut Vec<Ignored>) -> Result<(), ScenarioError> {
    for s in c.items()? {
        let refused: [Refused; 1] = [(
            "trafficPolicy",
            "gives a subset of the host its own policy; resim's instances of a service share one",
            "move it to the rule's `trafficPolicy`, or model the subset as its own service",
        )];
        let why = "subsets select instances by label; resim's instances of a service are alike";
        envoy_map::check(&s, &[], &["name", "labels"], why, &refused, ignored)?;
    }
    Ok(())
}
