//! The gRPC service config reader: the JSON a gRPC client takes from its resolver or as
//! its default config (`grpc.service_config.ServiceConfig` in grpc-proto; grpc/grpc
//! `doc/service_config.md`), read into resim keys of the calls it configures.
//!
//! - `methodConfig[]`: each applies to the calls its `name[]` select (`{service,
//!   method}`; a name without a method is the service's default, an empty name the
//!   default for every call). The import's `services` map says which edge carries a
//!   service's calls (`helloworld.Greeter: frontend->greeter`), or a method's
//!   (`helloworld.Greeter/SayHello`). The most specific name wins, as in gRPC; but resim
//!   has no methods, so when two method configs reach one edge they must agree. Each
//!   config's keys are read by [`super::grpc_policy`].
//! - `retryThrottling`: one token count per channel (gRFC A6), resim's `retry.throttling`
//!   on every edge that retries or hedges (resim's count is per edge and per caller
//!   instance, as a channel is per client process and server). A hedged edge gets a
//!   retry section of one attempt that holds the throttle: its hedges ask it, and its
//!   failures with a non-fatal code take a token, the ones A6 counts for hedging.
//! - `loadBalancingConfig` / `loadBalancingPolicy`: the callees' `load_balancer`
//!   ([`super::grpc_lb`]) and, under `outlier_detection_experimental`, their
//!   `outlier_ejection` ([`super::grpc_outlier`]).
//! - `healthCheckConfig` and `connectionScaling`: listed as not simulated.
//!
//! gRPC ignores keys it does not know (gRFC A21); resim refuses them, naming the nearest
//! known key, so a misspelt policy is not silently dropped.

use std::collections::BTreeMap;

use serde_json::Value;

use super::grpc_policy::{self, Kind, Policy, number};
use super::{Context, Cursor, Entry, Ignored, Imported, Origin, Target, grpc_codes};
use crate::scenario::ScenarioError;
use crate::scenario::error::suggest;

/// The top-level keys resim reads.
const TOP_KEYS: [&str; 6] = [
    "methodConfig",
    "retryThrottling",
    "loadBalancingConfig",
    "loadBalancingPolicy",
    "healthCheckConfig",
    "connectionScaling",
];

/// A name the calls of an edge go by: a service (`method: None`) or one of its methods.
#[derive(Clone, Debug)]
struct Route {
    service: String,
    method: Option<String>,
    edge: Target,
}

/// A `retryThrottling`: where it is, and its two values with theirs.
struct Throttle {
    at: Origin,
    tokens: (Value, Origin),
    ratio: (Value, Origin),
}

/// One `methodConfig`: its names (`(service, method)`, `""` when absent) and keys.
struct Config<'a> {
    at: Cursor<'a>,
    names: Vec<(String, String, Cursor<'a>)>,
    policy: Policy,
}

/// Reads gRPC service configs.
pub fn read(entry: &Entry, ctx: &Context) -> Result<Imported, ScenarioError> {
    let routes = routes(entry, ctx)?;
    let mut out = Imported::default();
    for src in &entry.files {
        for doc in src.documents() {
            config(&doc, &routes, ctx, &mut out)?;
        }
    }
    Ok(out)
}

/// Where the map's entry `name` is declared, for messages.
fn map_key(entry: &Entry, name: &str) -> String {
    if entry.key == "--map" { format!("--map {name}") } else { format!("{}.services.{name}", entry.key) }
}

/// The import's `services` map as routes, checked against the scenario when there is one.
fn routes(entry: &Entry, ctx: &Context) -> Result<Vec<Route>, ScenarioError> {
    let mut out = Vec::new();
    for (name, to) in &entry.map {
        let at = || map_key(entry, name);
        let (service, method) = match name.split_once('/') {
            Some((s, m)) => (s, Some(m)),
            None => (name.as_str(), None),
        };
        if service.is_empty() || method.is_some_and(|m| m.is_empty() || m.contains('/')) {
            return Err(ScenarioError::at_key(at(), format!("`{name}` is not a gRPC service or method name"))
                .with_help("name a service with its package (`helloworld.Greeter`) or a method (`helloworld.Greeter/SayHello`)"));
        }
        let edge = match to.split_once("->") {
            Some((from, callee)) if !from.trim().is_empty() && !callee.trim().is_empty() => Target::Edge {
                from: (from.trim() != "*").then(|| from.trim().to_owned()),
                to: callee.trim().to_owned(),
            },
            _ => {
                return Err(ScenarioError::at_key(at(), format!("`{to}` is not an edge"))
                    .with_help("map a gRPC service to the calls that carry it: `caller->callee`, or `*->callee`"));
            }
        };
        if ctx.known {
            check_edge(&edge, ctx).map_err(|(msg, help)| ScenarioError::at_key(at(), msg).with_help(help))?;
        }
        out.push(Route { service: service.to_owned(), method: method.map(str::to_owned), edge });
    }
    Ok(out)
}

/// A mapped edge must be a call of the scenario.
fn check_edge(edge: &Target, ctx: &Context) -> Result<(), (String, String)> {
    let Target::Edge { from, to } = edge else { return Ok(()) };
    for name in from.iter().chain([to]) {
        if !ctx.services.contains(name) {
            let help = match suggest(name, ctx.services.iter().map(String::as_str)) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("the scenario's services are {}", ctx.services.join(", ")),
            };
            return Err((format!("the scenario has no service `{name}`"), help));
        }
    }
    let calls = |(a, b): &&(String, String)| b == to && from.as_ref().is_none_or(|f| f == a);
    if !ctx.edges.iter().any(|e| calls(&e)) {
        let who = from.as_deref().map_or("no service".to_owned(), |f| format!("`{f}`"));
        return Err((
            format!("{who} calls `{to}` in the scenario"),
            "map the name to a call the scenario makes".into(),
        ));
    }
    Ok(())
}

/// Reads one service config document into `out`.
fn config(doc: &Cursor, routes: &[Route], ctx: &Context, out: &mut Imported) -> Result<(), ScenarioError> {
    doc.check_keys(&TOP_KEYS, &[], "", &mut out.ignored)?;
    plumbing(doc, out)?;
    let configs = method_configs(doc, &mut out.ignored)?;
    let mut routes = routes.to_vec();
    for c in &configs {
        for (service, method, at) in &c.names {
            if !service.is_empty() && !routes.iter().any(|r| reaches(r, service, method)) {
                routes.push(unmapped(service, at, ctx)?);
            }
        }
    }
    let throttle = doc.get("retryThrottling").map(|at| throttling(&at)).transpose()?;
    let mut used = vec![false; configs.len()];
    let mut throttled = false;
    for (edge, chosen) in assign(&routes, &configs)? {
        used[chosen] = true;
        let policy = &configs[chosen].policy;
        for item in &policy.items {
            out.set(&edge, &item.key, item.value.clone(), item.origin.clone());
        }
        if let Some(t) = &throttle {
            throttled |= throttle_edge(&edge, &policy.kind, t, out);
        }
    }
    for (c, used) in configs.iter().zip(used) {
        out.ignored.extend(c.policy.ignored.iter().cloned());
        if !used {
            let reason = "no mapped call is left for it: each has a more specific method config (or map names with \
                          `services`, --map on the command line)";
            out.ignored.push(Ignored { origin: c.at.origin(), reason: reason.into() });
        }
    }
    if let (Some(t), false) = (&throttle, throttled) {
        let reason = "no mapped call retries or hedges, so the throttle has nothing to hold back (gRFC A6)";
        out.ignored.push(Ignored { origin: t.at.clone(), reason: reason.into() });
    }
    balancer(doc, &routes, out)
}

/// True when route `r` carries the calls named `(service, method)`.
fn reaches(r: &Route, service: &str, method: &str) -> bool {
    r.service == service && (method.is_empty() || r.method.is_none() || r.method.as_deref() == Some(method))
}

/// A name the map leaves out: an error under a scenario; alone (`resim import`), the
/// calls of every caller to the service named by its last part, in lower case
/// (`helloworld.Greeter` → `*->greeter`), so a file can be looked at before it is mapped.
fn unmapped(service: &str, at: &Cursor, ctx: &Context) -> Result<Route, ScenarioError> {
    let short = service.rsplit('.').next().unwrap_or(service).to_ascii_lowercase();
    if ctx.known {
        let example = ctx.edges.iter().find(|(_, to)| *to == short).or(ctx.edges.first());
        let edge = example.map_or("caller->callee".to_owned(), |(a, b)| format!("{a}->{b}"));
        let mut e = at.error(format!("the import does not say which calls `{service}` is"));
        e.help = Some(format!("map it in the import: `services: {{ {service}: \"{edge}\" }}`"));
        return Err(e);
    }
    Ok(Route { service: service.to_owned(), method: None, edge: Target::Edge { from: None, to: short } })
}

/// `healthCheckConfig` and `connectionScaling`, read and listed as not simulated.
fn plumbing(doc: &Cursor, out: &mut Imported) -> Result<(), ScenarioError> {
    if let Some(at) = doc.get("healthCheckConfig") {
        at.check_keys(&["serviceName"], &[], "", &mut out.ignored)?;
        if let Some(name) = at.get("serviceName") {
            name.str()?;
        }
        let reason = "names the health service a client watches (gRFC A17): its status is pushed, not polled, so it \
                      has no interval or thresholds for resim's health_check, and a crashed instance is known to the \
                      client by its connection anyway";
        out.ignored.push(Ignored { origin: at.origin(), reason: reason.into() });
    }
    if let Some(at) = doc.get("connectionScaling") {
        at.check_keys(&["maxConnectionsPerSubchannel"], &[], "", &mut out.ignored)?;
        let reason = "connections per backend (gRFC A105): resim does not simulate connections";
        out.ignored.push(Ignored { origin: at.origin(), reason: reason.into() });
    }
    Ok(())
}

/// The method configs of `doc`, their names checked: unique across the config, and no
/// method without a service (service_config.proto; grpc-go's `errDuplicatedName`).
fn method_configs<'a>(doc: &Cursor<'a>, ignored: &mut Vec<Ignored>) -> Result<Vec<Config<'a>>, ScenarioError> {
    let Some(list) = doc.get("methodConfig") else { return Ok(Vec::new()) };
    let mut out: Vec<Config<'a>> = Vec::new();
    for mc in list.items()? {
        let policy = grpc_policy::method(&mc)?;
        let items = match mc.get("name") {
            Some(at) => at.items()?,
            None => Vec::new(),
        };
        if items.is_empty() {
            let reason = "a method config without names is skipped (service_config.proto)";
            ignored.push(Ignored { origin: mc.origin(), reason: reason.into() });
            continue;
        }
        let mut names = Vec::new();
        for n in items {
            n.check_keys(&["service", "method"], &[], "", ignored)?;
            let text = |k: &str| n.get(k).map_or(Ok(String::new()), |c| c.str().map(str::to_owned));
            let (service, method) = (text("service")?, text("method")?);
            if service.is_empty() && !method.is_empty() {
                let mut e = n.error(format!("method `{method}` is named without its service"));
                e.help = Some("add its `service`, or drop `method` for the default of every call".into());
                return Err(e);
            }
            let seen = out.iter().flat_map(|c| &c.names).chain(&names).any(|(s, m, _)| *s == service && *m == method);
            if seen {
                let shown = match (service.is_empty(), method.is_empty()) {
                    (true, _) => "the default name {}".to_owned(),
                    (false, true) => format!("`{service}`"),
                    (false, false) => format!("`{service}/{method}`"),
                };
                let mut e = n.error(format!("{shown} is named twice"));
                e.help = Some("each name may appear once in a service config (service_config.proto)".into());
                return Err(e);
            }
            // Later errors about the name (unmapped) point at its service.
            names.push((service, method, n.get("service").unwrap_or(n)));
        }
        out.push(Config { at: mc, names, policy });
    }
    Ok(out)
}

/// The configs (indices) that apply to the calls of route `r`: the most specific name
/// that selects them, as gRPC picks one for a call; a service's route also carries the
/// methods named apart that have no route of their own.
fn chosen_for(r: &Route, configs: &[Config], routes: &[Route]) -> Vec<usize> {
    let named = |s: &str, m: &str| configs.iter().position(|c| c.names.iter().any(|(cs, cm, _)| cs == s && cm == m));
    let first = r.method.as_deref().and_then(|m| named(&r.service, m));
    let mut out: Vec<usize> = first.or_else(|| named(&r.service, "")).or_else(|| named("", "")).into_iter().collect();
    if r.method.is_none() {
        let routed = |m: &str| routes.iter().any(|o| o.service == r.service && o.method.as_deref() == Some(m));
        for (i, c) in configs.iter().enumerate() {
            let apart = c.names.iter().any(|(s, m, _)| *s == r.service && !m.is_empty() && !routed(m));
            if apart && !out.contains(&i) {
                out.push(i);
            }
        }
    }
    out
}

/// Each edge with the one config that applies to it, in the order edges are first met.
/// Two different configs on one edge are an error: resim has no methods to tell them
/// apart.
fn assign(routes: &[Route], configs: &[Config]) -> Result<Vec<(Target, usize)>, ScenarioError> {
    let mut edges: Vec<(Target, Vec<usize>)> = Vec::new();
    for r in routes {
        let chosen = chosen_for(r, configs, routes);
        match edges.iter_mut().find(|(e, _)| *e == r.edge) {
            Some((_, list)) => {
                for i in chosen {
                    if !list.contains(&i) {
                        list.push(i);
                    }
                }
            }
            None => edges.push((r.edge.clone(), chosen)),
        }
    }
    let mut out = Vec::new();
    for (edge, list) in edges {
        let Some(&first) = list.first() else { continue };
        if let Some(&other) = list.iter().find(|&&i| !configs[i].policy.same_as(&configs[first].policy)) {
            let (a, b) = (first.min(other), first.max(other));
            let mut e = configs[b].at.error(format!(
                "the calls {edge} get two different method configs, {} and this one",
                configs[a].at.path()
            ));
            e.help = Some(
                "resim has no methods: make the configs agree for these calls, or map the method's name \
                 (`package.Service/Method`) to a call of its own"
                    .into(),
            );
            return Err(e);
        }
        out.push((edge, first));
    }
    Ok(out)
}

/// `retryThrottling`, checked by A6's rules: `maxTokens` in (0, 1000], `tokenRatio`
/// above 0 (resim, as grpc-java, keeps three decimals, so at least 0.001).
fn throttling(at: &Cursor) -> Result<Throttle, ScenarioError> {
    at.check_keys(&["maxTokens", "tokenRatio"], &[], "", &mut Vec::new())?;
    let need = |k: &str| {
        at.get(k).ok_or_else(|| {
            let mut e = at.error(format!("`{k}` is missing"));
            e.help = Some("gRFC A6 requires maxTokens and tokenRatio, e.g. 10 and 0.1".into());
            e
        })
    };
    let (tokens_at, ratio_at) = (need("maxTokens")?, need("tokenRatio")?);
    let tokens = tokens_at.f64()?;
    if !(tokens > 0.0 && tokens <= 1000.0) {
        let mut e = tokens_at.error(format!("`maxTokens` is {tokens}: it must be in (0, 1000]"));
        e.help = Some("gRFC A6's example is 10".into());
        return Err(e);
    }
    let ratio = ratio_at.f64()?;
    if (ratio * 1000.0).trunc() < 1.0 {
        let mut e = ratio_at.error(format!("`tokenRatio` is {ratio}: below 0.001 no success gives a token back"));
        e.help = Some("gRFC A6 keeps three decimals of a ratio above 0; its example is 0.1".into());
        return Err(e);
    }
    Ok(Throttle {
        at: at.origin(),
        tokens: (number(tokens), tokens_at.origin()),
        ratio: (number(ratio), ratio_at.origin()),
    })
}

/// Puts the throttle on `edge` if it retries or hedges; true if it did.
fn throttle_edge(edge: &Target, kind: &Kind, t: &Throttle, out: &mut Imported) -> bool {
    match kind {
        // A6: the token count only gates retries and hedges; without either it has no effect.
        Kind::Plain => return false,
        Kind::Retry => {}
        Kind::Hedge(kinds, origin) => {
            let note = "one attempt: the retry section holds the hedges' throttle (gRFC A6: hedges are throttled)";
            out.set(edge, "retry.max_attempts", 1, Origin::default_in(origin, "maxAttempts", note));
            let note = "failures with a non-fatal code take a token (gRFC A6)";
            let on = Origin::default_in(origin, "nonFatalStatusCodes", note);
            out.set(edge, "retry.retry_on", grpc_codes::to_json(kinds), on);
        }
    }
    out.set(edge, "retry.throttling.max_tokens", t.tokens.0.clone(), t.tokens.1.clone());
    out.set(edge, "retry.throttling.token_ratio", t.ratio.0.clone(), t.ratio.1.clone());
    true
}

/// The balancer (and outlier detection), on every callee the config's calls go to.
fn balancer(doc: &Cursor, routes: &[Route], out: &mut Imported) -> Result<(), ScenarioError> {
    let items = super::grpc_lb::balancer(doc, &mut out.ignored)?;
    let Some(first) = items.first() else { return Ok(()) };
    let mut callees: BTreeMap<&str, ()> = BTreeMap::new();
    for r in routes {
        if let Target::Edge { to, .. } = &r.edge {
            callees.insert(to, ());
        }
    }
    if callees.is_empty() {
        let reason = "no mapped service to balance: map names with `services` (--map on the command line)";
        out.ignored.push(Ignored { origin: first.origin.clone(), reason: reason.into() });
        return Ok(());
    }
    for callee in callees.keys() {
        for item in &items {
            out.set(&Target::Service((*callee).to_owned()), &item.key, item.value.clone(), item.origin.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{Format, Source};
    use std::path::Path;

    fn read_with(text: &str, map: &[(&str, &str)]) -> Result<Imported, ScenarioError> {
        let src = Source::parse(text.to_owned(), Path::new("sc.json")).unwrap();
        let map = map.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let entry = Entry { format: Format::Grpc, files: vec![src], map, caller: None, key: "--map".into() };
        read(&entry, &Context::default())
    }

    fn timeouts(i: &Imported) -> Vec<(String, String)> {
        i.settings.iter().map(|s| (s.target.to_string(), s.value.as_str().unwrap_or("").to_owned())).collect()
    }

    const CONFIGS: &str = r#"{"methodConfig": [
        {"name": [{}], "timeout": "1s"},
        {"name": [{"service": "p.S"}], "timeout": "2s"},
        {"name": [{"service": "p.S", "method": "M"}], "timeout": "3s"}]}"#;

    #[test]
    fn the_most_specific_name_wins_for_each_mapped_call() {
        let got = read_with(CONFIGS, &[("p.S/M", "a->m"), ("p.S/N", "a->n"), ("p.T", "a->t")]).unwrap();
        let want = [("a->m", "3s"), ("a->n", "2s"), ("a->t", "1s")];
        assert_eq!(timeouts(&got), want.map(|(a, b)| (a.to_owned(), b.to_owned())));
    }

    #[test]
    fn a_service_route_carries_its_methods_named_apart() {
        // p.S's calls include M's, whose config differs: resim cannot split them.
        let e = read_with(CONFIGS, &[("p.S", "a->s")]).unwrap_err();
        assert!(e.message.contains("a->s get two different method configs"), "{e}");
        // With M mapped to its own call, each gets its own.
        let got = read_with(CONFIGS, &[("p.S", "a->s"), ("p.S/M", "a->m")]).unwrap();
        assert_eq!(timeouts(&got).len(), 2);
    }

    #[test]
    fn without_a_map_names_default_to_every_caller_of_their_last_part() {
        let got =
            read_with(r#"{"methodConfig": [{"name": [{"service": "helloworld.Greeter"}], "timeout": "1s"}]}"#, &[]);
        assert_eq!(timeouts(&got.unwrap()), [("*->greeter".to_owned(), "1s".to_owned())]);
        let e = read_with("{}", &[("p.S", "a")]).unwrap_err();
        assert!(e.message.contains("not an edge"), "{e}");
    }
}
