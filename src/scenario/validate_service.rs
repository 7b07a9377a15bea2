//! Resolving one service: its size, call steps, routes and balancer, assembled with the
//! server-side policies ([`super::validate_server`]), the call policies
//! ([`super::validate_policy`]) and recovery ([`super::validate_fault`]).
//!
//! Names resolve through the caller's `id_of`, and edges through ids already assigned,
//! so a service is built knowing only the names of the others.

use std::collections::BTreeMap;

use super::error::{Result, err};
use super::policy_spec::{RetryAfterSpec, ScopeSpec, ShedSpec};
use super::spec::{BalancerSpec, CallSpec, ServiceSpec};
use super::validate_dist::dist;
use super::validate_fault::recovery;
use super::validate_policy::call_policy;
use super::validate_server::{MAX_CAPACITY, MAX_SERVERS, concurrency, degradation, pools, rate_limit, shed};
use crate::model::{Balancer, Call, Route, Service, Step};
use crate::policy::retry::Pushback;

/// Most instances per service.
pub const MAX_INSTANCES: u32 = 10_000;

/// Resolves a service name to its id, or says which names there are; `key` locates it.
pub type IdOf<'a> = &'a dyn Fn(&str, &str) -> Result<usize>;

/// The calls of one step: a single call, or the members of a parallel group.
pub fn group<'a>(c: &'a CallSpec, key: &str) -> Result<Vec<&'a CallSpec>> {
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

/// Resolves service `name` (id `id`), whose calls use the edges in `edge_ids`.
pub fn service(
    name: &str,
    s: &ServiceSpec,
    id: usize,
    id_of: IdOf,
    edge_ids: &BTreeMap<(usize, usize), usize>,
    classes: &[String],
) -> Result<Service> {
    let key = format!("services.{name}");
    check_size(s, &key)?;
    let steps = steps(s, id, id_of, edge_ids, &key)?;
    let routes = routes(s, id_of, &key)?;
    let balancer = match s.load_balancer {
        BalancerSpec::RoundRobin => Balancer::RoundRobin,
        BalancerSpec::Random => Balancer::Random,
        BalancerSpec::LeastOutstanding => Balancer::LeastOutstanding,
        BalancerSpec::PowerOfTwo => Balancer::PowerOfTwo,
    };
    let (pools, pool_of_class) = pools(s, classes, &key)?;
    let service_time = dist(&s.service_time, &format!("{key}.service_time"))?;
    let rate_limit = rate_limit(s, &key)?;
    let servers: u32 = pools.iter().map(|p| p.servers).sum();
    let (health_check, outlier, failover) = recovery(s, &key)?;
    let autoscale = super::validate_autoscale::autoscale(s, &key)?;
    // An autoscaled service has a station for each instance it may grow to.
    let instances = autoscale.as_ref().map_or(s.instances, |a| a.hpa.max);
    let shed = s.shed.as_ref().map(|x| shed(x, &service_time, pools[0].servers, &format!("{key}.shed"))).transpose()?;
    Ok(Service {
        name: name.to_owned(),
        servers,
        capacity: if pools.len() == 1 { pools[0].capacity } else { None },
        pools,
        pool_of_class,
        rate_limit,
        rate_limit_scope: ScopeSpec::of(s.rate_limit.as_ref().and_then(|r| r.scope)),
        shed_scope: ScopeSpec::of(s.shed.as_ref().and_then(ShedSpec::scope)),
        shed,
        concurrency_scope: ScopeSpec::of(s.concurrency_limit.as_ref().and_then(|c| c.limit_spec().scope)),
        pushback: pushback(s, &key)?,
        concurrency: s
            .concurrency_limit
            .as_ref()
            .map(|c| concurrency(c, &format!("{key}.concurrency_limit")))
            .transpose()?,
        degradation: s.degradation.as_ref().map(|d| degradation(d, &format!("{key}.degradation"))).transpose()?,
        service_time,
        instances,
        balancer,
        steps,
        routes,
        deadline_propagation: s.deadline_propagation,
        zone_ids: Vec::new(),
        prefer_local_zone: s.prefer_local_zone,
        health_check,
        outlier,
        failover,
        cache: s
            .cache
            .as_ref()
            .map(|c| super::validate_cache::cache(c, &format!("{key}.cache")).map(Box::new))
            .transpose()?,
        zones: if s.zones.is_empty() {
            Vec::new()
        } else {
            (0..instances as usize).map(|i| s.zones[i % s.zones.len()].clone()).collect()
        },
        message_queue: None,
        priority: super::validate_priority::service_priority(s, &key)?,
        autoscale: autoscale.map(Box::new),
    })
}

/// Workers, capacity and instances within their limits, capacity at least the workers.
fn check_size(s: &ServiceSpec, key: &str) -> Result<()> {
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
    Ok(())
}

/// The service's call steps, each call with its policy and the id of its edge.
fn steps(
    s: &ServiceSpec,
    id: usize,
    id_of: IdOf,
    edge_ids: &BTreeMap<(usize, usize), usize>,
    key: &str,
) -> Result<Vec<Step>> {
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
    Ok(steps)
}

/// The service's routes, with cumulative probabilities adding up to at most 1.
fn routes(s: &ServiceSpec, id_of: IdOf, key: &str) -> Result<Vec<Route>> {
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
    Ok(routes)
}

/// The service's pushback: only a refusal by its rate limit or concurrency limit carries one.
fn pushback(s: &ServiceSpec, key: &str) -> Result<Option<Pushback>> {
    let Some(p) = &s.pushback else { return Ok(None) };
    if s.rate_limit.is_none() && s.concurrency_limit.is_none() {
        return err(
            format!("{key}.pushback"),
            "pushback is what `rate_limit` or `concurrency_limit` answers when it refuses; the service has neither",
        );
    }
    Ok(Some(match p.retry_after {
        RetryAfterSpec::After(d) => Pushback::After(d.time()),
        RetryAfterSpec::Never => Pushback::Never,
    }))
}
