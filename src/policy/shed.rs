//! Server-side load shedding for one station: refuse work on arrival when the waiting
//! line is too long, or drop it at dequeue when it has waited too long (CoDel).
//!
//! The seeds only name load shedding ("drop requests when bulkheads are full", spec §1.8)
//! and give no algorithm, so resim offers three common rules:
//!
//! - [`ShedConfig::QueueLength`]: admit an arrival only while fewer than `max` requests
//!   wait (a waiting-room bound; with `max` = K − c this is M/M/c/K admission).
//! - [`ShedConfig::QueueTime`]: admit an arrival only while the wait it can expect,
//!   estimated as `queue_len · mean_service / servers`, is at most `max_wait` — the
//!   "shed by predicted queueing delay" rule of many RPC servers. The estimate ignores the
//!   residual service of requests in progress; it is deliberately simple and monotone.
//! - [`ShedConfig::Codel`]: CoDel, RFC 8289 ("Controlled Delay Active Queue Management"),
//!   with requests in place of packets. At each dequeue the head's sojourn time is
//!   compared with `target` (default 5 ms). Once sojourns have stayed at or above target
//!   for a whole `interval` (default 100 ms) CoDel enters its dropping state and drops the
//!   head; while in that state it drops again at `interval / sqrt(count)` spacing (100,
//!   70.7, 57.7, 50 ms …), and it leaves the state as soon as a head's sojourn is below
//!   target. Re-entering soon after leaving (within 16 intervals) resumes near the old
//!   drop rate, as the RFC prescribes. The RFC's "fewer bytes than one MTU queued"
//!   exemption has no request analogue and is left out; the engine reports an empty queue
//!   with [`Shedder::on_queue_empty`].
//!
//! The engine calls [`Shedder::admit`] on each arrival (queue-based kinds; CoDel always
//! admits) and [`Shedder::on_dequeue`] each time a server takes the head of the line
//! (CoDel only; the others never drop there). When `on_dequeue` says *drop*, the engine
//! discards that request (outcome `rejected`/shed) and calls `on_dequeue` again for the
//! new head, at the same `now`, exactly as the RFC's dequeue loop does. All arithmetic is
//! integer (the control law uses an integer square root), so decisions are deterministic.

use crate::engine::SimTime;

/// Which shedding rule a station uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShedConfig {
    /// Shed an arrival when `max` requests are already waiting.
    QueueLength {
        /// Most requests allowed to wait.
        max: u32,
    },
    /// Shed an arrival when `queue_len · mean_service / servers` exceeds `max_wait`.
    QueueTime {
        /// Longest expected wait accepted.
        max_wait: SimTime,
        /// Mean service time of one request.
        mean_service: SimTime,
        /// Servers working the queue (zero is read as one).
        servers: u32,
    },
    /// CoDel (RFC 8289) on the dequeue side.
    Codel {
        /// Acceptable standing sojourn time (RFC default 5 ms).
        target: SimTime,
        /// Window over which sojourn must stay above target before dropping (RFC default 100 ms).
        interval: SimTime,
    },
}

impl ShedConfig {
    /// The same rule for a queue worked by `servers` workers (only queue-time shedding
    /// depends on it).
    pub fn for_servers(self, servers: u32) -> Self {
        match self {
            ShedConfig::QueueTime { max_wait, mean_service, .. } => {
                ShedConfig::QueueTime { max_wait, mean_service, servers }
            }
            other => other,
        }
    }

    /// CoDel with the RFC's defaults: target 5 ms, interval 100 ms.
    pub const CODEL_DEFAULT: ShedConfig =
        ShedConfig::Codel { target: SimTime::from_millis(5), interval: SimTime::from_millis(100) };
}

/// CoDel's state machine (RFC 8289 §5), one call per dequeued request.
#[derive(Clone, Debug)]
pub struct Codel {
    target: SimTime,
    interval: SimTime,
    /// When the sojourn will have been above target for a full interval (RFC `first_above_time_`).
    first_above: Option<SimTime>,
    dropping: bool,
    drop_next: SimTime,
    count: u32,
    last_count: u32,
    /// The request right after an entering drop is always delivered (RFC dequeue, else-branch).
    deliver_next: bool,
    /// After a drop in the dropping state, `drop_next` advances once the next head is known
    /// to be droppable (RFC dequeue, while-loop).
    reschedule: bool,
    drops: u64,
}

impl Codel {
    /// A CoDel controller, not dropping.
    pub fn new(target: SimTime, interval: SimTime) -> Self {
        Self {
            target,
            interval,
            first_above: None,
            dropping: false,
            drop_next: SimTime::ZERO,
            count: 0,
            last_count: 0,
            deliver_next: false,
            reschedule: false,
            drops: 0,
        }
    }

    /// Called when a server takes the head of the line at `now`, a request that joined
    /// the line at `enqueued_at`; returns whether to drop it instead of serving it.
    pub fn on_dequeue(&mut self, now: SimTime, enqueued_at: SimTime) -> bool {
        let ok_to_drop = self.ok_to_drop(now, now.saturating_sub(enqueued_at));
        if self.deliver_next {
            self.deliver_next = false;
            return false;
        }
        if self.dropping {
            if !ok_to_drop {
                self.dropping = false;
                self.reschedule = false;
                return false;
            }
            if self.reschedule {
                self.reschedule = false;
                self.drop_next = self.control_law(self.drop_next);
            }
            if now >= self.drop_next {
                self.count = self.count.saturating_add(1);
                self.reschedule = true;
                self.drops += 1;
                return true;
            }
            return false;
        }
        if ok_to_drop {
            self.dropping = true;
            let delta = self.count.saturating_sub(self.last_count);
            self.count = 1;
            // Recently dropping: resume near the drop rate that was controlling the queue.
            if delta > 1 && now < self.drop_next + SimTime(self.interval.0.saturating_mul(16)) {
                self.count = delta;
            }
            self.drop_next = self.control_law(now);
            self.last_count = self.count;
            self.deliver_next = true;
            self.drops += 1;
            return true;
        }
        false
    }

    /// Called when the line is found empty (a server goes idle): the standing queue is gone.
    pub fn on_queue_empty(&mut self) {
        self.first_above = None;
        self.dropping = false;
        self.deliver_next = false;
        self.reschedule = false;
    }

    /// Whether CoDel is in its dropping state.
    pub fn dropping(&self) -> bool {
        self.dropping
    }

    /// The RFC's `count`: drops since the dropping state was (re-)entered, plus carry-over.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Total requests dropped since construction or [`Codel::reset_stats`].
    pub fn drops(&self) -> u64 {
        self.drops
    }

    /// Clears the drop total (the control state is kept).
    pub fn reset_stats(&mut self) {
        self.drops = 0;
    }

    /// RFC `dodequeue`: tracks how long sojourns have been above target.
    fn ok_to_drop(&mut self, now: SimTime, sojourn: SimTime) -> bool {
        if sojourn < self.target {
            self.first_above = None;
            return false;
        }
        match self.first_above {
            None => {
                self.first_above = Some(now + self.interval);
                false
            }
            Some(at) => now >= at,
        }
    }

    /// `t + interval / sqrt(count)`, computed as ⌊√⌊interval² / count⌋⌋ nanoseconds.
    fn control_law(&self, t: SimTime) -> SimTime {
        let i = u128::from(self.interval.0);
        let step = (i * i / u128::from(self.count.max(1))).isqrt();
        t + SimTime(u64::try_from(step).unwrap_or(u64::MAX))
    }
}

/// A station's shedding rule with its state.
#[derive(Clone, Debug)]
pub struct Shedder {
    config: ShedConfig,
    codel: Option<Codel>,
}

impl Shedder {
    /// A shedder for `config`, in its initial (not dropping) state.
    pub fn new(config: ShedConfig) -> Self {
        let codel = match config {
            ShedConfig::Codel { target, interval } => Some(Codel::new(target, interval)),
            _ => None,
        };
        Self { config, codel }
    }

    /// The configuration.
    pub fn config(&self) -> &ShedConfig {
        &self.config
    }

    /// Whether an arrival that finds `queue_len` requests waiting may join the line.
    /// CoDel admits everything (it acts at dequeue).
    pub fn admit(&self, queue_len: u32) -> bool {
        match self.config {
            ShedConfig::QueueLength { max } => queue_len < max,
            ShedConfig::QueueTime { max_wait, mean_service, servers } => {
                u128::from(queue_len) * u128::from(mean_service.0)
                    <= u128::from(max_wait.0) * u128::from(servers.max(1))
            }
            ShedConfig::Codel { .. } => true,
        }
    }

    /// The wait an arrival behind `queue_len` requests is expected to have under
    /// [`ShedConfig::QueueTime`] (`queue_len · mean_service / servers`); zero for the
    /// other kinds.
    pub fn expected_wait(&self, queue_len: u32) -> SimTime {
        match self.config {
            ShedConfig::QueueTime { mean_service, servers, .. } => {
                let ns = u128::from(queue_len) * u128::from(mean_service.0) / u128::from(servers.max(1));
                SimTime(u64::try_from(ns).unwrap_or(u64::MAX))
            }
            _ => SimTime::ZERO,
        }
    }

    /// Called when a server takes the head of the line; returns whether to drop it (CoDel
    /// only). See [`Codel::on_dequeue`].
    pub fn on_dequeue(&mut self, now: SimTime, enqueued_at: SimTime) -> bool {
        self.codel.as_mut().is_some_and(|c| c.on_dequeue(now, enqueued_at))
    }

    /// Called when a server finds the line empty. See [`Codel::on_queue_empty`].
    pub fn on_queue_empty(&mut self) {
        if let Some(c) = self.codel.as_mut() {
            c.on_queue_empty();
        }
    }

    /// The CoDel state, for the CoDel kind.
    pub fn codel(&self) -> Option<&Codel> {
        self.codel.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;

    /// Dequeues every `step` ns over `[from, to)`, each head having waited `sojourn`;
    /// returns the drop instants.
    fn run(c: &mut Codel, from: u64, to: u64, step: u64, sojourn: u64) -> Vec<u64> {
        let mut drops = Vec::new();
        let mut now = from;
        while now < to {
            if c.on_dequeue(SimTime(now), SimTime(now.saturating_sub(sojourn))) {
                drops.push(now);
            }
            now += step;
        }
        drops
    }

    #[test]
    fn control_law_spacing_is_interval_over_sqrt_count() {
        let mut c = Codel::new(SimTime::from_millis(5), SimTime::from_millis(100));
        // A standing 50 ms sojourn from t = 50 ms on, a dequeue every microsecond.
        let drops = run(&mut c, 50 * MS, 650 * MS, US, 50 * MS);
        // First drop one interval after the sojourn was first seen above target.
        assert_eq!(drops[0], 150 * MS);
        let expected_gaps_ns = [100e6, 70.710_678e6, 57.735_027e6, 50e6, 44.721_360e6, 40.824_829e6];
        for (k, want) in expected_gaps_ns.iter().enumerate() {
            let gap = (drops[k + 1] - drops[k]) as f64;
            // Each drop happens at the first dequeue at or after its scheduled time.
            assert!((gap - want).abs() <= 1_001.0, "gap {k}: {gap} vs {want}");
        }
        assert!(c.dropping());
        assert_eq!(c.drops(), drops.len() as u64);
        assert_eq!(c.count() as usize, drops.len());
    }

    #[test]
    fn a_head_below_target_ends_dropping_and_a_new_interval_is_needed() {
        let mut c = Codel::new(SimTime::from_millis(5), SimTime::from_millis(100));
        let first = run(&mut c, 50 * MS, 350 * MS, MS, 50 * MS);
        assert_eq!(first, vec![150 * MS, 250 * MS, 321 * MS]);
        assert!(c.dropping());
        // One head that waited 1 ms: below target, so CoDel stops dropping at once.
        assert!(!c.on_dequeue(SimTime(350 * MS), SimTime(349 * MS)));
        assert!(!c.dropping());
        // Sojourn back above target: nothing is dropped for a whole interval...
        let quiet = run(&mut c, 351 * MS, 451 * MS, MS, 50 * MS);
        assert!(quiet.is_empty());
        // ...then it re-enters. It left 30 ms after its last drop (well within 16
        // intervals) with count 3 over last_count 1, so it resumes at count 2: the next
        // drop comes 100/sqrt(2) = 70.7 ms later instead of 100 ms.
        let again = run(&mut c, 451 * MS, 570 * MS, MS, 50 * MS);
        assert_eq!(again, vec![451 * MS, 522 * MS]);
    }

    #[test]
    fn the_request_after_an_entering_drop_is_delivered() {
        let mut c = Codel::new(SimTime::from_millis(5), SimTime::from_millis(100));
        assert!(!c.on_dequeue(SimTime(10 * MS), SimTime(0)));
        assert!(c.on_dequeue(SimTime(110 * MS), SimTime(40 * MS)));
        // Same instant, next head, also old: still delivered (RFC: dequeue returns it).
        assert!(!c.on_dequeue(SimTime(110 * MS), SimTime(50 * MS)));
        assert!(c.dropping());
    }

    #[test]
    fn several_drops_at_one_instant_when_far_behind_schedule() {
        let mut c = Codel::new(SimTime::from_millis(5), SimTime::from_millis(100));
        assert!(!c.on_dequeue(SimTime(0), SimTime(0)));
        // Establish dropping: above target from t = 10 ms, entering drop at 110 ms.
        assert!(!c.on_dequeue(SimTime(10 * MS), SimTime(0)));
        assert!(c.on_dequeue(SimTime(110 * MS), SimTime(0)));
        assert!(!c.on_dequeue(SimTime(110 * MS), SimTime(0)));
        // The server next dequeues 400 ms later: drops were due at 210, 280.7, 338.4,
        // 388.4, 433.2 and 474.0 ms (the next at 511.8): the loop drops until caught up.
        let now = SimTime(510 * MS);
        let mut dropped = 0;
        while c.on_dequeue(now, SimTime(400 * MS)) {
            dropped += 1;
        }
        assert_eq!(dropped, 6);
        assert_eq!(c.count(), 7);
    }

    #[test]
    fn empty_queue_resets_the_standing_queue_clock() {
        let mut c = Codel::new(SimTime::from_millis(5), SimTime::from_millis(100));
        assert!(!c.on_dequeue(SimTime(10 * MS), SimTime(0)));
        c.on_queue_empty();
        // Without the reset this would be a drop (sojourn above target since 10 ms + 100 ms).
        assert!(!c.on_dequeue(SimTime(150 * MS), SimTime(100 * MS)));
        assert!(c.on_dequeue(SimTime(250 * MS), SimTime(200 * MS)));
        c.reset_stats();
        assert_eq!(c.drops(), 0);
    }

    #[test]
    fn queue_length_threshold() {
        let s = Shedder::new(ShedConfig::QueueLength { max: 3 });
        assert!(s.admit(0) && s.admit(2));
        assert!(!s.admit(3) && !s.admit(10));
        let mut s = s;
        assert!(!s.on_dequeue(SimTime::from_secs(9), SimTime::ZERO), "never drops at dequeue");
        assert!(Shedder::new(ShedConfig::QueueLength { max: 0 }).codel().is_none());
        assert!(!Shedder::new(ShedConfig::QueueLength { max: 0 }).admit(0));
    }

    #[test]
    fn queue_time_threshold() {
        // 4 servers, 20 ms each, at most 100 ms expected wait: up to 20 waiting.
        let s = Shedder::new(ShedConfig::QueueTime {
            max_wait: SimTime::from_millis(100),
            mean_service: SimTime::from_millis(20),
            servers: 4,
        });
        assert_eq!(s.expected_wait(20), SimTime::from_millis(100));
        assert!(s.admit(0) && s.admit(20));
        assert!(!s.admit(21));
        // Zero servers is read as one.
        let one = Shedder::new(ShedConfig::QueueTime {
            max_wait: SimTime::from_millis(100),
            mean_service: SimTime::from_millis(20),
            servers: 0,
        });
        assert!(one.admit(5) && !one.admit(6));
        assert_eq!(one.expected_wait(3), SimTime::from_millis(60));
    }

    #[test]
    fn codel_kind_admits_everything_and_drops_at_dequeue() {
        let mut s = Shedder::new(ShedConfig::CODEL_DEFAULT);
        assert!(s.admit(u32::MAX));
        assert_eq!(s.expected_wait(10), SimTime::ZERO);
        assert!(!s.on_dequeue(SimTime(0), SimTime(0)));
        assert!(!s.on_dequeue(SimTime(10 * MS), SimTime(0)));
        assert!(s.on_dequeue(SimTime(110 * MS), SimTime(0)));
        assert!(s.codel().is_some_and(Codel::dropping));
        s.on_queue_empty();
        assert!(s.codel().is_some_and(|c| !c.dropping()));
    }
}
