//! What a retry learns from where earlier attempts went and what the server said:
//! Envoy's `previous_hosts` retry host predicate and gRPC's server pushback.
//!
//! **Another host.** A retry sent to the instance that just failed often fails again
//! (a crashed process, a bad disk, a poisoned cache). Envoy's
//! `envoy.retry_host_predicates.previous_hosts` remembers the hosts this request's
//! attempts were sent to; when the load balancer picks one of them it picks again, up to
//! `host_selection_retry_max_attempts` times (default 1), and then keeps the last pick
//! ("at which point the host that was last selected will be routed to": Envoy's
//! `RetryPolicy` proto; the loop is `LoadBalancerBase::chooseHost`). gRFC A6 passes
//! the previously used addresses of a hedged RPC to the load-balancing policy for the
//! same reason. [`AttemptedHosts`] is that memory, bounded to the latest few hosts.
//!
//! **Pushback.** A server that refuses may say when to come back (gRFC A6's
//! `grpc-retry-pushback-ms`): a delay, or a negative value meaning "do not retry".
//! [`Pushback`] carries it from the refusal to the caller's next retry decision.

use crate::engine::SimTime;

/// Envoy's `previous_hosts` predicate with its `host_selection_retry_max_attempts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvoidPrevious {
    /// How many times the balancer picks again when it chose a host an earlier attempt
    /// used; after that the last pick stands (Envoy's default: 1).
    pub reselects: u32,
}

impl Default for AvoidPrevious {
    /// Envoy's default: one more pick.
    fn default() -> Self {
        Self { reselects: 1 }
    }
}

/// How many attempted hosts a request remembers: gRPC caps `maxAttempts` at 5, so its
/// last retry has at most 4 earlier attempts. Beyond that (more attempts, or hedges) the
/// oldest host is forgotten first.
pub const REMEMBERED_HOSTS: usize = 4;

/// The hosts (instance indices) the attempts of one request were sent to, latest
/// [`REMEMBERED_HOSTS`] kept. Envoy's `PreviousHostsPredicate::onHostAttempted`.
/// Indices are kept in 16 bits, so every call slot stays small: a host at index 65 536 or
/// above (resim's services have at most 10 000 instances) is not remembered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttemptedHosts {
    hosts: [u16; REMEMBERED_HOSTS],
    /// Hosts remembered, at most [`REMEMBERED_HOSTS`].
    n: u8,
    /// Where the next host is written: once full, over the oldest.
    next: u8,
}

impl AttemptedHosts {
    /// No host attempted yet.
    pub const EMPTY: AttemptedHosts = AttemptedHosts { hosts: [0; REMEMBERED_HOSTS], n: 0, next: 0 };

    /// An attempt (or hedge) was sent to `host`.
    pub fn record(&mut self, host: u32) {
        let Ok(h) = u16::try_from(host) else { return };
        if self.contains(host) {
            return;
        }
        self.hosts[usize::from(self.next)] = h;
        self.next = (self.next + 1) % REMEMBERED_HOSTS as u8;
        self.n = (self.n + 1).min(REMEMBERED_HOSTS as u8);
    }

    /// True when an earlier attempt went to `host` (Envoy's `shouldSelectAnotherHost`).
    pub fn contains(&self, host: u32) -> bool {
        u16::try_from(host).is_ok_and(|h| self.hosts[..self.len()].contains(&h))
    }

    /// How many hosts are remembered.
    pub fn len(&self) -> usize {
        usize::from(self.n)
    }

    /// True before any attempt was sent.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

/// A server's answer to "when may I try again?" (gRFC A6 pushback).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushback {
    /// Retry no sooner than this after the refusal.
    After(SimTime),
    /// Do not retry (A6: a negative or unparseable `grpc-retry-pushback-ms`).
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_latest_hosts_once_each() {
        let mut h = AttemptedHosts::EMPTY;
        assert!(h.is_empty() && !h.contains(0), "an empty memory avoids nothing, not even host 0");
        h.record(2);
        h.record(2);
        assert_eq!(h.len(), 1, "a host attempted twice is remembered once");
        for host in [5, 7, 9] {
            h.record(host);
        }
        assert!([2, 5, 7, 9].iter().all(|&x| h.contains(x)) && h.len() == 4);
        // A fifth host replaces the oldest (2), then the next oldest (5), and so on.
        h.record(11);
        assert!(!h.contains(2) && h.contains(11) && h.len() == 4);
        // Beyond 16 bits: neither remembered nor avoided.
        h.record(70_000);
        assert!(!h.contains(70_000) && h.contains(5) && !h.contains(70_000 - 65_536));
        for host in 12..40 {
            h.record(host);
            // The latest four (11 onwards) are in, the one before them is out.
            let latest = host.saturating_sub(3).max(11)..=host;
            assert!(latest.clone().all(|x| h.contains(x)) && !h.contains(latest.start() - 1), "{host}: {h:?}");
        }
    }
}
