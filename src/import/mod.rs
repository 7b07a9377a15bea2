//! Policies and SLOs read from the configuration files people deploy: Istio, Envoy,
//! resilience4j, gRPC service configs, OpenSLO and Sloth.
//!
//! Each format's reader turns its file into [`Setting`]s: a resim key (relative to a
//! service, an edge, or the scenario), the value, and where in the file it came from.
//! A value the format leaves out takes the format's own documented default, written out
//! as a setting whose origin names the default and its source. A field resim cannot
//! simulate is an error; a field that is pure plumbing (TLS, headers) is listed as
//! [`Ignored`] for `resim check` to show. [`merge`] then lays the settings under the
//! scenario's own keys (a key the scenario sets wins) before the scenario is read, so an
//! imported policy is checked and simulated exactly as if it had been written in resim
//! keys. `resim import` prints the settings as resim YAML ([`render`]), which the
//! `resim` format reads back ([`overlay`]).
//!
//! The files form layers: `units` and `source` (reading), the format readers, then
//! `merge` and `render`.

pub mod envoy;
pub mod envoy_cluster;
pub mod envoy_map;
pub mod envoy_route;
pub mod grpc;
pub mod grpc_codes;
pub mod grpc_lb;
pub mod grpc_outlier;
pub mod grpc_policy;
pub mod istio;
pub mod istio_rule;
pub mod merge;
pub mod openslo;
pub mod openslo_sli;
pub mod overlay;
pub mod render;
pub mod resilience4j;
pub mod resilience4j_exceptions;
pub mod resilience4j_policies;
pub mod resilience4j_properties;
pub mod slo_common;
pub mod sloth;
pub mod source;
pub mod units;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::scenario::ScenarioError;
use crate::scenario::import_spec::ImportSpec;
pub use source::{Cursor, Source};

/// A configuration format resim reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Format {
    /// Istio `DestinationRule` and `VirtualService` documents.
    Istio,
    /// Envoy clusters and route configurations.
    Envoy,
    /// Spring Boot `resilience4j.*` properties.
    Resilience4j,
    /// A gRPC service config.
    Grpc,
    /// OpenSLO v1.
    Openslo,
    /// Sloth `prometheus/v1`.
    Sloth,
    /// resim's own keys by service and edge, as `resim import` prints them.
    Resim,
}

impl Format {
    /// Every format, in the order of the `imports:` keys.
    pub const ALL: [Format; 7] = [
        Format::Istio,
        Format::Envoy,
        Format::Resilience4j,
        Format::Grpc,
        Format::Openslo,
        Format::Sloth,
        Format::Resim,
    ];

    /// The scenario key and command-line name.
    pub fn key(self) -> &'static str {
        match self {
            Format::Istio => "istio",
            Format::Envoy => "envoy",
            Format::Resilience4j => "resilience4j",
            Format::Grpc => "grpc",
            Format::Openslo => "openslo",
            Format::Sloth => "sloth",
            Format::Resim => "resim",
        }
    }

    /// The names map this format takes (`hosts`, `clusters`, ...), if any.
    pub fn map_key(self) -> Option<&'static str> {
        match self {
            Format::Istio => Some("hosts"),
            Format::Envoy => Some("clusters"),
            Format::Resilience4j => Some("instances"),
            Format::Grpc | Format::Openslo | Format::Sloth => Some("services"),
            Format::Resim => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Where an imported value came from: a place in a file, or a format's default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file, as messages show it.
    pub file: PathBuf,
    /// 1-based line and column (0 when the value is a default).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The key path in the file (`spec.http.0.retries.attempts`).
    pub key: String,
    /// How the value was derived, when not copied as is: a default and its source
    /// ("Istio's default: istio.io VirtualService HTTPRetry"), or a conversion ("2
    /// retries + the first attempt").
    pub note: Option<String>,
}

impl Origin {
    /// This origin with a note on how the value was derived.
    pub fn noted(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// A format's default for a key absent from the file at `parent` (the mapping it
    /// would be in): `note` names the default and cites its source.
    pub fn default_in(parent: &Origin, key: &str, note: impl Into<String>) -> Origin {
        let key = if parent.key.is_empty() { key.to_owned() } else { format!("{}.{key}", parent.key) };
        Origin { file: parent.file.clone(), line: 0, column: 0, key, note: Some(note.into()) }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, " {}", self.key)?;
        }
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

/// What an imported value applies to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// Every call step from `from` (every caller when `None`) to `to`: keys of a
    /// `calls` entry (`timeout`, `retry.max_attempts`).
    Edge {
        /// The caller; `None` for every service that calls `to` (a mesh-wide rule).
        from: Option<String>,
        /// The callee.
        to: String,
    },
    /// A service: keys of `services.NAME` (`outlier_ejection.interval`).
    Service(String),
    /// One SLO, by name: the key is empty and the value the whole `slos` entry.
    Slo(String),
    /// A key of the scenario's `alerting` section.
    Alerting,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Edge { from, to } => write!(f, "{}->{to}", from.as_deref().unwrap_or("*")),
            Target::Service(s) => write!(f, "service {s}"),
            Target::Slo(s) => write!(f, "slo {s}"),
            Target::Alerting => f.write_str("alerting"),
        }
    }
}

/// One imported value.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// What it applies to.
    pub target: Target,
    /// The resim key under the target, dotted (`retry.backoff`); empty for a whole SLO.
    pub key: String,
    /// The value, as it would be written in a scenario (durations as `25ms`).
    pub value: Value,
    /// Where it came from.
    pub origin: Origin,
}

/// A field read and deliberately not simulated (plumbing such as TLS or headers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignored {
    /// The field.
    pub origin: Origin,
    /// Why it does not change what is simulated.
    pub reason: String,
}

/// What one import (or several) produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Imported {
    /// The values, in file order.
    pub settings: Vec<Setting>,
    /// The fields read and not simulated.
    pub ignored: Vec<Ignored>,
}

impl Imported {
    /// Adds a setting.
    pub fn set(&mut self, target: &Target, key: &str, value: impl Into<Value>, origin: Origin) {
        self.settings.push(Setting { target: target.clone(), key: key.to_owned(), value: value.into(), origin });
    }

    /// Appends everything `other` holds.
    pub fn extend(&mut self, other: Imported) {
        self.settings.extend(other.settings);
        self.ignored.extend(other.ignored);
    }
}

/// What the scenario looks like, for readers that must resolve names: its services,
/// workloads and call edges. Empty lists when there is no scenario (`resim import`
/// alone): names are then taken as given.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Service names.
    pub services: Vec<String>,
    /// Workload names.
    pub workloads: Vec<String>,
    /// Call edges `(caller, callee)`, each once.
    pub edges: Vec<(String, String)>,
    /// True when the lists describe a scenario (names can be checked).
    pub known: bool,
}

impl Context {
    /// The context of a scenario document (its JSON tree).
    pub fn of(doc: &Value) -> Context {
        let mut c = Context { known: true, ..Context::default() };
        if let Some(Value::Object(services)) = doc.get("services") {
            for (name, s) in services {
                c.services.push(name.clone());
                for (_, to) in merge::call_steps(s) {
                    if !c.edges.iter().any(|(a, b)| a == name && *b == to) {
                        c.edges.push((name.clone(), to));
                    }
                }
            }
        }
        if let Some(Value::Array(ws)) = doc.get("workloads") {
            c.workloads.extend(ws.iter().filter_map(|w| w.get("name")?.as_str().map(str::to_owned)));
        }
        c
    }
}

/// One import as the readers see it: the format, its files, the names map and the
/// caller (Envoy).
#[derive(Clone, Debug)]
pub struct Entry {
    /// The format.
    pub format: Format,
    /// The files, read.
    pub files: Vec<Source>,
    /// The names map (`hosts`, `clusters`, `instances` or `services`), name → target.
    pub map: BTreeMap<String, String>,
    /// Envoy: the service whose proxy the files configure.
    pub caller: Option<String>,
    /// Where the import is declared, for messages about the map (`imports.0.hosts`).
    pub key: String,
}

/// Reads one import with its format's reader.
pub fn read_entry(entry: &Entry, ctx: &Context) -> Result<Imported, ScenarioError> {
    match entry.format {
        Format::Istio => istio::read(entry, ctx),
        Format::Envoy => envoy::read(entry, ctx),
        Format::Resilience4j => resilience4j::read(entry, ctx),
        Format::Grpc => grpc::read(entry, ctx),
        Format::Openslo => openslo::read(entry, ctx),
        Format::Sloth => sloth::read(entry, ctx),
        Format::Resim => overlay::read(entry, ctx),
    }
}

/// The import declared at `imports.{index}` of a scenario in `dir`: its format, files
/// (read) and map, checked for shape.
pub fn entry_of(spec: &ImportSpec, index: usize, dir: &Path) -> Result<Entry, ScenarioError> {
    let key = format!("imports.{index}");
    let given: Vec<(Format, &crate::scenario::import_spec::FilesSpec)> = [
        (Format::Istio, &spec.istio),
        (Format::Envoy, &spec.envoy),
        (Format::Resilience4j, &spec.resilience4j),
        (Format::Grpc, &spec.grpc),
        (Format::Openslo, &spec.openslo),
        (Format::Sloth, &spec.sloth),
        (Format::Resim, &spec.resim),
    ]
    .into_iter()
    .filter_map(|(f, files)| files.as_ref().map(|x| (f, x)))
    .collect();
    let names = || Format::ALL.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
    let (format, files) = match given.as_slice() {
        [one] => *one,
        [] => {
            return Err(ScenarioError::at_key(&key, "an import names no format")
                .with_help(format!("give one of {} with its file, e.g. `- istio: mesh/reviews.yaml`", names())));
        }
        [a, b, ..] => {
            return Err(ScenarioError::at_key(&key, format!("an import names two formats, `{}` and `{}`", a.0, b.0))
                .with_help("give each format its own entry in `imports`"));
        }
    };
    let maps = [
        ("hosts", &spec.hosts),
        ("clusters", &spec.clusters),
        ("instances", &spec.instances),
        ("services", &spec.services),
    ];
    let mut map = BTreeMap::new();
    for (name, m) in maps {
        let Some(m) = m else { continue };
        if format.map_key() != Some(name) {
            let takes = match format.map_key() {
                Some(k) => format!("a {format} import maps names with `{k}`"),
                None => format!("a {format} import needs no names map"),
            };
            return Err(ScenarioError::at_key(format!("{key}.{name}"), format!("{format} imports have no `{name}`"))
                .with_help(takes));
        }
        map = m.clone();
    }
    if spec.caller.is_some() && format != Format::Envoy {
        return Err(ScenarioError::at_key(format!("{key}.caller"), format!("{format} imports have no `caller`"))
            .with_help("`caller` names the service whose Envoy proxy an envoy import configures"));
    }
    let paths = files.paths();
    if paths.is_empty() {
        return Err(ScenarioError::at_key(format!("{key}.{format}"), "the list of files is empty")
            .with_help(format!("name at least one file, e.g. `{format}: config.yaml`")));
    }
    let mut read = Vec::with_capacity(paths.len());
    for (i, p) in paths.iter().enumerate() {
        let fkey = if paths.len() == 1 { format!("{key}.{format}") } else { format!("{key}.{format}.{i}") };
        let full = dir.join(p);
        // A file that cannot be read is the scenario's mistake, located at its name there.
        let src = Source::read(&full, &crate::input::shown(&full)).map_err(|e| {
            if e.line > 0 {
                return e;
            }
            let mut at = ScenarioError::at_key(&fkey, format!("{}: {}", e.file.display(), e.message));
            at.help = e.help;
            at
        })?;
        read.push(src);
    }
    Ok(Entry { format, files: read, map, caller: spec.caller.clone(), key })
}
