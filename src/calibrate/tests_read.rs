//! The trace readers on the fixtures in `tests/fixtures/traces`: the same traces in three
//! formats read to the same spans, and every malformed file is refused at its line and
//! key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::read::{ReadState, read_capped, read_str};
use super::span::{SpanKind, TraceSet};
use super::zipkin::shared_id;
use super::{Format, read_traces};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces").join(rel)
}

fn read(rel: &str, format: Format) -> TraceSet {
    read_traces(&[fixture(rel)], format).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A span as every format gives it: service, operation (Zipkin lower-cases names),
/// kind, times, error, peer, and the span it hangs from (its parent, or the span it
/// follows from: Zipkin has no follows-from, it makes the consumer a child) described
/// the same way, `missing` when that span is not in the set.
type Shape = (u128, String, String, SpanKind, i64, i64, bool, Option<String>, String);

fn shapes(set: &TraceSet) -> Vec<Shape> {
    let by_id: BTreeMap<(u128, u64), usize> = set.spans.iter().enumerate().map(|(i, s)| ((s.trace, s.id), i)).collect();
    let name = |i: usize| {
        let s = &set.spans[i];
        format!("{}/{}/{:?}", set.services[s.service as usize], s.operation.to_lowercase(), s.kind)
    };
    let mut out: Vec<Shape> = set
        .spans
        .iter()
        .map(|s| {
            let up = s.parent.or(s.follows_from.first().copied());
            let upstream = match up {
                None => "root".to_owned(),
                Some(p) => by_id.get(&(s.trace, p)).map_or("missing".to_owned(), |&i| name(i)),
            };
            let service = set.services[s.service as usize].clone();
            (
                s.trace,
                service,
                s.operation.to_lowercase(),
                s.kind,
                s.start_ns,
                s.end_ns,
                s.error,
                s.peer_service.clone(),
                upstream,
            )
        })
        .collect();
    out.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    out
}

fn instances(set: &TraceSet) -> BTreeMap<String, usize> {
    let mut seen: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for s in &set.spans {
        seen.entry(set.services[s.service as usize].clone()).or_default().extend(s.instance.clone());
    }
    seen.into_iter().map(|(k, v)| (k, v.len())).collect()
}

#[test]
fn the_three_formats_read_to_the_same_traces() {
    let otlp = read("otlp/shop.jsonl", Format::Otlp);
    let mut services = otlp.services.clone();
    services.sort();
    assert_eq!(services, ["checkout", "email", "frontend", "inventory", "payment"]);
    assert_eq!(otlp.spans.len(), 23);
    let expected = shapes(&otlp);
    for (rel, format) in [
        ("otlp/shop.pretty.json", Format::Otlp),
        ("jaeger/shop.json", Format::Jaeger),
        ("zipkin/shop.json", Format::Zipkin),
    ] {
        let set = read(rel, format);
        let mut names = set.services.clone();
        names.sort();
        assert_eq!(names, services, "{rel}");
        assert_eq!(shapes(&set), expected, "{rel}");
        assert_eq!(instances(&set), instances(&otlp), "{rel}");
        assert_eq!(instances(&set)["checkout"], 2, "{rel}");
    }
}

#[test]
fn every_span_kind_and_the_trace_faults_are_read_not_refused() {
    let set = read("jaeger/shop.json", Format::Jaeger);
    for kind in [SpanKind::Server, SpanKind::Client, SpanKind::Producer, SpanKind::Consumer, SpanKind::Internal] {
        assert!(set.spans.iter().any(|s| s.kind == kind), "{kind:?}");
    }
    let find = |id: u64| set.spans.iter().find(|s| s.id == id).unwrap();
    // clock skew: checkout-b's server span starts 2 ms before the client span that called it
    let (client, server) = (find(0xb2b2_b2b2_b2b2_b202), find(0xb2b2_b2b2_b2b2_b203));
    assert_eq!(server.parent, Some(client.id));
    assert!(server.start_ns < client.start_ns);
    // a missing parent, and a trace whose upper spans were never exported
    assert!(set.spans.iter().all(|s| s.id != 0xc3c3_c3c3_c3c3_c302));
    assert_eq!(find(0xc3c3_c3c3_c3c3_c303).parent, Some(0xc3c3_c3c3_c3c3_c302));
    assert_eq!(find(0xd4d4_d4d4_d4d4_d404).parent, Some(0xd4d4_d4d4_d4d4_d403));
    // the consumer follows from the producer; errors; peers
    assert_eq!(find(0xa1a1_a1a1_a1a1_a10a).follows_from, [0xa1a1_a1a1_a1a1_a109]);
    assert!(find(0xb2b2_b2b2_b2b2_b205).error && !find(0xa1a1_a1a1_a1a1_a105).error);
    assert_eq!(find(0xa1a1_a1a1_a1a1_a104).peer_service.as_deref(), Some("payment"));
    assert_eq!(find(0xa1a1_a1a1_a1a1_a103).instance.as_deref(), Some("checkout-a"));
    assert_eq!(find(0xa1a1_a1a1_a1a1_a105).instance.as_deref(), Some("10.0.2.15"));
}

#[test]
fn otlp_lines_and_one_document_read_alike_and_every_span_is_located() {
    let lines = read("otlp/shop.jsonl", Format::Otlp);
    let doc = read("otlp/shop.pretty.json", Format::Otlp);
    let strip =
        |set: &TraceSet| set.spans.iter().map(|s| (s.id, s.parent, s.kind, s.start_ns, s.end_ns)).collect::<Vec<_>>();
    assert_eq!(strip(&lines), strip(&doc));
    assert!(lines.spans.iter().all(|s| s.at.line == 1 || s.at.line == 2));
    assert_eq!(lines.spans.iter().filter(|s| s.at.line == 2).count(), 8);
    let first = &doc.spans[0].at;
    assert!(first.file.ends_with("otlp/shop.pretty.json"));
    let text = std::fs::read_to_string(fixture("otlp/shop.pretty.json")).unwrap();
    let line = text.lines().nth(first.line - 1).unwrap();
    assert_eq!(&line[first.column - 1..], "{", "the span's object starts there");
    assert!(doc.spans.windows(2).all(|w| w[0].at.line < w[1].at.line));
    assert_eq!(read("otlp/shop.jsonl", Format::Otlp), lines, "reading is deterministic");
}

#[test]
fn zipkin_shared_spans_become_a_client_and_a_server_span() {
    let set = read("zipkin/shop.json", Format::Zipkin);
    let by = |service: &str, op: &str, kind: SpanKind| {
        set.spans
            .iter()
            .find(|s| {
                s.trace >> 96 == 0x4bf9_2f35
                    && set.services[s.service as usize] == service
                    && s.operation == op
                    && s.kind == kind
            })
            .unwrap()
    };
    let client = by("checkout", "charge", SpanKind::Client);
    let server = by("payment", "charge", SpanKind::Server);
    assert_eq!((client.id, server.id, server.parent), (0xa1a1_a1a1_a1a1_a104, shared_id(client.id), Some(client.id)));
    // checkout's own spans under the shared id hang from checkout's server half
    let checkout = by("checkout", "post /checkout", SpanKind::Server);
    assert_eq!(checkout.id, shared_id(0xa1a1_a1a1_a1a1_a102));
    assert_eq!(client.parent, Some(checkout.id));
    assert_eq!(by("frontend", "post /checkout", SpanKind::Client).parent, Some(0xa1a1_a1a1_a1a1_a101));
}

/// Each malformed fixture, the format it is read as, and what the refusal must say: line,
/// key path, a piece of the message, a piece of the help.
const BAD: [(&str, Format, usize, &str, &str, &str); 14] = [
    ("empty.jsonl", Format::Otlp, 1, "", "the trace file is empty", "file` exporter"),
    (
        "otlp_end_before_start.jsonl",
        Format::Otlp,
        2,
        "resourceSpans[0].scopeSpans[0].spans[1].endTimeUnixNano",
        "ends 26000000 ns before it starts",
        "never before",
    ),
    (
        "otlp_nonhex_span_id.jsonl",
        Format::Otlp,
        1,
        "resourceSpans[0].scopeSpans[0].spans[1].spanId",
        "up to 16 hex digits, found `a1a1a1a1g1a1a104`",
        "OTLP/JSON writes",
    ),
    (
        "otlp_zero_trace_id.jsonl",
        Format::Otlp,
        1,
        "resourceSpans[0].scopeSpans[0].spans[0].traceId",
        "all-zero",
        "root span has no parent id",
    ),
    (
        "otlp_base64_ids.json",
        Format::Otlp,
        14,
        "resourceSpans[0].scopeSpans[0].spans[0].traceId",
        "32 hex digits",
        "base64 (protobuf's JSON default for bytes) of the id `4bf92f3577b34da6a3ce929d0e0e4736`",
    ),
    ("otlp_truncated.jsonl", Format::Otlp, 2, "", "ends inside an object", "cut short"),
    (
        "jaeger_duplicate_span_id.json",
        Format::Jaeger,
        30,
        "data[0].spans[2].spanID",
        "appears twice in trace 4bf92f3577b34da6a3ce929d0e0e4736; first at",
        "read twice",
    ),
    (
        "jaeger_negative_duration.json",
        Format::Jaeger,
        34,
        "data[0].spans[2].duration",
        "ends 19500000 ns before",
        "never negative",
    ),
    (
        "jaeger_unknown_process.json",
        Format::Jaeger,
        36,
        "data[0].spans[2].processID",
        "process `p2` is not",
        "did you mean `p1`?",
    ),
    ("jaeger_read_as_otlp.json", Format::Otlp, 1, "", "not OTLP JSON", "pass `--format jaeger`"),
    ("not_a_trace.json", Format::Jaeger, 1, "", "found an object with keys `status`, `data`", "Jaeger's UI"),
    ("zipkin_missing_duration.json", Format::Zipkin, 13, "[1].duration", "`duration` is missing", "never finished"),
    ("zipkin_bad_kind.json", Format::Zipkin, 17, "[1].kind", "found `CLIENT_`", "did you mean `CLIENT`?"),
    ("zipkin_zero_parent_id.json", Format::Zipkin, 15, "[1].parentId", "all-zero", "root span"),
];

#[test]
fn every_malformed_fixture_is_refused_at_its_line_and_key() {
    for (file, format, line, key, message, help) in BAD {
        let e = read_traces(&[fixture(&format!("bad/{file}"))], format).expect_err(file);
        assert!(e.file.ends_with(format!("bad/{file}")), "{file}: {}", e.file.display());
        assert_eq!((e.line, e.key.as_str()), (line, key), "{file}: {e}");
        assert!(e.column > 0, "{file}: {e}");
        assert!(e.message.contains(message), "{file}: {e}");
        assert!(e.help.as_deref().unwrap_or("").contains(help), "{file}: {e}");
    }
    let mut files: Vec<String> = std::fs::read_dir(fixture("bad"))
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut listed: Vec<String> = BAD.iter().map(|b| b.0.to_owned()).collect();
    listed.sort();
    assert_eq!(files, listed, "every file in bad/ has a case here");
}

#[test]
fn a_file_in_another_format_names_the_right_one() {
    for (rel, wrong, right) in [
        ("zipkin/shop.json", Format::Otlp, "zipkin"),
        ("zipkin/shop.json", Format::Jaeger, "zipkin"),
        ("otlp/shop.jsonl", Format::Zipkin, "otlp"),
        ("otlp/shop.pretty.json", Format::Jaeger, "otlp"),
        ("jaeger/shop.json", Format::Zipkin, "jaeger"),
    ] {
        let e = read_traces(&[fixture(rel)], wrong).expect_err(rel);
        assert_eq!(e.line, 1, "{rel}: {e}");
        assert!(e.help.unwrap().contains(&format!("pass `--format {right}`")), "{rel}");
    }
}

#[test]
fn formats_are_named_with_a_suggestion_for_typos() {
    assert_eq!(Format::parse("otlp").unwrap(), Format::Otlp);
    assert_eq!(Format::parse("Jaeger").unwrap(), Format::Jaeger);
    assert_eq!("zipkin".parse::<Format>().unwrap().to_string(), "zipkin");
    let e = Format::parse("zipkn").unwrap_err();
    assert_eq!((e.key.as_str(), e.help.as_deref()), ("--format", Some("did you mean `zipkin`?")));
    assert_eq!(Format::parse("opentelemetry").unwrap_err().help.as_deref(), Some("did you mean `otlp`?"));
    assert!(Format::parse("xml").unwrap_err().help.unwrap().contains("`otlp`, `jaeger`, `zipkin`"));
}

#[test]
fn a_file_over_the_limit_is_refused_before_it_is_parsed() {
    let e = read_capped(&[fixture("otlp/shop.jsonl")], Format::Otlp, 1024).unwrap_err();
    assert!(e.message.contains("larger than 1024 bytes"), "{e}");
    assert!(e.help.unwrap().contains("split the export"));
    assert_eq!(super::MAX_TRACE_BYTES, 1 << 30);
}

#[test]
fn the_same_spans_read_twice_are_duplicates() {
    let path = fixture("jaeger/shop.json");
    let e = read_traces(&[path.clone(), path], Format::Jaeger).unwrap_err();
    assert!(e.message.contains("appears twice") && e.message.contains("shop.json:"), "{e}");
}

fn read_text(text: &str, format: Format) -> Result<TraceSet, crate::scenario::ScenarioError> {
    let mut set = TraceSet::default();
    read_str(text, Path::new("t.json"), format, &mut set, &mut ReadState::default()).map(|()| set)
}

#[test]
fn otlp_defaults_follow_the_protobuf_json_mapping() {
    let line = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01","spanId":"02","startTimeUnixNano":5,"endTimeUnixNano":"7","parentSpanId":""}]}]}]}"#;
    let set = read_text(&format!("{{}}\n{line}\n"), Format::Otlp).unwrap();
    let s = &set.spans[0];
    assert_eq!(set.services, [super::otlp::UNKNOWN_SERVICE]);
    assert_eq!(
        (s.kind, s.parent, s.operation.as_str(), s.error, s.start_ns, s.end_ns),
        (SpanKind::Internal, None, "", false, 5, 7)
    );
    assert_eq!((s.at.line, s.at.column), (2, 44));
    let e = read_text(&line.replace(r#""spanId":"02""#, r#""spanId":"02","kind":"SPAN_KIND_SERVR""#), Format::Otlp)
        .unwrap_err();
    assert_eq!(e.key, "resourceSpans[0].scopeSpans[0].spans[0].kind");
    assert_eq!(e.help.as_deref(), Some("did you mean `SPAN_KIND_SERVER`?"));
    let e = read_text(&line.replace(r#""startTimeUnixNano":5,"#, ""), Format::Otlp).unwrap_err();
    assert_eq!(e.key, "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano");
    assert!(e.message.contains("is missing"), "{e}");
}

#[test]
fn a_file_without_spans_is_refused() {
    for (text, format) in [("{\"data\": []}", Format::Jaeger), ("[]", Format::Zipkin), ("{}\n{}\n", Format::Otlp)] {
        let e = read_text(text, format).unwrap_err();
        assert!(e.message.starts_with("no spans"), "{text}: {e}");
    }
}

#[test]
fn no_cut_or_corrupted_file_makes_a_reader_panic() {
    let files = ["otlp/shop.jsonl", "otlp/shop.pretty.json", "jaeger/shop.json", "zipkin/shop.json"];
    for rel in files {
        let text = std::fs::read_to_string(fixture(rel)).unwrap();
        for format in Format::ALL {
            // every cut (a file the collector stopped writing), then bytes swapped for
            // characters that break JSON, ids or numbers
            for end in (0..text.len()).step_by(11) {
                let _ = read_text(&text[..end], format);
            }
            for (i, bad) in
                (0..text.len()).step_by(17).zip(["\"", "\\", "é", "-", "0", "]", "\u{1}", "x"].iter().cycle())
            {
                let mut t = text.clone();
                t.replace_range(i..i + 1, bad);
                if let Err(e) = read_text(&t, format) {
                    assert!(e.line > 0, "{rel} as {format:?}, byte {i} -> {bad:?}: {e}");
                }
            }
        }
    }
}

#[test]
fn a_span_that_is_not_an_object_is_refused_as_such() {
    let e = read_text(r#"[[{"traceId":"01","id":"02","timestamp":1,"duration":1}, "x"]]"#, Format::Zipkin).unwrap_err();
    assert_eq!(e.key, "[0][1]");
    assert!(e.message.starts_with("expected an object with `traceId`"), "{e}");
    let e = read_text(r#"{"resourceSpans":[{"scopeSpans":[{"spans":[7]}]}]}"#, Format::Otlp).unwrap_err();
    assert_eq!((e.key.as_str(), e.column), ("resourceSpans[0].scopeSpans[0].spans[0]", 44));
    assert!(e.message.ends_with("found the number `7`"), "{e}");
}

#[test]
fn a_shared_span_id_is_derived_deterministically_and_differs() {
    for id in [1u64, 0xa1a1_a1a1_a1a1_a102, u64::MAX] {
        assert_eq!(shared_id(id), shared_id(id));
        assert_ne!(shared_id(id), id);
        assert_ne!(shared_id(id), 0);
    }
}

#[test]
fn every_well_formed_fixture_calibrates_to_a_scenario_that_loads() {
    for (rel, format) in [
        ("otlp/shop.jsonl", Format::Otlp),
        ("otlp/shop.pretty.json", Format::Otlp),
        ("jaeger/shop.json", Format::Jaeger),
        ("zipkin/shop.json", Format::Zipkin),
    ] {
        let set = read(rel, format);
        let cal = super::infer(&set, &super::InferOptions::default()).unwrap_or_else(|e| panic!("{rel}: {e}"));
        crate::scenario::load_str(&cal.yaml, Path::new("calibrated.yaml"), &[])
            .unwrap_or_else(|e| panic!("{rel}: {e}\n{}", cal.yaml));
    }
}
