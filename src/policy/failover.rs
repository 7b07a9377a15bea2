//! Heartbeat failure detection and failover: a clock-free state machine over the
//! instances of one service.
//!
//! Every `heartbeat` the engine reports, per instance, whether its heartbeat arrived
//! ([`Heartbeats::on_beat`]). `missed` heartbeats in a row declare the instance failed;
//! the first one that arrives again declares it recovered (a fixed-threshold detector,
//! as Pacemaker/Corosync's token timeout or keepalived's `advert_int` × count; no phi
//! accrual). After each round, [`Heartbeats::fail_over`] moves the active role of an
//! active-passive pair to the next instance that is not failed. In active-active mode
//! every live instance takes traffic, and a recovered one's share ramps back linearly
//! over `shift_back` ([`Heartbeats::weight`]) rather than jumping to a full share while
//! its caches are cold.

use crate::engine::SimTime;

/// Heartbeat-detected failover settings (defaults: a heartbeat every 5 s, failed after 3
/// missed, a 60 s ramp back in active-active mode).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Failover {
    /// Active-passive (true) or active-active.
    pub active_passive: bool,
    /// Heartbeat period.
    pub heartbeat: SimTime,
    /// Missed heartbeats that declare failure.
    pub missed: u32,
    /// Active-active: ramp of a recovered instance's share.
    pub shift_back: SimTime,
}

/// What heartbeats know of one instance.
#[derive(Clone, Copy, Debug, Default)]
struct Member {
    missed: u32,
    failed: bool,
    recovered_at: Option<SimTime>,
}

/// Heartbeat state of every instance of one service, and which one is active.
#[derive(Clone, Debug)]
pub struct Heartbeats {
    config: Failover,
    members: Vec<Member>,
    active: u32,
}

impl Heartbeats {
    /// `instances` live instances; in active-passive mode instance 0 is active.
    pub fn new(config: Failover, instances: usize) -> Self {
        Self { config, members: vec![Member::default(); instances], active: 0 }
    }

    /// The active instance (active-passive).
    pub fn active(&self) -> u32 {
        self.active
    }

    /// True when instance `i` may take traffic: not declared failed, and the active one
    /// in active-passive mode.
    pub fn is_usable(&self, i: usize) -> bool {
        !self.members[i].failed && (!self.config.active_passive || self.active as usize == i)
    }

    /// The share of instance `i` relative to a full one: below 1 while a recovered
    /// instance ramps back in active-active mode (never quite 0, so it is still picked).
    pub fn weight(&self, now: SimTime, i: usize) -> f64 {
        let f = &self.config;
        match self.members[i].recovered_at {
            Some(at) if !f.active_passive && now < at + f.shift_back => {
                ((now - at).as_secs_f64() / f.shift_back.as_secs_f64()).max(1e-3)
            }
            _ => 1.0,
        }
    }

    /// Instance `i`'s heartbeat of this round arrived (`alive`) or not. Returns its new
    /// verdict when it changed (`Some(false)`: declared failed; `Some(true)`: recovered).
    pub fn on_beat(&mut self, now: SimTime, i: usize, alive: bool) -> Option<bool> {
        let m = &mut self.members[i];
        if !alive {
            m.missed += 1;
            if !m.failed && m.missed >= self.config.missed {
                m.failed = true;
                return Some(false);
            }
        } else {
            m.missed = 0;
            if m.failed {
                m.failed = false;
                m.recovered_at = Some(now);
                return Some(true);
            }
        }
        None
    }

    /// After a round, in active-passive mode: when the active instance is failed, the
    /// next one (in instance order, wrapping) that is not takes over. Returns (from, to).
    pub fn fail_over(&mut self) -> Option<(u32, u32)> {
        let n = self.members.len() as u32;
        let from = self.active;
        if !self.config.active_passive || !self.members[from as usize].failed {
            return None;
        }
        let to = (1..n).map(|k| (from + k) % n).find(|&j| !self.members[j as usize].failed)?;
        self.active = to;
        Some((from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeats(active_passive: bool, instances: usize) -> Heartbeats {
        let config = Failover {
            active_passive,
            heartbeat: SimTime::from_secs(5),
            missed: 3,
            shift_back: SimTime::from_secs(60),
        };
        Heartbeats::new(config, instances)
    }

    #[test]
    fn failed_after_missed_heartbeats_and_recovered_at_the_first_that_arrives() {
        let mut h = heartbeats(false, 2);
        let t = SimTime::from_secs(10);
        assert_eq!(h.on_beat(t, 0, false), None);
        assert_eq!(h.on_beat(t, 0, false), None);
        assert!(h.is_usable(0));
        assert_eq!(h.on_beat(t, 0, false), Some(false));
        assert!(!h.is_usable(0));
        assert_eq!(h.on_beat(t, 0, false), None, "already failed");
        assert_eq!(h.on_beat(t, 0, true), Some(true));
        assert!(h.is_usable(0));
        // A heartbeat between misses resets the count.
        h.on_beat(t, 1, false);
        h.on_beat(t, 1, false);
        h.on_beat(t, 1, true);
        assert_eq!(h.on_beat(t, 1, false), None);
        assert_eq!(h.on_beat(t, 1, false), None);
        assert!(h.is_usable(1));
    }

    #[test]
    fn active_passive_moves_the_active_role_to_the_next_live_instance() {
        let mut h = heartbeats(true, 3);
        assert!(h.is_usable(0));
        assert!(!h.is_usable(1), "a passive instance takes no traffic");
        assert_eq!(h.fail_over(), None);
        let t = SimTime::from_secs(15);
        for _ in 0..3 {
            h.on_beat(t, 0, false);
            h.on_beat(t, 1, false);
        }
        assert_eq!(h.fail_over(), Some((0, 2)), "instance 1 is failed too: skip it");
        assert_eq!(h.active(), 2);
        assert!(h.is_usable(2));
        // The old active one recovering does not move the role back.
        h.on_beat(t, 0, true);
        assert_eq!(h.fail_over(), None);
        assert!(!h.is_usable(0));
    }

    #[test]
    fn no_failover_when_every_instance_is_failed() {
        let mut h = heartbeats(true, 2);
        let t = SimTime::from_secs(15);
        for _ in 0..3 {
            h.on_beat(t, 0, false);
            h.on_beat(t, 1, false);
        }
        assert_eq!(h.fail_over(), None);
        assert_eq!(h.active(), 0);
    }

    #[test]
    fn active_active_ramps_a_recovered_share_back() {
        let mut h = heartbeats(false, 2);
        let t0 = SimTime::from_secs(100);
        assert_eq!(h.weight(t0, 0), 1.0);
        for _ in 0..3 {
            h.on_beat(t0, 0, false);
        }
        h.on_beat(t0, 0, true);
        assert_eq!(h.weight(t0, 0), 1e-3, "just recovered: a sliver, not zero");
        assert!((h.weight(SimTime::from_secs(115), 0) - 0.25).abs() < 1e-12);
        assert_eq!(h.weight(SimTime::from_secs(160), 0), 1.0);
        assert_eq!(h.weight(t0, 1), 1.0);
        // Active-passive has no ramp.
        let mut p = heartbeats(true, 2);
        for _ in 0..3 {
            p.on_beat(t0, 0, false);
        }
        p.on_beat(t0, 0, true);
        assert_eq!(p.weight(t0, 0), 1.0);
    }
}
