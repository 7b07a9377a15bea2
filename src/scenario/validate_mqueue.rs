//! Checking a message queue's keys (`kind: queue`) and resolving them into the service's
//! [`MessageQueue`]: the ranges Amazon SQS accepts (a visibility timeout up to 12 hours,
//! `maxReceiveCount` from 1 to 1,000), a dead-letter queue that is itself a queue, and
//! no station keys the queue does not use (its one fleet of `consumers` takes messages
//! from the queue, not through a balancer, rate limit or admission check).

use std::collections::BTreeMap;

use super::error::{Result, err};
use super::mqueue_spec::ServiceKind;
use super::spec::{BalancerSpec, ServiceSpec};
use super::validate_server::MAX_SERVERS;
use super::validate_service::IdOf;
use crate::engine::SimTime;
use crate::model::Service;
use crate::model::mqueue::{DEFAULT_VISIBILITY_TIMEOUT, MessageQueue};

/// SQS's longest visibility timeout: 12 hours.
pub const MAX_VISIBILITY_TIMEOUT: SimTime = SimTime(12 * 3600 * 1_000_000_000);
/// SQS's largest `maxReceiveCount`.
pub const MAX_RECEIVES: u32 = 1000;

/// Makes `svc` (service `name`, written as `s`) a message queue when it says
/// `kind: queue`: its workers become its `consumers`. A plain service may not use the
/// queue's keys. `services` are all the services as written (a dead letter must be a queue).
pub fn message_queue(
    svc: &mut Service,
    name: &str,
    s: &ServiceSpec,
    services: &BTreeMap<String, ServiceSpec>,
    id_of: IdOf,
) -> Result<()> {
    let key = format!("services.{name}");
    if s.kind == ServiceKind::Service {
        return refuse_queue_keys(s, &key);
    }
    refuse_station_keys(s, &key)?;
    let consumers = s.consumers.unwrap_or(1);
    if consumers == 0 || consumers > MAX_SERVERS {
        return err(format!("{key}.consumers"), format!("consumers must be between 1 and {MAX_SERVERS}"));
    }
    let visibility_timeout = s.visibility_timeout.map_or(DEFAULT_VISIBILITY_TIMEOUT, |d| d.time());
    if visibility_timeout == SimTime::ZERO || visibility_timeout > MAX_VISIBILITY_TIMEOUT {
        return err(
            format!("{key}.visibility_timeout"),
            "visibility_timeout must be above 0 and at most 12h (SQS's range)",
        )
        .map_err(|e| e.with_help("a zero timeout would hand every message to every consumer at once"));
    }
    if let Some(n) = s.max_receives
        && !(1..=MAX_RECEIVES).contains(&n)
    {
        return err(format!("{key}.max_receives"), format!("max_receives must be between 1 and {MAX_RECEIVES}"));
    }
    let dead_letter = s.dead_letter.as_deref().map(|d| dead_letter(name, d, s, services, id_of)).transpose()?;
    if s.max_backlog == Some(0) {
        return err(format!("{key}.max_backlog"), "max_backlog must be at least 1; omit it for an unbounded queue");
    }
    svc.servers = consumers;
    svc.pools[0].servers = consumers;
    svc.message_queue = Some(MessageQueue {
        visibility_timeout,
        max_receives: s.max_receives,
        dead_letter,
        max_backlog: s.max_backlog,
    });
    Ok(())
}

/// The dead-letter queue `d` of queue `name`: another `kind: queue` service, with
/// `max_receives` saying when messages go there.
fn dead_letter(
    name: &str,
    d: &str,
    s: &ServiceSpec,
    services: &BTreeMap<String, ServiceSpec>,
    id_of: IdOf,
) -> Result<usize> {
    let dkey = format!("services.{name}.dead_letter");
    let id = id_of(&dkey, d)?;
    if s.max_receives.is_none() {
        return err(&dkey, "a dead letter needs `max_receives`: the receives after which a message goes there");
    }
    if d == name {
        return err(&dkey, "a queue cannot be its own dead letter");
    }
    if services.get(d).is_none_or(|x| x.kind != ServiceKind::Queue) {
        return err(&dkey, format!("the dead letter `{d}` is not a queue"))
            .map_err(|e| e.with_help(format!("give `{d}` `kind: queue` (as SQS, a dead-letter queue is a queue)")));
    }
    Ok(id)
}

/// A plain service refuses the queue's keys, naming the one it found.
fn refuse_queue_keys(s: &ServiceSpec, key: &str) -> Result<()> {
    let set = [
        ("consumers", s.consumers.is_some()),
        ("visibility_timeout", s.visibility_timeout.is_some()),
        ("max_receives", s.max_receives.is_some()),
        ("dead_letter", s.dead_letter.is_some()),
        ("max_backlog", s.max_backlog.is_some()),
    ];
    match set.iter().find(|(_, on)| *on) {
        Some((k, _)) => err(format!("{key}.{k}"), format!("`{k}` is a key of a message queue"))
            .map_err(|e| e.with_help("add `kind: queue` to the service, or remove the key")),
        None => Ok(()),
    }
}

/// A queue refuses the station keys it has no use for, naming the one it found.
fn refuse_station_keys(s: &ServiceSpec, key: &str) -> Result<()> {
    let set = [
        ("servers", s.servers != 1, "its workers are `consumers`"),
        ("capacity", s.capacity.is_some(), "bound the backlog with `max_backlog`"),
        ("instances", s.instances != 1, "one queue: give it more `consumers`"),
        ("pools", s.pools.is_some(), "its consumers are one pool"),
        ("zones", !s.zones.is_empty(), "a queue has no instances to spread"),
        ("prefer_local_zone", s.prefer_local_zone, "a queue has no instances to choose"),
        ("load_balancer", s.load_balancer != BalancerSpec::RoundRobin, "consumers take messages, nothing balances"),
        ("rate_limit", s.rate_limit.is_some(), "bound the backlog with `max_backlog`"),
        ("shed", s.shed.is_some(), "bound the backlog with `max_backlog`"),
        ("concurrency_limit", s.concurrency_limit.is_some(), "`consumers` is the concurrency"),
        ("pushback", s.pushback.is_some(), "a queue refuses only when `max_backlog` is reached"),
        ("deadline_propagation", s.deadline_propagation, "a message has no caller deadline"),
        ("health_check", s.health_check.is_some(), "a queue has no instances to check"),
        ("outlier_ejection", s.outlier_ejection.is_some(), "a queue has no instances to eject"),
        ("failover", s.failover.is_some(), "a queue has no instances to fail over"),
        ("queue", s.queue.is_some(), "consumers take the oldest visible message, as SQS's"),
        ("cache", s.cache.is_some(), "put the cache on the service the consumers call"),
        ("autoscale", s.autoscale.is_some(), "a queue is one station: set its `consumers`"),
    ];
    match set.iter().find(|(_, on, _)| *on) {
        Some((k, _, why)) => err(format!("{key}.{k}"), format!("a message queue (`kind: queue`) takes no `{k}`"))
            .map_err(|e| e.with_help(*why)),
        None => Ok(()),
    }
}
