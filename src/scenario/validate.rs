//! From a [`ScenarioSpec`] (what was written) to a [`Model`] (what will run).
//!
//! Every check a run depends on happens here, once, with a message that names the key
//! and says what would be valid: names resolve, sizes are sane, probabilities add up,
//! calls do not loop, every routed request can eventually leave, distributions have
//! finite parameters. Limits on sizes keep an absurd file from exhausting memory.
//!
//! [`validate`] assembles the model from one builder per part, in a fixed order: the
//! run's settings, the service names, the edges, the services (see
//! [`super::validate_service`]), the workloads, the window, then faults and SLOs, which
//! refer to all of these; last, periodic timers against their floor
//! ([`super::validate_timers`], after each key's own check) and loops of calls, routes
//! and closed users ([`super::validate_loops`], on the assembled model). The first failed check is the one reported, so that order is
//! part of what users read.

use std::collections::BTreeMap;

use super::error::{Result, ScenarioError, err, suggest};
use super::spec::{CallSpec, ScenarioSpec, ServiceSpec};
use super::validate_fault::faults;
use super::validate_loops::{check_closed_loops, check_visit_loops};
use super::validate_mqueue::message_queue;
use super::validate_policy::edge_policy;
use super::validate_server::{check_class_name, classes};
use super::validate_service::{IdOf, group, service};
use super::validate_slo::{alerting, blast_radius, slos};
use super::validate_timers::check_timers;
use super::validate_workload::{Targets, workloads};
use crate::engine::SimTime;
use crate::model::{Edge, EdgePolicy, Model, Service};

/// Most services in one scenario.
pub const MAX_SERVICES: usize = 50_000;
/// Most replications.
pub const MAX_REPLICATIONS: u32 = 100_000;
/// Most stations (instances × worker pools) over all services: each costs memory in
/// every replication running at once.
pub const MAX_STATIONS: u64 = 1_000_000;
/// Most reporting windows.
pub const MAX_WINDOWS: u64 = 100_000;
/// Longest warm-up plus duration.
pub const MAX_HORIZON: SimTime = SimTime(100 * 365 * 86_400 * 1_000_000_000);

/// Checks `spec` and resolves it into a [`Model`].
pub fn validate(spec: &ScenarioSpec) -> Result<Model> {
    check_run(spec)?;
    let names = ServiceNames::of(spec)?;
    let id_of = |key: &str, name: &str| names.id(key, name);
    let edges = Edges::of(spec, &names)?;
    let specs: Vec<&ServiceSpec> = spec.services.values().collect();
    let classes = classes(spec.workloads.iter().map(|w| w.class.as_deref()), &specs);
    check_pool_classes(spec)?;
    let zones = zones(spec)?;
    let services = services(spec, &id_of, &edges.ids, &classes, &zones)?;
    check_call_cycles(&services)?;
    check_routes_exit(&services)?;
    let workloads = workloads(spec, &Targets { id_of: &id_of, services: &services, classes: &classes, zones: &zones })?;
    let window = window(spec)?;
    let mut model = Model {
        name: spec.name.clone(),
        window,
        seed: spec.seed,
        replications: spec.replications,
        warmup: spec.warmup.time(),
        duration: spec.duration.time(),
        services,
        edges: edges.list,
        workloads,
        classes,
        faults: Vec::new(),
        zones,
        slos: Vec::new(),
        alerting: Default::default(),
        blast_radius: None,
        limits: Default::default(),
        priority_levels: 1,
        detail: Default::default(),
    };
    model.priority_levels = super::validate_priority::levels(&model.workloads);
    model.faults = faults(&spec.faults, &mut model)?;
    model.slos = slos(&spec.slos, &model)?;
    model.alerting = alerting(spec.alerting.as_ref(), model.duration)?;
    model.blast_radius = blast_radius(spec.blast_radius.as_ref(), !model.faults.is_empty())?;
    check_timers(spec)?;
    super::validate_priority::check_call_limits(spec)?;
    check_visit_loops(&model)?;
    check_closed_loops(spec, &model)?;
    Ok(model)
}

/// The run's own settings: a name, a duration within the horizon, replications, and
/// between one and [`MAX_SERVICES`] services.
fn check_run(spec: &ScenarioSpec) -> Result<()> {
    if spec.name.trim().is_empty() {
        return err("name", "the scenario name is empty");
    }
    if spec.duration.time() == SimTime::ZERO {
        return err("duration", "the measured duration must be longer than 0 (e.g. duration: 1h)");
    }
    if spec.warmup.time() + spec.duration.time() > MAX_HORIZON {
        return err("duration", "warm-up plus duration exceeds 100 years of simulated time");
    }
    if spec.replications == 0 || spec.replications > MAX_REPLICATIONS {
        return err("replications", format!("replications must be between 1 and {MAX_REPLICATIONS}"));
    }
    if spec.services.is_empty() {
        return err("services", "a scenario needs at least one service");
    }
    if spec.services.len() > MAX_SERVICES {
        return err("services", format!("{} services; at most {MAX_SERVICES} are supported", spec.services.len()));
    }
    Ok(())
}

/// The service names in id order (the spec's map is sorted, so an id is a name's rank).
struct ServiceNames<'a>(Vec<&'a str>);

impl<'a> ServiceNames<'a> {
    /// The names of `spec`'s services, each checked to be usable in keys and edge names.
    fn of(spec: &'a ScenarioSpec) -> Result<Self> {
        let names: Vec<&str> = spec.services.keys().map(String::as_str).collect();
        for name in &names {
            if name.is_empty() || name.contains("->") || name.contains(char::is_whitespace) || name.contains('#') {
                return err(
                    format!("services.{name}"),
                    format!("`{name}` is not a valid service name: use letters, digits, `-` and `_`"),
                );
            }
        }
        Ok(ServiceNames(names))
    }

    /// The id of service `name`, named at `key`; a miss suggests the nearest name.
    fn id(&self, key: &str, name: &str) -> Result<usize> {
        let names = &self.0;
        names.binary_search(&name).map_err(|_| {
            let e = ScenarioError::at_key(key, format!("there is no service `{name}`"));
            match suggest(name, names.iter().copied()) {
                Some(s) => e.with_help(format!("did you mean `{s}`?")),
                None => e.with_help(format!("services are: {}", names.join(", "))),
            }
        })
    }
}

/// Per edge: its policy, and the call site that declared its shared part (key, spec).
type EdgePolicies = BTreeMap<(usize, usize), (EdgePolicy, Option<(String, serde_json::Value)>)>;

/// The edges: one per (caller, callee) pair, in name order.
struct Edges {
    /// The edges, by id.
    list: Vec<Edge>,
    /// The id of each (caller, callee) pair's edge.
    ids: BTreeMap<(usize, usize), usize>,
}

impl Edges {
    /// The edges of `spec`'s calls. Their shared policies (breaker, limiter, bulkhead,
    /// retry budget) may be declared on any one call site of the edge, or identically on
    /// several.
    fn of(spec: &ScenarioSpec, names: &ServiceNames) -> Result<Self> {
        let mut declared: EdgePolicies = BTreeMap::new();
        for (from, (name, s)) in spec.services.iter().enumerate() {
            for (i, c) in s.calls.iter().enumerate() {
                let key = format!("services.{name}.calls.{i}");
                for (j, member) in group(c, &key)?.iter().enumerate() {
                    let mkey = if c.parallel.is_some() { format!("{key}.parallel.{j}") } else { key.clone() };
                    let to = names.id(&format!("{mkey}.to"), member.to.as_deref().unwrap_or_default())?;
                    declare(&mut declared, (from, to), member, &mkey)?;
                }
            }
        }
        let list = declared
            .iter()
            .map(|(&(from, to), (policy, _))| Edge {
                from,
                to,
                name: format!("{}->{}", names.0[from], names.0[to]),
                policy: *policy,
            })
            .collect();
        let ids = declared.keys().enumerate().map(|(id, &pair)| (pair, id)).collect();
        Ok(Edges { list, ids })
    }
}

/// Adds call site `member` (at `key`) to the policy of edge `pair`: latency tracking and
/// the retry budget from any call site, the shared policies from the one that declares
/// them, refusing a second, different declaration.
fn declare(declared: &mut EdgePolicies, pair: (usize, usize), member: &CallSpec, key: &str) -> Result<()> {
    let policy = edge_policy(member, key)?;
    let shared = serde_json::json!([
        member.breaker,
        member.rate_limit,
        member.bulkhead,
        member.circuit_breakers,
        member.concurrency_limit,
        member.retry.as_ref().map(|r| (&r.budget, r.preset))
    ]);
    let has_shared = member.breaker.is_some()
        || member.rate_limit.is_some()
        || member.bulkhead.is_some()
        || member.circuit_breakers.is_some()
        || member.concurrency_limit.is_some();
    let Some((existing, first)) = declared.get_mut(&pair) else {
        declared.insert(pair, (policy, has_shared.then(|| (key.to_owned(), shared))));
        return Ok(());
    };
    if !existing.track_latency && policy.track_latency {
        (existing.track_latency, existing.scope.hedge) = (true, policy.scope.hedge);
    }
    if existing.budget.is_none() {
        (existing.budget, existing.scope.budget) = (policy.budget, policy.scope.budget);
    }
    if !has_shared {
        return Ok(());
    }
    match first {
        Some((first_key, first_shared)) if *first_shared != shared => err(
            key,
            format!("calls to the same service share one breaker, limiter and bulkhead, but this call declares different ones than {first_key}"),
        )
        .map_err(|e| e.with_help("declare them on one call of the edge, or identically")),
        Some(_) => Ok(()),
        None => {
            // The latency window and the budget stay as the earlier call sites set them.
            let kept = *existing;
            *existing = policy;
            (existing.track_latency, existing.scope.hedge) = (kept.track_latency, kept.scope.hedge);
            (existing.budget, existing.scope.budget) = (kept.budget, kept.scope.budget);
            *first = Some((key.to_owned(), shared));
            Ok(())
        }
    }
}

/// Every class a worker pool serves must be one that some workload sends.
fn check_pool_classes(spec: &ScenarioSpec) -> Result<()> {
    let sent: Vec<String> =
        spec.workloads.iter().map(|w| w.class.clone().unwrap_or_else(|| "default".into())).collect();
    for (name, s) in &spec.services {
        for (pool, p) in s.pools.iter().flatten() {
            for (i, c) in p.classes.iter().flatten().enumerate() {
                if c != "default" {
                    check_class_name(c, &sent, &format!("services.{name}.pools.{pool}.classes.{i}"))?;
                }
            }
        }
    }
    Ok(())
}

/// The zones named by any service, sorted: a zone's id is its index.
fn zones(spec: &ScenarioSpec) -> Result<Vec<String>> {
    let mut zones: Vec<String> = spec.services.values().flat_map(|s| s.zones.iter().cloned()).collect();
    zones.sort();
    zones.dedup();
    if zones.len() >= usize::from(crate::model::NO_ZONE) {
        return err("services", "too many zones");
    }
    Ok(zones)
}

/// The services, in id order, with their instances' zone ids, refusing more than
/// [`MAX_STATIONS`] stations in all.
fn services(
    spec: &ScenarioSpec,
    id_of: IdOf,
    edge_ids: &BTreeMap<(usize, usize), usize>,
    classes: &[String],
    zones: &[String],
) -> Result<Vec<Service>> {
    let mut services = Vec::with_capacity(spec.services.len());
    for (from, (name, s)) in spec.services.iter().enumerate() {
        let mut svc = service(name, s, from, id_of, edge_ids, classes)?;
        message_queue(&mut svc, name, s, &spec.services, id_of)?;
        svc.zone_ids = svc.zones.iter().map(|z| zones.iter().position(|x| x == z).unwrap_or(0) as u16).collect();
        if s.prefer_local_zone && s.zones.is_empty() {
            return err(format!("services.{name}.prefer_local_zone"), "give the service `zones` to prefer a local one");
        }
        services.push(svc);
    }
    let stations: u64 = services.iter().map(|s| u64::from(s.instances) * s.pools.len() as u64).sum();
    if stations > MAX_STATIONS {
        return err(
            "services",
            format!("{stations} stations (instances × worker pools) over all services; at most {MAX_STATIONS}"),
        )
        .map_err(|e| e.with_help("model a large fleet as fewer instances with more `servers` each"));
    }
    Ok(services)
}

/// The length of a report window: as given, or a hundredth of the duration.
fn window(spec: &ScenarioSpec) -> Result<SimTime> {
    let window = spec.window.map_or(SimTime(spec.duration.time().0.div_ceil(100)), |w| w.time());
    if window == SimTime::ZERO {
        return err("window", "a zero-length window is not allowed");
    }
    if spec.duration.time().0.div_ceil(window.0) > MAX_WINDOWS {
        return err(
            "window",
            format!("{} windows in `duration`; at most {MAX_WINDOWS}", spec.duration.time().0.div_ceil(window.0)),
        );
    }
    Ok(window)
}

/// Synchronous calls must form a DAG: a worker waiting on itself would never finish.
fn check_call_cycles(services: &[Service]) -> Result<()> {
    // 0 = unvisited, 1 = on the stack, 2 = done.
    fn visit(s: usize, services: &[Service], state: &mut [u8], stack: &mut Vec<usize>) -> Option<Vec<usize>> {
        state[s] = 1;
        stack.push(s);
        for call in services[s].steps.iter().flat_map(|st| &st.calls) {
            match state[call.to] {
                1 => {
                    let start = stack.iter().position(|&x| x == call.to).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(call.to);
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(call.to, services, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state[s] = 2;
        None
    }
    let mut state = vec![0u8; services.len()];
    for s in 0..services.len() {
        if state[s] == 0
            && let Some(cycle) = visit(s, services, &mut state, &mut Vec::new())
        {
            let path: Vec<&str> = cycle.iter().map(|&i| services[i].name.as_str()).collect();
            return err(
                format!("services.{}.calls", path[0]),
                format!("synchronous calls form a loop: {}", path.join(" -> ")),
            )
            .map_err(|e| e.with_help("a worker would wait on itself; use `routes` for feedback loops"));
        }
    }
    Ok(())
}

/// Every service a routed request can reach must offer a way out, or requests circulate
/// forever (the traffic equations have no solution).
fn check_routes_exit(services: &[Service]) -> Result<()> {
    let n = services.len();
    let total = |s: &Service| s.routes.iter().map(|r| r.probability).sum::<f64>();
    let mut exits: Vec<bool> = services.iter().map(|s| total(s) < 1.0 - 1e-12).collect();
    loop {
        let mut changed = false;
        for i in 0..n {
            if !exits[i] && services[i].routes.iter().any(|r| r.probability > 0.0 && exits[r.to]) {
                exits[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    match exits.iter().position(|&e| !e) {
        None => Ok(()),
        Some(i) => {
            let trapped: Vec<&str> = (0..n).filter(|&j| !exits[j]).map(|j| services[j].name.as_str()).collect();
            err(
                format!("services.{}.routes", services[i].name),
                format!("requests routed among {} can never leave", trapped.join(", ")),
            )
            .map_err(|e| e.with_help("make the route probabilities of some service add up to less than 1"))
        }
    }
}
