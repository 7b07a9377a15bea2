//! Picking an instance: one balancer over a set of candidates.
//!
//! Without recovery mechanisms or zone preference every instance is a candidate
//! ([`All`]); otherwise the candidates are the instances the recovery state machines
//! consider usable, narrowed to the caller's zone when asked ([`Simulation::pick_eligible`]).
//! Both go through the same [`choose`], so a strategy means the same thing either way.
//! A retry may ask to avoid the instances its call's earlier attempts went to
//! ([`Avoid`], Envoy's `previous_hosts`): the balancer then picks again, a bounded number
//! of times ([`choose`]).

use crate::engine::{Stream, index, unit};
use crate::policy::retry::AttemptedHosts;

use super::super::{Balancer, NO_ZONE, ServiceId};
use super::Simulation;
use super::autoscale::serves;

/// The instances a balancer may pick, in increasing instance order.
pub(super) trait Candidates {
    /// How many there are.
    fn len(&self) -> usize;
    /// The `k`-th candidate's instance.
    fn get(&self, k: usize) -> u32;
    /// True when instance `i` is a candidate.
    fn contains(&self, i: u32) -> bool;
}

/// Every instance `0..n` of a service.
pub(super) struct All(pub(super) u32);

impl Candidates for All {
    fn len(&self) -> usize {
        self.0 as usize
    }
    fn get(&self, k: usize) -> u32 {
        k as u32
    }
    fn contains(&self, i: u32) -> bool {
        i < self.0
    }
}

/// Listed instances with their weights (weights are read by the ramp, not here).
impl Candidates for [(u32, f64)] {
    fn len(&self) -> usize {
        <[(u32, f64)]>::len(self)
    }
    fn get(&self, k: usize) -> u32 {
        self[k].0
    }
    fn contains(&self, i: u32) -> bool {
        self.iter().any(|&(x, _)| x == i)
    }
}

/// Picks one of the candidates `c` (at least one) of a service with `n` instances.
/// `next` is the round-robin position (over all `n` instances, so that a candidate set
/// that changes does not reset the rotation); `load(i)` is the number of requests inside
/// instance `i`. Least-outstanding breaks ties by the lowest instance; power of two
/// draws two distinct candidates and keeps the less loaded (the first on a tie).
///
/// With `avoid`, the balancer picks again while its pick is to be avoided (see
/// [`avoiding`]): random and power of two draw again from the same stream and
/// round-robin moves on, as Envoy's do. Least-outstanding's scan would find the same
/// instance again, so a re-pick takes the least loaded of the instances not to avoid (as
/// Envoy's hash balancers step to another host on each re-pick). Without `avoid`, or
/// with nothing in it, the picks and draws are those of the plain balancer.
pub(super) fn choose<C: Candidates + ?Sized>(
    balancer: Balancer,
    c: &C,
    n: u32,
    next: &mut u32,
    rng: &mut Stream,
    load: impl Fn(u32) -> u32,
    avoid: Option<&Avoid>,
) -> u32 {
    avoiding(avoid, |again| match balancer {
        Balancer::RoundRobin => {
            let start = *next;
            for step in 0..n {
                let i = (start + step) % n;
                if c.contains(i) {
                    *next = (i + 1) % n;
                    return i;
                }
            }
            c.get(0)
        }
        Balancer::Random => c.get(index(rng, c.len())),
        Balancer::LeastOutstanding => {
            // The least of (avoided, load): on a first pick nothing is avoided.
            let avoided = |i: u32| again && avoid.is_some_and(|a| a.hosts.contains(i));
            let mut best = c.get(0);
            for k in 1..c.len() {
                let i = c.get(k);
                if (avoided(i), load(i)) < (avoided(best), load(best)) {
                    best = i;
                }
            }
            best
        }
        Balancer::PowerOfTwo => {
            if c.len() == 1 {
                return c.get(0);
            }
            let a = index(rng, c.len());
            let b = (a + 1 + index(rng, c.len() - 1)) % c.len();
            let (ia, ib) = (c.get(a), c.get(b));
            if load(ib) < load(ia) { ib } else { ia }
        }
    })
}

/// Instances a request should not go to, and how many times the balancer may pick
/// again when it lands on one (Envoy's `previous_hosts` retry host predicate with
/// `host_selection_retry_max_attempts`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Avoid {
    /// The instances the call's earlier attempts (and hedges) went to.
    pub(super) hosts: AttemptedHosts,
    /// Picks after the first; then the last pick stands.
    pub(super) reselects: u32,
}

/// Calls `pick(again)` once, then again while the pick is a host to avoid, at most
/// `avoid.reselects` more times, and keeps the last pick: the loop of Envoy's
/// `LoadBalancerBase::chooseHost`.
fn avoiding(avoid: Option<&Avoid>, mut pick: impl FnMut(bool) -> u32) -> u32 {
    let mut i = pick(false);
    if let Some(a) = avoid {
        for _ in 0..a.reselects {
            if !a.hosts.contains(i) {
                break;
            }
            i = pick(true);
        }
    }
    i
}

impl Simulation<'_> {
    /// Picks the instance of service `s` for a request of pool `pool`, steering clear of
    /// `avoid` as far as it allows; returns the instance index. Load-aware balancers look
    /// at that pool's stations.
    #[inline(always)]
    pub(super) fn pick_instance(&mut self, s: ServiceId, pool: usize, zone: u16, avoid: Option<&Avoid>) -> u32 {
        // One instance, the common case, without a call.
        if self.layout.hot[s].instances == 1 {
            return 0;
        }
        self.pick_balanced(s, pool, zone, avoid)
    }

    /// [`Simulation::pick_instance`] among several instances.
    #[inline(never)]
    fn pick_balanced(&mut self, s: ServiceId, pool: usize, zone: u16, avoid: Option<&Avoid>) -> u32 {
        let hot = self.layout.hot[s];
        if !hot.all_eligible {
            return self.pick_eligible(s, pool, zone, avoid);
        }
        let k = hot.first_station as usize + pool;
        let np = usize::from(hot.pools);
        let stations = &self.stations;
        let load = |i: u32| stations[k + i as usize * np].in_system();
        let rng = &mut self.service_rng[s].balancer;
        let all = All(hot.instances);
        choose(hot.balancer, &all, hot.instances, &mut self.round_robin[k], rng, load, avoid)
    }

    /// The balancer restricted to the instances the recovery mechanisms consider usable
    /// (healthy, not ejected, alive by heartbeat; for active-passive only the active one),
    /// with active-active shares ramping back after a recovery, among the instances an
    /// autoscaler has ready. When none is usable, all those are (Envoy's panic routing).
    fn pick_eligible(&mut self, s: ServiceId, pool: usize, zone: u16, avoid: Option<&Avoid>) -> u32 {
        let now = self.now;
        let svc = &self.model.services[s];
        let n = svc.instances;
        let recovery = &self.recovery[s];
        self.candidates.clear();
        let scaler = self.autoscale[s].as_deref();
        for i in 0..n {
            if recovery.is_usable(now, i as usize) && serves(scaler, i) {
                self.candidates.push((i, recovery.weight(now, i as usize)));
            }
        }
        if self.candidates.is_empty() {
            self.candidates.extend((0..n).filter(|&i| serves(scaler, i)).map(|i| (i, 1.0)));
        }
        if svc.prefer_local_zone
            && zone != NO_ZONE
            && self.candidates.iter().any(|&(i, _)| svc.zone_ids[i as usize] == zone)
        {
            self.candidates.retain(|&(i, _)| svc.zone_ids[i as usize] == zone);
        }
        let k = self.layout.first_station(s) + pool;
        let np = svc.pools.len();
        let stations = &self.stations;
        let load = |i: u32| stations[k + i as usize * np].in_system();
        let rng = &mut self.service_rng[s].balancer;
        let c = self.candidates.as_slice();
        if c.iter().any(|&(_, w)| w < 1.0) {
            return avoiding(avoid, |_| weighted(c, rng));
        }
        choose(svc.balancer, c, n, &mut self.round_robin[k], rng, load, avoid)
    }
}

/// A weighted random pick, while a recovered instance's share ramps back.
fn weighted(c: &[(u32, f64)], rng: &mut Stream) -> u32 {
    let total: f64 = c.iter().map(|&(_, w)| w).sum();
    let mut u = unit(rng) * total;
    for &(i, w) in c {
        if u < w {
            return i;
        }
        u -= w;
    }
    c[c.len() - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{RngStreams, SimTime};
    use crate::model::station::Station;

    /// The requests inside each of a few stations.
    fn loads(stations: &[Station]) -> impl Fn(u32) -> u32 + '_ {
        |i| stations[i as usize].in_system()
    }

    fn rng() -> Stream {
        RngStreams::new(3, 0).stream("balancer/test")
    }

    /// Four single-worker stations holding 3, 1, 2 and 1 requests.
    fn loaded() -> Vec<Station> {
        let mut st: Vec<Station> = (0..4).map(|_| Station::new(1, u32::MAX)).collect();
        for (i, n) in [3, 1, 2, 1].into_iter().enumerate() {
            for r in 0..n {
                st[i].offer(SimTime::ZERO, r, 0);
            }
        }
        st
    }

    #[test]
    fn round_robin_rotates_and_skips_non_candidates() {
        let st = loaded();
        let mut next = 0;
        let picks: Vec<u32> =
            (0..5).map(|_| choose(Balancer::RoundRobin, &All(4), 4, &mut next, &mut rng(), loads(&st), None)).collect();
        assert_eq!(picks, [0, 1, 2, 3, 0]);
        let only = [(1, 1.0), (3, 1.0)];
        let picks: Vec<u32> = (0..3)
            .map(|_| choose(Balancer::RoundRobin, &only[..], 4, &mut next, &mut rng(), loads(&st), None))
            .collect();
        assert_eq!(picks, [1, 3, 1], "from position 1, instance 2 is skipped");
    }

    #[test]
    fn least_outstanding_takes_the_least_loaded_lowest_on_ties() {
        let st = loaded();
        assert_eq!(choose(Balancer::LeastOutstanding, &All(4), 4, &mut 0, &mut rng(), loads(&st), None), 1);
        let c = [(0, 1.0), (2, 1.0), (3, 1.0)];
        assert_eq!(choose(Balancer::LeastOutstanding, &c[..], 4, &mut 0, &mut rng(), loads(&st), None), 3);
    }

    #[test]
    fn power_of_two_keeps_the_less_loaded_of_two_distinct() {
        let st = loaded();
        let mut r = rng();
        for _ in 0..200 {
            let i = choose(Balancer::PowerOfTwo, &All(4), 4, &mut 0, &mut r, loads(&st), None);
            // Instance 0 (the most loaded) can never win a pair of distinct instances.
            assert_ne!(i, 0);
        }
        // Two candidates: always the less loaded one.
        let c = [(0, 1.0), (2, 1.0)];
        for _ in 0..50 {
            assert_eq!(choose(Balancer::PowerOfTwo, &c[..], 4, &mut 0, &mut r, loads(&st), None), 2);
        }
        let one = [(3, 1.0)];
        assert_eq!(choose(Balancer::PowerOfTwo, &one[..], 4, &mut 0, &mut r, loads(&st), None), 3);
    }

    #[test]
    fn random_spreads_evenly_over_the_candidates() {
        let st = loaded();
        let mut r = rng();
        let c = [(1, 1.0), (2, 1.0), (3, 1.0)];
        let mut counts = [0u32; 4];
        let n = 30_000;
        for _ in 0..n {
            counts[choose(Balancer::Random, &c[..], 4, &mut 0, &mut r, loads(&st), None) as usize] += 1;
        }
        assert_eq!(counts[0], 0);
        // Each share is binomial(n, 1/3): 5 standard deviations is about 408.
        for &k in &counts[1..] {
            assert!((f64::from(k) - f64::from(n) / 3.0).abs() < 5.0 * (f64::from(n) * 2.0 / 9.0).sqrt(), "{counts:?}");
        }
    }

    #[test]
    fn all_and_the_full_list_pick_alike() {
        // The balancer over every instance, listed or not, draws and picks the same.
        let st = loaded();
        let full = [(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0)];
        for b in [Balancer::RoundRobin, Balancer::Random, Balancer::LeastOutstanding, Balancer::PowerOfTwo] {
            let (mut ra, mut rb, mut na, mut nb) = (rng(), rng(), 0, 0);
            for _ in 0..100 {
                let a = choose(b, &All(4), 4, &mut na, &mut ra, loads(&st), None);
                let l = choose(b, &full[..], 4, &mut nb, &mut rb, loads(&st), None);
                assert_eq!(a, l, "{b:?}");
            }
        }
    }

    #[test]
    fn a_ramping_share_is_picked_in_proportion_to_its_weight() {
        let mut r = rng();
        let c = [(0, 1.0), (1, 0.25)];
        let n = 20_000;
        let ones = (0..n).filter(|_| weighted(&c, &mut r) == 1).count();
        // Binomial(n, 0.2): 5 standard deviations is about 283.
        assert!((ones as f64 - 0.2 * n as f64).abs() < 5.0 * (n as f64 * 0.16).sqrt(), "{ones}");
    }

    /// Avoid the listed instances, picking again up to `reselects` times.
    fn avoid(hosts: &[u32], reselects: u32) -> Avoid {
        let mut h = AttemptedHosts::EMPTY;
        hosts.iter().for_each(|&i| h.record(i));
        Avoid { hosts: h, reselects }
    }

    #[test]
    fn a_random_repick_lands_on_an_avoided_host_with_the_product_of_the_chances() {
        // Three instances, #1 avoided: each pick hits it with probability 1/3, so after
        // r re-picks the pick is #1 with probability (1/3)^(r+1).
        let st = loaded();
        let n = 90_000;
        for (reselects, p) in [(0, 1.0 / 3.0), (1, 1.0 / 9.0), (2, 1.0 / 27.0)] {
            let (mut r, a) = (rng(), avoid(&[1], reselects));
            let hits = (0..n)
                .filter(|_| choose(Balancer::Random, &All(3), 3, &mut 0, &mut r, loads(&st), Some(&a)) == 1)
                .count();
            // Binomial(n, p): 5 standard deviations.
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!((hits as f64 - n as f64 * p).abs() < 5.0 * sd, "{reselects}: {hits} vs {}", n as f64 * p);
        }
    }

    #[test]
    fn repicks_move_on_for_round_robin_and_least_outstanding() {
        let st = loaded();
        // Round-robin at #1 with #1 avoided: the re-pick takes the next one, and the
        // rotation goes on from there.
        let mut next = 1;
        let a = avoid(&[1], 1);
        assert_eq!(choose(Balancer::RoundRobin, &All(4), 4, &mut next, &mut rng(), loads(&st), Some(&a)), 2);
        assert_eq!(next, 3);
        // Loads 3, 1, 2, 1: least-outstanding takes #1; avoiding #1 and #3 (both load 1)
        // the re-pick takes #2 (load 2); with no re-pick allowed #1 stands.
        let a = avoid(&[1, 3], 1);
        assert_eq!(choose(Balancer::LeastOutstanding, &All(4), 4, &mut 0, &mut rng(), loads(&st), Some(&a)), 2);
        let a = avoid(&[1, 3], 0);
        assert_eq!(choose(Balancer::LeastOutstanding, &All(4), 4, &mut 0, &mut rng(), loads(&st), Some(&a)), 1);
        // Every candidate avoided: the last pick stands.
        let a = avoid(&[0, 1, 2, 3], 5);
        assert_eq!(choose(Balancer::LeastOutstanding, &All(4), 4, &mut 0, &mut rng(), loads(&st), Some(&a)), 1);
        // Power of two: a pair avoiding #1 and #3 must be {#0, #2}, kept as #2; a pick is
        // avoided with probability 5/6, so 100 re-picks almost surely reach it.
        let (mut r, a) = (rng(), avoid(&[1, 3], 100));
        for _ in 0..200 {
            assert_eq!(choose(Balancer::PowerOfTwo, &All(4), 4, &mut 0, &mut r, loads(&st), Some(&a)), 2);
        }
    }

    #[test]
    fn nothing_to_avoid_draws_as_the_plain_balancer() {
        // Scenarios without `previous_hosts` (or a first attempt) must not change.
        let st = loaded();
        // A first attempt has nothing to avoid; with no re-pick allowed the first pick stands.
        let (empty, no_repick) = (avoid(&[], 3), avoid(&[0, 1, 2], 0));
        for b in [Balancer::RoundRobin, Balancer::Random, Balancer::LeastOutstanding, Balancer::PowerOfTwo] {
            let (mut r1, mut r2, mut r3, mut n1, mut n2, mut n3) = (rng(), rng(), rng(), 0, 0, 0);
            for _ in 0..100 {
                let plain = choose(b, &All(4), 4, &mut n1, &mut r1, loads(&st), None);
                assert_eq!(choose(b, &All(4), 4, &mut n2, &mut r2, loads(&st), Some(&empty)), plain, "{b:?}");
                assert_eq!(choose(b, &All(4), 4, &mut n3, &mut r3, loads(&st), Some(&no_repick)), plain, "{b:?}");
            }
        }
    }
}
