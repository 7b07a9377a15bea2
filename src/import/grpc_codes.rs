//! gRPC status codes as resim outcomes, for `retryableStatusCodes` and
//! `nonFatalStatusCodes`.
//!
//! resim knows four ways an attempt fails (`OutcomeKind`): the callee failed the request
//! (`error`), the caller stopped waiting (`timeout`), the callee or a limit refused it
//! (`rejected`), an open breaker refused it (`short_circuited`, which gRPC has no
//! counterpart for). A code maps to the outcome that stands for the same event in the
//! simulation; a code for a request that is itself wrong (a bad argument, a missing
//! object, no permission) has no outcome, because every simulated request is valid and
//! authorised, and is refused. The codes and their meanings are gRPC's
//! (`doc/statuscodes.md` in grpc/grpc, `google.rpc.Code`):
//!
//! | code | | resim | why |
//! |---|---|---|---|
//! | `OK` | 0 | refused | not a failure (grpc-java: "must not contain OK") |
//! | `CANCELLED` | 1 | `timeout` | an attempt the client stops waiting for ends `CANCELLED` (C-core and grpc-java cancel it so on `perAttemptRecvTimeout`) |
//! | `UNKNOWN` | 2 | `error` | a server handler's uncaught failure |
//! | `INVALID_ARGUMENT` | 3 | refused | the request is wrong |
//! | `DEADLINE_EXCEEDED` | 4 | `timeout` | a deadline passed before the answer |
//! | `NOT_FOUND` | 5 | refused | the request is wrong |
//! | `ALREADY_EXISTS` | 6 | refused | the request is wrong |
//! | `PERMISSION_DENIED` | 7 | refused | the caller is not allowed |
//! | `RESOURCE_EXHAUSTED` | 8 | `rejected` | a quota, rate limit or stream limit refused it |
//! | `FAILED_PRECONDITION` | 9 | refused | the system is in the wrong state for the request |
//! | `ABORTED` | 10 | `error` | the server gave up on the request (a conflict): it failed it |
//! | `OUT_OF_RANGE` | 11 | refused | the request is wrong |
//! | `UNIMPLEMENTED` | 12 | refused | the method does not exist |
//! | `INTERNAL` | 13 | `error` | the server failed |
//! | `UNAVAILABLE` | 14 | `rejected` | the server refused work it did not start (a transient condition), as resim's `grpc` retry preset reads it |
//! | `DATA_LOSS` | 15 | refused | unrecoverable data loss: no such failure is simulated |
//! | `UNAUTHENTICATED` | 16 | refused | the caller has no credentials |
//!
//! `UNAVAILABLE` is `rejected` only, as in the preset: a crashed instance's refused
//! connection is an `error` in resim, so a policy that retries only `UNAVAILABLE` does not
//! retry it (list `INTERNAL` or `UNKNOWN` too, or set `retry_on` in the scenario).

use serde_json::Value;

use super::Cursor;
use crate::scenario::ScenarioError;
use crate::scenario::error::suggest;
use crate::scenario::policy_spec::OutcomeKind;
use crate::scenario::tree::Node;

/// What a gRPC status code is in resim: an outcome, or why there is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// The outcome standing for the same event.
    Outcome(OutcomeKind),
    /// No outcome: why not.
    Refused(&'static str),
}

const WRONG_REQUEST: &str = "the request itself is wrong, and every simulated request is valid";

/// The codes by number: name and meaning (see the module table).
const CODES: [(&str, Meaning); 17] = [
    ("OK", Meaning::Refused("OK is not a failure (grpc-java refuses it in these lists)")),
    ("CANCELLED", Meaning::Outcome(OutcomeKind::Timeout)),
    ("UNKNOWN", Meaning::Outcome(OutcomeKind::Error)),
    ("INVALID_ARGUMENT", Meaning::Refused(WRONG_REQUEST)),
    ("DEADLINE_EXCEEDED", Meaning::Outcome(OutcomeKind::Timeout)),
    ("NOT_FOUND", Meaning::Refused(WRONG_REQUEST)),
    ("ALREADY_EXISTS", Meaning::Refused(WRONG_REQUEST)),
    ("PERMISSION_DENIED", Meaning::Refused("the caller is not allowed, and every simulated caller is")),
    ("RESOURCE_EXHAUSTED", Meaning::Outcome(OutcomeKind::Rejected)),
    (
        "FAILED_PRECONDITION",
        Meaning::Refused("the system is in the wrong state for the request, which is not simulated"),
    ),
    ("ABORTED", Meaning::Outcome(OutcomeKind::Error)),
    ("OUT_OF_RANGE", Meaning::Refused(WRONG_REQUEST)),
    ("UNIMPLEMENTED", Meaning::Refused("the method does not exist, and every simulated call has one")),
    ("INTERNAL", Meaning::Outcome(OutcomeKind::Error)),
    ("UNAVAILABLE", Meaning::Outcome(OutcomeKind::Rejected)),
    ("DATA_LOSS", Meaning::Refused("unrecoverable data loss is not simulated")),
    ("UNAUTHENTICATED", Meaning::Refused("the caller has no credentials, and every simulated caller has")),
];

/// The name and meaning of the status code at `at`: its number (0-16) or its name in any
/// case (gRFC A6: `[14]`, `["UNAVAILABLE"]` or `["unavailable"]`).
pub fn code(at: &Cursor) -> Result<(&'static str, Meaning), ScenarioError> {
    let index = match &at.node().node {
        Node::Scalar(Value::Number(n)) => n.as_u64().and_then(|n| usize::try_from(n).ok()).filter(|&n| n < CODES.len()),
        Node::Scalar(Value::String(s)) => CODES.iter().position(|(name, _)| name.eq_ignore_ascii_case(s.trim())),
        _ => None,
    };
    let Some(i) = index else {
        let mut e = at.error(format!("{} is not a gRPC status code", at.node().describe()));
        let near = at.str().ok().and_then(|s| suggest(&s.to_ascii_uppercase(), CODES.iter().map(|(n, _)| *n)));
        e.help = Some(match near {
            Some(name) => format!("did you mean {name}?"),
            None => "give a code's name (UNAVAILABLE, in any case) or its number (0-16), as gRFC A6 says".into(),
        });
        return Err(e);
    };
    Ok(CODES[i])
}

/// The resim outcomes of the status code list at `at`, in resim's order (each once), and
/// a note naming how each code was read. A code without an outcome is an error.
pub fn outcomes(at: &Cursor) -> Result<(Vec<OutcomeKind>, String), ScenarioError> {
    let mut kinds = Vec::new();
    let mut read = Vec::new();
    for item in at.items()? {
        let (name, meaning) = code(&item)?;
        match meaning {
            Meaning::Outcome(kind) => {
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
                read.push(format!("{name} → {}", key(kind)));
            }
            Meaning::Refused(why) => {
                let mut e = item.error(format!("resim has no outcome for status code {name}: {why}"));
                e.help = Some(format!(
                    "remove {name} from the list: resim's outcomes are error (UNKNOWN, INTERNAL, ABORTED), timeout \
                     (CANCELLED, DEADLINE_EXCEEDED) and rejected (UNAVAILABLE, RESOURCE_EXHAUSTED)"
                ));
                return Err(e);
            }
        }
    }
    sort(&mut kinds);
    Ok((kinds, read.join(", ")))
}

/// Puts outcomes in resim's order (`error`, `timeout`, `rejected`, `short_circuited`).
pub fn sort(kinds: &mut [OutcomeKind]) {
    kinds.sort_by_key(|k| match k {
        OutcomeKind::Error => 0,
        OutcomeKind::Timeout => 1,
        OutcomeKind::Rejected => 2,
        OutcomeKind::ShortCircuited => 3,
    });
}

/// The scenario's name of an outcome.
pub fn key(k: OutcomeKind) -> &'static str {
    match k {
        OutcomeKind::Error => "error",
        OutcomeKind::Timeout => "timeout",
        OutcomeKind::Rejected => "rejected",
        OutcomeKind::ShortCircuited => "short_circuited",
    }
}

/// The outcomes as the JSON list a scenario's `retry_on` takes.
pub fn to_json(kinds: &[OutcomeKind]) -> Value {
    Value::Array(kinds.iter().map(|k| Value::from(key(*k))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::Source;
    use std::path::Path;

    fn read(text: &str) -> Result<(Vec<OutcomeKind>, String), ScenarioError> {
        let src = Source::parse(text.to_owned(), Path::new("c.json")).unwrap();
        outcomes(&src.doc(0).require("codes").unwrap())
    }

    #[test]
    fn names_in_any_case_and_numbers_read_alike() {
        let (kinds, note) = read(r#"{"codes": ["unavailable", 13, "Aborted", 4, 14]}"#).unwrap();
        assert_eq!(kinds, [OutcomeKind::Error, OutcomeKind::Timeout, OutcomeKind::Rejected]);
        assert!(note.starts_with("UNAVAILABLE → rejected, INTERNAL → error"), "{note}");
    }

    #[test]
    fn codes_without_an_outcome_and_unknown_codes_are_located() {
        let e = read("{\"codes\": [\"UNAVAILABLE\",\n  \"NOT_FOUND\"]}").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "codes.1"));
        assert!(e.message.contains("NOT_FOUND"), "{e}");
        for bad in [r#"{"codes": [17]}"#, r#"{"codes": ["UNAVAILABLE_"]}"#, r#"{"codes": [true]}"#] {
            assert!(read(bad).unwrap_err().message.contains("not a gRPC status code"), "{bad}");
        }
        assert!(read(r#"{"codes": [0]}"#).unwrap_err().message.contains("OK is not a failure"));
    }
}
