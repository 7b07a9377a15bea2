//! The part of a `report.json` that a comparison reads, deserialised without the rest.
//!
//! Only the keys [`super::snapshot`] checks are kept: the header, and in each workload,
//! service, edge and SLO the keys of its headline metrics ([`KEPT`]); time series,
//! events and everything else are skipped unread, so a large report costs little more
//! than its text. Where an object or an array is expected, any other JSON value is kept
//! as what it was ([`Shaped::Other`]) instead of failing inside the parser, so the
//! message can name the key path (`workloads.users`), which the parser's own cannot.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The keys of an entity (workload, service, edge, SLO) that a comparison reads: the
/// first segment of every metric path, and an SLO's `name`.
const KEPT: &[&str] = &[
    "availability",
    "requests",
    "ok",
    "degraded",
    "error",
    "timeout",
    "rejected",
    "short_circuited",
    "latency_s",
    "value_per_request",
    "goodput_value_per_s",
    "throughput_per_s",
    "utilization",
    "blocking_probability",
    "mean_in_system",
    "mean_sojourn_s",
    "dropped",
    "wasted",
    "calls",
    "retries",
    "outcomes",
    "breaker",
    "name",
    "sli",
    "met",
    "budget_consumed_fraction",
];

/// A report's header and sections; each is `None` when the key is absent.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ReportIn {
    /// `schema`.
    pub schema: Option<Value>,
    /// `scenario`.
    pub scenario: Option<Value>,
    /// `seed`.
    pub seed: Option<Value>,
    /// `replications`.
    pub replications: Option<Value>,
    /// `duration_s`.
    pub duration_s: Option<Value>,
    /// `workloads`, by name.
    pub workloads: Option<Object<BTreeMap<String, Entity>>>,
    /// `services`, by name.
    pub services: Option<Object<BTreeMap<String, Entity>>>,
    /// `edges`, by `caller->callee`.
    pub edges: Option<Object<BTreeMap<String, Entity>>>,
    /// `slos`, in scenario order.
    pub slos: Option<List<Vec<Entity>>>,
}

/// A workload, service, edge or SLO: its [`KEPT`] keys, as an object.
pub(crate) type Entity = Object<Kept>;

/// An object's [`KEPT`] keys and their values.
#[derive(Debug)]
pub(crate) struct Kept(pub Value);

impl<'de> Deserialize<'de> for Kept {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeptVisitor;
        impl<'de> Visitor<'de> for KeptVisitor {
            type Value = Kept;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kept, A::Error> {
                let mut kept = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    if KEPT.contains(&key.as_str()) {
                        kept.insert(key, map.next_value::<Value>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Kept(Value::Object(kept)))
            }
        }
        d.deserialize_map(KeptVisitor)
    }
}

/// A value expected to be an object (`LIST = false`) or an array (`LIST = true`) of `T`.
#[derive(Debug)]
pub(crate) enum Shaped<T, const LIST: bool> {
    /// It was.
    Found(T),
    /// It was something else: "a string", "null", ...
    Other(&'static str),
}

/// An object of `T`, or what was found instead.
pub(crate) type Object<T> = Shaped<T, false>;
/// An array of `T`, or what was found instead.
pub(crate) type List<T> = Shaped<T, true>;

impl<'de, T: Deserialize<'de>, const LIST: bool> Deserialize<'de> for Shaped<T, LIST> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeVisitor::<T, LIST>(PhantomData))
    }
}

struct ShapeVisitor<T, const LIST: bool>(PhantomData<T>);

impl<'de, T: Deserialize<'de>, const LIST: bool> Visitor<'de> for ShapeVisitor<T, LIST> {
    type Value = Shaped<T, LIST>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if LIST { "an array" } else { "an object" })
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Shaped::Other("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Shaped::Other("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Shaped::Other("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Shaped::Other("a number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Shaped::Other("a string"))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Shaped::Other("null"))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Shaped::Other("null"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        if LIST {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Shaped::Other("an object"));
        }
        T::deserialize(MapAccessDeserializer::new(map)).map(Shaped::Found)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if !LIST {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Shaped::Other("an array"));
        }
        T::deserialize(SeqAccessDeserializer::new(seq)).map(Shaped::Found)
    }
}

/// What a JSON value is, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_what_compare_reads_and_names_wrong_shapes() {
        let text = r#"{ "schema": "x", "workloads": { "u": { "availability": 1, "timeline": [1, 2] }, "v": 3 },
                        "services": [], "slos": {}, "faults": [{}] }"#;
        let r: Object<ReportIn> = serde_json::from_str(text).unwrap();
        let Shaped::Found(r) = r else { panic!("an object") };
        let Some(Shaped::Found(w)) = r.workloads else { panic!("workloads is an object") };
        let Shaped::Found(Kept(u)) = &w["u"] else { panic!("u is an object") };
        assert_eq!(u, &serde_json::json!({ "availability": 1 }));
        assert!(matches!(w["v"], Shaped::Other("a number")));
        assert!(matches!(r.services, Some(Shaped::Other("an array"))));
        assert!(matches!(r.slos, Some(Shaped::Other("an object"))));
        assert!(r.edges.is_none());
        let top: Object<ReportIn> = serde_json::from_str("[1, {}]").unwrap();
        assert!(matches!(top, Shaped::Other("an array")));
    }
}
