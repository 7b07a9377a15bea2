//! The scenario file format: parse (YAML or JSON), override, validate.
//!
//! Input is read in two stages, as ripgrep reads its arguments: [`spec`] mirrors the
//! file exactly (serde + schemars, unknown keys rejected), and [`validate`] resolves it
//! into the id-indexed [`crate::model::Model`] the engine runs. Errors carry the file,
//! line, column and dotted key path, what was expected, and a suggestion.
//!
//! The files form layers; each imports only from the layers before it in this list (and,
//! within a layer, from the files named before it), so there is no import circle:
//! 1. `error`, `tree`, `units`: located messages, the parsed tree, durations and rates;
//! 2. `samples` (reading samples files), `yaml` (the YAML reader and its messages), then
//!    the spec types: `dist_spec`, `import_spec`, `policy_spec`, `slo_spec`, `sweep_spec`, `fault_spec`,
//!    and `spec`, the whole file;
//! 3. validators, one per concern: `validate_dist`, `validate_policy`,
//!    `validate_server`, `validate_fault`, `validate_slo`, `validate_timers`, then
//!    `validate_service` and `validate_workload`, which use the first ones, and
//!    `validate_loops`, on the assembled model;
//! 4. `validate`, which assembles the [`crate::model::Model`] from those builders;
//! 5. `load`, which parses, lays imported configurations under the file's keys
//!    ([`crate::import`], which reads with layers 1-2), applies overrides, reads samples
//!    files and validates.
//!
//! Writing durations back (reports, serialised specs) is [`crate::engine::format`]'s,
//! so what renders results needs nothing from this module to do it.

pub mod autoscale_spec;
pub mod cache_spec;
pub mod dist_spec;
pub mod error;
pub mod fault_spec;
pub mod import_spec;
pub mod library_spec;
pub mod load;
pub mod mqueue_spec;
pub mod policy_spec;
pub mod priority_spec;
pub mod samples;
pub mod shed_spec;
pub mod slo_spec;
pub mod spec;
pub mod sweep_spec;
pub mod tree;
pub mod units;
pub mod validate;
pub mod validate_autoscale;
pub mod validate_cache;
pub mod validate_dist;
pub mod validate_fault;
pub mod validate_library;
pub mod validate_loops;
pub mod validate_mqueue;
pub mod validate_outlier;
pub mod validate_policy;
pub mod validate_priority;
pub mod validate_server;
pub mod validate_service;
pub mod validate_slo;
pub mod validate_timers;
pub mod validate_workload;
pub mod yaml;

pub use error::ScenarioError;
pub use load::{Override, Scenario, load_file, load_str, load_str_reusing};
pub use spec::ScenarioSpec;

/// The JSON Schema of the scenario format, for editors and `resim schema`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ScenarioSpec)).unwrap_or_default()
}
