//! Resolving `workloads:`: where requests enter, how they arrive (a Poisson rate or rate
//! profile, or a closed population of users), their class, zone and deadline, and their
//! priority ([`super::validate_priority`]).
//!
//! Built after the services, whose ids, service times and zones the workloads refer to.
//! The expected number of arrivals is bounded here, since it is what makes a run long.

use super::error::{Result, err};
use super::spec::{ArrivalSpec, ProfilePoint, ScenarioSpec, WorkloadSpec};
use super::validate_dist::dist;
use super::validate_priority::{rank_workloads, workload_priority};
use super::validate_service::IdOf;
use crate::engine::SimTime;
use crate::model::queue_discipline::RequestPriority;
use crate::model::{Arrivals, RateProfile, Segment, Service, Workload};

/// Most users of a closed workload.
pub const MAX_USERS: u32 = 10_000_000;
/// Most expected arrivals in one replication (at ~10^7 events/s this is hours of work).
pub const MAX_EXPECTED_ARRIVALS: f64 = 1e11;

/// The services a workload may name, by id, with the request classes and the zones.
pub struct Targets<'a> {
    /// Resolves a service name to its id.
    pub id_of: IdOf<'a>,
    /// The resolved services, by id.
    pub services: &'a [Service],
    /// The request classes, `default` first.
    pub classes: &'a [String],
    /// The zones, sorted.
    pub zones: &'a [String],
}

/// Resolves the workloads of `spec`, refusing a run that would generate more than
/// [`MAX_EXPECTED_ARRIVALS`] arrivals per replication.
pub fn workloads(spec: &ScenarioSpec, targets: &Targets) -> Result<Vec<Workload>> {
    let horizon = spec.warmup.time() + spec.duration.time();
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
        let workload = workload(w, spec.warmup.time(), targets, &key)?;
        if let Arrivals::Poisson(profile) = &workload.arrivals {
            expected_arrivals += profile.peak() * horizon.as_secs_f64();
        }
        workloads.push(workload);
    }
    rank_workloads(&mut workloads)?;
    if expected_arrivals > MAX_EXPECTED_ARRIVALS {
        return err(
            "duration",
            format!("this run would generate about {expected_arrivals:.2e} arrivals per replication (limit {MAX_EXPECTED_ARRIVALS:.0e})"),
        )
        .map_err(|e| e.with_help("shorten the duration or lower the rates"));
    }
    Ok(workloads)
}

/// Resolves workload `w`, at `key`.
fn workload(w: &WorkloadSpec, warmup: SimTime, targets: &Targets, key: &str) -> Result<Workload> {
    let target = (targets.id_of)(&format!("{key}.target"), &w.target)?;
    let arrivals = arrivals(&w.arrivals, warmup, key)?;
    let deadline = match w.deadline {
        Some(d) if d.time() == SimTime::ZERO => {
            return err(format!("{key}.deadline"), "a deadline of 0 times out every request");
        }
        d => d.map(|d| d.time()),
    };
    let class = w.class.as_deref().map_or(0, |c| targets.classes.iter().position(|x| x == c).unwrap_or(0)) as u16;
    let zone = match &w.zone {
        None => crate::model::NO_ZONE,
        Some(z) => match targets.zones.iter().position(|x| x == z) {
            Some(i) => i as u16,
            None => {
                return err(format!("{key}.zone"), format!("no service has an instance in zone `{z}`"))
                    .map_err(|e| e.with_help(format!("zones are: {}", targets.zones.join(", "))));
            }
        },
    };
    let priority = RequestPriority { value: workload_priority(w, key)?, rank: 0 };
    Ok(Workload { name: w.name.clone(), target, arrivals, deadline, class, zone, priority })
}

/// How a workload's requests arrive at `target`: open, at a rate or a rate profile, or
/// closed, from users who think between requests.
fn arrivals(a: &ArrivalSpec, warmup: SimTime, key: &str) -> Result<Arrivals> {
    Ok(match a {
        ArrivalSpec::Poisson(p) => {
            let pkey = format!("{key}.arrivals.poisson");
            let profile = match (&p.rate, &p.profile) {
                (Some(r), None) => RateProfile::constant(r.per_sec()),
                (None, Some(points)) => profile(points, warmup, &pkey)?,
                (Some(_), Some(_)) => return err(pkey, "give either `rate` or `profile`, not both"),
                (None, None) => return err(pkey, "give a `rate` (e.g. rate: 64/s) or a `profile`"),
            };
            Arrivals::Poisson(profile)
        }
        ArrivalSpec::Closed(c) => {
            let ckey = format!("{key}.arrivals.closed");
            if c.users == 0 || c.users > MAX_USERS {
                return err(format!("{ckey}.users"), format!("users must be between 1 and {MAX_USERS}"));
            }
            // Zero-time loops (think time 0 against an answer that takes none) are
            // refused on the whole model: `validate_loops`.
            let think = dist(&c.think_time, &format!("{ckey}.think_time"))?;
            Arrivals::Closed { users: c.users, think }
        }
    })
}

/// A rate profile as segments from time 0: the warm-up runs at the first point's rate, and
/// a point with `ramp` is reached linearly from the one before.
fn profile(points: &[ProfilePoint], warmup: SimTime, key: &str) -> Result<RateProfile> {
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
