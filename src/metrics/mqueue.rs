//! What one replication measured of a message queue: counts of what happened to its
//! messages (sent, refused, delivered, acknowledged, delivered again, dead-lettered) and
//! the gauges CloudWatch shows for an Amazon SQS queue, as time integrals: messages
//! visible (`ApproximateNumberOfMessagesVisible`, the backlog), in flight
//! (`ApproximateNumberOfMessagesNotVisible`) and the age of the oldest message not yet
//! deleted (`ApproximateAgeOfOldestMessage`). Each window's close records the totals so
//! far; per-window values are their differences.

use crate::engine::SimTime;

/// One queue, one replication, from the end of the warm-up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueMetrics {
    /// Messages stored (sends accepted).
    pub sent: u64,
    /// Sends refused because the backlog had reached `max_backlog`.
    pub refused: u64,
    /// Receives: a consumer took a message (first deliveries and redeliveries).
    pub delivered: u64,
    /// Messages deleted by a consumer holding their current receipt.
    pub acked: u64,
    /// Handlings that ended in a failure: not deleted, the message comes back when its
    /// visibility timeout ends.
    pub failed: u64,
    /// Successful handlings whose receipt had expired (the message had come back): the
    /// message is not deleted; the work was done twice.
    pub stale_acks: u64,
    /// Visibility timeouts that made a message visible again.
    pub redeliveries: u64,
    /// Messages moved to the dead-letter queue after `max_receives` receives.
    pub dead_letters: u64,
    /// Messages past `max_receives` discarded for want of a dead-letter queue.
    pub dropped: u64,
    /// Most visible messages at once.
    pub backlog_max: u64,
    /// Oldest age a message not yet deleted reached.
    pub oldest_age_max: SimTime,
    /// Running totals, as of the last change.
    pub totals: QueueTotals,
    /// The totals at the end of each window, in order.
    pub marks: Vec<QueueTotals>,
}

/// Running totals of a queue, marked at each window's end.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QueueTotals {
    /// Integral of the visible messages over time, message-nanoseconds.
    pub backlog_area: u128,
    /// Integral of the messages in flight over time, message-nanoseconds.
    pub in_flight_area: u128,
    /// Integral of the age of the oldest message not yet deleted (0 while there is
    /// none), nanoseconds squared.
    pub age_area: u128,
    /// Redeliveries so far.
    pub redeliveries: u64,
    /// Dead letters so far (moved or dropped).
    pub dead_letters: u64,
    /// Oldest age reached within the window (restarted at each mark).
    pub window_age_max: SimTime,
}

impl QueueMetrics {
    /// Zeroes the record (the end of the warm-up), starting the peaks from the state the
    /// queue is in: `backlog` visible messages, the oldest `age` old.
    pub fn reset(&mut self, backlog: u64, age: SimTime) {
        *self = QueueMetrics { backlog_max: backlog, oldest_age_max: age, ..QueueMetrics::default() };
        self.totals.window_age_max = age;
    }

    /// Closes a window: its totals are kept, and the window's peak age restarts at `age`.
    pub fn mark(&mut self, age: SimTime) {
        self.marks.push(self.totals);
        self.totals.window_age_max = age;
    }

    /// Adds a span of `dt` during which `backlog` messages were visible, `in_flight` in
    /// flight and the oldest message went from `age0` to `age0 + dt` old (`None`: none).
    pub fn accrue(&mut self, dt: SimTime, backlog: u64, in_flight: u64, age0: Option<SimTime>) {
        let d = u128::from(dt.0);
        self.totals.backlog_area += u128::from(backlog) * d;
        self.totals.in_flight_area += u128::from(in_flight) * d;
        if let Some(a) = age0 {
            // ∫ (a + t) dt over [0, d] = a·d + d²/2 (the half rounded down: under 1 ns²).
            let a = u128::from(a.0);
            self.totals.age_area += a * d + d * d / 2;
            let end = SimTime(a0_plus(a, d));
            self.oldest_age_max = self.oldest_age_max.max(end);
            self.totals.window_age_max = self.totals.window_age_max.max(end);
        }
    }

    /// Notes the backlog after a change, for its peak.
    pub fn backlog_now(&mut self, backlog: u64) {
        self.backlog_max = self.backlog_max.max(backlog);
    }
}

/// `a + d` as a time, saturating (a nanosecond count that fits in a `u64` for any run).
fn a0_plus(a: u128, d: u128) -> u64 {
    u64::try_from(a + d).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrals_and_peaks_add_up() {
        let mut m = QueueMetrics::default();
        m.reset(3, SimTime(5));
        assert_eq!((m.backlog_max, m.oldest_age_max), (3, SimTime(5)));
        // 10 ns with 2 visible, 1 in flight, the oldest 4 ns old at the start.
        m.accrue(SimTime(10), 2, 1, Some(SimTime(4)));
        assert_eq!(m.totals.backlog_area, 20);
        assert_eq!(m.totals.in_flight_area, 10);
        assert_eq!(m.totals.age_area, 4 * 10 + 50);
        assert_eq!(m.oldest_age_max, SimTime(14));
        m.mark(SimTime(0));
        m.accrue(SimTime(3), 0, 0, None);
        m.backlog_now(7);
        assert_eq!(m.marks[0].window_age_max, SimTime(14));
        assert_eq!(m.totals.window_age_max, SimTime(0), "the next window's peak starts afresh");
        assert_eq!(m.backlog_max, 7);
    }
}
