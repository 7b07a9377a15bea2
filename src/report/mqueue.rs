//! A message queue's report (`services.<name>.queue`, present only for `kind: queue`):
//! what happened to its messages, its backlog and the age of its oldest message (as
//! CloudWatch reports an Amazon SQS queue's `ApproximateNumberOfMessagesVisible` and
//! `ApproximateAgeOfOldestMessage`), each a statistic over replications, and the same
//! window by window for `timeseries.csv` and the queue chart.

use serde::Serialize;

use super::Report;
use super::aggregate::window_totals;
use super::statistic::Statistic;
use super::summary::ReplicationSummary;
use super::text::{Section, fmt_secs, num};
use crate::metrics::mqueue::QueueMetrics;

/// Nanoseconds per second.
const NS: f64 = 1e9;

/// One queue in one replication, in plain numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueSummary {
    /// Counts: sent, refused, delivered, acked, failed, stale acks, redeliveries, dead
    /// letters, dropped.
    pub counts: [f64; 9],
    /// Time-average visible messages.
    pub backlog_mean: f64,
    /// Most visible messages at once.
    pub backlog_max: f64,
    /// Time-average messages in flight.
    pub in_flight_mean: f64,
    /// Time-average age of the oldest message not yet deleted, seconds.
    pub oldest_age_mean_s: f64,
    /// Oldest age reached, seconds.
    pub oldest_age_max_s: f64,
    /// Per window: mean backlog, mean in flight, oldest age reached (s), redeliveries,
    /// dead letters (moved or dropped).
    pub windows: Vec<[f64; 5]>,
}

impl QueueSummary {
    /// The summary of `m`, measured over `measured` seconds in windows of `window` seconds.
    pub fn of(m: &QueueMetrics, measured: f64, window: f64) -> Self {
        let t = m.totals;
        let span = (measured * NS).max(1.0);
        let mut prev = crate::metrics::mqueue::QueueTotals::default();
        let windows = m
            .marks
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let span = ((measured - i as f64 * window).min(window) * NS).max(1.0);
                let d = |x: u128, y: u128| x.saturating_sub(y) as f64 / span;
                let w = [
                    d(a.backlog_area, prev.backlog_area),
                    d(a.in_flight_area, prev.in_flight_area),
                    a.window_age_max.as_secs_f64(),
                    a.redeliveries.saturating_sub(prev.redeliveries) as f64,
                    a.dead_letters.saturating_sub(prev.dead_letters) as f64,
                ];
                prev = *a;
                w
            })
            .collect();
        QueueSummary {
            counts: [
                m.sent,
                m.refused,
                m.delivered,
                m.acked,
                m.failed,
                m.stale_acks,
                m.redeliveries,
                m.dead_letters,
                m.dropped,
            ]
            .map(|c| c as f64),
            backlog_mean: t.backlog_area as f64 / span,
            backlog_max: m.backlog_max as f64,
            in_flight_mean: t.in_flight_area as f64 / span,
            oldest_age_mean_s: t.age_area as f64 / span / NS,
            oldest_age_max_s: m.oldest_age_max.as_secs_f64(),
            windows,
        }
    }
}

/// A queue over replications.
#[derive(Clone, Debug, Serialize)]
pub struct QueueReport {
    /// Messages stored (sends accepted), per replication.
    pub sent: Statistic,
    /// Sends refused by a full backlog (`max_backlog`).
    pub refused: Statistic,
    /// Receives by a consumer, first deliveries and redeliveries.
    pub delivered: Statistic,
    /// Messages deleted by the consumer holding their current receipt.
    pub acked: Statistic,
    /// Handlings that failed (the message comes back after its visibility timeout).
    pub failed: Statistic,
    /// Handlings that ended well after the message had come back: nothing deleted, the
    /// work done twice.
    pub stale_acks: Statistic,
    /// Visibility timeouts that made a message visible again.
    pub redeliveries: Statistic,
    /// Messages moved to the dead-letter queue after `max_receives` receives.
    pub dead_letters: Statistic,
    /// Messages past `max_receives` dropped for want of a dead-letter queue.
    pub dropped: Statistic,
    /// Time-average visible messages (SQS `ApproximateNumberOfMessagesVisible`).
    pub backlog_mean: Statistic,
    /// Most visible messages at once.
    pub backlog_max: Statistic,
    /// Time-average messages received and not yet deleted
    /// (`ApproximateNumberOfMessagesNotVisible`).
    pub in_flight_mean: Statistic,
    /// Age of the oldest message not yet deleted (`ApproximateAgeOfOldestMessage`),
    /// seconds: its time average (`mean`) and the most it reached (`max`).
    pub oldest_age_s: OldestAge,
    /// The queue window by window (means over replications).
    pub timeline: QueueTimeline,
}

/// The age of a queue's oldest message.
#[derive(Clone, Debug, Serialize)]
pub struct OldestAge {
    /// Time average over the run.
    pub mean: Statistic,
    /// Most reached over the run.
    pub max: Statistic,
}

/// A queue's series, one value per window.
#[derive(Clone, Debug, Serialize)]
pub struct QueueTimeline {
    /// Time-average visible messages.
    pub backlog: Vec<f64>,
    /// Time-average messages in flight.
    pub in_flight: Vec<f64>,
    /// Oldest age reached in the window, seconds.
    pub oldest_age_s: Vec<f64>,
    /// Messages made visible again.
    pub redeliveries: Vec<f64>,
    /// Messages moved to the dead-letter queue or dropped.
    pub dead_letters: Vec<f64>,
}

impl QueueReport {
    /// The queue's series for `timeseries.csv`, named as its metrics there.
    pub(super) fn series(&self) -> [(&'static str, &[f64]); 5] {
        let t = &self.timeline;
        [
            ("queue_backlog", &t.backlog),
            ("queue_in_flight", &t.in_flight),
            ("queue_oldest_age_s", &t.oldest_age_s),
            ("queue_redeliveries", &t.redeliveries),
            ("queue_dead_letters", &t.dead_letters),
        ]
    }

    /// Service `i`'s queue over the replications `reps`; `None` when it is not a queue.
    pub(super) fn of(reps: &[ReplicationSummary], i: usize) -> Option<Self> {
        reps.first()?.services[i].queue.as_ref()?;
        let qs: Vec<&QueueSummary> = reps.iter().filter_map(|r| r.services[i].queue.as_ref()).collect();
        let count = |k: usize| Statistic::of_counts(qs.iter().map(|q| q.counts[k]));
        let gauge = |f: &dyn Fn(&QueueSummary) -> f64| Statistic::of(qs.iter().map(|q| Some(f(q))));
        let n = qs.first().map_or(0, |q| q.windows.len());
        let series = |k: usize| window_totals(qs.len(), n, &|r, w| qs[r].windows[w][k]);
        Some(QueueReport {
            sent: count(0),
            refused: count(1),
            delivered: count(2),
            acked: count(3),
            failed: count(4),
            stale_acks: count(5),
            redeliveries: count(6),
            dead_letters: count(7),
            dropped: count(8),
            backlog_mean: gauge(&|q| q.backlog_mean),
            backlog_max: gauge(&|q| q.backlog_max),
            in_flight_mean: gauge(&|q| q.in_flight_mean),
            oldest_age_s: OldestAge { mean: gauge(&|q| q.oldest_age_mean_s), max: gauge(&|q| q.oldest_age_max_s) },
            timeline: QueueTimeline {
                backlog: series(0),
                in_flight: series(1),
                oldest_age_s: series(2),
                redeliveries: series(3),
                dead_letters: series(4),
            },
        })
    }
}

/// The summary's table of the queues (means over replications); `None` without one.
pub(super) fn queue_section(report: &Report) -> Option<Section> {
    let queues: Vec<(&String, &QueueReport)> =
        report.services.iter().filter_map(|(n, s)| s.queue.as_ref().map(|q| (n, q))).collect();
    if queues.is_empty() {
        return None;
    }
    let head =
        ["queue", "sent", "acked", "redelivered", "stale acks", "dead/dropped", "backlog", "max", "oldest", "max"];
    let mut rows = vec![head.map(String::from).to_vec()];
    for (name, q) in queues {
        let n = |s: &Statistic| num(s.value());
        rows.push(vec![
            name.clone(),
            n(&q.sent),
            n(&q.acked),
            n(&q.redeliveries),
            n(&q.stale_acks),
            num(q.dead_letters.value() + q.dropped.value()),
            n(&q.backlog_mean),
            n(&q.backlog_max),
            fmt_secs(q.oldest_age_s.mean.value()),
            fmt_secs(q.oldest_age_s.max.value()),
        ]);
    }
    Some(Section {
        title: "Message queues (backlog: visible messages; oldest: age of the oldest message)".into(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::metrics::mqueue::QueueTotals;

    #[test]
    fn windows_are_differences_of_the_marks() {
        let s = 1_000_000_000u128;
        let mark = |backlog: u128, redeliveries: u64, age: u64| QueueTotals {
            backlog_area: backlog * s,
            redeliveries,
            window_age_max: SimTime::from_secs(age),
            ..QueueTotals::default()
        };
        let m = QueueMetrics {
            redeliveries: 5,
            totals: mark(30, 5, 9),
            marks: vec![mark(20, 2, 4), mark(30, 5, 9)],
            ..QueueMetrics::default()
        };
        // Two windows of 10 s; the second is cut to 5 s by the end of the run.
        let q = QueueSummary::of(&m, 15.0, 10.0);
        assert_eq!(q.windows, [[2.0, 0.0, 4.0, 2.0, 0.0], [2.0, 0.0, 9.0, 3.0, 0.0]]);
        assert_eq!(q.backlog_mean, 2.0);
        assert_eq!(q.counts[6], 5.0);
    }
}
