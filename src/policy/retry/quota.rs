//! The AWS SDKs' retry quota (standard and adaptive retry modes).
//!
//! Each client holds a bucket of 500 capacity units. A retry costs 5 units, or 10 when
//! the failure was a timeout; when the bucket cannot pay, the SDK stops retrying and
//! returns the error. A call that succeeds gives back the cost of its last retry, or 1
//! unit when it succeeded at the first attempt; a call that fails gives back nothing.
//! So a healthy client stays full, and a failing one can retry about 100 times (50 on
//! timeouts) before it must earn capacity back with successes.
//!
//! Transcribed from botocore's `retries/quota.py` (`RetryQuota`) and the
//! `RetryQuotaChecker` of `retries/standard.py` (`_RETRY_COST = 5`,
//! `_TIMEOUT_RETRY_REQUEST = 10`, `_NO_RETRY_INCREMENT = 1`), the same numbers as the AWS
//! SDKs and Tools Reference Guide ("Retry behavior") and aws-sdk-go-v2's `retry` package
//! (`DefaultRetryRateTokens`, `DefaultRetryCost`, `DefaultRetryTimeoutCost`,
//! `DefaultNoRetryIncrement`). botocore's opt-in newer scheme (retry cost 14, throttling
//! cost 5) is the same machine with other costs: set [`QuotaConfig`] accordingly.

use crate::metrics::Outcome;

/// Costs and capacity of a [`RetryQuota`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaConfig {
    /// Capacity at start, and the most it holds (`INITIAL_CAPACITY` 500).
    pub capacity: u32,
    /// Cost of a retry after an error (5).
    pub retry_cost: u32,
    /// Cost of a retry after a timeout (10).
    pub timeout_cost: u32,
    /// Cost of a retry after a throttling answer; resim's `rejected` (5, as an error).
    pub throttling_cost: u32,
    /// Given back by a call that succeeded without retrying (1).
    pub no_retry_increment: u32,
}

impl QuotaConfig {
    /// The AWS SDKs' standard mode: 500 units, 5 per retry, 10 per timeout retry, 1 back
    /// per success at the first attempt.
    pub const fn standard() -> Self {
        Self { capacity: 500, retry_cost: 5, timeout_cost: 10, throttling_cost: 5, no_retry_increment: 1 }
    }

    /// What a retry after `outcome` costs.
    pub fn cost(&self, outcome: Outcome) -> u32 {
        match outcome {
            Outcome::Timeout => self.timeout_cost,
            Outcome::Rejected => self.throttling_cost,
            _ => self.retry_cost,
        }
    }
}

/// The capacity left for retries (botocore's `RetryQuota`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryQuota {
    config: QuotaConfig,
    available: u32,
}

impl RetryQuota {
    /// A full quota.
    pub fn new(config: QuotaConfig) -> Self {
        Self { config, available: config.capacity }
    }

    /// The configuration.
    pub fn config(&self) -> &QuotaConfig {
        &self.config
    }

    /// Pays `amount` if the quota holds that much; false (and nothing taken) otherwise.
    pub fn acquire(&mut self, amount: u32) -> bool {
        if amount > self.available {
            return false;
        }
        self.available -= amount;
        true
    }

    /// Pays for a retry after `outcome`: the cost paid, or `None` when the quota cannot.
    pub fn acquire_retry(&mut self, outcome: Outcome) -> Option<u32> {
        let cost = self.config.cost(outcome);
        self.acquire(cost).then_some(cost)
    }

    /// Gives back `amount`, never above the capacity.
    pub fn release(&mut self, amount: u32) {
        self.available = self.available.saturating_add(amount).min(self.config.capacity);
    }

    /// A call succeeded: give back `last_retry_cost`, the cost of the retry that led to
    /// it, or the no-retry increment when it needed none (`None`).
    pub fn on_success(&mut self, last_retry_cost: Option<u32>) {
        self.release(last_retry_cost.unwrap_or(self.config.no_retry_increment));
    }

    /// Capacity left.
    pub fn available(&self) -> u32 {
        self.available
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_callee_gets_100_error_retries_or_50_timeout_retries() {
        let mut q = RetryQuota::new(QuotaConfig::standard());
        assert_eq!((0..200).filter(|_| q.acquire_retry(Outcome::Error).is_some()).count(), 100);
        let mut q = RetryQuota::new(QuotaConfig::standard());
        assert_eq!((0..200).filter(|_| q.acquire_retry(Outcome::Timeout).is_some()).count(), 50);
        assert_eq!(q.available(), 0);
        // Earned back by successes: 4 first-attempt successes and one after a retry.
        for _ in 0..4 {
            q.on_success(None);
        }
        q.on_success(Some(10));
        assert_eq!(q.available(), 14);
        assert_eq!(q.acquire_retry(Outcome::Rejected), Some(5));
    }
}
