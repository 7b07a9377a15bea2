//! Scenario key `imports:`: configuration files of other systems whose policies and SLOs
//! the scenario takes (read by [`crate::import`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One or several files of one format.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum FilesSpec {
    /// One file, relative to the scenario.
    One(PathBuf),
    /// Several files, relative to the scenario, read in order.
    Many(Vec<PathBuf>),
}

impl FilesSpec {
    /// The files, in order.
    pub fn paths(&self) -> Vec<PathBuf> {
        match self {
            FilesSpec::One(p) => vec![p.clone()],
            FilesSpec::Many(ps) => ps.clone(),
        }
    }
}

/// An imported configuration: give exactly one format key (its file or files), and the
/// names map when the format cannot say which service or edge a name means.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportSpec {
    /// Istio `DestinationRule` and `VirtualService` documents (networking.istio.io).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istio: Option<FilesSpec>,
    /// An Envoy bootstrap or xDS snapshot: clusters and route configurations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envoy: Option<FilesSpec>,
    /// A Spring Boot `application.yml` with `resilience4j.*` instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resilience4j: Option<FilesSpec>,
    /// A gRPC service config (JSON): `methodConfig` and `retryThrottling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<FilesSpec>,
    /// OpenSLO v1 `SLO` (and `SLI`, `AlertPolicy`) documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openslo: Option<FilesSpec>,
    /// A Sloth `prometheus/v1` service SLO spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sloth: Option<FilesSpec>,
    /// What `resim import` prints: resim keys by service and by edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resim: Option<FilesSpec>,
    /// Istio: host → service (default: the host's first label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<BTreeMap<String, String>>,
    /// Envoy: cluster → service (default: the cluster's name, or its first label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<BTreeMap<String, String>>,
    /// resilience4j: instance → edge (`caller->callee`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<BTreeMap<String, String>>,
    /// gRPC: `package.Service` (or `package.Service/Method`) → edge (`caller->callee`);
    /// OpenSLO and Sloth: the file's service or SLO name → `workload:NAME` or
    /// `service:NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<BTreeMap<String, String>>,
    /// Envoy: the service whose proxy the file configures (its calls get the routes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}
