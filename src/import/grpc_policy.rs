//! One `methodConfig` of a gRPC service config as resim keys of a call: `timeout` (the
//! call deadline), and the `retryPolicy` or the `hedgingPolicy`, checked by gRFC A6's
//! validation rules ("Validation of retryPolicy", "Validation of hedgingPolicy") and
//! written as the keys that make resim's policy behave as gRPC's.
//!
//! Sources: the `grpc.service_config.MethodConfig` message in grpc-proto
//! (`grpc/service_config/service_config.proto`), gRFC A6 (client retries, updated
//! 2024-08 for ±20% jitter), grpc-go's `service_config.go` and `stream.go`, and C-core's
//! and grpc-java's `perAttemptRecvTimeout`.

use serde_json::{Value, json};

use super::grpc_codes;
use super::{Cursor, Ignored, Origin, units};
use crate::engine::SimTime;
use crate::scenario::ScenarioError;
use crate::scenario::policy_spec::OutcomeKind;
use crate::scenario::validate_policy::MAX_HEDGES;

/// gRPC treats a `maxAttempts` above this as this (A6: "Values greater than 5 are treated
/// as 5 without being considered a validation error").
pub const GRPC_MAX_ATTEMPTS: u32 = 5;

/// The keys of a `methodConfig` resim reads.
const METHOD_KEYS: [&str; 4] = ["name", "timeout", "retryPolicy", "hedgingPolicy"];

/// Which of A6's two policies a method config has.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// Neither: gRPC neither retries nor hedges.
    Plain,
    /// A `retryPolicy`.
    Retry,
    /// A `hedgingPolicy`: the outcomes of its `nonFatalStatusCodes`, which are the
    /// failures `retryThrottling` counts for it (A6), and where the policy is.
    Hedge(Vec<OutcomeKind>, Origin),
}

/// One resim key of the call, with its value and origin.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The key under the call (`retry.backoff.exponential.base`).
    pub key: String,
    /// The value, as a scenario writes it.
    pub value: Value,
    /// Where it came from.
    pub origin: Origin,
}

/// What one method config sets on the calls it applies to.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// The keys, in file order.
    pub items: Vec<Item>,
    /// Retry, hedge or neither.
    pub kind: Kind,
    /// Fields read and not simulated.
    pub ignored: Vec<Ignored>,
}

impl Policy {
    fn set(&mut self, key: &str, value: impl Into<Value>, origin: Origin) {
        self.items.push(Item { key: key.to_owned(), value: value.into(), origin });
    }

    /// True when `other` sets the same keys to the same values (origins aside).
    pub fn same_as(&self, other: &Policy) -> bool {
        self.items.len() == other.items.len()
            && self.items.iter().zip(&other.items).all(|(a, b)| a.key == b.key && a.value == b.value)
    }
}

/// A number as a scenario writes it: whole numbers without a fraction.
pub fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 { Value::from(x as i64) } else { json!(x) }
}

/// An error at `at` with a help line.
fn refuse(at: &Cursor, message: impl Into<String>, help: impl Into<String>) -> ScenarioError {
    let mut e = at.error(message);
    e.help = Some(help.into());
    e
}

/// Reads the method config at `mc` (its `name` list is the caller's business).
pub fn method(mc: &Cursor) -> Result<Policy, ScenarioError> {
    let mut p = Policy { items: Vec::new(), kind: Kind::Plain, ignored: Vec::new() };
    let plumbing = ["maxRequestMessageBytes", "maxResponseMessageBytes", "waitForReady"];
    let mut known: Vec<&str> = METHOD_KEYS.to_vec();
    known.extend(plumbing);
    mc.check_keys(&known, &[], "", &mut p.ignored)?;
    for size in &plumbing[..2] {
        if let Some(at) = mc.get(size) {
            at.u32()?;
            p.ignored.push(Ignored {
                origin: at.origin(),
                reason: "a message size limit: resim's requests have no payload".into(),
            });
        }
    }
    if let Some(at) = mc.get("waitForReady") {
        if at.bool()? {
            return Err(refuse(
                &at,
                "`waitForReady: true` queues a call while no backend is reachable, until its deadline; resim fails \
                 such a call at once",
                "remove it (false is gRPC's default and what resim simulates)",
            ));
        }
        p.ignored.push(Ignored {
            origin: at.origin(),
            reason: "gRPC's default, which resim simulates: a call with no backend reachable fails at once".into(),
        });
    }
    if let Some(at) = mc.get("timeout") {
        let t = positive(&at, "timeout")?;
        p.set("overall_timeout", units::resim(t), at.origin().noted("the call's deadline, over every attempt (A6)"));
    }
    match (mc.get("retryPolicy"), mc.get("hedgingPolicy")) {
        (Some(_), Some(h)) => {
            return Err(refuse(
                &h,
                "a method config has both `retryPolicy` and `hedgingPolicy`",
                "keep one: gRPC allows only one of them per method (A6, the proto's `oneof retry_or_hedging_policy`)",
            ));
        }
        (Some(r), None) => retry(&r, &mut p)?,
        (None, Some(h)) => hedging(&h, &mut p)?,
        (None, None) => {}
    }
    Ok(p)
}

/// A duration above zero.
fn positive(at: &Cursor, what: &str) -> Result<SimTime, ScenarioError> {
    let t = units::go(at)?;
    if t == SimTime::ZERO {
        return Err(refuse(at, format!("`{what}` must be greater than 0"), "give a duration such as 0.1s (gRFC A6)"));
    }
    Ok(t)
}

/// `maxAttempts` of either policy: required, a whole number above 1; above 5 reads as 5.
fn max_attempts(policy: &Cursor) -> Result<(u32, Origin), ScenarioError> {
    let at = policy.get("maxAttempts").ok_or_else(|| {
        refuse(policy, "`maxAttempts` is missing", "gRFC A6 requires it: the attempts, the first included (e.g. 4)")
    })?;
    let n = at.u32().map_err(|mut e| {
        e.help = Some("a whole number above 1: the attempts, the first included (gRFC A6)".into());
        e
    })?;
    if n < 2 {
        return Err(refuse(
            &at,
            format!("`maxAttempts` is {n}: it must be greater than 1"),
            "it counts the first attempt too (A6), so 2 is one retry; remove the policy for none",
        ));
    }
    if n > GRPC_MAX_ATTEMPTS {
        let note = format!("{n} read as {GRPC_MAX_ATTEMPTS}: gRPC treats values above 5 as 5 (A6)");
        return Ok((GRPC_MAX_ATTEMPTS, at.origin().noted(note)));
    }
    Ok((n, at.origin()))
}

/// `retryPolicy` (A6 "Retry Policy Capabilities"; `perAttemptRecvTimeout` from C-core and
/// grpc-java).
fn retry(r: &Cursor, p: &mut Policy) -> Result<(), ScenarioError> {
    let keys = [
        "maxAttempts",
        "initialBackoff",
        "maxBackoff",
        "backoffMultiplier",
        "retryableStatusCodes",
        "perAttemptRecvTimeout",
    ];
    r.check_keys(&keys, &[], "", &mut p.ignored)?;
    p.kind = Kind::Retry;
    let (n, origin) = max_attempts(r)?;
    p.set("retry.max_attempts", n, origin);
    backoff(r, p)?;
    let per_try = r.get("perAttemptRecvTimeout").map(|at| positive(&at, "perAttemptRecvTimeout").map(|t| (t, at)));
    let per_try = per_try.transpose()?;
    let codes = r.get("retryableStatusCodes").ok_or_else(|| {
        refuse(
            r,
            "`retryableStatusCodes` is missing",
            "gRFC A6 requires it: the codes to retry, e.g. [\"UNAVAILABLE\"]",
        )
    })?;
    let (mut kinds, mut note) = grpc_codes::outcomes(&codes)?;
    // grpc-java accepts an empty list beside a per-attempt timeout, which is then retried.
    if kinds.is_empty() && per_try.is_none() {
        return Err(refuse(
            &codes,
            "`retryableStatusCodes` is empty",
            "list the codes to retry, e.g. [\"UNAVAILABLE\"] (A6 requires a non-empty list)",
        ));
    }
    if let Some((t, at)) = &per_try {
        p.set("timeout", units::resim(*t), at.origin().noted("each attempt's time to answer"));
        if !kinds.contains(&OutcomeKind::Timeout) {
            kinds.push(OutcomeKind::Timeout);
            grpc_codes::sort(&mut kinds);
            let sep = if note.is_empty() { "" } else { "; " };
            note = format!(
                "{note}{sep}timeout: an attempt past perAttemptRecvTimeout is retried whatever the codes (C-core's \
                 retry filter)"
            );
        }
    }
    p.set("retry.retry_on", grpc_codes::to_json(&kinds), codes.origin().noted(note));
    Ok(())
}

/// The backoff ladder and its jitter: `min(initialBackoff·backoffMultiplier^(n−1),
/// maxBackoff)` times `random(0.8, 1.2)` before retry `n` (A6 since 2024-08; grpc-go's
/// `stream.go`), which is resim's exponential backoff with proportional jitter 0.2.
fn backoff(r: &Cursor, p: &mut Policy) -> Result<(), ScenarioError> {
    let require = |key: &str| {
        r.get(key).ok_or_else(|| {
            refuse(
                r,
                format!("`{key}` is missing"),
                "gRFC A6 requires initialBackoff, maxBackoff and backoffMultiplier",
            )
        })
    };
    let (base_at, cap_at, mult_at) =
        (require("initialBackoff")?, require("maxBackoff")?, require("backoffMultiplier")?);
    let base = positive(&base_at, "initialBackoff")?;
    let cap = positive(&cap_at, "maxBackoff")?;
    let multiplier = mult_at.f64()?;
    if multiplier <= 0.0 {
        return Err(refuse(&mult_at, "`backoffMultiplier` must be greater than 0", "gRFC A6: e.g. 2"));
    }
    if multiplier < 1.0 {
        return Err(refuse(
            &mult_at,
            format!("a `backoffMultiplier` of {multiplier} makes each pause shorter than the one before"),
            "resim's exponential backoff grows (multiplier at least 1); use 1 for a constant pause",
        ));
    }
    if cap <= base {
        // Every rung is min(…, maxBackoff) = maxBackoff when initialBackoff reaches it.
        let note = "maxBackoff is not above initialBackoff, so every pause is maxBackoff";
        p.set("retry.backoff.fixed.delay", units::resim(cap), cap_at.origin().noted(note));
    } else {
        p.set("retry.backoff.exponential.base", units::resim(base), base_at.origin());
        p.set("retry.backoff.exponential.multiplier", number(multiplier), mult_at.origin());
        p.set("retry.backoff.exponential.cap", units::resim(cap), cap_at.origin());
    }
    let note = "gRPC's jitter: each pause times random(0.8, 1.2) (gRFC A6, updated 2024-08; grpc-go stream.go)";
    p.set("retry.jitter.proportional.fraction", 0.2, Origin::default_in(&r.origin(), "jitter", note));
    Ok(())
}

/// `hedgingPolicy` (A6 "Hedging Policy").
fn hedging(h: &Cursor, p: &mut Policy) -> Result<(), ScenarioError> {
    h.check_keys(&["maxAttempts", "hedgingDelay", "nonFatalStatusCodes"], &[], "", &mut p.ignored)?;
    let (n, origin) = max_attempts(h)?;
    if n > MAX_HEDGES + 1 {
        let at = h.require("maxAttempts")?;
        return Err(refuse(
            &at,
            format!("resim sends at most {} requests per call when hedging; this config sends {n}", MAX_HEDGES + 1),
            format!("lower maxAttempts to {} or fewer", MAX_HEDGES + 1),
        ));
    }
    p.set("hedge.max_attempts", n, origin);
    match h.get("hedgingDelay") {
        Some(at) => p.set("hedge.delay", units::resim(units::go(&at)?), at.origin()),
        None => {
            let note = "gRPC's default: 0s, all requests at once (A6 \"Integration with Service Config\")";
            p.set("hedge.delay", "0s", Origin::default_in(&h.origin(), "hedgingDelay", note));
        }
    }
    let kinds = match h.get("nonFatalStatusCodes") {
        Some(at) => {
            let (kinds, read) = grpc_codes::outcomes(&at)?;
            let note = if read.is_empty() { "none: every failure ends the call".to_owned() } else { read };
            p.set("hedge.non_fatal_status_codes", grpc_codes::to_json(&kinds), at.origin().noted(note));
            kinds
        }
        None => {
            let note = "gRPC's default: none, so any failure cancels the other requests and ends the call (A6)";
            let origin = Origin::default_in(&h.origin(), "nonFatalStatusCodes", note);
            p.set("hedge.non_fatal_status_codes", Value::Array(Vec::new()), origin);
            Vec::new()
        }
    };
    let note = "gRPC cancels the other requests when one answers (A6)";
    p.set("hedge.cancel", true, Origin::default_in(&h.origin(), "cancel", note));
    p.kind = Kind::Hedge(kinds, h.origin());
    Ok(())
}
