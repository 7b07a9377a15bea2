//! Simulated time written for people: `1500ms`, `2h`, `7ns`.
//!
//! Reports, alert rules and scenario files all show durations the same way, so the one
//! renderer lives here, below every layer that writes them. It is exact: a duration is
//! written in the largest unit that divides it, never rounded, so a duration written by
//! [`format_duration`] reads back (through the scenario parser) to the same nanosecond.

use super::SimTime;

/// Renders a duration with the largest unit that keeps it exact.
pub fn format_duration(t: SimTime) -> String {
    let n = t.0;
    for (unit, size) in
        [("h", 3_600_000_000_000u64), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)]
    {
        if n >= size && n.is_multiple_of(size) {
            return format!("{}{unit}", n / size);
        }
    }
    if n == 0 { "0s".into() } else { format!("{n}ns") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_format_in_the_largest_exact_unit() {
        assert_eq!(format_duration(SimTime(7_200_000_000_000)), "2h");
        assert_eq!(format_duration(SimTime(1_500_000_000)), "1500ms");
        assert_eq!(format_duration(SimTime(0)), "0s");
        assert_eq!(format_duration(SimTime(7)), "7ns");
    }
}
