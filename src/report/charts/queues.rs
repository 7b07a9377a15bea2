//! The message-queue chart: per queue, the backlog and the messages in flight (top), the
//! age of the oldest message (middle, SQS's `ApproximateAgeOfOldestMessage`, the metric
//! an alarm on a stuck queue watches) and the redeliveries and dead letters per second
//! (bottom), window by window, with the fault windows shaded.

use super::timeline::{Line, mids, panel, short_num};
use super::{PANEL, series_color, svg};
use crate::report::Report;

/// The three panels' lines: counts of messages, ages, and rates.
fn lines(report: &Report) -> [Vec<Line>; 3] {
    let mut out: [Vec<Line>; 3] = Default::default();
    for (k, (name, s)) in report.services.iter().enumerate() {
        let (Some(q), Some(t)) = (&s.queue, &s.timeline) else { continue };
        let tl = &q.timeline;
        let x = mids(t.window_s, tl.backlog.len(), report.duration_s);
        let color = series_color(k);
        let shade = series_color(k + 5);
        let line = |name: String, color, v: &[f64], scale: f64| Line {
            name,
            color,
            points: x.iter().copied().zip(v.iter().map(|&v| Some(v / scale))).collect(),
        };
        out[0].push(line(format!("{name} visible"), color, &tl.backlog, 1.0));
        out[0].push(line(format!("{name} in flight"), shade, &tl.in_flight, 1.0));
        out[1].push(line(name.clone(), color, &tl.oldest_age_s, 1.0));
        out[2].push(line(format!("{name} redelivered"), color, &tl.redeliveries, t.window_s));
        out[2].push(line(format!("{name} dead letters"), shade, &tl.dead_letters, t.window_s));
    }
    out
}

/// The highest point of `lines` plus headroom (at least `floor`).
fn top(lines: &[Line], floor: f64) -> f64 {
    lines.iter().flat_map(|l| l.points.iter().filter_map(|p| p.1)).fold(0.0, f64::max).max(floor) * 1.15
}

/// The chart as SVG.
pub(super) fn queues(report: &Report) -> Result<String, String> {
    let [counts, ages, rates] = lines(report);
    let (c, a, r) = (top(&counts, 1.0), top(&ages, 1.0), top(&rates, 0.1));
    svg(3 * PANEL, |root| {
        let (upper, lower) = root.split_vertically(PANEL);
        let (middle, bottom) = lower.split_vertically(PANEL);
        let caption = "Messages visible (backlog) and in flight, time average";
        panel(&upper, report, caption, "messages", (0.0..c, 0.0..c), &short_num, &counts, &[])?;
        let caption = "Age of the oldest message not yet deleted, most in the window";
        panel(&middle, report, caption, "age (s)", (0.0..a, 0.0..a), &short_num, &ages, &[])?;
        let caption = "Redeliveries and dead letters per second";
        panel(&bottom, report, caption, "per second", (0.0..r, 0.0..r), &short_num, &rates, &[])
    })
}
