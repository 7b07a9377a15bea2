//! Reading a scenario file: parse, apply `--set` overrides, read samples files, validate,
//! locate errors.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::dist_spec::{DistSpec, EmpiricalSpec};
use super::error::{ScenarioError, suggest};
use super::fault_spec::AddSpec;
use super::samples::{MAX_TOTAL_SAMPLES, SamplesError, SamplesFile, read_file};
use super::spec::{ArrivalSpec, ScenarioSpec};
use super::tree::Located;
use super::validate::validate;
use super::yaml;
use crate::import::{self, merge::Merged};
use crate::input::{self, InputError};
use crate::model::Model;

/// Largest scenario file accepted. Real scenarios are a few KB; this bounds memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A scenario as written and as validated.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file's contents after overrides.
    pub spec: ScenarioSpec,
    /// The checked model.
    pub model: Model,
    /// The samples files read for empirical distributions, in first-use order.
    pub samples: Vec<Arc<SamplesFile>>,
    /// What the scenario's `imports` set, what its own keys overrode, and what was read
    /// and not simulated.
    pub imports: Merged,
}

/// The flag of a swept parameter given on the command line.
pub const PARAM_FLAG: &str = "--param";
/// The flag of a swept parameter from the file's `sweep.params`.
pub const SWEEP_FLAG: &str = "sweep.params";

/// A `--set KEY=VALUE` override: a dotted key path and a YAML value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// Dotted path, e.g. `services.api.servers` or `workloads.0.arrivals`.
    pub key: String,
    /// The value, parsed as YAML (`8`, `2s`, `{ exponential: { mean: 5ms } }`).
    pub value: String,
    /// The command-line option it came from, when not `--set` (e.g. `--seed`).
    pub flag: Option<&'static str>,
}

impl Override {
    /// An override that came from a dedicated option such as `--seed`.
    pub fn from_flag(flag: &'static str, key: &str, value: impl ToString) -> Self {
        Override { key: key.to_owned(), value: value.to_string(), flag: Some(flag) }
    }

    /// A swept parameter's value: `flag` is `--param` or `sweep.params` (the file's
    /// `sweep:` section), so errors name the parameter.
    pub fn param(flag: &'static str, key: &str, value: impl ToString) -> Self {
        Override { key: key.to_owned(), value: value.to_string(), flag: Some(flag) }
    }

    /// The option to give a corrected path with: `--param` for a swept one, else `--set`.
    fn option(&self) -> &'static str {
        if self.flag == Some(PARAM_FLAG) { PARAM_FLAG } else { "--set" }
    }

    /// True when the override names its key in messages (`--set`, `--param`).
    fn keyed(&self) -> bool {
        matches!(self.flag, None | Some(PARAM_FLAG) | Some(SWEEP_FLAG))
    }

    /// How messages name it: `--set services.api.servers`, `--param services.api.servers`
    /// or `--seed`.
    pub fn label(&self) -> String {
        match self.flag {
            Some(flag) if self.keyed() => format!("{flag} {}", self.key),
            Some(flag) => flag.to_owned(),
            None => format!("--set {}", self.key),
        }
    }
}

impl std::str::FromStr for Override {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (key, value) =
            s.split_once('=').ok_or_else(|| format!("`{s}` is not KEY=VALUE (e.g. services.api.servers=8)"))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!("`{key}` is not a dotted key path (e.g. services.api.servers)"));
        }
        Ok(Override { key: key.to_owned(), value: value.trim().to_owned(), flag: None })
    }
}

/// Reads, parses and validates the scenario at `path` (`-` for standard input), applying
/// `overrides` in order.
pub fn load_file(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    load_str(&read_scenario(path)?, &input::shown(path), overrides)
}

/// The text of the scenario at `path` (`-` or `/dev/stdin`: standard input), at most
/// [`MAX_FILE_BYTES`]; folders, FIFOs and devices are refused without being opened.
pub fn read_scenario(path: &Path) -> Result<String, ScenarioError> {
    input::read_text(path, MAX_FILE_BYTES).map_err(|e| {
        let help = match e {
            InputError::TooLarge { .. } => {
                "move large empirical samples into a file: empirical: { file: latencies.csv, unit: ms }".to_owned()
            }
            InputError::NotUtf8 { .. } => "the file must be UTF-8 YAML or JSON".to_owned(),
            _ => e.help(),
        };
        let mut err = ScenarioError::at_key("", format!("cannot read the scenario: {}", e.reason())).with_help(help);
        err.file = e.path().to_owned();
        err
    })
}

/// Parses and validates scenario `text` read from `file`: `file` names it in messages,
/// and samples files (`empirical: { file: ... }`) are read relative to its folder (to
/// the working directory for a bare name such as `s.yaml`).
///
/// The file is always parsed as written first, so its own mistakes are reported at
/// their line and column whether or not overrides are given. Overrides are then applied
/// to the parsed tree, which is read again by the same YAML reader (as JSON text, a
/// subset of YAML), so a file that checks alone reads the same way with overrides.
pub fn load_str(text: &str, file: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    load_str_reusing(text, file, overrides, &[])
}

/// [`load_str`], reusing the samples files in `known` (from an earlier load, such as a
/// sweep's base scenario) instead of reading them again: every point of a sweep sees the
/// same values.
pub fn load_str_reusing(
    text: &str,
    file: &Path,
    overrides: &[Override],
    known: &[Arc<SamplesFile>],
) -> Result<Scenario, ScenarioError> {
    let locate = |mut e: ScenarioError, tree: Option<&Located>| {
        e.file = file.to_owned();
        if e.line == 0
            && let Some(tree) = tree
        {
            let node = tree.find(&e.key);
            (e.line, e.column) = node.at;
        }
        if e.line > 0 {
            e.source_line = text.lines().nth(e.line - 1).map(str::to_owned);
        }
        e
    };
    let tree: Located = yaml::parse_tree(text).map_err(|e| locate(yaml::describe(&e, None), None))?;
    let mut spec =
        yaml::parse::<ScenarioSpec>(text).map_err(|e| locate(yaml::describe(&e, Some(&tree)), Some(&tree)))?;
    let dir = file.parent().unwrap_or(Path::new(""));
    let mut imports = Merged::default();
    if !overrides.is_empty() || !spec.imports.is_empty() {
        let mut doc = tree.to_json();
        if !spec.imports.is_empty() {
            // An error in an imported file is located there; one about the `imports`
            // entry itself, in the scenario.
            imports = import_into(&mut doc, &spec, dir)
                .map_err(|e| if e.file.as_os_str().is_empty() { locate(e, Some(&tree)) } else { e })?;
        }
        for o in overrides {
            apply_override(&mut doc, o).map_err(|e| set_error(file, e, o))?;
        }
        let json = doc.to_string();
        // The file's own reading and the edited tree are not needed past here: a scenario
        // of 10⁶ inline samples holds each in memory, so free them before reading again.
        drop((doc, spec));
        spec = yaml::parse::<ScenarioSpec>(&json).map_err(|e| {
            // The tree of the overridden document gives the error its key path, which
            // says which override is to blame.
            let mut err = yaml::describe(&e, yaml::parse_tree(&json).ok().as_ref());
            (err.line, err.column) = (0, 0);
            if let Some(origin) = imports.origin_of(&err.key)
                && overrides.iter().all(|o| !err.key.starts_with(&o.key))
            {
                return imported_error(err, origin);
            }
            match blame(&err, overrides) {
                Some(o) => {
                    err.key = o.key.clone();
                    set_error(file, err, o)
                }
                None => {
                    err.file = file.to_owned();
                    err
                }
            }
        })?;
    }
    let place = |e: ScenarioError| match overrides.iter().rev().find(|o| e.key.starts_with(&o.key)) {
        Some(o) => set_error(file, e, o),
        None => match imports.origin_of(&e.key) {
            Some(origin) => imported_error(e, origin),
            None => locate(e, Some(&tree)),
        },
    };
    // An error on a line of a samples file is already located in that file.
    let samples = resolve(&mut spec, dir, known).map_err(|e| if e.line > 0 { e } else { place(e) })?;
    let model = validate(&spec).map_err(place)?;
    Ok(Scenario { spec, model, samples, imports })
}

/// Reads the scenario's `imports` (relative to `dir`) and lays them under `doc`.
fn import_into(doc: &mut Value, spec: &ScenarioSpec, dir: &Path) -> Result<Merged, ScenarioError> {
    let ctx = import::Context::of(doc);
    let mut all = import::Imported::default();
    for (i, entry) in spec.imports.iter().enumerate() {
        let entry = import::entry_of(entry, i, dir)?;
        all.extend(import::read_entry(&entry, &ctx)?);
    }
    import::merge::merge(doc, &all)
}

/// An error about a key whose value was imported, located at that value in its file.
fn imported_error(mut e: ScenarioError, origin: &import::Origin) -> ScenarioError {
    e.file = origin.file.clone();
    (e.line, e.column) = (origin.line, origin.column);
    e.source_line = None;
    if origin.line > 0
        && let Ok(text) = std::fs::read_to_string(&origin.file)
    {
        e.source_line = text.lines().nth(origin.line - 1).map(str::to_owned);
    }
    let from = match &origin.note {
        Some(note) => format!("{} ({note})", origin.key),
        None => origin.key.clone(),
    };
    e.message = format!("{} (imported from `{from}`)", e.message);
    e
}

/// The override to blame for an error that appeared only after overrides: the last one
/// that set the error's key or a key around it, else the one that introduced an unknown
/// name, else the last one.
fn blame<'a>(e: &ScenarioError, overrides: &'a [Override]) -> Option<&'a Override> {
    let within = |o: &&Override| e.key == o.key || e.key.starts_with(&format!("{}.", o.key));
    let unknown = e.message.split('`').nth(1).unwrap_or_default();
    overrides
        .iter()
        .rev()
        .find(within)
        .or_else(|| overrides.iter().rev().find(|o| !unknown.is_empty() && o.key.split('.').any(|s| s == unknown)))
        .or_else(|| overrides.last())
}

fn set_error(file: &Path, mut e: ScenarioError, o: &Override) -> ScenarioError {
    e.file = file.to_owned();
    let label = o.label();
    if !e.key.starts_with("--") && !e.key.starts_with(SWEEP_FLAG) {
        e.key = if o.keyed() { label.clone() } else { format!("{label} ({})", e.key) };
    }
    e.message = if o.keyed() {
        format!("{} (after {})", e.message, o.flag.unwrap_or("--set"))
    } else {
        format!("{} (from {label})", e.message)
    };
    e
}

/// The mappings of a scenario keyed by names the user chooses (every other mapping has
/// fixed keys, which the reader checks), with what one entry is called; `*` stands for
/// any one name.
const NAMED: [(&str, &str); 7] = [
    ("services", "service"),
    ("services.*.pools", "pool"),
    ("sweep.params", "parameter"),
    ("imports.*.hosts", "host"),
    ("imports.*.clusters", "cluster"),
    ("imports.*.instances", "instance"),
    ("imports.*.services", "name"),
];

/// Sets `o.key` in `doc` to `o.value`, creating mappings along the way for fixed keys.
///
/// A name in a [`NAMED`] mapping, or an index in a list, must exist unless it is the
/// last segment: `--set 'services.cache={ service_time: ... }'` adds a whole service and
/// `--set 'workloads.1={ ... }'` appends to a list of one, but `--set
/// services.apii.servers=4` names a service that is not there, a typo to report rather
/// than an entry to invent (it would be a service with only `servers`).
fn apply_override(doc: &mut Value, o: &Override) -> Result<(), ScenarioError> {
    let fail = |message: String, help: String| ScenarioError::at_key(o.label(), message).with_help(help);
    if o.value.trim().is_empty() {
        return Err(fail("the value is empty".into(), format!("give a value after `=`, e.g. {}=8", o.key)));
    }
    let value: Value = yaml::parse(&o.value).map_err(|e| {
        let read = yaml::describe(&e, None);
        let mut e =
            ScenarioError::at_key(o.label(), format!("the value `{}` cannot be read: {}", o.value, read.message));
        e.help = read.help;
        e
    })?;
    let mut here = doc;
    let segs: Vec<&str> = o.key.split('.').collect();
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        let path = segs[..i].join(".");
        if here.is_null() {
            *here = Value::Object(Default::default());
        }
        here = match here {
            Value::Array(items) => {
                let len = items.len();
                match seg.parse::<usize>() {
                    Ok(idx) if idx < len => &mut items[idx],
                    Ok(idx) if idx == len && last => {
                        items.push(Value::Null);
                        &mut items[idx]
                    }
                    _ => return Err(not_an_index(o, &path, seg, len)),
                }
            }
            Value::Object(map) => {
                if !last && !map.contains_key(*seg) {
                    let names: Vec<&str> = map.keys().map(String::as_str).collect();
                    if let Some(e) = unknown_name(o, &path, seg, &names) {
                        return Err(e);
                    }
                }
                map.entry(seg.to_string()).or_insert(Value::Null)
            }
            _ => {
                return Err(fail(
                    format!("`{path}` is a plain value, so it has no key `{seg}`"),
                    format!("set `{path}` itself: --set {path}=VALUE"),
                ));
            }
        };
        if last {
            *here = value;
            return Ok(());
        }
    }
    Ok(())
}

/// The error for `seg`, not an index of the list at `path` of `len` items.
fn not_an_index(o: &Override, path: &str, seg: &str, len: usize) -> ScenarioError {
    let range = match len {
        0 => "it is empty".to_owned(),
        1 => "it has 1 item, 0".to_owned(),
        _ => format!("it has {len} items, 0 to {}", len - 1),
    };
    ScenarioError::at_key(o.label(), format!("`{seg}` is not an index of `{path}` ({range})")).with_help(format!(
        "name an item by its index; to add one, set it whole at the end: {} '{path}.{len}={{ ... }}'",
        o.option()
    ))
}

/// The error for a path through `name`, missing from the mapping at `path` that holds
/// `names`, when that mapping is one of [`NAMED`]; `None` for a mapping of fixed keys.
fn unknown_name(o: &Override, path: &str, name: &str, names: &[&str]) -> Option<ScenarioError> {
    let segs: Vec<&str> = path.split('.').collect();
    let matches = |pattern: &str| {
        let pat: Vec<&str> = pattern.split('.').collect();
        pat.len() == segs.len() && pat.iter().zip(&segs).all(|(p, s)| *p == "*" || p == s)
    };
    let (_, noun) = NAMED.iter().find(|(pattern, _)| matches(pattern))?;
    let known = if names.is_empty() { "there are none".to_owned() } else { format!("{path}: {}", names.join(", ")) };
    let add = format!("to add a {noun}, set it whole: {} '{path}.{name}={{ ... }}'", o.option());
    let help = match suggest(name, names.iter().copied()) {
        Some(near) => format!("did you mean `{near}`? ({add})"),
        None => add,
    };
    Some(ScenarioError::at_key(o.label(), format!("there is no {noun} `{name}` ({known})")).with_help(help))
}

/// Reads the file of every empirical distribution in `spec` that names one, relative to
/// `dir`, and stores the values in the spec. Files in `known` (read by an earlier load
/// with the same path, unit and column) are reused, not read again. Returns the files
/// used, in first-use order.
///
/// An error about the file as a whole has the `file` key and no location (the caller
/// locates it in the scenario); an error on a line of the file has that file and line.
pub fn resolve(
    spec: &mut ScenarioSpec,
    dir: &Path,
    known: &[Arc<SamplesFile>],
) -> Result<Vec<Arc<SamplesFile>>, ScenarioError> {
    let mut used: Vec<Arc<SamplesFile>> = Vec::new();
    let mut total = 0usize;
    for (key, e) in empiricals(spec) {
        e.loaded = None;
        let Some(file) = &e.file else { continue };
        // Both `samples` and `file`: validation says so.
        if e.samples.is_some() {
            continue;
        }
        let fkey = format!("{key}.file");
        if file.as_os_str().is_empty() {
            return Err(ScenarioError::at_key(fkey, "the samples file name is empty")
                .with_help("name a file of durations, e.g. file: latencies.csv"));
        }
        let path = dir.join(file);
        let column = e.column.as_deref();
        let same = |f: &&Arc<SamplesFile>| f.path == path && f.unit == e.unit && f.column.as_deref() == column;
        let samples = match used.iter().find(same).or_else(|| known.iter().find(same)) {
            Some(f) => Arc::clone(f),
            None => Arc::new(read_file(&path, e.unit, column).map_err(|err| located(err, &fkey, &path))?),
        };
        total += samples.values.len();
        if total > MAX_TOTAL_SAMPLES {
            return Err(ScenarioError::at_key(
                fkey,
                format!("the scenario's samples files hold more than {MAX_TOTAL_SAMPLES} values in all"),
            )
            .with_help("use fewer values per file (a file named twice counts twice)"));
        }
        if !used.iter().any(|f| Arc::ptr_eq(f, &samples)) {
            used.push(Arc::clone(&samples));
        }
        e.loaded = Some(samples);
    }
    Ok(used)
}

/// A [`SamplesError`] as a scenario error at `key`.
fn located(err: SamplesError, key: &str, path: &Path) -> ScenarioError {
    match err {
        SamplesError::File { message, help } => ScenarioError::at_key(key, message).with_help(help),
        SamplesError::Line { line, text, message, help } => {
            let mut e = ScenarioError::at_key(key, message).with_help(help);
            e.file = path.to_owned();
            (e.line, e.column) = (line.max(1), 1);
            e.source_line = text;
            e
        }
    }
}

/// Every empirical distribution of `spec` with its key path, in a fixed order.
fn empiricals(spec: &mut ScenarioSpec) -> Vec<(String, &mut EmpiricalSpec)> {
    fn walk<'a>(key: String, d: &'a mut DistSpec, out: &mut Vec<(String, &'a mut EmpiricalSpec)>) {
        match d {
            DistSpec::Empirical(e) => out.push((format!("{key}.empirical"), e)),
            DistSpec::Mixture(parts) => {
                for (i, p) in parts.iter_mut().enumerate() {
                    walk(format!("{key}.mixture.{i}.dist"), &mut p.dist, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (name, s) in &mut spec.services {
        walk(format!("services.{name}.service_time"), &mut s.service_time, &mut out);
    }
    for (i, w) in spec.workloads.iter_mut().enumerate() {
        if let ArrivalSpec::Closed(c) = &mut w.arrivals {
            walk(format!("workloads.{i}.arrivals.closed.think_time"), &mut c.think_time, &mut out);
        }
    }
    for (i, f) in spec.faults.iter_mut().enumerate() {
        if let Some(AddSpec::Dist(d)) = &mut f.add {
            walk(format!("faults.{i}.add"), d, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = "name: t\nduration: 10s\nservices:\n  api:\n    servers: 4\n    capacity: 50\n    service_time: { exponential: { mean: 50ms } }\nworkloads:\n  - name: users\n    target: api\n    arrivals: { poisson: { rate: 64/s } }\n";

    fn err(text: &str) -> ScenarioError {
        load_str(text, Path::new("s.yaml"), &[]).unwrap_err()
    }

    #[test]
    fn minimum_form_loads() {
        let s = load_str(MIN, Path::new("s.yaml"), &[]).unwrap();
        assert_eq!(s.model.services[0].servers, 4);
        assert_eq!(s.model.services[0].capacity, Some(50));
    }

    #[test]
    fn misspelt_key_is_located_and_suggested() {
        let e = err(&MIN.replace("    servers: 4", "    severs: 4"));
        assert_eq!(e.key, "services.api.severs");
        assert_eq!((e.line, e.column), (5, 5));
        assert!(e.message.contains("unknown key `severs`"), "{e}");
        assert_eq!(e.help.as_deref(), Some("did you mean `servers`?"));
    }

    #[test]
    fn misspelt_variant_is_suggested() {
        let e = err(&MIN.replace("exponential:", "exponental:"));
        assert!(e.key.starts_with("services.api.service_time"), "{}", e.key);
        assert_eq!(e.help.as_deref(), Some("did you mean `exponential`?"));
    }

    #[test]
    fn bad_value_names_its_key() {
        let e = err(&MIN.replace("rate: 64/s", "rate: 64/parsec"));
        assert_eq!(e.key, "workloads.0.arrivals.poisson.rate");
        assert!(e.message.contains("parsec"), "{e}");
        let e = err(&MIN.replace("servers: 4", "servers: -4"));
        assert_eq!(e.key, "services.api.servers");
    }

    #[test]
    fn semantic_errors_are_located() {
        let e = err(&MIN.replace("capacity: 50", "capacity: 2"));
        assert_eq!(e.key, "services.api.capacity");
        assert_eq!((e.line, e.column), (6, 15));
        assert_eq!(e.source_line.as_deref(), Some("    capacity: 2"));
    }

    #[test]
    fn overrides_apply_and_are_checked() {
        let set = |s: &str| s.parse::<Override>().unwrap();
        let s = load_str(
            MIN,
            Path::new("s.yaml"),
            &[set("services.api.servers=8"), set("workloads.0.arrivals.poisson.rate=10/s")],
        )
        .unwrap();
        assert_eq!(s.model.services[0].servers, 8);
        let e = load_str(MIN, Path::new("s.yaml"), &[set("services.api.severs=8")]).unwrap_err();
        assert_eq!(e.key, "--set services.api.severs");
        assert_eq!(e.help.as_deref(), Some("did you mean `servers`?"));
        let e = load_str(MIN, Path::new("s.yaml"), &[set("services.api.servers=0")]).unwrap_err();
        assert!(e.message.contains("after --set"), "{e}");
        let e = load_str(MIN, Path::new("s.yaml"), &[set("workloads.3.target=api")]).unwrap_err();
        assert!(e.message.contains("not an index"), "{e}");
        assert!("novalue".parse::<Override>().is_err());
    }

    #[test]
    fn named_mappings_are_every_map_of_the_schema() {
        // A property whose schema is a map of free names (`additionalProperties` a schema):
        // a new one must join NAMED, or `--set` would invent entries in it again.
        fn maps(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::Object(props)) = m.get("properties") {
                        for (name, p) in props {
                            if matches!(p.get("additionalProperties"), Some(Value::Object(_))) {
                                out.push(name.clone());
                            }
                        }
                    }
                    m.values().for_each(|x| maps(x, out));
                }
                Value::Array(items) => items.iter().for_each(|x| maps(x, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        maps(&crate::scenario::json_schema(), &mut found);
        found.sort();
        let mut named: Vec<String> = NAMED.iter().map(|(p, _)| p.rsplit('.').next().unwrap_or(p).to_owned()).collect();
        named.sort();
        assert_eq!(found, named);
    }

    #[test]
    fn json_is_accepted() {
        let json = r#"{"name":"j","duration":"10s","services":{"a":{"service_time":{"constant":{"value":"1ms"}}}},
            "workloads":[{"name":"w","target":"a","arrivals":{"poisson":{"rate":5}}}]}"#;
        let s = load_str(json, Path::new("s.json"), &[]).unwrap();
        assert_eq!(s.model.services[0].name, "a");
    }

    #[test]
    fn syntax_errors_are_located() {
        let e = err("name: [unclosed\n");
        assert!(e.line >= 1, "{e}");
    }
}
