//! What a breaker makes of an attempt's outcome: a failure, a success, or nothing.
//!
//! resilience4j's `CircuitBreakerConfig` decides with two predicates over the exception a
//! call threw: `ignoreExceptions` (the call is forgotten and its permission given back) is
//! asked first, then `recordExceptions` (a failure; by default every exception); an
//! exception neither ignored nor recorded counts as a *success*. Here the outcome kinds
//! stand for exceptions. The seeds' older rule, `failure_on`, lists the failures and ignores
//! every other failed outcome; [`Classifier::failures_only`] keeps it.

use crate::metrics::Outcome;

/// What the breaker records for one outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verdict {
    /// Recorded as a success.
    #[default]
    Success,
    /// Recorded as a failure.
    Failure,
    /// Not recorded; the call's permission comes back (resilience4j `releasePermission`).
    Ignored,
}

/// A verdict per outcome kind, indexed by `Outcome as usize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Classifier([Verdict; 6]);

impl Default for Classifier {
    /// The seeds' rule: errors, timeouts and rejections are failures, a short-circuit by a
    /// breaker further down is ignored.
    fn default() -> Self {
        Self::failures_only(&[Outcome::Error, Outcome::Timeout, Outcome::Rejected])
    }
}

impl Classifier {
    /// The `failure_on` rule: the failed outcomes in `failures` are failures, the other
    /// failed outcomes are ignored, answers are successes.
    pub fn failures_only(failures: &[Outcome]) -> Self {
        Self(Outcome::ALL.map(|o| match o {
            _ if failures.contains(&o) => Verdict::Failure,
            _ if o.is_success() => Verdict::Success,
            _ => Verdict::Ignored,
        }))
    }

    /// resilience4j's rule: an outcome in `ignore` is ignored (whatever `record` says); else
    /// a failed outcome in `record` is a failure, `None` recording every failed outcome (the
    /// library's default predicate `throwable -> true`); everything else is a success.
    pub fn resilience4j(record: Option<&[Outcome]>, ignore: &[Outcome]) -> Self {
        Self(Outcome::ALL.map(|o| {
            if ignore.contains(&o) {
                Verdict::Ignored
            } else if !o.is_success() && record.is_none_or(|r| r.contains(&o)) {
                Verdict::Failure
            } else {
                Verdict::Success
            }
        }))
    }

    /// The verdict on `outcome`.
    pub fn verdict(&self, outcome: Outcome) -> Verdict {
        self.0[outcome as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::{Degraded, Error, Ok, Rejected, ShortCircuited, Timeout};
    use Verdict::{Failure, Ignored, Success};

    fn all(c: Classifier) -> [Verdict; 6] {
        Outcome::ALL.map(|o| c.verdict(o))
    }

    #[test]
    fn the_default_is_the_seeds_rule() {
        // Ok, Degraded, Error, Timeout, Rejected, ShortCircuited.
        assert_eq!(all(Classifier::default()), [Success, Success, Failure, Failure, Failure, Ignored]);
        assert_eq!(all(Classifier::failures_only(&[Timeout])), [Success, Success, Ignored, Failure, Ignored, Ignored]);
    }

    #[test]
    fn resilience4j_records_every_failure_by_default_and_ignore_wins() {
        let every = Classifier::resilience4j(None, &[]);
        assert_eq!(all(every), [Success, Success, Failure, Failure, Failure, Failure]);
        let c = Classifier::resilience4j(Some(&[Error, Timeout]), &[Timeout, ShortCircuited]);
        assert_eq!(all(c), [Success, Success, Failure, Ignored, Success, Ignored]);
        // Neither recorded nor ignored: a success, as in resilience4j.
        assert_eq!(c.verdict(Rejected), Success);
        // An answer listed as recorded stays a success: only exceptions are recorded.
        assert_eq!(Classifier::resilience4j(Some(&[Ok, Degraded]), &[]).verdict(Ok), Success);
    }
}
