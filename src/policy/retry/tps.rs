//! tower's retry budget, `tower::retry::budget::TpsBudget` (tower 0.5.3,
//! `src/retry/budget/tps_budget.rs`), step for step, so that a simulated tower client
//! spends its retries as the deployed one does.
//!
//! It is Finagle's idea ([`super::TokenBudget`]) in integer arithmetic, and the two
//! differ in ways a storm can see, so resim keeps both:
//! - **Whole tokens.** A deposit adds `deposit_amount` and a retry costs
//!   `withdraw_amount`, both integers computed once from `retry_percent` in `f32`
//!   (`(1, ⌊1/p⌋)` for `p ≤ 1`, `(1000, ⌊1000/p⌋)` above, `(0, 1)` for 0; lines 77-88):
//!   `retry_percent: 0.3` buys one retry per 3 deposits, not per 3.33.
//! - **Whole seconds of reserve.** `reserve = min_per_sec · ttl.as_secs() ·
//!   withdraw_amount` (line 89): a ttl of 1.9 s gives one second of reserve.
//! - **A drifting window.** Ten slots of `ttl / 10`; the open slot (`writer`) is
//!   committed when at least one slot width has passed since the last commit, and the
//!   time of that commit, not a multiple of the width, starts the next slot (lines
//!   114-137). Slots skipped while idle are zeroed (`while diff > window`), but the slot
//!   the head lands on keeps its value from the previous lap until the next commit
//!   overwrites it, so a deposit may count for up to eleven slot widths.
//! - **A balance with the reserve inside.** A withdrawal succeeds when the open slot,
//!   the ten slots and the reserve add up to at least `withdraw_amount` (lines 139-170),
//!   and takes from the open slot, which may go negative.
//!
//! Who deposits and who withdraws is up to tower's `retry::Policy`; the testbed's
//! policy, and resim's engine, follow the example of tower's budget module docs
//! (`src/retry/budget/mod.rs` lines 45-65): a success deposits, a failure the policy
//! would retry withdraws, and no withdrawal means no retry.

use crate::engine::SimTime;

/// Slots the ttl is split into (tower's `windows = 10u32`, line 94).
pub const TPS_SLOTS: usize = 10;

/// The arguments of tower's `TpsBudget::new(ttl, min_per_sec, retry_percent)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TpsConfig {
    /// How long a deposit counts: 1 to 60 s (tower asserts it).
    pub ttl: SimTime,
    /// Retries per second always allowed (whole retries).
    pub min_per_sec: u32,
    /// Retries allowed per deposit, in `[0, 1000]` (0.2 = one per five successes).
    pub retry_percent: f32,
}

impl Default for TpsConfig {
    /// tower's `TpsBudget::default()`: `new(10 s, 10, 0.2)` (line 185).
    fn default() -> Self {
        Self { ttl: SimTime::from_secs(10), min_per_sec: 10, retry_percent: 0.2 }
    }
}

/// tower's `TpsBudget`, with simulated time; see the module documentation.
#[derive(Clone, Debug, PartialEq)]
pub struct TpsBudget {
    /// Index of the open slot (tower's `Generation::index`).
    index: usize,
    /// When the open slot was opened (tower's `Generation::time`).
    opened: SimTime,
    reserve: i64,
    slots: [i64; TPS_SLOTS],
    /// Width of a slot: `ttl / 10`.
    width: SimTime,
    /// The open slot's changes, committed when it closes.
    writer: i64,
    deposit_amount: i64,
    withdraw_amount: i64,
}

impl TpsBudget {
    /// A budget created at `now`, as `TpsBudget::new(ttl, min_per_sec, retry_percent)`
    /// at that instant. The caller validates the ranges tower asserts.
    pub fn new(cfg: TpsConfig, now: SimTime) -> Self {
        let p = cfg.retry_percent;
        // `as` truncates toward zero and saturates, as tower's `as isize` does.
        let (deposit_amount, withdraw_amount) = if p <= 0.0 {
            (0, 1)
        } else if p <= 1.0 {
            (1, (1.0 / p) as i64)
        } else {
            (1000, (1000.0 / p) as i64)
        };
        let whole_secs = (cfg.ttl.0 / SimTime::NANOS_PER_SEC) as i64;
        Self {
            index: 0,
            opened: now,
            reserve: i64::from(cfg.min_per_sec).saturating_mul(whole_secs).saturating_mul(withdraw_amount),
            slots: [0; TPS_SLOTS],
            width: SimTime(cfg.ttl.0 / TPS_SLOTS as u64),
            writer: 0,
            deposit_amount,
            withdraw_amount,
        }
    }

    /// `Budget::deposit`: a success at `now`.
    pub fn deposit(&mut self, now: SimTime) {
        self.expire(now);
        self.writer = self.writer.saturating_add(self.deposit_amount);
    }

    /// `Budget::withdraw`: may a retry go at `now`? Takes its cost when it may.
    pub fn withdraw(&mut self, now: SimTime) -> bool {
        self.expire(now);
        if self.sum() >= self.withdraw_amount {
            self.writer = self.writer.saturating_sub(self.withdraw_amount);
            true
        } else {
            false
        }
    }

    /// The balance in tokens (tower's `Debug` shows it): the open slot, the ten slots and
    /// the reserve, as of the last deposit or withdrawal. Retries left are
    /// `balance / withdraw_amount`.
    pub fn balance(&self) -> i64 {
        self.slots.iter().fold(self.writer, |acc, &s| acc.saturating_add(s)).saturating_add(self.reserve)
    }

    fn sum(&self) -> i64 {
        self.balance()
    }

    /// tower's `expire`: commits the open slot once a slot width has passed, zeroing the
    /// slots skipped while idle; the new slot opens at `now`.
    fn expire(&mut self, now: SimTime) {
        let mut diff = now.saturating_sub(self.opened);
        if diff < self.width {
            return;
        }
        self.slots[self.index] = std::mem::take(&mut self.writer);
        let mut idx = (self.index + 1) % TPS_SLOTS;
        // A zero width (a ttl under 10 ns, which validation refuses) would never end.
        while diff > self.width && self.width > SimTime::ZERO {
            self.slots[idx] = 0;
            diff = diff.saturating_sub(self.width);
            idx = (idx + 1) % TPS_SLOTS;
        }
        self.index = idx;
        self.opened = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimTime {
        SimTime::from_millis(n)
    }

    #[test]
    fn amounts_follow_towers_f32_arithmetic() {
        let amounts = |p: f32| {
            let b = TpsBudget::new(TpsConfig { retry_percent: p, ..TpsConfig::default() }, SimTime::ZERO);
            (b.deposit_amount, b.withdraw_amount)
        };
        assert_eq!(amounts(0.0), (0, 1));
        assert_eq!(amounts(0.2), (1, 5));
        assert_eq!(amounts(0.3), (1, 3), "1/0.3 truncates to 3");
        assert_eq!(amounts(1.0), (1, 1));
        assert_eq!(amounts(2.0), (1000, 500));
        assert_eq!(amounts(1000.0), (1000, 1));
        // The default's reserve: 10/s × 10 s × 5 tokens = 100 retries.
        let d = TpsBudget::new(TpsConfig::default(), SimTime::ZERO);
        assert_eq!(d.balance(), 500);
        let frac = TpsBudget::new(TpsConfig { ttl: ms(1_900), min_per_sec: 4, retry_percent: 1.0 }, SimTime::ZERO);
        assert_eq!(frac.balance(), 4, "whole seconds of ttl only");
    }

    #[test]
    fn the_landing_slot_keeps_its_last_lap() {
        // ttl 1 s: slots of 100 ms. A deposit, then a withdrawal exactly 1 s later: the
        // head has gone round (slot 0 committed, 9 zeroed, back at 0) and slot 0 still
        // holds the deposit, so it is spent 1 s after it was made.
        let cfg = TpsConfig { ttl: SimTime::from_secs(1), min_per_sec: 0, retry_percent: 1.0 };
        let mut b = TpsBudget::new(cfg, SimTime::ZERO);
        b.deposit(SimTime::ZERO);
        assert!(b.withdraw(ms(1_000)));
        assert!(!b.withdraw(ms(1_000)));
        // The next commit overwrites it: nothing left 100 ms later.
        let mut c = TpsBudget::new(cfg, SimTime::ZERO);
        c.deposit(SimTime::ZERO);
        c.deposit(ms(1_000));
        assert_eq!(c.balance(), 2);
        c.deposit(ms(1_100));
        assert_eq!(c.balance(), 2, "slot 0 now holds the deposit at 1.0 s, the open slot the one at 1.1 s");
    }
}
