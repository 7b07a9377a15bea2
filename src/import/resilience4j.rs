//! The resilience4j reader: a Spring Boot `application.yml` whose `resilience4j.*`
//! properties configure circuit breakers, retries, bulkheads, rate limiters and time
//! limiters, bound as resilience4j-spring-boot2/3 binds them
//! (`CommonCircuitBreakerConfigurationProperties` and its siblings in
//! resilience4j-framework-common).
//!
//! - **Names.** Spring's relaxed binding: `slidingWindowSize`, `sliding-window-size`
//!   and `sliding_window_size` are one property (compared lowercased without `-` and
//!   `_`, Spring's uniform form), and so are enum values (`COUNT_BASED`, `count-based`).
//!   Instance and config names are map keys and are kept as written.
//! - **Layers.** Each instance is built on a base, as `createXxxConfig` does: its
//!   `baseConfig` (itself built on its own base), else `configs.default`; the instance's
//!   own properties win. The circuit breaker differs (`createCircuitBreakerConfig`): a
//!   config named in `baseConfig` is built on resilience4j's defaults, not on `default`,
//!   and an instance without `baseConfig` named like a config takes that config. A
//!   property no layer sets takes resilience4j's default, cited by its Java constant.
//! - **Edges.** An instance configures the calls its name is used on; the import's
//!   `instances` map says which (`backendA: "frontend->reviews"`, or `*->reviews` for
//!   every caller). Without an entry, an instance named like a service configures every
//!   call to it. Every policy is one per caller instance (`scope: instance`): the library
//!   lives in each JVM.
//! - **Order.** resilience4j's Spring aspects nest Retry(CircuitBreaker(RateLimiter(
//!   TimeLimiter(Bulkhead(call))))) by default, which is the order resim's calls pass
//!   their policies in; `*AspectOrder` properties that would change it are refused.
//!
//! An `application.properties` file is read too ([`super::resilience4j_properties`]).
//! The policies' mapping is in [`super::resilience4j_policies`], the exception classes'
//! in [`super::resilience4j_exceptions`].

use super::resilience4j_policies::{self as policies, Kind, Role};
use super::resilience4j_properties as properties;
use super::{Context, Cursor, Entry, Ignored, Imported, Source, Target};
use crate::scenario::ScenarioError;
use crate::scenario::error::suggest;

/// A property name or enum value in Spring's uniform form: lowercase, no `-` or `_`.
pub(super) fn uniform(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// An error at `at`'s key (for a misnamed key) with a help line.
pub(super) fn key_error(at: &Cursor, message: impl Into<String>, help: impl Into<String>) -> ScenarioError {
    let mut e = at.error(message);
    let key_at = at.node().key_at;
    if key_at != (0, 0) {
        (e.line, e.column) = key_at;
        e.source_line = at.src().text.lines().nth(e.line.saturating_sub(1)).map(str::to_owned);
    }
    e.help = Some(help.into());
    e
}

/// An error at a value, with a help line.
pub(super) fn value_error(at: &Cursor, message: impl Into<String>, help: impl Into<String>) -> ScenarioError {
    let mut e = at.error(message);
    e.help = Some(help.into());
    e
}

/// One config or instance: its name, where it is, and its properties by Java name.
pub struct Props<'a> {
    /// The config or instance name.
    pub name: String,
    /// Its mapping in the file.
    pub at: Cursor<'a>,
    /// The properties read, by their Java field name.
    pub fields: Vec<(&'static str, Cursor<'a>)>,
}

impl<'a> Props<'a> {
    /// The property `java` (its Java field name), if set.
    pub fn get(&self, java: &str) -> Option<&Cursor<'a>> {
        self.fields.iter().find(|(k, _)| *k == java).map(|(_, c)| c)
    }
}

/// One `resilience4j.<kind>` section: its configs and instances.
struct Section<'a> {
    kind: Kind,
    configs: Vec<Props<'a>>,
    instances: Vec<Props<'a>>,
    /// Its `*AspectOrder`, if set.
    order: Option<Cursor<'a>>,
}

impl<'a> Section<'a> {
    fn config(&self, name: &str) -> Option<&Props<'a>> {
        self.configs.iter().find(|p| p.name == name)
    }

    /// The layers `props` is built from, resilience4j's defaults first and `props` last.
    fn chain<'s>(&'s self, props: &'s Props<'a>, depth: usize) -> Result<Vec<&'s Props<'a>>, ScenarioError> {
        let mut out = match props.get("baseConfig") {
            Some(base_at) => {
                let base = base_at.str()?;
                if depth > self.configs.len() || base == props.name {
                    return Err(value_error(
                        base_at,
                        format!("`baseConfig: {base}` leads back to `{}`", props.name),
                        "resilience4j refuses a circular baseConfig (IllegalStateException); name another config",
                    ));
                }
                let Some(parent) = self.config(base) else {
                    let names = self.configs.iter().map(|p| p.name.as_str());
                    let help = match suggest(base, names) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!("add `{base}` under `resilience4j.{}.configs`", self.kind.key()),
                    };
                    return Err(value_error(base_at, format!("no config `{base}` to build on"), help));
                };
                self.chain(parent, depth + 1)?
            }
            // The circuit breaker takes a config of the instance's own name, and does not
            // build a config used as a base on `default`.
            None if self.kind == Kind::CircuitBreaker => match self.config(&props.name) {
                Some(own) if !std::ptr::eq(own, props) => vec![own],
                Some(_) => Vec::new(),
                None if depth > 0 => Vec::new(),
                None => self.config("default").into_iter().collect(),
            },
            None if props.name == "default" => Vec::new(),
            None => self.config("default").into_iter().collect(),
        };
        out.push(props);
        Ok(out)
    }
}

/// Reads the properties of one config or instance, refusing what resim cannot simulate.
fn props<'a>(kind: Kind, name: String, at: Cursor<'a>, ignored: &mut Vec<Ignored>) -> Result<Props<'a>, ScenarioError> {
    let mut fields = Vec::new();
    for (key, value) in at.entries()? {
        let u = uniform(&key);
        let Some((java, role)) = kind.fields().iter().find(|(java, _)| uniform(java) == u) else {
            let names = kind.fields().iter().map(|(j, _)| *j);
            let help = match suggest(&key, names) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("resilience4j's {} has no such property; remove it", kind.key()),
            };
            return Err(key_error(&value, format!("unknown {} property `{key}`", kind.key()), help));
        };
        match role {
            Role::Read => fields.push((*java, value)),
            Role::Plumbing(why) => ignored.push(Ignored { origin: value.origin(), reason: (*why).to_owned() }),
            Role::Refused(why, help) => return Err(key_error(&value, format!("`{key}`: {why}"), *help)),
        }
    }
    Ok(Props { name, at, fields })
}

/// Reads a `configs` or `instances` mapping.
fn named<'a>(kind: Kind, at: &Cursor<'a>, ignored: &mut Vec<Ignored>) -> Result<Vec<Props<'a>>, ScenarioError> {
    let mut out = Vec::new();
    for (name, body) in at.entries()? {
        out.push(props(kind, name, body, ignored)?);
    }
    Ok(out)
}

/// Reads one `resilience4j.<kind>` mapping.
fn section<'a>(kind: Kind, at: &Cursor<'a>, ignored: &mut Vec<Ignored>) -> Result<Section<'a>, ScenarioError> {
    let mut s = Section { kind, configs: Vec::new(), instances: Vec::new(), order: None };
    for (key, value) in at.entries()? {
        match uniform(&key).as_str() {
            "configs" => s.configs.extend(named(kind, &value, ignored)?),
            // `backends` is the older name of `instances` (getBackends returns the same map).
            "instances" | "backends" => s.instances.extend(named(kind, &value, ignored)?),
            "tags" => ignored.push(Ignored {
                origin: value.origin(),
                reason: "metrics tags of the registry: they name what is measured".into(),
            }),
            u if kind.aspect().is_some_and(|(java, _)| uniform(java) == u) => s.order = Some(value),
            _ => {
                let order = kind.aspect().map_or("configs", |(java, _)| java);
                let help = match suggest(&key, ["configs", "instances", "tags", order]) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => "a resilience4j section holds `configs` and `instances`".to_owned(),
                };
                return Err(key_error(&value, format!("unknown key `{key}` in resilience4j.{}", kind.key()), help));
            }
        }
    }
    Ok(s)
}

/// The `resilience4j` mappings of every document of every file, read into sections. A
/// key may hold dots, as in resilience4j's documentation (`resilience4j.circuitbreaker:`).
fn sections<'a>(files: &'a [Source], ignored: &mut Vec<Ignored>) -> Result<Vec<Section<'a>>, ScenarioError> {
    let mut modules: Vec<(String, Cursor<'a>)> = Vec::new();
    for src in files {
        for doc in src.documents() {
            for (key, value) in doc.entries()? {
                let (head, rest) = key.split_once('.').unwrap_or((&key, ""));
                if uniform(head) != "resilience4j" {
                    ignored.push(Ignored {
                        origin: value.origin(),
                        reason: "the application's other settings: resim reads `resilience4j`".into(),
                    });
                } else if rest.is_empty() {
                    modules.extend(value.entries()?);
                } else {
                    modules.push((rest.to_owned(), value));
                }
            }
        }
    }
    let mut out: Vec<Section<'a>> = Vec::new();
    for (kind_key, body) in modules {
        let Some(kind) = Kind::ALL.iter().copied().find(|k| uniform(k.key()) == uniform(&kind_key)) else {
            let help = match suggest(&kind_key, Kind::ALL.iter().map(|k| k.key())) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("resim reads {}", Kind::ALL.map(|k| format!("`{}`", k.key())).join(", ")),
            };
            return Err(key_error(&body, format!("unknown resilience4j module `{kind_key}`"), help));
        };
        if out.iter().any(|s| s.kind == kind) {
            return Err(key_error(
                &body,
                format!("a second `resilience4j.{}` mapping", kind.key()),
                "Spring profiles overlay documents; keep the properties you deploy in one mapping",
            ));
        }
        kind.refuse_section(&body)?;
        out.push(section(kind, &body, ignored)?);
    }
    Ok(out)
}

/// Checks the `*AspectOrder` properties keep resilience4j's default nesting, the order
/// resim's calls pass their policies in (a lower order is an outer aspect; Spring's
/// `Ordered.LOWEST_PRECEDENCE` is `Integer.MAX_VALUE`).
fn check_order(sections: &[Section], ignored: &mut Vec<Ignored>) -> Result<(), ScenarioError> {
    let nesting = [Kind::Retry, Kind::CircuitBreaker, Kind::RateLimiter, Kind::TimeLimiter, Kind::Bulkhead];
    let mut orders = Vec::new();
    for kind in nesting {
        let (java, default) = kind.aspect().expect("every nested module has an aspect order");
        let given = sections.iter().find(|s| s.kind == kind).and_then(|s| s.order.clone());
        let order = match &given {
            Some(at) => at.f64().ok().filter(|x| x.fract() == 0.0).ok_or_else(|| {
                value_error(at, format!("`{java}` is not a whole number"), "write an int, as Spring's Ordered takes")
            })?,
            None => default as f64,
        };
        orders.push((kind, order, given));
    }
    let nested = orders.windows(2).all(|w| w[0].1 < w[1].1);
    let Some(first) = orders.iter().find_map(|(_, _, g)| g.clone()) else { return Ok(()) };
    if !nested {
        let mut by_order: Vec<_> = orders.iter().map(|(k, o, _)| (*o, aspect_name(*k))).collect();
        by_order.sort_by(|a, b| a.0.total_cmp(&b.0));
        let names: Vec<&str> = by_order.iter().map(|(_, n)| *n).collect();
        return Err(value_error(
            &first,
            format!("the aspect orders nest the decorators as {}(call{}", names.join("("), ")".repeat(names.len())),
            "resim's calls pass Retry(CircuitBreaker(RateLimiter(TimeLimiter(Bulkhead(call))))), \
             resilience4j's default nesting; set the orders to keep it, or remove them",
        ));
    }
    for (_, _, given) in orders {
        if let Some(at) = given {
            let reason = "keeps the nesting resim simulates: Retry(CircuitBreaker(RateLimiter(TimeLimiter(Bulkhead))))";
            ignored.push(Ignored { origin: at.origin(), reason: reason.into() });
        }
    }
    Ok(())
}

fn aspect_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Retry => "Retry",
        Kind::CircuitBreaker => "CircuitBreaker",
        Kind::RateLimiter => "RateLimiter",
        Kind::TimeLimiter => "TimeLimiter",
        Kind::Bulkhead | Kind::ThreadPoolBulkhead => "Bulkhead",
    }
}

/// The edge an instance configures: its entry in the map, else the service it is named
/// after.
fn target(entry: &Entry, ctx: &Context, inst: &Props) -> Result<Target, ScenarioError> {
    let name = &inst.name;
    if let Some(to) = entry.map.get(name) {
        return parse_target(to).ok_or_else(|| {
            ScenarioError::at_key(format!("{}.instances.{name}", entry.key), format!("`{to}` is not an edge"))
                .with_help("map an instance to `caller->callee`, or `*->callee` for every caller")
        });
    }
    if !ctx.known || ctx.services.iter().any(|s| s == name) {
        return Ok(Target::Edge { from: None, to: name.clone() });
    }
    let near = suggest(name, ctx.services.iter().map(String::as_str));
    let help = format!(
        "say which calls it guards in the import: `instances: {{ {name}: \"caller->callee\" }}`{}",
        near.map(|n| format!(" (a service is named `{n}`)")).unwrap_or_default()
    );
    Err(key_error(&inst.at, format!("no service is named like the instance `{name}`"), help))
}

/// `caller->callee`, `*->callee`, or a bare `callee` (every caller).
fn parse_target(text: &str) -> Option<Target> {
    let (from, to) = text.split_once("->").unwrap_or(("*", text));
    let (from, to) = (from.trim(), to.trim());
    let ok = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace);
    (ok(from) && ok(to)).then(|| Target::Edge { from: (from != "*").then(|| from.to_owned()), to: to.to_owned() })
}

/// Reads resilience4j's Spring Boot properties.
pub fn read(entry: &Entry, ctx: &Context) -> Result<Imported, ScenarioError> {
    let mut out = Imported::default();
    let files = entry
        .files
        .iter()
        .map(|f| if properties::is_properties(f) { properties::source(f) } else { Ok(f.clone()) })
        .collect::<Result<Vec<_>, _>>()?;
    let sections = sections(&files, &mut out.ignored)?;
    check_order(&sections, &mut out.ignored)?;
    for name in entry.map.keys() {
        if !sections.iter().any(|s| s.instances.iter().any(|i| &i.name == name)) {
            let all: Vec<&str> = sections.iter().flat_map(|s| s.instances.iter().map(|i| i.name.as_str())).collect();
            let help = match suggest(name, all.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => "list the instance under `instances` of its resilience4j module (`backendA: {}` for \
                         the defaults)"
                    .to_owned(),
            };
            return Err(ScenarioError::at_key(
                format!("{}.instances.{name}", entry.key),
                format!("the files have no resilience4j instance `{name}`"),
            )
            .with_help(help));
        }
    }
    for s in &sections {
        for inst in &s.instances {
            let chain = s.chain(inst, 0)?;
            let to = target(entry, ctx, inst)?;
            policies::emit(s.kind, &chain, &to, &mut out)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::Format;
    use serde_json::{Value, json};
    use std::path::Path;

    fn read_text(text: &str) -> Result<Imported, ScenarioError> {
        let src = Source::parse(text.to_owned(), Path::new("application.yml")).unwrap();
        let entry = Entry {
            format: Format::Resilience4j,
            files: vec![src],
            map: Default::default(),
            caller: None,
            key: "imports.0".into(),
        };
        read(&entry, &Context::default())
    }

    /// The value of `key` on the edge to `to`.
    fn value(i: &Imported, to: &str, key: &str) -> Value {
        let s = i.settings.iter().find(|s| s.key == key && s.target.to_string() == format!("*->{to}"));
        s.unwrap_or_else(|| panic!("no {key} for {to}")).value.clone()
    }

    #[test]
    fn a_breakers_base_config_is_not_built_on_default_but_a_retrys_is() {
        let text = "resilience4j:
  circuitbreaker:
    configs:
      default: { minimumNumberOfCalls: 7 }
      shared: { slidingWindowSize: 20 }
      b: { slidingWindowSize: 30 }
    instances:
      a: { baseConfig: shared }
      b: {}
      c: {}
  retry:
    configs:
      default: { maxAttempts: 5, enableExponentialBackoff: true, exponentialBackoffMultiplier: 3 }
      shared: { retryExceptions: [java.io.IOException] }
    instances:
      a: { baseConfig: shared, waitDuration: 1s }
";
        let i = read_text(text).unwrap();
        let min = "breaker.count_window.minimum_calls";
        assert_eq!(value(&i, "a", "breaker.count_window.size"), json!(20));
        assert_eq!(value(&i, "a", min), json!(100), "shared is built on resilience4j's defaults");
        assert_eq!(value(&i, "b", "breaker.count_window.size"), json!(30), "the config of the instance's name");
        assert_eq!(value(&i, "b", min), json!(100));
        assert_eq!(value(&i, "c", min), json!(7), "default, for an instance without a base");
        assert_eq!(value(&i, "a", "retry.max_attempts"), json!(5), "shared is built on default");
        assert_eq!(value(&i, "a", "retry.backoff.exponential.multiplier"), json!(3.0));
        assert_eq!(value(&i, "a", "retry.backoff.exponential.base"), json!("1s"));
        assert_eq!(value(&i, "a", "retry.retry_on"), json!(["error", "timeout"]));
    }

    #[test]
    fn a_circular_base_config_is_refused() {
        let text = "resilience4j.retry:
  configs:
    x: { baseConfig: y }
    y: { baseConfig: x }
  instances:
    a: { baseConfig: x }
";
        let e = read_text(text).unwrap_err();
        assert!(e.message.contains("leads back"), "{e}");
        assert!(e.line > 0 && e.help.is_some());
    }

    #[test]
    fn relaxed_names_and_targets() {
        assert_eq!(uniform("sliding-window-size"), uniform("slidingWindowSize"));
        assert_eq!(uniform("COUNT_BASED"), uniform("count-based"));
        assert_eq!(parse_target("a->b"), Some(Target::Edge { from: Some("a".into()), to: "b".into() }));
        assert_eq!(parse_target("*->b"), Some(Target::Edge { from: None, to: "b".into() }));
        assert_eq!(parse_target("b"), Some(Target::Edge { from: None, to: "b".into() }));
        assert_eq!(parse_target("a->"), None);
    }
}
