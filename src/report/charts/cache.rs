//! The caches' chart: each cached service's hit ratio per window (top) and the misses it
//! lets through per second (bottom), with the fault windows shaded, so a flush reads as
//! a dip in one panel and a surge in the other.

use super::timeline::{Line, mids, panel, short_num};
use super::{PANEL, series_color, svg};
use crate::report::Report;

/// Hit ratio and misses per second of every cached service, per window.
pub(super) fn caches(report: &Report) -> Result<String, String> {
    let mut hits = Vec::new();
    let mut misses = Vec::new();
    for (k, (name, s)) in report.services.iter().enumerate() {
        let (Some(c), Some(t)) = (&s.cache, &s.timeline) else { continue };
        let x = mids(t.window_s, c.hit_ratio_series.len(), report.duration_s);
        let color = series_color(k);
        hits.push(Line {
            name: name.clone(),
            color,
            points: x.iter().copied().zip(c.hit_ratio_series.iter().copied()).collect(),
        });
        let per_s = c.misses_series.iter().map(|&m| Some(m / t.window_s));
        misses.push(Line { name: name.clone(), color, points: x.iter().copied().zip(per_s).collect() });
    }
    let mmax = misses.iter().flat_map(|l| l.points.iter().filter_map(|p| p.1)).fold(0.0, f64::max).max(1.0) * 1.15;
    svg(2 * PANEL, |root| {
        let (top, bottom) = root.split_vertically(PANEL);
        let pct = |v: &f64| format!("{:.0}%", v * 100.0);
        panel(&top, report, "Cache hit ratio: hits / lookups", "hit ratio", (0.0..1.05, 0.0..1.05), &pct, &hits, &[])?;
        let m = (0.0..mmax, 0.0..mmax);
        panel(&bottom, report, "Misses per second: the load behind the cache", "misses/s", m, &short_num, &misses, &[])
    })
}
