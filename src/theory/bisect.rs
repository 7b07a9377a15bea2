//! Inverting a monotone function by halving its bracket: Che's characteristic time, a
//! fitted distribution's quantile.

/// The point where `below` turns from true to false in `[lo, hi]`, for a `below` true at
/// `lo`, false at `hi` and monotone between: the middle of the last bracket. 200
/// halvings take any bracket of f64s to adjacent doubles; it stops there.
pub(crate) fn bisect(mut lo: f64, mut hi: f64, below: impl Fn(f64) -> bool) -> f64 {
    // Halves first: `lo + hi` overflows near f64::MAX; halving is exact otherwise (short
    // of subnormals), so this is the same middle.
    let middle = |lo: f64, hi: f64| 0.5 * lo + 0.5 * hi;
    for _ in 0..200 {
        let mid = middle(lo, hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if below(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    middle(lo, hi)
}

#[cfg(test)]
mod tests {
    use super::bisect;

    #[test]
    fn finds_the_turning_point_to_the_last_bit() {
        let root = bisect(0.0, 4.0, |x| x * x < 2.0);
        assert!((root - std::f64::consts::SQRT_2).abs() <= 2.0 * f64::EPSILON, "{root}");
        assert_eq!(bisect(1.0, 1.0, |_| true), 1.0);
        assert_eq!(bisect(0.0, 8.0, |x| x < 3.0), 3.0);
        // Near the top of the range the middle does not overflow.
        let top = bisect(f64::MAX / 2.0, f64::MAX, |_| true);
        assert!(top.is_finite() && top >= f64::MAX * (1.0 - f64::EPSILON), "{top}");
    }
}
