//! From a [`ScenarioSpec`] (what was written) to a [`Model`] (what will run).
//!
//! Every check a run depends on happens here, once, with a message that names the key
//! and says what would be valid: names resolve, sizes are sane, probabilities add up,
//! calls do not loop, every routed request can eventually leave, distributions have
//! finite parameters. Limits on sizes keep an absurd file from exhausting memory.

use std::collections::BTreeMap;

use rand_distr::{Gamma, LogNormal, Pareto, Weibull};

use super::error::{ScenarioError, suggest};
use super::spec::{ArrivalSpec, BalancerSpec, CallSpec, DistSpec, EmpiricalSpec, ScenarioSpec, ServiceSpec};
use super::validate_policy::{call_policy, edge_policy};
use super::validate_server::{check_class_name, classes, concurrency, degradation, pools, shed};
use crate::engine::SimTime;
use crate::model::{
    Arrivals, Balancer, Call, Dist, Edge, EdgePolicy, Model, RateProfile, Route, Segment, Service, Step, Workload,
};
use crate::policy::rate_limit::TokenBucketConfig;

/// Most services in one scenario.
pub const MAX_SERVICES: usize = 10_000;
/// Most workers per instance.
pub const MAX_SERVERS: u32 = 1_000_000;
/// Most instances per service.
pub const MAX_INSTANCES: u32 = 10_000;
/// Largest finite capacity per instance.
pub const MAX_CAPACITY: u32 = 1_000_000_000;
/// Most replications.
pub const MAX_REPLICATIONS: u32 = 100_000;
/// Most users of a closed workload.
pub const MAX_USERS: u32 = 10_000_000;
/// Most values in an empirical distribution.
pub const MAX_SAMPLES: usize = 1_000_000;
/// Most expected arrivals in one replication (at ~10^7 events/s this is hours of work).
pub const MAX_EXPECTED_ARRIVALS: f64 = 1e11;
/// Most stations (instances × worker pools) over all services: each costs memory in
/// every replication running at once.
pub const MAX_STATIONS: u64 = 1_000_000;
/// Most reporting windows.
pub const MAX_WINDOWS: u64 = 100_000;
/// Longest warm-up plus duration.
pub const MAX_HORIZON: SimTime = SimTime(100 * 365 * 86_400 * 1_000_000_000);

/// z such that P(Z <= z) = 0.99 for a standard normal.
const Z99: f64 = 2.326_347_874_040_841;

type Result<T> = std::result::Result<T, ScenarioError>;

fn err<T>(key: impl Into<String>, message: impl Into<String>) -> Result<T> {
    Err(ScenarioError::at_key(key, message))
}

/// Checks `spec` and resolves it into a [`Model`].
pub fn validate(spec: &ScenarioSpec) -> Result<Model> {
    if spec.name.trim().is_empty() {
        return err("name", "the scenario name is empty");
    }
    if spec.duration.time() == SimTime::ZERO {
        return err("duration", "the measured duration must be longer than 0 (e.g. duration: 1h)");
    }
    let horizon = spec.warmup.time() + spec.duration.time();
    if horizon > MAX_HORIZON {
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
    let names: Vec<&str> = spec.services.keys().map(String::as_str).collect();
    let id_of = |key: &str, name: &str| -> Result<usize> {
        names.binary_search(&name).map_err(|_| {
            let e = ScenarioError::at_key(key, format!("there is no service `{name}`"));
            match suggest(name, names.iter().copied()) {
                Some(s) => e.with_help(format!("did you mean `{s}`?")),
                None => e.with_help(format!("services are: {}", names.join(", "))),
            }
        })
    };
    for name in &names {
        if name.is_empty() || name.contains("->") || name.contains(char::is_whitespace) || name.contains('#') {
            return err(
                format!("services.{name}"),
                format!("`{name}` is not a valid service name: use letters, digits, `-` and `_`"),
            );
        }
    }

    // Edges: one per (caller, callee) pair, in name order. Their shared policies
    // (breaker, limiter, bulkhead, retry budget) may be declared on any one call site of
    // the edge, or identically on several.
    let mut edge_ids: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    // Per edge: its policy, and the call site that declared the shared part (key, spec).
    type Declared = Option<(String, serde_json::Value)>;
    let mut edge_policies: BTreeMap<(usize, usize), (EdgePolicy, Declared)> = BTreeMap::new();
    for (from, (name, s)) in spec.services.iter().enumerate() {
        for (i, c) in s.calls.iter().enumerate() {
            let key = format!("services.{name}.calls.{i}");
            for (j, member) in group(c, &key)?.iter().enumerate() {
                let mkey = if c.parallel.is_some() { format!("{key}.parallel.{j}") } else { key.clone() };
                let to = id_of(&format!("{mkey}.to"), member.to.as_deref().unwrap_or_default())?;
                edge_ids.insert((from, to), 0);
                let policy = edge_policy(member, &mkey)?;
                let declared = serde_json::json!([
                    member.breaker,
                    member.rate_limit,
                    member.bulkhead,
                    member.retry.as_ref().map(|r| (&r.budget, r.preset))
                ]);
                let has_shared = member.breaker.is_some() || member.rate_limit.is_some() || member.bulkhead.is_some();
                match edge_policies.get_mut(&(from, to)) {
                    None => {
                        edge_policies.insert((from, to), (policy, has_shared.then(|| (mkey.clone(), declared))));
                    }
                    Some((existing, first)) => {
                        existing.track_latency |= policy.track_latency;
                        if existing.budget.is_none() {
                            existing.budget = policy.budget;
                        }
                        if has_shared {
                            match first {
                                Some((first_key, first_decl)) if *first_decl != declared => {
                                    return err(
                                        mkey.clone(),
                                        format!("calls to the same service share one breaker, limiter and bulkhead, but this call declares different ones than {first_key}"),
                                    )
                                    .map_err(|e| e.with_help("declare them on one call of the edge, or identically"));
                                }
                                Some(_) => {}
                                None => {
                                    let keep = (existing.track_latency, existing.budget);
                                    *existing = policy;
                                    (existing.track_latency, existing.budget) =
                                        (keep.0 || policy.track_latency, keep.1.or(policy.budget));
                                    *first = Some((mkey.clone(), declared));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let mut edges = Vec::with_capacity(edge_ids.len());
    for (i, (&(from, to), id)) in edge_ids.iter_mut().enumerate() {
        *id = i;
        let policy = edge_policies.get(&(from, to)).map(|(p, _)| *p).unwrap_or_default();
        edges.push(Edge { from, to, name: format!("{}->{}", names[from], names[to]), policy });
    }

    let specs: Vec<&ServiceSpec> = spec.services.values().collect();
    let classes = classes(spec.workloads.iter().map(|w| w.class.as_deref()), &specs);
    for (name, s) in &spec.services {
        for (pool, p) in s.pools.iter().flatten() {
            let wl_classes: Vec<String> =
                spec.workloads.iter().map(|w| w.class.clone().unwrap_or_else(|| "default".into())).collect();
            for (i, c) in p.classes.iter().flatten().enumerate() {
                if c != "default" {
                    check_class_name(c, &wl_classes, &format!("services.{name}.pools.{pool}.classes.{i}"))?;
                }
            }
        }
    }
    let mut zones: Vec<String> = spec.services.values().flat_map(|s| s.zones.iter().cloned()).collect();
    zones.sort();
    zones.dedup();
    if zones.len() >= usize::from(crate::model::NO_ZONE) {
        return err("services", "too many zones");
    }
    let mut services = Vec::with_capacity(names.len());
    for (from, (name, s)) in spec.services.iter().enumerate() {
        let mut svc = service(name, s, from, &id_of, &edge_ids, &classes)?;
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
    check_call_cycles(&services)?;
    check_routes_exit(&services)?;

    let warmup = spec.warmup.time();
    let mut workloads = Vec::with_capacity(spec.workloads.len());
    let mut expected_arrivals = 0.0;
    for (i, w) in spec.workloads.iter().enumerate() {
        let key = format!("workloads.{i}");
        if w.name.trim().is_empty() {
            return err(format!("{key}.name"), "the workload name is empty");
        }
        if spec.workloads[..i].iter().any(|o| o.name == w.name) {
            return err(
                format!("{key}.name"),
                format!("a second workload is called `{}`; names must be unique", w.name),
            );
        }
        let target = id_of(&format!("{key}.target"), &w.target)?;
        let arrivals = match &w.arrivals {
            ArrivalSpec::Poisson(p) => {
                let pkey = format!("{key}.arrivals.poisson");
                let profile = match (&p.rate, &p.profile) {
                    (Some(r), None) => RateProfile::constant(r.per_sec()),
                    (None, Some(points)) => profile(points, warmup, &pkey)?,
                    (Some(_), Some(_)) => return err(pkey, "give either `rate` or `profile`, not both"),
                    (None, None) => return err(pkey, "give a `rate` (e.g. rate: 64/s) or a `profile`"),
                };
                expected_arrivals += profile.peak() * horizon.as_secs_f64();
                Arrivals::Poisson(profile)
            }
            ArrivalSpec::Closed(c) => {
                let ckey = format!("{key}.arrivals.closed");
                if c.users == 0 || c.users > MAX_USERS {
                    return err(format!("{ckey}.users"), format!("users must be between 1 and {MAX_USERS}"));
                }
                let think = dist(&c.think_time, &format!("{ckey}.think_time"))?;
                if matches!(think, Dist::Constant(SimTime::ZERO))
                    && matches!(services[target].service_time, Dist::Constant(SimTime::ZERO))
                {
                    return err(
                        format!("{ckey}.think_time"),
                        "zero think time and zero service time: simulated time would never advance",
                    )
                    .map_err(|e| e.with_help("give the users a think time above 0"));
                }
                Arrivals::Closed { users: c.users, think }
            }
        };
        let deadline = match w.deadline {
            Some(d) if d.time() == SimTime::ZERO => {
                return err(format!("{key}.deadline"), "a deadline of 0 times out every request");
            }
            d => d.map(|d| d.time()),
        };
        let class = w.class.as_deref().map_or(0, |c| classes.iter().position(|x| x == c).unwrap_or(0)) as u16;
        let zone = match &w.zone {
            None => crate::model::NO_ZONE,
            Some(z) => match zones.iter().position(|x| x == z) {
                Some(i) => i as u16,
                None => {
                    return err(format!("{key}.zone"), format!("no service has an instance in zone `{z}`"))
                        .map_err(|e| e.with_help(format!("zones are: {}", zones.join(", "))));
                }
            },
        };
        workloads.push(Workload { name: w.name.clone(), target, arrivals, deadline, class, zone });
    }
    if expected_arrivals > MAX_EXPECTED_ARRIVALS {
        return err(
            "duration",
            format!("this run would generate about {expected_arrivals:.2e} arrivals per replication (limit {MAX_EXPECTED_ARRIVALS:.0e})"),
        )
        .map_err(|e| e.with_help("shorten the duration or lower the rates"));
    }

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
    let mut model = Model {
        name: spec.name.clone(),
        window,
        seed: spec.seed,
        replications: spec.replications,
        warmup,
        duration: spec.duration.time(),
        services,
        edges,
        workloads,
        classes,
        faults: Vec::new(),
        zones,
        slos: Vec::new(),
        alerting: Default::default(),
        blast_radius: None,
        limits: Default::default(),
    };
    model.faults = super::validate_fault::faults(&spec.faults, &mut model)?;
    model.slos = super::validate_slo::slos(&spec.slos, &model)?;
    model.alerting = super::validate_slo::alerting(spec.alerting.as_ref(), model.duration)?;
    model.blast_radius = super::validate_slo::blast_radius(spec.blast_radius.as_ref(), !model.faults.is_empty())?;
    Ok(model)
}

/// The calls of one step: a single call, or the members of a parallel group.
fn group<'a>(c: &'a CallSpec, key: &str) -> Result<Vec<&'a CallSpec>> {
    match (&c.to, &c.parallel) {
        (Some(_), None) => Ok(vec![c]),
        (None, Some(members)) => {
            if members.is_empty() {
                return err(format!("{key}.parallel"), "a parallel group needs at least one call");
            }
            if c.optional || c.probability != 1.0 {
                return err(
                    key,
                    "`optional` and `probability` go on the calls inside a parallel group, not on the group",
                );
            }
            for (j, m) in members.iter().enumerate() {
                if m.parallel.is_some() {
                    return err(
                        format!("{key}.parallel.{j}"),
                        "parallel groups cannot be nested; list the calls in one group",
                    );
                }
                if m.to.is_none() {
                    return err(format!("{key}.parallel.{j}"), "each call in a parallel group needs `to`");
                }
            }
            Ok(members.iter().collect())
        }
        (Some(_), Some(_)) => err(key, "a step is either a call (`to`) or a group (`parallel`), not both"),
        (None, None) => err(key, "a call needs `to: <service>` (or `parallel: [...]` for a group)"),
    }
}

fn service(
    name: &str,
    s: &ServiceSpec,
    id: usize,
    id_of: &dyn Fn(&str, &str) -> Result<usize>,
    edge_ids: &BTreeMap<(usize, usize), usize>,
    classes: &[String],
) -> Result<Service> {
    let key = format!("services.{name}");
    if s.servers == 0 || s.servers > MAX_SERVERS {
        return err(
            format!("{key}.servers"),
            format!("servers must be between 1 and {MAX_SERVERS} (got {})", s.servers),
        );
    }
    if let Some(k) = s.capacity {
        if k < s.servers {
            return err(format!("{key}.capacity"), format!("capacity {k} is below servers {}", s.servers)).map_err(
                |e| {
                    e.with_help(
                        "capacity is Kendall's K: requests in service plus waiting, so it must be at least `servers`",
                    )
                },
            );
        }
        if k > MAX_CAPACITY {
            return err(
                format!("{key}.capacity"),
                format!("capacity {k} exceeds {MAX_CAPACITY}; omit it for an unbounded queue"),
            );
        }
    }
    if s.instances == 0 || s.instances > MAX_INSTANCES {
        return err(format!("{key}.instances"), format!("instances must be between 1 and {MAX_INSTANCES}"));
    }
    let mut steps = Vec::with_capacity(s.calls.len());
    for (i, c) in s.calls.iter().enumerate() {
        let ckey = format!("{key}.calls.{i}");
        let mut calls = Vec::new();
        for (j, m) in group(c, &ckey)?.into_iter().enumerate() {
            let mkey = if c.parallel.is_some() { format!("{ckey}.parallel.{j}") } else { ckey.clone() };
            if !(0.0..=1.0).contains(&m.probability) {
                return err(format!("{mkey}.probability"), format!("probability {} is outside 0..1", m.probability));
            }
            let to = id_of(&format!("{mkey}.to"), m.to.as_deref().unwrap_or_default())?;
            let policy = call_policy(m, &mkey)?;
            calls.push(Call {
                edge: edge_ids[&(id, to)],
                to,
                optional: m.optional,
                probability: m.probability,
                policy,
            });
        }
        steps.push(Step { calls });
    }
    if steps.len() > u16::MAX as usize / 2 {
        return err(format!("{key}.calls"), "too many call steps");
    }
    let mut routes = Vec::with_capacity(s.routes.len());
    let mut total = 0.0;
    for (i, r) in s.routes.iter().enumerate() {
        let rkey = format!("{key}.routes.{i}");
        if !(0.0..=1.0).contains(&r.probability) {
            return err(format!("{rkey}.probability"), format!("probability {} is outside 0..1", r.probability));
        }
        total += r.probability;
        let to = id_of(&format!("{rkey}.to"), &r.to)?;
        routes.push(Route { to, probability: r.probability, cumulative: total });
    }
    if total > 1.0 + 1e-9 {
        return err(
            format!("{key}.routes"),
            format!("route probabilities add up to {}, more than 1", (total * 1e9).round() / 1e9),
        )
        .map_err(|e| e.with_help("the remainder (1 - sum) is the chance of leaving; lower some probabilities"));
    }
    let balancer = match s.load_balancer {
        BalancerSpec::RoundRobin => Balancer::RoundRobin,
        BalancerSpec::Random => Balancer::Random,
        BalancerSpec::LeastOutstanding => Balancer::LeastOutstanding,
        BalancerSpec::PowerOfTwo => Balancer::PowerOfTwo,
    };
    let (pools, pool_of_class) = pools(s, classes, &key)?;
    let service_time = dist(&s.service_time, &format!("{key}.service_time"))?;
    let rate_limit = match &s.rate_limit {
        None => None,
        Some(r) => {
            let rate = r.rate.per_sec();
            if rate <= 0.0 {
                return err(format!("{key}.rate_limit.rate"), "a rate limit of 0 refuses every request");
            }
            let burst = r.burst.unwrap_or_else(|| rate.ceil().clamp(1.0, f64::from(u32::MAX)) as u32).max(1);
            Some(TokenBucketConfig::from_rate(rate, burst))
        }
    };
    let servers: u32 = pools.iter().map(|p| p.servers).sum();
    let (health_check, outlier, failover) = super::validate_fault::recovery(s, &key)?;
    let shed = s.shed.as_ref().map(|x| shed(x, &service_time, pools[0].servers, &format!("{key}.shed"))).transpose()?;
    Ok(Service {
        name: name.to_owned(),
        servers,
        capacity: if pools.len() == 1 { pools[0].capacity } else { None },
        pools,
        pool_of_class,
        rate_limit,
        shed,
        concurrency: s
            .concurrency_limit
            .as_ref()
            .map(|c| concurrency(c, &format!("{key}.concurrency_limit")))
            .transpose()?,
        degradation: s.degradation.as_ref().map(|d| degradation(d, &format!("{key}.degradation"))).transpose()?,
        service_time,
        instances: s.instances,
        balancer,
        steps,
        routes,
        deadline_propagation: s.deadline_propagation,
        zone_ids: Vec::new(),
        prefer_local_zone: s.prefer_local_zone,
        health_check,
        outlier,
        failover,
        zones: if s.zones.is_empty() {
            Vec::new()
        } else {
            (0..s.instances as usize).map(|i| s.zones[i % s.zones.len()].clone()).collect()
        },
    })
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

fn profile(points: &[super::spec::ProfilePoint], warmup: SimTime, key: &str) -> Result<RateProfile> {
    let Some(first) = points.first() else {
        return err(key, "a profile needs at least one point");
    };
    if first.ramp {
        return err(format!("{key}.profile.0.ramp"), "the first point has nothing to ramp from");
    }
    for (i, w) in points.windows(2).enumerate() {
        if w[1].at <= w[0].at {
            return err(format!("{key}.profile.{}.at", i + 1), "profile points must be in increasing time order");
        }
    }
    let mut segments = Vec::with_capacity(points.len() + 1);
    if warmup + first.at.time() > SimTime::ZERO {
        segments.push(Segment { start: SimTime::ZERO, from: first.rate.per_sec(), to: first.rate.per_sec() });
    }
    for (i, p) in points.iter().enumerate() {
        let next_rate = match points.get(i + 1) {
            Some(next) if next.ramp => next.rate.per_sec(),
            _ => p.rate.per_sec(),
        };
        let start = warmup + p.at.time();
        match segments.last_mut() {
            Some(last) if last.start == start => *last = Segment { start, from: p.rate.per_sec(), to: next_rate },
            _ => segments.push(Segment { start, from: p.rate.per_sec(), to: next_rate }),
        }
    }
    Ok(RateProfile::from_segments(segments))
}

fn positive(key: &str, what: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 { Ok(v) } else { err(key, format!("{what} must be a finite number above 0 (got {v})")) }
}

/// Resolves a distribution's parameters.
pub fn dist(d: &DistSpec, key: &str) -> Result<Dist> {
    dist_at_depth(d, key, 0)
}

fn dist_at_depth(d: &DistSpec, key: &str, depth: u32) -> Result<Dist> {
    let pos_dur = |name: &str, t: super::units::Duration| positive(&format!("{key}.{name}"), name, t.secs());
    Ok(match d {
        DistSpec::Exponential { mean } => Dist::Exponential(pos_dur("exponential.mean", *mean)?),
        DistSpec::Constant { value } => Dist::Constant(value.time()),
        DistSpec::Uniform { min, max } => {
            if max < min {
                return err(format!("{key}.uniform.max"), "max is below min");
            }
            Dist::Uniform { lo: min.secs(), width: max.secs() - min.secs() }
        }
        DistSpec::Lognormal(l) => {
            let lkey = format!("{key}.lognormal");
            let (mu, sigma) = match (l.mean, l.sd, l.median, l.p99) {
                (Some(mean), Some(sd), None, None) => {
                    let m = positive(&format!("{lkey}.mean"), "mean", mean.secs())?;
                    let s = positive(&format!("{lkey}.sd"), "sd", sd.secs())?;
                    let s2 = (1.0 + (s / m).powi(2)).ln();
                    (m.ln() - s2 / 2.0, s2.sqrt())
                }
                (None, None, Some(median), Some(p99)) => {
                    let med = positive(&format!("{lkey}.median"), "median", median.secs())?;
                    if p99 <= median {
                        return err(format!("{lkey}.p99"), "p99 must be above the median");
                    }
                    (med.ln(), (p99.secs() / med).ln() / Z99)
                }
                _ => return err(lkey, "give `mean` and `sd`, or `median` and `p99`"),
            };
            Dist::Lognormal(
                LogNormal::new(mu, sigma).map_err(|e| ScenarioError::at_key(key, format!("invalid lognormal: {e}")))?,
            )
        }
        DistSpec::Gamma { shape, mean } => {
            let k = positive(&format!("{key}.gamma.shape"), "shape", *shape)?;
            let m = pos_dur("gamma.mean", *mean)?;
            Dist::Gamma(Gamma::new(k, m / k).map_err(|e| ScenarioError::at_key(key, format!("invalid gamma: {e}")))?)
        }
        DistSpec::Erlang { k, mean } => {
            if *k == 0 || *k > 10_000 {
                return err(format!("{key}.erlang.k"), "k must be between 1 and 10000");
            }
            let m = pos_dur("erlang.mean", *mean)?;
            let k = f64::from(*k);
            Dist::Gamma(Gamma::new(k, m / k).map_err(|e| ScenarioError::at_key(key, format!("invalid erlang: {e}")))?)
        }
        DistSpec::Weibull { shape, scale } => {
            let k = positive(&format!("{key}.weibull.shape"), "shape", *shape)?;
            let l = pos_dur("weibull.scale", *scale)?;
            Dist::Weibull(Weibull::new(l, k).map_err(|e| ScenarioError::at_key(key, format!("invalid weibull: {e}")))?)
        }
        DistSpec::Pareto { shape, scale } => {
            let a = positive(&format!("{key}.pareto.shape"), "shape", *shape)?;
            let xm = pos_dur("pareto.scale", *scale)?;
            Dist::Pareto(Pareto::new(xm, a).map_err(|e| ScenarioError::at_key(key, format!("invalid pareto: {e}")))?)
        }
        DistSpec::Empirical(e) => empirical(e, &format!("{key}.empirical"))?,
        DistSpec::Mixture(parts) => {
            if parts.is_empty() || parts.len() > 100 {
                return err(format!("{key}.mixture"), "a mixture needs between 1 and 100 parts");
            }
            if depth >= 4 {
                return err(format!("{key}.mixture"), "mixtures nest at most 4 deep");
            }
            let mut total = 0.0;
            for (i, p) in parts.iter().enumerate() {
                total += positive(&format!("{key}.mixture.{i}.weight"), "weight", p.weight)?;
            }
            let mut cumulative = Vec::with_capacity(parts.len());
            let mut dists = Vec::with_capacity(parts.len());
            let mut acc = 0.0;
            for (i, p) in parts.iter().enumerate() {
                acc += p.weight / total;
                cumulative.push(acc);
                dists.push(dist_at_depth(&p.dist, &format!("{key}.mixture.{i}.dist"), depth + 1)?);
            }
            if let Some(last) = cumulative.last_mut() {
                *last = 1.0;
            }
            Dist::Mixture { cumulative, parts: dists }
        }
    })
}

/// An empirical distribution: inline `samples`, or the values of its `file` (read when
/// the scenario was loaded, see [`super::samples`]).
fn empirical(e: &EmpiricalSpec, key: &str) -> Result<Dist> {
    match (&e.samples, &e.file) {
        (Some(_), Some(_)) => err(key, "give either `samples` or `file`, not both"),
        (None, None) => err(key, "give `samples` (e.g. samples: [3ms, 5ms, 12ms]) or a `file` of them"),
        (Some(samples), None) => {
            for (field, given) in [("unit", e.unit.is_some()), ("column", e.column.is_some())] {
                if given {
                    return err(format!("{key}.{field}"), format!("`{field}` is for reading a samples `file`"))
                        .map_err(|e| e.with_help("write inline samples with their unit, e.g. [3ms, 5ms]"));
                }
            }
            if samples.is_empty() || samples.len() > MAX_SAMPLES {
                return err(format!("{key}.samples"), format!("give between 1 and {MAX_SAMPLES} samples"));
            }
            Ok(Dist::Empirical(samples.iter().map(|s| s.time()).collect()))
        }
        (None, Some(_)) => match &e.loaded {
            Some(file) => Ok(Dist::Empirical(file.values.clone())),
            None => err(format!("{key}.file"), "the samples file was not read")
                .map_err(|e| e.with_help("load the scenario with scenario::load_file or load_str, which read it")),
        },
    }
}
