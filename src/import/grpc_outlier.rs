//! gRPC's `outlier_detection_experimental` balancer (gRFC A50) as the callee's
//! `outlier_ejection`. A50 is Envoy's outlier detection reduced to two of its algorithms,
//! success rate and failure percentage, each on only when its message is present; resim's
//! `outlier_ejection` is Envoy's, so the keys map one to one, with the algorithms gRPC
//! does not run (consecutive 5xx and gateway failures) switched off. Defaults are those
//! of `OutlierDetectionLoadBalancingConfig` in grpc-proto's `service_config.proto`; one
//! differs from Envoy's: a present `failurePercentageEjection` enforces 100% by default.
//! A50 counts every non-OK call as a failure, as resim's Envoy detection does without
//! `split_external_local_origin_errors` (errors, timeouts and refusals alike).

use serde_json::Value;

use super::grpc_policy::Item;
use super::{Cursor, Ignored, Origin, units};
use crate::engine::SimTime;
use crate::scenario::ScenarioError;

/// gRPC's defaults of the top level (service_config.proto): interval 10s, base ejection
/// 30s, max ejection 300s (or the base ejection time if longer), 10% ejected at most.
const INTERVAL_S: u64 = 10;
const BASE_EJECTION_S: u64 = 30;
const MAX_EJECTION_S: u64 = 300;
const MAX_EJECTION_PERCENT: u32 = 10;

/// `successRateEjection`: `(gRPC key, resim key, default)`.
const SUCCESS_RATE: [(&str, &str, u32); 4] = [
    ("stdevFactor", "success_rate_stdev_factor", 1900),
    ("enforcementPercentage", "enforcing_success_rate", 100),
    ("minimumHosts", "success_rate_minimum_hosts", 5),
    ("requestVolume", "success_rate_request_volume", 100),
];

/// `failurePercentageEjection`: `(gRPC key, resim key, default)`.
const FAILURE_PERCENTAGE: [(&str, &str, u32); 4] = [
    ("threshold", "failure_percentage_threshold", 85),
    ("enforcementPercentage", "enforcing_failure_percentage", 100),
    ("minimumHosts", "failure_percentage_minimum_hosts", 5),
    ("requestVolume", "failure_percentage_request_volume", 50),
];

const SOURCE: &str = "gRPC's default (service_config.proto, OutlierDetectionLoadBalancingConfig)";

fn put(items: &mut Vec<Item>, key: &str, value: Value, origin: Origin) {
    items.push(Item { key: format!("outlier_ejection.{key}"), value, origin });
}

/// Reads the policy's config at `at` into `items` (keys of the callee service); its
/// `childPolicy` is the caller's to read.
pub fn read(at: &Cursor, items: &mut Vec<Item>, ignored: &mut Vec<Ignored>) -> Result<(), ScenarioError> {
    let known = [
        "interval",
        "baseEjectionTime",
        "maxEjectionTime",
        "maxEjectionPercent",
        "successRateEjection",
        "failurePercentageEjection",
        "childPolicy",
    ];
    at.check_keys(&known, &[], "", ignored)?;
    let duration = |grpc: &str, default: SimTime| match at.get(grpc) {
        Some(c) => units::go(&c).map(|t| (t, c.origin())),
        None => Ok((default, Origin::default_in(&at.origin(), grpc, SOURCE))),
    };
    let interval = duration("interval", SimTime::from_secs(INTERVAL_S))?;
    let base = duration("baseEjectionTime", SimTime::from_secs(BASE_EJECTION_S))?;
    let max = duration("maxEjectionTime", SimTime::from_secs(MAX_EJECTION_S).max(base.0))?;
    for (key, (t, origin)) in [("interval", interval), ("base_ejection_time", base), ("max_ejection_time", max)] {
        put(items, key, units::resim(t), origin);
    }
    let (percent, origin) = match at.get("maxEjectionPercent") {
        Some(c) => (percent(&c)?, c.origin()),
        None => (MAX_EJECTION_PERCENT, Origin::default_in(&at.origin(), "maxEjectionPercent", SOURCE)),
    };
    put(items, "max_ejection_percent", Value::from(percent), origin);
    let note = "A50: at least one address may always be ejected";
    put(
        items,
        "always_eject_one_host",
        Value::Bool(true),
        Origin::default_in(&at.origin(), "maxEjectionPercent", note),
    );
    algorithm(at, "successRateEjection", &SUCCESS_RATE, items, ignored)?;
    algorithm(at, "failurePercentageEjection", &FAILURE_PERCENTAGE, items, ignored)?;
    for key in ["enforcing_consecutive_5xx", "enforcing_consecutive_gateway_failure"] {
        let note = "gRPC runs only success rate and failure percentage (gRFC A50)";
        put(items, key, Value::from(0), Origin::default_in(&at.origin(), "consecutive", note));
    }
    Ok(())
}

/// A percentage in 0..=100.
fn percent(at: &Cursor) -> Result<u32, ScenarioError> {
    let p = at.u32()?;
    if p > 100 {
        let mut e = at.error(format!("{p} is not a percentage"));
        e.help = Some("give 0 to 100".into());
        return Err(e);
    }
    Ok(p)
}

/// One of the two algorithms: its keys with their defaults when its message is present,
/// or its enforcement at 0 (off) when it is absent.
fn algorithm(
    at: &Cursor,
    name: &str,
    keys: &[(&str, &str, u32); 4],
    items: &mut Vec<Item>,
    ignored: &mut Vec<Ignored>,
) -> Result<(), ScenarioError> {
    let Some(alg) = at.get(name) else {
        let note = "absent: gRPC does not run this algorithm (gRFC A50)";
        put(items, keys[1].1, Value::from(0), Origin::default_in(&at.origin(), name, note));
        return Ok(());
    };
    alg.check_keys(&keys.iter().map(|k| k.0).collect::<Vec<_>>(), &[], "", ignored)?;
    for (grpc, resim, default) in keys {
        match alg.get(grpc) {
            Some(c) => {
                let v = if grpc.starts_with("enforcement") || *grpc == "threshold" { percent(&c)? } else { c.u32()? };
                put(items, resim, Value::from(v), c.origin());
            }
            None => put(items, resim, Value::from(*default), Origin::default_in(&alg.origin(), grpc, SOURCE)),
        }
    }
    Ok(())
}
