//! Envoy's resilience semantics as resim keys, shared by the Envoy reader and the Istio
//! reader (istiod translates a `DestinationRule` and a `VirtualService` into exactly these
//! Envoy cluster and route settings, so both formats land here).
//!
//! Each default is Envoy's own, cited by the proto that documents it:
//! `envoy/config/route/v3/route_components.proto` (route `timeout` 15 s, `num_retries` 1,
//! `retry_back_off` 25 ms base and 10 × base cap, `host_selection_retry_max_attempts` 1),
//! `envoy/config/cluster/v3/circuit_breaker.proto` (1024 pending, 1024 requests, 3
//! retries; a `retry_budget` of 20% with at least 3), `envoy/config/cluster/v3/outlier_detection.proto`
//! (every `outlier_detection` default) and `envoy/config/cluster/v3/cluster.proto`
//! (`ROUND_ROBIN`, `LEAST_REQUEST`'s `choice_count` 2).

use serde_json::{Value, json};

use super::{Cursor, Imported, Origin, Target};
use crate::engine::SimTime;
use crate::import::units;
use crate::scenario::ScenarioError;

/// Where Envoy's route defaults are documented.
pub const ROUTE_PROTO: &str = "envoy/config/route/v3/route_components.proto";
/// Where Envoy's circuit-breaker defaults are documented.
pub const BREAKER_PROTO: &str = "envoy/config/cluster/v3/circuit_breaker.proto";
/// Where Envoy's outlier-detection defaults are documented.
pub const OUTLIER_PROTO: &str = "envoy/config/cluster/v3/outlier_detection.proto";
/// Where Envoy's cluster defaults are documented.
pub const CLUSTER_PROTO: &str = "envoy/config/cluster/v3/cluster.proto";

/// `RetryPolicy.num_retries` when omitted ("Defaults to 1").
pub const NUM_RETRIES: u32 = 1;
/// `RetryBackOff.base_interval` when `retry_back_off` is omitted (25 ms).
pub const BASE_INTERVAL: SimTime = SimTime::from_millis(25);
/// `RouteAction.timeout` when omitted (15 s).
pub const ROUTE_TIMEOUT: SimTime = SimTime::from_secs(15);

/// The resim outcomes an Envoy `retry_on` condition retries, in resim's terms:
/// `error` is a failed answer or a crashed instance (its refused connections and lost
/// work), `timeout` a per-try timeout, `rejected` an overload refusal (an overflowing
/// queue, bulkhead or rate limit: a 503, HTTP/2 REFUSED_STREAM, gRPC UNAVAILABLE or
/// RESOURCE_EXHAUSTED). `None`: a condition resim cannot simulate.
fn condition(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        // "any 5xx response code, or does not respond at all (disconnect/reset/read
        // timeout)"; per-try timeouts are retried under `5xx` and `gateway-error` only
        // (the comment on RetryStateImpl::shouldHedgeRetryPerTryTimeout in Envoy's
        // source/common/router/retry_state_impl.cc).
        "5xx" => &["error", "timeout", "rejected"],
        // 502, 503 and 504: as resim's outlier ejection counts gateway failures, the
        // refusals and the timeouts. (Envoy also retries resets under it, but resim's
        // `error` cannot tell a crashed instance's lost work from an application's 500.)
        "gateway-error" => &["timeout", "rejected"],
        // A disconnect or reset: a crashed instance's lost work (not per-try timeouts).
        "reset" => &["error"],
        // A connection refused or reset before the request was sent: a crashed instance.
        "connect-failure" | "reset-before-request" => &["error"],
        "refused-stream" | "envoy-ratelimited" | "resource-exhausted" | "unavailable" => &["rejected"],
        "deadline-exceeded" => &["timeout"],
        "internal" => &["error"],
        // 409 answers, gRPC CANCELLED answers, and HTTP/3 connection failures: resim's
        // services never give them, so the condition retries nothing here.
        "retriable-4xx" | "cancelled" | "http3-post-connect-failure" | "retriable-status-codes" => &[],
        _ => return None,
    })
}

/// The resim outcome an HTTP status code stands for, if resim's services can answer it.
fn status(code: u32) -> Option<&'static str> {
    match code {
        503 | 429 => Some("rejected"),
        504 => Some("timeout"),
        500..=599 => Some("error"),
        _ => None,
    }
}

/// The outcomes a `retry_on` list (comma separated) and its retriable status codes
/// retry, in resim's order (`error`, `timeout`, `rejected`). `at` locates the list.
pub fn retry_on(conditions: &str, codes: &[u32], at: &Cursor) -> Result<Vec<&'static str>, ScenarioError> {
    outcomes(conditions, codes).map_err(|(message, help)| {
        let mut e = at.error(message);
        e.help = Some(help.into());
        e
    })
}

/// [`retry_on`] without a place in a file (istiod's own default conditions): the
/// outcomes, or what is wrong and the help.
pub fn outcomes(conditions: &str, codes: &[u32]) -> Result<Vec<&'static str>, (String, &'static str)> {
    let mut set: Vec<&'static str> = Vec::new();
    let mut with_codes = false;
    for name in conditions.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if name == "retriable-headers" {
            return Err((
                "`retriable-headers` retries on response headers, which resim's answers do not carry".into(),
                "remove it, or list the outcomes in the scenario's `retry.retry_on`",
            ));
        }
        let Some(kinds) = condition(name) else {
            return Err((
                format!("`{name}` is not an Envoy retry condition"),
                "Envoy's conditions: 5xx, gateway-error, reset, reset-before-request, connect-failure, \
                 envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, \
                 http3-post-connect-failure, and the gRPC ones cancelled, deadline-exceeded, internal, \
                 resource-exhausted, unavailable",
            ));
        };
        with_codes |= name == "retriable-status-codes";
        set.extend(kinds);
    }
    if with_codes {
        set.extend(codes.iter().filter_map(|&c| status(c)));
    }
    Ok(["error", "timeout", "rejected"].into_iter().filter(|k| set.contains(k)).collect())
}

/// A value read from a file, or a default, with where it came from.
#[derive(Clone, Debug)]
pub struct Given<T> {
    /// The value.
    pub value: T,
    /// Its origin.
    pub origin: Origin,
}

impl<T> Given<T> {
    /// `value` from `origin`.
    pub fn new(value: T, origin: Origin) -> Self {
        Given { value, origin }
    }
}

/// An Envoy route retry policy, read and defaulted: what both readers produce.
#[derive(Clone, Debug)]
pub struct Retry {
    /// `num_retries`.
    pub num_retries: Given<u32>,
    /// `per_try_timeout`; `None`: each try is bounded by the route timeout only.
    pub per_try_timeout: Option<Given<SimTime>>,
    /// The outcomes the conditions retry.
    pub retry_on: Given<Vec<&'static str>>,
    /// `retry_back_off.base_interval`.
    pub base: Given<SimTime>,
    /// `retry_back_off.max_interval`.
    pub cap: Given<SimTime>,
    /// The `previous_hosts` host predicate.
    pub previous_hosts: Given<bool>,
    /// `host_selection_retry_max_attempts`.
    pub reselects: Given<u32>,
}

impl Retry {
    /// The resim keys of this policy on `target`.
    pub fn emit(&self, target: &Target, out: &mut Imported) {
        let attempts = self.num_retries.value + 1;
        let n = self.num_retries.value;
        let note = format!("{n} {} + the first attempt", if n == 1 { "retry" } else { "retries" });
        out.set(target, "retry.max_attempts", attempts, self.num_retries.origin.clone().noted(note));
        if let Some(t) = &self.per_try_timeout {
            out.set(target, "timeout", units::resim(t.value), t.origin.clone());
        }
        out.set(target, "retry.retry_on", json!(self.retry_on.value), self.retry_on.origin.clone());
        let backoff = json!({ "exponential": {
            "base": units::resim(self.base.value), "multiplier": 2.0, "cap": units::resim(self.cap.value)
        }});
        out.set(target, "retry.backoff", backoff, self.base.origin.clone());
        let jitter_note = "Envoy's fully jittered exponential back-off (JitteredExponentialBackOffStrategy)";
        out.set(target, "retry.jitter", "full", self.base.origin.clone().noted(jitter_note));
        out.set(target, "retry.previous_hosts", self.previous_hosts.value, self.previous_hosts.origin.clone());
        if self.previous_hosts.value {
            let r = &self.reselects;
            out.set(target, "retry.host_selection_retry_max_attempts", r.value, r.origin.clone());
        }
    }
}

/// A percentage (a number, or Envoy's `Percent` message `{ value: 25.0 }`) as the
/// fraction resim's `percent_of_active` takes.
pub fn percent_fraction(p: &Cursor) -> Result<Given<f64>, ScenarioError> {
    let v = p.get("value").map_or_else(|| p.f64(), |v| v.f64())?;
    if !(0.0..=100.0).contains(&v) {
        return Err(p.error(format!("{v} is not a percentage in [0, 100]")));
    }
    Ok(Given::new(v / 100.0, p.origin().noted(format!("{v}% as a fraction"))))
}

/// `retry_back_off.max_interval` when omitted: 10 × `base_interval`.
pub fn default_cap(base: SimTime) -> SimTime {
    SimTime(base.0.saturating_mul(10))
}

/// A cluster's `circuit_breakers` threshold of DEFAULT priority, defaulted.
#[derive(Clone, Debug)]
pub struct Thresholds {
    /// `max_pending_requests`.
    pub max_pending_requests: Given<u32>,
    /// `max_requests`.
    pub max_requests: Given<u32>,
    /// `max_retries`.
    pub max_retries: Given<u32>,
    /// `retry_budget`: (`budget_percent` as a fraction, `min_retry_concurrency`).
    pub budget: Option<(Given<f64>, Given<u32>)>,
}

impl Thresholds {
    /// Envoy's defaults (1024, 1024, 3, no budget), noted as defaults under `parent`.
    pub fn envoy(parent: &Origin) -> Thresholds {
        let d = |key: &str, v: u32| {
            Given::new(v, Origin::default_in(parent, key, format!("Envoy's default: {BREAKER_PROTO}")))
        };
        Thresholds {
            max_pending_requests: d("max_pending_requests", 1024),
            max_requests: d("max_requests", 1024),
            max_retries: d("max_retries", 3),
            budget: None,
        }
    }

    /// The edge keys; the budget only when the edge retries (a `retry.budget` alone would
    /// make resim retry with its own defaults).
    pub fn emit(&self, target: &Target, retries: bool, out: &mut Imported) {
        for (key, g) in [
            ("max_pending_requests", &self.max_pending_requests),
            ("max_requests", &self.max_requests),
            ("max_retries", &self.max_retries),
        ] {
            out.set(target, &format!("circuit_breakers.{key}"), g.value, g.origin.clone());
        }
        let Some((percent, min)) = &self.budget else { return };
        if retries {
            out.set(target, "retry.budget.percent_of_active", percent.value, percent.origin.clone());
            out.set(target, "retry.budget.min_concurrency", min.value, min.origin.clone());
        } else {
            out.ignored.push(super::Ignored {
                origin: percent.origin.clone(),
                reason: "a retry budget with no retry policy on the route: nothing to limit".into(),
            });
        }
    }
}

/// Envoy's `outlier_detection` defaults, resim key by resim key (the keys are Envoy's
/// names), as written in `outlier_detection.proto`. resim's own default for
/// `always_eject_one_host` is true, so Envoy's false is written out too.
pub const OUTLIER_DEFAULTS: [(&str, DefaultValue); 22] = [
    ("interval", DefaultValue::Time(10_000)),
    ("base_ejection_time", DefaultValue::Time(30_000)),
    ("max_ejection_time", DefaultValue::Time(300_000)),
    ("max_ejection_percent", DefaultValue::Count(10)),
    ("always_eject_one_host", DefaultValue::Flag(false)),
    ("consecutive_5xx", DefaultValue::Count(5)),
    ("enforcing_consecutive_5xx", DefaultValue::Count(100)),
    ("consecutive_gateway_failure", DefaultValue::Count(5)),
    ("enforcing_consecutive_gateway_failure", DefaultValue::Count(0)),
    ("split_external_local_origin_errors", DefaultValue::Flag(false)),
    ("consecutive_local_origin_failure", DefaultValue::Count(5)),
    ("enforcing_consecutive_local_origin_failure", DefaultValue::Count(100)),
    ("success_rate_minimum_hosts", DefaultValue::Count(5)),
    ("success_rate_request_volume", DefaultValue::Count(100)),
    ("success_rate_stdev_factor", DefaultValue::Count(1900)),
    ("enforcing_success_rate", DefaultValue::Count(100)),
    ("enforcing_local_origin_success_rate", DefaultValue::Count(100)),
    ("failure_percentage_threshold", DefaultValue::Count(85)),
    ("failure_percentage_minimum_hosts", DefaultValue::Count(5)),
    ("failure_percentage_request_volume", DefaultValue::Count(50)),
    ("enforcing_failure_percentage", DefaultValue::Count(0)),
    ("enforcing_failure_percentage_local_origin", DefaultValue::Count(0)),
];

/// A default's kind and value.
#[derive(Clone, Copy, Debug)]
pub enum DefaultValue {
    /// A duration in milliseconds.
    Time(u64),
    /// A whole number.
    Count(u32),
    /// A boolean.
    Flag(bool),
}

impl DefaultValue {
    /// The value as a scenario writes it.
    pub fn value(self) -> Value {
        match self {
            DefaultValue::Time(ms) => units::resim(SimTime::from_millis(ms)),
            DefaultValue::Count(n) => n.into(),
            DefaultValue::Flag(b) => b.into(),
        }
    }

    /// The value of the same kind read at `at`.
    pub fn read(self, at: &Cursor) -> Result<Value, ScenarioError> {
        Ok(match self {
            DefaultValue::Time(_) => units::resim(units::go(at)?),
            DefaultValue::Count(_) => at.u32()?.into(),
            DefaultValue::Flag(_) => at.bool()?.into(),
        })
    }
}

/// An outlier detection being assembled: Envoy's defaults, then the file's values.
#[derive(Clone, Debug)]
pub struct Outlier {
    keys: Vec<(&'static str, Given<Value>)>,
}

impl Outlier {
    /// Every key at Envoy's default, noted with `note` under `parent`.
    pub fn envoy(parent: &Origin, note: &str) -> Outlier {
        let keys = OUTLIER_DEFAULTS
            .iter()
            .map(|(k, d)| (*k, Given::new(d.value(), Origin::default_in(parent, k, note))))
            .collect();
        Outlier { keys }
    }

    /// Sets resim key `key` (one of [`OUTLIER_DEFAULTS`]).
    pub fn put(&mut self, key: &str, value: Value, origin: Origin) {
        if let Some(slot) = self.keys.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = Given::new(value, origin);
        }
    }

    /// The service keys.
    pub fn emit(&self, service: &str, out: &mut Imported) {
        let target = Target::Service(service.to_owned());
        for (k, g) in &self.keys {
            out.set(&target, &format!("outlier_ejection.{k}"), g.value.clone(), g.origin.clone());
        }
    }
}

/// resim's balancer for an Envoy `lb_policy` (with `LEAST_REQUEST`'s `choice_count`),
/// or an error at `at`.
pub fn balancer(policy: &str, choice_count: u32, at: &Cursor) -> Result<&'static str, ScenarioError> {
    match policy {
        "ROUND_ROBIN" => Ok("round_robin"),
        "RANDOM" => Ok("random"),
        "LEAST_REQUEST" if choice_count == 2 => Ok("power_of_two"),
        "LEAST_REQUEST" => {
            let mut e = at.error(format!("least request with {choice_count} choices: resim picks the best of two"));
            e.help = Some("use choice_count 2 (Envoy's default), or set `load_balancer` in the scenario".into());
            Err(e)
        }
        "RING_HASH" | "MAGLEV" | "CLUSTER_PROVIDED" | "LOAD_BALANCING_POLICY_CONFIG" => {
            let mut e =
                at.error(format!("`{policy}` balancing cannot be simulated: resim's requests carry no hash key"));
            e.help = Some(
                "use ROUND_ROBIN, RANDOM or LEAST_REQUEST, or set `load_balancer` in the scenario and drop this".into(),
            );
            Err(e)
        }
        other => {
            let mut e = at.error(format!("`{other}` is not an Envoy load-balancing policy"));
            e.help = Some("Envoy's policies: ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV".into());
            Err(e)
        }
    }
}

/// A key the reader knows and refuses: its name, what it does that resim cannot
/// simulate, and what to do instead.
pub type Refused<'a> = (&'a str, &'a str, &'a str);

/// An error at the first of `rules`' keys that `c` sets.
pub fn refuse(c: &Cursor, rules: &[Refused]) -> Result<(), ScenarioError> {
    for (key, why, help) in rules {
        if let Some(at) = c.get(key) {
            let mut e = at_key(&at, format!("`{key}` {why}"));
            e.help = Some((*help).to_owned());
            return Err(e);
        }
    }
    Ok(())
}

/// An error at the key of the value `at` (where a reader looks for the field), or at
/// the value when it has no key (a list item).
pub fn at_key(at: &Cursor, message: impl Into<String>) -> ScenarioError {
    let key_at = at.node().key_at;
    if key_at == (0, 0) {
        return at.error(message);
    }
    at.src().error_at(key_at, at.path(), message)
}

/// Gives a located error without a help line one pointing to the format's reference
/// (`reference`), so that every error says what to do.
pub fn with_reference(mut e: ScenarioError, reference: &str) -> ScenarioError {
    if e.help.is_none() {
        e.help = Some(format!("write the field as the reference gives it: {reference}"));
    }
    e
}

/// An error at `name` (a cluster or host) when the scenario has no such service.
pub fn unknown_service(name: &Given<String>, service: &str, ctx: &super::Context) -> Result<(), ScenarioError> {
    if !ctx.known || ctx.services.iter().any(|s| s == service) {
        return Ok(());
    }
    let mut e = super::merge::error_at(
        &name.origin,
        format!("`{}` is service `{service}`, which the scenario does not have", name.value),
    );
    e.help = Some(match crate::scenario::error::suggest(service, ctx.services.iter().map(String::as_str)) {
        Some(near) => format!("did you mean `{near}`? Map the name to it in the import"),
        None => format!("map the name to one of the scenario's services ({}) in the import", ctx.services.join(", ")),
    });
    Err(e)
}

/// Reads a list of `rules`'s keys at `c` (keys `known`, plumbing keys listed as
/// ignored with `why`), refusing the `refused` ones and any other.
pub fn check(
    c: &Cursor,
    known: &[&str],
    plumbing: &[&str],
    why: &str,
    refused: &[Refused],
    ignored: &mut Vec<super::Ignored>,
) -> Result<(), ScenarioError> {
    refuse(c, refused)?;
    let mut all: Vec<&str> = known.to_vec();
    all.extend(refused.iter().map(|r| r.0));
    c.check_keys(&all, plumbing, why, ignored)
}

/// Checks that no key is set twice to different values on one target (two routes to
/// one cluster with different policies: resim has one policy per edge), and drops
/// exact repeats.
pub fn deduplicated(imported: Imported) -> Result<Imported, ScenarioError> {
    let mut out = Imported { settings: Vec::new(), ignored: imported.ignored };
    for s in imported.settings {
        match out.settings.iter().find(|o| o.target == s.target && o.key == s.key) {
            Some(first) if first.value == s.value => {}
            Some(first) => {
                let mut e = super::merge::error_at(
                    &s.origin,
                    format!("{} `{}` is {} here but {} at {}", s.target, s.key, s.value, first.value, first.origin),
                );
                e.help = Some(
                    "resim has one policy per edge: give the routes to one cluster the same policy, \
                     or set the key in the scenario, which wins"
                        .into(),
                );
                return Err(e);
            }
            None => out.settings.push(s),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::Source;
    use std::path::Path;

    fn on(conditions: &str, codes: &[u32]) -> Result<Vec<&'static str>, ScenarioError> {
        let src = Source::parse("x: 1\n".into(), Path::new("f.yaml")).unwrap();
        retry_on(conditions, codes, &src.doc(0))
    }

    #[test]
    fn conditions_map_to_resim_outcomes() {
        assert_eq!(on("5xx", &[]).unwrap(), ["error", "timeout", "rejected"]);
        assert_eq!(on("gateway-error", &[]).unwrap(), ["timeout", "rejected"]);
        assert_eq!(on("reset", &[]).unwrap(), ["error"], "per-try timeouts are not resets");
        assert_eq!(on("connect-failure,refused-stream,unavailable,cancelled", &[]).unwrap(), ["error", "rejected"]);
        assert_eq!(on("retriable-status-codes", &[504]).unwrap(), ["timeout"]);
        assert_eq!(on("retriable-4xx", &[503]).unwrap(), Vec::<&str>::new(), "codes need their condition");
        assert!(on("retriable-headers", &[]).unwrap_err().help.is_some());
        assert!(on("5xxx", &[]).unwrap_err().message.contains("`5xxx`"));
        // istiod's default conditions (istio.rs reads them without a file).
        let istiod = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
        assert_eq!(outcomes(istiod, &[]), Ok(vec!["error", "rejected"]));
    }
}
