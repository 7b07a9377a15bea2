//! gRPC retry throttling (gRFC A6, "Throttling Retry Attempts and Hedged RPCs").
//!
//! A per-channel token count starts at `maxTokens`; every failed RPC takes one token
//! (floor 0), every successful one gives back `tokenRatio` (cap `maxTokens`), and while
//! the count is at or below `maxTokens / 2` no retry and no hedge is sent. With the A6
//! example (10 tokens, ratio 0.1) a client retries only while fewer than about one RPC in
//! eleven fails. Unlike a budget it does not count requests per window: it is a
//! success/failure balance, so a dead callee stops all retries after `maxTokens / 2`
//! failures, and they resume only after `maxTokens / (2 · tokenRatio)` successes.
//!
//! Arithmetic in thousandths of a token, as grpc-java's `RetriableStream.Throttle` does:
//! A6 reads `tokenRatio` to three decimal places (0.5466 is 0.546), and integers make
//! the threshold test exact (`tokenCount > maxTokens / 2`).
//!
//! Only "qualified" failures count: in gRPC an RPC failing with a retryable (or, when
//! hedging, non-fatal) status code; in resim an attempt whose outcome the policy retries
//! (`retry_on`). A success counts once per call (the committed attempt).

/// Thousandths per token (grpc-java's `THREE_DECIMAL_PLACES_SCALE_UP`).
const SCALE: f64 = 1000.0;

/// gRPC's `retryThrottling` token count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryThrottle {
    /// `maxTokens`, in thousandths.
    max_tokens: u32,
    /// `maxTokens / 2`, in thousandths (integer division, as grpc-java).
    threshold: u32,
    /// `tokenRatio`, in thousandths.
    token_ratio: u32,
    /// The count, in thousandths, in `[0, max_tokens]`.
    tokens: u32,
}

impl RetryThrottle {
    /// A full throttle of `max_tokens` (A6: an integer in (0, 1000]) giving back
    /// `token_ratio` per success (decimals beyond the third ignored). Values are truncated
    /// to thousandths as grpc-java's `(int) (x * 1000)`; negative or NaN read as zero.
    pub fn new(max_tokens: f64, token_ratio: f64) -> Self {
        // `as` saturates and maps NaN to 0, as Java's (int) cast does.
        let max_tokens = (max_tokens * SCALE) as u32;
        Self { max_tokens, threshold: max_tokens / 2, token_ratio: (token_ratio * SCALE) as u32, tokens: max_tokens }
    }

    /// True while retries and hedges may be sent (`tokenCount > maxTokens / 2`).
    pub fn is_above_threshold(&self) -> bool {
        self.tokens > self.threshold
    }

    /// A qualified failure: take one token (floor 0), then say whether a retry may still
    /// go (grpc-java's `onQualifiedFailureThenCheckIsAboveThreshold`: the failure that
    /// asks for the retry counts first). At zero the count stays and the answer is no.
    pub fn on_failure(&mut self) -> bool {
        if self.tokens == 0 {
            return false;
        }
        let decremented = i64::from(self.tokens) - SCALE as i64;
        self.tokens = decremented.max(0) as u32;
        decremented > i64::from(self.threshold)
    }

    /// A successful RPC: give back `tokenRatio`, capped at `maxTokens`.
    pub fn on_success(&mut self) {
        self.tokens = self.tokens.saturating_add(self.token_ratio).min(self.max_tokens);
    }

    /// The token count.
    pub fn tokens(&self) -> f64 {
        f64::from(self.tokens) / SCALE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a6_example_stops_after_five_failures_and_resumes_after_enough_successes() {
        let mut t = RetryThrottle::new(10.0, 0.1);
        // 10 → 9, 8, 7, 6: still above 5.
        assert!((0..4).all(|_| t.on_failure()));
        // 6 → 5: at the threshold, no more retries.
        assert!(!t.on_failure());
        assert!(!t.is_above_threshold());
        // 5 → 5.1 after one success: above again.
        t.on_success();
        assert!(t.is_above_threshold());
        assert_eq!(t.tokens(), 5.1);
    }

    #[test]
    fn count_stays_in_range_and_bad_values_read_as_zero() {
        let mut t = RetryThrottle::new(3.0, 2.5);
        for _ in 0..10 {
            t.on_failure();
        }
        assert_eq!(t.tokens(), 0.0);
        t.on_success();
        assert_eq!(t.tokens(), 2.5);
        t.on_success();
        assert_eq!(t.tokens(), 3.0);
        let nan = RetryThrottle::new(f64::NAN, -1.0);
        assert!(!nan.is_above_threshold());
    }
}
