//! The load and the hints: arrival rates per entry operation (with a rate profile when
//! the traces cover hours), peak concurrency per instance (the `servers` estimate),
//! error shares, and the timeouts and retries the failed calls suggest.
//!
//! - **Rates.** N entry requests whose starts span T seconds are N - 1 Poisson gaps, so
//!   the total rate is (N - 1) / T (the maximum-likelihood estimate given the first
//!   arrival), shared among operations by their counts, and divided by the sampling
//!   probability when the traces are a sample. Traces covering more than
//!   [`PROFILE_AFTER_S`] get a profile: one rate per fixed window (a last window shorter
//!   than a quarter of one is merged into the one before).
//! - **Peak concurrency.** The most requests of one instance overlapping in time (a
//!   request that ends as another starts does not overlap it). Traces do not record
//!   worker pools, so this is a lower bound on `servers`, which the YAML says.
//! - **Timeout hint.** When at least [`TIMEOUT_MIN_SPANS`] and at least
//!   [`TIMEOUT_MIN_SHARE`] of an edge's failed attempts lasted the same time to within
//!   1%, that time is most likely the caller's timeout: the median of that cluster.
//! - **Retry hint.** Logical calls with more than one attempt (a repeat after a failed
//!   attempt, see [`super::graph`]), and the most attempts seen.

use super::graph::EdgeObs;

/// Traces covering more than this many seconds get a rate profile.
pub const PROFILE_AFTER_S: f64 = 3600.0;
/// Fewest failed attempts of one duration that suggest a timeout.
pub const TIMEOUT_MIN_SPANS: usize = 3;
/// Least share of an edge's failed attempts that must pile up at the timeout.
pub const TIMEOUT_MIN_SHARE: f64 = 0.2;
/// Relative width of "the same duration".
const SAME_DURATION: f64 = 0.01;

/// Requests entering at one operation.
#[derive(Clone, Debug, PartialEq)]
pub struct EntryRate {
    /// The service entered.
    pub service: String,
    /// The operation (span name).
    pub operation: String,
    /// Entry requests seen.
    pub requests: usize,
    /// Estimated arrivals per second.
    pub rate_per_s: f64,
    /// (seconds from the first arrival, rate per second) per window, when profiled.
    pub profile: Vec<(f64, f64)>,
}

/// The length of the observation and the rate estimate's scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// First entry start, ns.
    pub start: i64,
    /// Seconds from the first entry start to the last.
    pub secs: f64,
    /// Arrivals per second per entry counted: (N - 1) / (N T), divided by the sampling.
    pub per_request: f64,
}

/// The window from all entries' starts (`starts` need not be sorted); `fallback_s` is
/// used when they span no time (one request, or all at once).
pub fn window(starts: &[i64], fallback_s: f64, sampling: f64) -> Window {
    let lo = starts.iter().copied().min().unwrap_or(0);
    let hi = starts.iter().copied().max().unwrap_or(0);
    let n = starts.len() as f64;
    let secs = (hi - lo) as f64 * 1e-9;
    let sampling = if sampling > 0.0 && sampling <= 1.0 { sampling } else { 1.0 };
    if starts.len() >= 2 && secs > 0.0 {
        Window { start: lo, secs, per_request: (n - 1.0) / (n * secs) / sampling }
    } else {
        let secs = if fallback_s > 0.0 { fallback_s } else { 1.0 };
        Window { start: lo, secs, per_request: 1.0 / secs / sampling }
    }
}

/// The rate of one operation with `starts` (sorted), in `w`, profiled by windows of
/// `profile_s` seconds when `w` is longer than [`PROFILE_AFTER_S`].
pub fn entry_rate(service: &str, operation: &str, starts: &[i64], w: Window, profile_s: f64) -> EntryRate {
    let rate_per_s = starts.len() as f64 * w.per_request;
    let mut profile = Vec::new();
    if w.secs > PROFILE_AFTER_S && profile_s > 0.0 {
        let windows = (w.secs / profile_s).ceil().max(1.0) as usize;
        let mut counts = vec![0usize; windows];
        for &s in starts {
            let k = (((s - w.start) as f64 * 1e-9) / profile_s).floor().max(0.0) as usize;
            counts[k.min(windows - 1)] += 1;
        }
        let mut lengths: Vec<f64> = (0..windows).map(|k| profile_s.min(w.secs - k as f64 * profile_s)).collect();
        if windows > 1 && lengths[windows - 1] < profile_s / 4.0 {
            let (c, l) = (counts.pop().unwrap_or(0), lengths.pop().unwrap_or(0.0));
            counts[windows - 2] += c;
            lengths[windows - 2] += l;
        }
        // The same sampling and (N - 1) / N scale as the constant rate.
        let scale = w.per_request * w.secs;
        profile = counts
            .iter()
            .zip(&lengths)
            .enumerate()
            .map(|(k, (&c, &l))| (k as f64 * profile_s, c as f64 * scale / l.max(1e-9)))
            .collect();
    }
    EntryRate {
        service: service.to_owned(),
        operation: operation.to_owned(),
        requests: starts.len(),
        rate_per_s,
        profile,
    }
}

/// The most intervals overlapping at once.
pub fn peak_concurrency(intervals: &[(i64, i64)]) -> usize {
    let mut events: Vec<(i64, i32)> = intervals.iter().flat_map(|&(a, b)| [(a, 1), (b.max(a), -1)]).collect();
    // Ends sort before starts at the same instant.
    events.sort_unstable();
    let (mut now, mut peak) = (0i64, 0i64);
    for (_, d) in events {
        now += i64::from(d);
        peak = peak.max(now);
    }
    peak as usize
}

/// Shortest window over which a sampled estimate averages concurrency, ns.
const CONCURRENCY_WINDOW_NS: i64 = 1_000_000_000;
/// Sampled requests a window holds on average, at least: with fewer, the busiest
/// window's mean is mostly sampling noise (its relative error is about `1/√n`).
const REQUESTS_PER_WINDOW: i64 = 50;

/// The `servers` estimate of one instance from its request intervals, when the traces
/// hold a share `sampling` of the requests.
///
/// Unsampled, it is the peak concurrency seen. Head-sampled traces show about `sampling`
/// of the requests at any instant, so their peak says little; instead the busiest
/// window's mean concurrency is scaled up by `1 / sampling` to `m`, and the estimate is
/// `⌈m + 3√m⌉`: concurrency with Poisson arrivals and ample servers is Poisson with mean
/// `m` (the M/G/∞ queue, Takács 1962), whose upper tail this covers three standard
/// deviations into. A window is a second, or longer so that it holds
/// [`REQUESTS_PER_WINDOW`] sampled requests on average. Never below the peak seen.
pub fn servers_estimate(intervals: &[(i64, i64)], sampling: f64) -> usize {
    let peak = peak_concurrency(intervals);
    if sampling >= 1.0 || intervals.is_empty() {
        return peak;
    }
    let m = busiest_window(intervals) / sampling;
    ((m + 3.0 * m.sqrt()).ceil() as usize).max(peak)
}

/// Most windows the busiest-window search makes: traces spanning years get longer
/// windows rather than a table of billions.
const MAX_WINDOWS: i128 = 100_000;

/// The highest mean concurrency of `intervals` over a window (see [`servers_estimate`]),
/// in O(intervals + windows): each interval adds its part of its first and last window,
/// and the windows it covers whole through a running count.
fn busiest_window(intervals: &[(i64, i64)]) -> f64 {
    let origin = i128::from(intervals.iter().map(|i| i.0).min().unwrap_or(0));
    let span = i128::from(intervals.iter().map(|i| i.0.max(i.1)).max().unwrap_or(0)) - origin;
    let per = span * i128::from(REQUESTS_PER_WINDOW) / intervals.len() as i128;
    let window = per.max(i128::from(CONCURRENCY_WINDOW_NS)).max(span / MAX_WINDOWS + 1).min(span.max(1));
    let windows = (span / window + 1) as usize;
    let mut busy = vec![0f64; windows];
    let mut whole = vec![0i64; windows + 1];
    for &(a, b) in intervals {
        let (a, b) = (i128::from(a) - origin, i128::from(a.max(b)) - origin);
        let (wa, wb) = ((a / window) as usize, (b / window) as usize);
        if wa == wb {
            busy[wa] += (b - a) as f64;
        } else {
            busy[wa] += ((wa as i128 + 1) * window - a) as f64;
            busy[wb] += (b - wb as i128 * window) as f64;
            whole[wa + 1] += 1;
            whole[wb] -= 1;
        }
    }
    let mut covering = 0i64;
    let mut best = 0f64;
    for (k, b) in busy.iter().enumerate() {
        covering += whole[k];
        best = best.max(b + covering as f64 * window as f64);
    }
    best / window as f64
}

/// Hints for the policies of one call edge.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeHints {
    /// Caller service.
    pub caller: String,
    /// Callee service.
    pub callee: String,
    /// Attempts (client spans).
    pub attempts: usize,
    /// Share of attempts in error.
    pub error_probability: f64,
    /// A timeout the failed attempts' durations pile up at, seconds, and how many did.
    pub timeout_s: Option<(f64, usize)>,
    /// Logical calls retried after a failed attempt.
    pub retried_calls: usize,
    /// Most attempts of one logical call.
    pub max_attempts: u32,
}

/// The hints of one edge.
pub fn edge_hints(caller: &str, callee: &str, e: &EdgeObs) -> EdgeHints {
    EdgeHints {
        caller: caller.to_owned(),
        callee: callee.to_owned(),
        attempts: e.attempts,
        error_probability: if e.attempts == 0 { 0.0 } else { e.errors as f64 / e.attempts as f64 },
        timeout_s: timeout_mode(&e.error_durations_s),
        retried_calls: e.retried_calls,
        max_attempts: e.max_attempts.max(1),
    }
}

/// The largest cluster of durations within 1% of each other, if it is big enough, as
/// (its median, its size).
fn timeout_mode(durations: &[f64]) -> Option<(f64, usize)> {
    let mut d: Vec<f64> = durations.iter().copied().filter(|x| x.is_finite() && *x > 0.0).collect();
    d.sort_by(f64::total_cmp);
    let (mut best, mut best_at, mut j) = (0usize, 0usize, 0usize);
    for i in 0..d.len() {
        if j < i {
            j = i;
        }
        while j + 1 < d.len() && d[j + 1] <= d[i] * (1.0 + SAME_DURATION) {
            j += 1;
        }
        if j + 1 - i > best {
            best = j + 1 - i;
            best_at = i;
        }
    }
    let enough = best >= TIMEOUT_MIN_SPANS && best as f64 >= TIMEOUT_MIN_SHARE * durations.len() as f64;
    enough.then(|| (d[best_at + best / 2], best))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_from_starts() {
        // 11 arrivals over 10 s: 1/s.
        let starts: Vec<i64> = (0..11).map(|i| i * 1_000_000_000).collect();
        let w = window(&starts, 0.0, 1.0);
        assert!((entry_rate("a", "op", &starts, w, 600.0).rate_per_s - 1.0).abs() < 1e-12);
        // Sampled at 10%: 10/s.
        let w = window(&starts, 0.0, 0.1);
        assert!((entry_rate("a", "op", &starts, w, 600.0).rate_per_s - 10.0).abs() < 1e-9);
        assert!(entry_rate("a", "op", &starts, w, 600.0).profile.is_empty());
    }

    #[test]
    fn hours_of_traces_get_a_profile() {
        // 1/s for the first hour, 3/s for the second.
        let mut starts: Vec<i64> = (0..3600).map(|i| i * 1_000_000_000).collect();
        starts.extend((0..10_800).map(|i| 3_600_000_000_000 + i * 333_333_333));
        let w = window(&starts, 0.0, 1.0);
        let r = entry_rate("a", "op", &starts, w, 1800.0);
        assert_eq!(r.profile.len(), 4);
        assert!((r.profile[0].1 - 1.0).abs() < 0.01 && (r.profile[3].1 - 3.0).abs() < 0.01, "{:?}", r.profile);
    }

    #[test]
    fn concurrency_and_timeouts() {
        assert_eq!(peak_concurrency(&[(0, 10), (10, 20), (5, 15), (6, 7)]), 3);
        // Unsampled, the peak; sampled, the busiest second scaled up with a Poisson margin.
        assert_eq!(servers_estimate(&[(0, 10), (10, 20), (5, 15), (6, 7)], 1.0), 3);
        let s = 1_000_000_000;
        // 150 requests over 2.5 s: 50 per window needs 0.83 s, so windows are a second.
        // Two of half a second starting at each tenth of the first second (the last four
        // pairs run into the next), then 130 of a nanosecond: the first second holds 8.0
        // of concurrency; at 10% sampling m = 80, so ⌈80 + 3√80⌉ = 107.
        let tenth = s / 10;
        let mut sampled: Vec<(i64, i64)> = (0..10).flat_map(|k| [(k * tenth, k * tenth + s / 2); 2]).collect();
        sampled.extend((0..130).map(|k| (s + k * tenth / 10, s + k * tenth / 10 + 1)));
        assert_eq!(servers_estimate(&sampled, 0.1), 107);
        // Few requests over a long time: one window of 50 requests' span.
        let sparse: Vec<(i64, i64)> = (0..10).map(|k| (k * 100 * s, k * 100 * s + s)).collect();
        // 10 seconds busy over 901 s in one window: m = 10/901/0.5.
        assert_eq!(servers_estimate(&sparse, 0.5), 1);
        // A span across a window boundary counts in both.
        // Two requests are too few for a second's window: one window over their 1.5 s,
        // busy 1 s (and 1 ns), m = (1/1.5)/0.25 = 2.67, so ⌈2.67 + 4.90⌉ = 8.
        assert_eq!(servers_estimate(&[(0, 1), (s / 2, 3 * s / 2)], 0.25), 8);
        assert_eq!(servers_estimate(&[], 0.5), 0);
        // Spans over the whole range of times get at most MAX_WINDOWS windows, at once.
        let wide = [(0, i64::MAX), (0, 1), (i64::MAX - 1, i64::MAX)];
        assert_eq!(servers_estimate(&wide, 0.5), 7); // one window, busy all of it: m = 2, ⌈2 + 4.24⌉
        let e = EdgeObs {
            attempts: 10,
            errors: 5,
            error_durations_s: vec![1.0, 1.002, 0.999, 0.2, 1.001],
            retried_calls: 2,
            max_attempts: 3,
        };
        let h = edge_hints("a", "b", &e);
        assert_eq!(h.timeout_s.map(|t| t.1), Some(4));
        assert!((h.timeout_s.unwrap().0 - 1.0).abs() < 0.003);
        assert_eq!(h.error_probability, 0.5);
        assert_eq!(timeout_mode(&[0.1, 0.5, 0.9]), None);
    }
}
