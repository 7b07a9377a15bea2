//! The balancer of a gRPC service config: `loadBalancingConfig` (a list; a client takes
//! the first policy it supports, and the config is invalid when none is, as
//! `grpc.service_config.LoadBalancingConfig` in grpc-proto says) or the deprecated
//! `loadBalancingPolicy`, used only when the list is absent. It becomes the callee's
//! `load_balancer` where resim has the same policy, and an error saying why otherwise.

use serde_json::Value;

use super::grpc_policy::Item;
use super::{Cursor, Ignored, Origin, grpc_outlier};
use crate::scenario::ScenarioError;
use crate::scenario::tree::Node;

/// The policies gRPC defines (the `json_name`s of `LoadBalancingConfig.policy` in
/// grpc-proto), each with why resim cannot simulate it; `round_robin` is the one it can.
const REFUSED: [(&str, &str); 19] = [
    (
        "pick_first",
        "pick_first sends every call to one backend until it fails (gRFC A62); resim's balancers spread calls over \
         the instances",
    ),
    (
        "weighted_round_robin",
        "weighted_round_robin weighs backends by the utilization they report (gRFC A58, ORCA), which resim's instances do not report",
    ),
    ("grpclb", "grpclb asks a lookaside balancer, which resim does not simulate"),
    ("priority_experimental", "priority_experimental fails over between xDS localities, which resim does not simulate"),
    (
        "weighted_target_experimental",
        "weighted_target_experimental splits calls between xDS localities, which resim does not simulate",
    ),
    ("rls_experimental", "rls_experimental routes by a lookup service, which resim does not simulate"),
    (
        "xds_cluster_manager_experimental",
        "xDS balancing is configured by Envoy's xDS resources, which resim's envoy import reads",
    ),
    ("cds_experimental", "xDS balancing is configured by Envoy's xDS resources, which resim's envoy import reads"),
    (
        "xds_cluster_impl_experimental",
        "xDS balancing is configured by Envoy's xDS resources, which resim's envoy import reads",
    ),
    (
        "override_host_experimental",
        "override_host_experimental keeps session affinity (gRFC A60), which resim does not simulate",
    ),
    (
        "xds_wrr_locality_experimental",
        "xDS balancing is configured by Envoy's xDS resources, which resim's envoy import reads",
    ),
    (
        "ring_hash_experimental",
        "ring_hash_experimental hashes a request key to a backend, and resim's requests have no key",
    ),
    (
        "least_request_experimental",
        "least_request_experimental compares choice_count backends drawn with replacement (gRFC A48); resim's \
         power_of_two draws two distinct ones",
    ),
    (
        "random_subsetting_experimental",
        "random_subsetting_experimental connects each client to a subset (gRFC A68), which resim does not simulate",
    ),
    ("xds_cluster_resolver_experimental", "a deprecated xDS policy, configured by Envoy's xDS resources"),
    ("lrs_experimental", "a deprecated xDS policy, configured by Envoy's xDS resources"),
    ("eds_experimental", "a deprecated xDS policy, configured by Envoy's xDS resources"),
    ("xds", "a deprecated xDS policy, configured by Envoy's xDS resources"),
    ("xds_experimental", "a deprecated xDS policy, configured by Envoy's xDS resources"),
];

/// The help for a refused balancer.
const HELP: &str = "remove it and set the callee's `load_balancer` in the scenario (round_robin, random, \
                    least_outstanding or power_of_two), or list round_robin first";

/// The callee's keys the config at `doc` sets: its `load_balancer` (`round_robin`) and,
/// under `outlier_detection_experimental`, its `outlier_ejection`; none when it sets no
/// balancer (gRPC's default is then pick_first, listed in `ignored`).
pub fn balancer(doc: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Vec<Item>, ScenarioError> {
    let policy = doc.get("loadBalancingPolicy");
    if let Some(list) = doc.get("loadBalancingConfig") {
        if let Some(p) = policy {
            ignored.push(Ignored {
                origin: p.origin(),
                reason: "loadBalancingConfig is set, and wins over this deprecated field (service_config.proto)".into(),
            });
        }
        return from_list(&list, ignored);
    }
    let Some(p) = policy else {
        ignored.push(Ignored {
            origin: Origin::default_in(&doc.origin(), "loadBalancingConfig", "absent"),
            reason: "gRPC's default balancer is pick_first (service_config.proto), which resim does not simulate; the \
                     scenario's own load_balancer is kept"
                .into(),
        });
        return Ok(Vec::new());
    };
    let name = p.str()?;
    match name.to_ascii_lowercase().as_str() {
        "round_robin" => Ok(vec![round_robin(p.origin())]),
        other => match REFUSED.iter().find(|(n, _)| *n == other) {
            Some((_, why)) => Err(refused(&p, why)),
            None => {
                let mut e = p.error(format!("`{name}` is not a gRPC load-balancing policy"));
                e.help =
                    Some("gRPC knows round_robin and pick_first here (gRFC A21: an unknown one is invalid)".into());
                Err(e)
            }
        },
    }
}

fn round_robin(origin: Origin) -> Item {
    Item { key: "load_balancer".into(), value: Value::from("round_robin"), origin }
}

fn refused(at: &Cursor, why: &str) -> ScenarioError {
    let mut e = at.error(format!("resim cannot simulate this balancer: {why}"));
    e.help = Some(HELP.into());
    e
}

/// The first policy of `loadBalancingConfig` that gRPC knows: `round_robin` (with an
/// empty config) and `outlier_detection_experimental` (with its `childPolicy`) are
/// read, another known one refused; unknown names are skipped, as a client skips the
/// policies it does not support.
fn from_list(list: &Cursor, ignored: &mut Vec<Ignored>) -> Result<Vec<Item>, ScenarioError> {
    for item in list.items()? {
        let entries = item.entries()?;
        let [(name, config)] = entries.as_slice() else {
            let mut e = item.error(format!("a balancer entry names {} policies", entries.len()));
            e.help = Some("give each entry one policy, e.g. { \"round_robin\": {} }".into());
            return Err(e);
        };
        if name == "round_robin" {
            // `RoundRobinConfig` has no fields.
            match &config.node().node {
                Node::Map(_) => config.check_keys(&[], &[], "", ignored)?,
                Node::Scalar(Value::Null) => {}
                _ => return Err(config.error(format!("expected {{}}, found {}", config.node().describe()))),
            }
            return Ok(vec![round_robin(config.origin())]);
        }
        if name == "outlier_detection_experimental" {
            let mut items = Vec::new();
            grpc_outlier::read(config, &mut items, ignored)?;
            let child = config.get("childPolicy").ok_or_else(|| {
                let mut e = config.error("`childPolicy` is missing");
                e.help = Some("gRFC A50: name the balancer it wraps, e.g. [{ \"round_robin\": {} }]".into());
                e
            })?;
            items.extend(from_list(&child, ignored)?);
            return Ok(items);
        }
        if let Some((_, why)) = REFUSED.iter().find(|(n, _)| n == name) {
            return Err(refused(config, why));
        }
        ignored.push(Ignored {
            origin: config.origin(),
            reason: format!(
                "`{name}` is not a gRPC policy: a client skips it and takes the next (service_config.proto)"
            ),
        });
    }
    let mut e = list.error("no policy in `loadBalancingConfig` is one gRPC supports");
    e.help = Some(
        "gRPC then deems the whole service config invalid (service_config.proto); add { \"round_robin\": {} }".into(),
    );
    Err(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::Source;
    use std::path::Path;

    fn read(text: &str) -> (Result<Vec<Item>, ScenarioError>, Vec<Ignored>) {
        let src = Source::parse(text.to_owned(), Path::new("sc.json")).unwrap();
        let mut ignored = Vec::new();
        (balancer(&src.doc(0), &mut ignored), ignored)
    }

    #[test]
    fn round_robin_is_read_after_policies_grpc_does_not_know() {
        let (got, ignored) = read(r#"{"loadBalancingConfig": [{"my_custom_lb": {}}, {"round_robin": {}}]}"#);
        assert_eq!(got.unwrap()[0].origin.key, "loadBalancingConfig.1.round_robin");
        assert_eq!(ignored.len(), 1);
        let (got, _) = read(r#"{"loadBalancingPolicy": "ROUND_ROBIN"}"#);
        assert_eq!(got.unwrap()[0].value, Value::from("round_robin"));
        let (got, ignored) = read("{}");
        assert!(got.unwrap().is_empty());
        assert!(ignored[0].reason.contains("pick_first"));
    }

    #[test]
    fn outlier_detection_is_the_callees_ejection_with_grpcs_defaults() {
        let text = r#"{"loadBalancingConfig": [{"outlier_detection_experimental": {
            "baseEjectionTime": "400s", "failurePercentageEjection": {},
            "childPolicy": [{"round_robin": {}}]}}]}"#;
        let (got, _) = read(text);
        let items = got.unwrap();
        let value = |k: &str| items.iter().find(|i| i.key == k).map(|i| i.value.clone());
        assert_eq!(value("outlier_ejection.interval"), Some(Value::from("10s")));
        // The max ejection time is never below the base one (service_config.proto).
        assert_eq!(value("outlier_ejection.max_ejection_time"), Some(Value::from("400s")));
        assert_eq!(value("outlier_ejection.enforcing_success_rate"), Some(Value::from(0)));
        assert_eq!(value("outlier_ejection.enforcing_failure_percentage"), Some(Value::from(100)));
        assert_eq!(value("outlier_ejection.enforcing_consecutive_5xx"), Some(Value::from(0)));
        assert_eq!(value("load_balancer"), Some(Value::from("round_robin")));
        let (got, _) = read(r#"{"loadBalancingConfig": [{"outlier_detection_experimental": {}}]}"#);
        assert!(got.unwrap_err().message.contains("childPolicy"));
    }

    #[test]
    fn balancers_resim_cannot_simulate_are_refused_with_why() {
        let (got, _) = read("{\"loadBalancingConfig\": [\n {\"pick_first\": {\"shuffleAddressList\": true}}]}");
        let e = got.unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "loadBalancingConfig.0.pick_first"));
        assert!(e.message.contains("gRFC A62"), "{e}");
        let (got, _) = read(r#"{"loadBalancingPolicy": "UnknownPolicy"}"#);
        assert!(got.unwrap_err().message.contains("not a gRPC load-balancing policy"));
        let (got, _) = read(r#"{"loadBalancingConfig": [{"my_custom_lb": {}}]}"#);
        assert!(got.unwrap_err().message.contains("no policy"));
        let (got, _) = read(r#"{"loadBalancingConfig": [{"round_robin": {"x": 1}}]}"#);
        assert!(got.unwrap_err().message.contains("unknown or unsupported key `x`"));
    }
}
