//! The one door to the YAML reader (serde-saphyr): how scenario text is read, and how the
//! reader's complaints become messages for users.
//!
//! The reader words its errors for programmers ("use Option<String>", "use
//! from_str_multiple", "expected mapping start", "untagged enum AddSpec"). [`describe`]
//! turns each kind of error into what was expected, at which key, and how to fix it, so
//! no type or function name of a library reaches the user; an error of a kind it does
//! not know gets the reader's user-facing wording, and a plain one if even that names
//! code. The reader's budget is widened so that a file within the documented limits
//! (16 MiB, 10⁶ inline samples per distribution) is read whole.

use serde::de::DeserializeOwned;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Budget, Error, MessageFormatter, NonFiniteFloatPolicy, Options, UserMessageFormatter};

use super::error::{ScenarioError, suggest};
use super::samples::MAX_SAMPLES;
use super::tree::{KEY_NOT_A_NAME, Located};

/// Most YAML nodes (values, lists and mappings, aliases expanded) a scenario may hold:
/// twice the 10⁶ inline samples one distribution may have (README, "Limits"), so such a
/// distribution fits beside the rest of the scenario. serde-saphyr's default, 250 000,
/// refused inline samples at a quarter of the documented limit.
pub const MAX_NODES: usize = 2 * MAX_SAMPLES;

/// Help when nothing more precise is known.
const SCHEMA_HELP: &str = "`resim schema` describes every key and the values it takes";

/// Help for a file too large for [`MAX_NODES`].
const SAMPLES_FILE_HELP: &str =
    "move large empirical samples into a file: empirical: { file: latencies.csv, unit: ms }";

/// The reader's options: its defaults, with the node and event budgets of [`MAX_NODES`]
/// and no snippet kept in errors (messages show their own).
fn options(non_finite: NonFiniteFloatPolicy) -> Options {
    let mut budget = Budget::default();
    budget.max_nodes = MAX_NODES;
    // A value is one event, a list or mapping two (start and end); the stream and the
    // document add four.
    budget.max_events = 2 * MAX_NODES + 4;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.with_snippet = false;
    options.non_finite_float_policy = non_finite;
    options
}

/// Reads `text` (YAML, or JSON, a subset of it) as a `T`.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    serde_saphyr::from_str_with_options(text, options(NonFiniteFloatPolicy::Reject))
}

/// Reads `text` into its located tree. `.nan` and `.inf` are kept as text here, so the
/// tree of a file holding one is still built and the typed read can name their key.
/// Only `true` and `false` are booleans (YAML 1.2), as in the typed read: a key such as a
/// Zipf model's `n` stays a name when `--set` rewrites the file through its tree.
pub fn parse_tree(text: &str) -> Result<Located, Error> {
    let mut o = options(NonFiniteFloatPolicy::AsString);
    o.strict_booleans = true;
    serde_saphyr::from_str_with_options(text, o)
}

/// Reads every document of a YAML stream (`---` between them) into located trees, in
/// order; empty documents are skipped. Positions count from the start of the stream.
/// Only `true` and `false` are booleans (YAML 1.2): a key such as `n` or `on` in a
/// configuration file stays a name.
pub fn parse_documents(text: &str) -> Result<Vec<Located>, Error> {
    let mut o = options(NonFiniteFloatPolicy::AsString);
    o.strict_booleans = true;
    serde_saphyr::from_multiple_with_options(text, o)
}

/// A reader error as a located [`ScenarioError`]: the key path (from `tree`, when the
/// text could be read as a tree), what was expected, and a suggestion.
pub fn describe(err: &Error, tree: Option<&Located>) -> ScenarioError {
    let err = innermost(err);
    let mut at = err.location().map_or((0, 0), |l| (l.line() as usize, l.column() as usize));
    let keyed = tree.and_then(|t| t.entry_at(at));
    let (mut key, node) = match (tree, &keyed) {
        (_, Some((path, value))) => (path.clone(), Some(*value)),
        (Some(t), None) => {
            let (path, node) = t.value_at(at);
            (path, Some(node))
        }
        (None, None) => (String::new(), None),
    };
    let found = node.map(Located::describe);
    let leaf = key.rsplit('.').next().unwrap_or_default().to_owned();
    let (message, help) = match err {
        Error::SerdeUnknownField { field, expected, .. } => {
            key = tree.and_then(|t| t.path_of_key_after(field, at)).unwrap_or(key);
            unknown("key", field, expected)
        }
        Error::SerdeUnknownVariant { variant, expected, .. } => unknown("kind", variant, expected),
        Error::SerdeMissingField { field, .. } => {
            let base = tree.map(|t| t.map_missing(field, at)).unwrap_or_default();
            key = if base.is_empty() { (*field).to_owned() } else { format!("{base}.{field}") };
            (format!("missing field `{field}`"), Some(format!("add `{field}:` with its value here")))
        }
        Error::DuplicateMappingKey { key: name, .. } => {
            let name = name.as_deref().unwrap_or(&leaf);
            (
                format!("duplicate key `{name}`: each key may appear once in a mapping"),
                Some("remove or rename one of them".into()),
            )
        }
        Error::ExpectedMappingEndAfterEnumVariantValue { .. } => {
            key = parent(&key).to_owned();
            (
                format!("`{leaf}` is a second kind here; expected exactly one kind"),
                Some(format!("keep one of the kinds and remove `{leaf}`")),
            )
        }
        _ => {
            // The reader reports a value's wrong type at its key: point at the value.
            if let Some((_, value)) = &keyed {
                at = value.at;
            }
            explain(err, &key, &leaf, found.as_deref())
        }
    };
    let mut e = ScenarioError::at_key(key, plain(message));
    e.help = help.map(plain);
    (e.line, e.column) = at;
    e
}

/// The error inside the reader's wrappers (a snippet, an alias's use).
fn innermost(err: &Error) -> &Error {
    match err {
        Error::WithSnippet { error, .. } | Error::AliasError { error, .. } => innermost(error),
        other => other,
    }
}

/// The dotted path without its last segment.
fn parent(path: &str) -> &str {
    path.rsplit_once('.').map_or("", |(p, _)| p)
}

/// An unknown key or kind, with the accepted names and the nearest one.
fn unknown(what: &str, name: &str, expected: &[&str]) -> (String, Option<String>) {
    let message = if expected.is_empty() {
        format!("unknown {what} `{name}`: this mapping takes no keys")
    } else {
        format!("unknown {what} `{name}`; expected one of: {}", expected.join(", "))
    };
    let help = suggest(name, expected.iter().copied()).map(|s| format!("did you mean `{s}`?"));
    (message, help)
}

/// The message and help for an error about a value: `key` and its last segment `leaf`
/// say where it is, `found` what is there.
fn explain(err: &Error, key: &str, leaf: &str, found: Option<&str>) -> (String, Option<String>) {
    let found_part = found.map(|f| format!(", found {f}")).unwrap_or_default();
    let expecting = |what: &str| (format!("expected {what}{found_part}"), for_example(what, leaf));
    match err {
        Error::Eof { .. } => (
            "the file is empty: expected a scenario, a mapping with name, duration and services".into(),
            Some("`resim init` writes a commented starter scenario".into()),
        ),
        Error::MultipleDocuments { .. } => (
            "the file holds more than one YAML document (a `---` line starts another); a scenario is one document"
                .into(),
            Some("keep one scenario per file: remove the `---` line and what follows it".into()),
        ),
        Error::Unexpected { expected, .. } if key.is_empty() && expected.contains("mapping") => (
            format!("expected a scenario, a mapping with name, duration and services{found_part}"),
            Some("`resim init` writes a commented starter scenario".into()),
        ),
        Error::Unexpected { expected, .. } => shape(expected, leaf, &found_part),
        Error::UnexpectedValueForUnitEnumVariant { .. } => {
            let whole = parent(key).rsplit('.').next().unwrap_or_default();
            (format!("`{leaf}` takes no settings{found_part}"), Some(format!("write it alone: `{whole}: {leaf}`")))
        }
        Error::ExpectedStringKeyForExternallyTaggedEnum { .. }
        | Error::ExternallyTaggedEnumExpectedScalarOrMapping { .. } => (
            format!("expected one kind, written as its name or as `{{ name: {{ settings }} }}`{found_part}"),
            Some("`resim schema` lists the kinds each key takes".into()),
        ),
        Error::SerdeInvalidType { unexpected, expected, .. }
        | Error::SerdeInvalidValue { unexpected, expected, .. } => {
            let what = plain_expected(expected);
            let found = found.map_or_else(|| plain_unexpected(unexpected), str::to_owned);
            (format!("expected {what}, found {found}"), for_example(&what, leaf))
        }
        Error::SerdeInvalidLength { len, expected, .. } => {
            (format!("expected {}, found {len} items", plain_expected(expected)), None)
        }
        Error::InvalidScalar { ty, .. } => expecting(&plain_expected(ty)),
        Error::NullIntoString { .. } | Error::InvalidCharNull { .. } => (
            format!("`{leaf}` has no value: expected text"),
            Some(format!("write the value after the colon: `{leaf}: ...`")),
        ),
        Error::TaggedScalarCannotDeserializeIntoString { .. } | Error::UnsupportedTag { .. } => (
            format!("this YAML tag (`!!...`) is not accepted here; expected a plain value{found_part}"),
            Some("remove the tag, or quote the value to make it text".into()),
        ),
        Error::NonFiniteFloat { value, .. } => (
            format!("`{value}` is not a finite number; expected a finite value"),
            Some("write an ordinary number or a value with its unit, e.g. 0.5, 250ms or 64/s".into()),
        ),
        Error::RecursiveReferencesRequireWeakTypes { .. } => (
            "an alias (`*name`) refers to a value that contains it, which would never end".into(),
            Some("write the value out instead of referring to an anchor around it".into()),
        ),
        Error::UnknownAnchor { .. } => (
            "an alias (`*name`) refers to no anchor (`&name`) defined above it".into(),
            Some("define the anchor on a value before this line, or write the value here".into()),
        ),
        Error::MergeValueNotMapOrSeqOfMaps { .. } => (
            format!("a merge key (`<<`) takes a mapping or a list of mappings{found_part}"),
            Some("merge an anchored mapping: `<<: *defaults`".into()),
        ),
        Error::Budget { breach, .. } => budget(breach),
        Error::AliasReplayCounterOverflow { .. }
        | Error::AliasReplayLimitExceeded { .. }
        | Error::AliasExpansionLimitExceeded { .. }
        | Error::AliasReplayStackDepthExceeded { .. } => (
            "aliases (`*name`) expand to more than a scenario may hold".into(),
            Some("write the repeated values out, or use fewer aliases".into()),
        ),
        Error::Message { msg, .. } => custom(msg, leaf, &found_part),
        Error::ExternalMessage { .. } | Error::IndentationError { .. } => (
            UserMessageFormatter.format_message(err).into_owned(),
            Some("check the YAML here: indentation (spaces, not tabs), colons, brackets and quotes".into()),
        ),
        other => (UserMessageFormatter.format_message(other).into_owned(), Some(SCHEMA_HELP.into())),
    }
}

/// A value of the wrong shape: a scalar where a mapping or list belongs, and so on.
fn shape(expected: &str, leaf: &str, found_part: &str) -> (String, Option<String>) {
    let (what, help) = if expected.contains("mapping") {
        ("a mapping", format!("write indented `key: value` lines, or `{}`", assign(leaf, "{ key: value }")))
    } else if expected.contains("sequence") {
        ("a list", format!("write `{}`, or one `- item` line per item", assign(leaf, "[a, b]")))
    } else {
        ("a single value", format!("write `{}`", assign(leaf, "value")))
    };
    (format!("expected {what}{found_part}"), Some(help))
}

/// Messages of the reader's budget.
fn budget(breach: &BudgetBreach) -> (String, Option<String>) {
    match breach {
        BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => (
            format!("the file holds more than {MAX_NODES} values (list items, keys and values)"),
            Some(SAMPLES_FILE_HELP.into()),
        ),
        BudgetBreach::Depth { depth } => (
            format!("the file nests lists and mappings {depth} levels deep, beyond the limit"),
            Some("a scenario needs only a few levels: check the brackets and the indentation".into()),
        ),
        _ => (
            "the document is too large or too deeply nested (alias expansion or nesting limit)".into(),
            Some("write repeated values out instead of through aliases, and keep the nesting shallow".into()),
        ),
    }
}

/// A message a visitor or serde's derived code wrote: ours are for users already; serde's
/// "did not match any variant of untagged enum X" is rewritten by what X accepts.
fn custom(msg: &str, leaf: &str, found_part: &str) -> (String, Option<String>) {
    const UNTAGGED: [(&str, &str, &str); 2] = [
        (
            "AddSpec",
            "a duration such as 300ms, or a distribution such as { exponential: { mean: 100ms } }",
            "e.g. `add: 300ms`",
        ),
        (
            "ParamSpec",
            "a list of values (e.g. [2, 4, 8]) or a range { from: 10, to: 100, step: 10 }",
            "a range takes the keys from, to and step",
        ),
    ];
    if let Some(name) = msg.strip_prefix("data did not match any variant of untagged enum ") {
        return match UNTAGGED.iter().find(|(ty, ..)| *ty == name.trim()) {
            Some((_, what, help)) => (format!("expected {what}{found_part}"), Some((*help).into())),
            None => (format!("this value has none of the accepted forms{found_part}"), Some(SCHEMA_HELP.into())),
        };
    }
    if msg.starts_with(KEY_NOT_A_NAME) {
        return (msg.to_owned(), Some("write the key as a plain name, e.g. `api:`".into()));
    }
    (msg.to_owned(), Some(for_example(msg, leaf).unwrap_or_else(|| SCHEMA_HELP.into())))
}

/// `e.g. `leaf: 250us``, from the first example in `expected`.
fn for_example(expected: &str, leaf: &str) -> Option<String> {
    example(expected).map(|x| format!("e.g. `{}`", assign(leaf, x)))
}

/// `leaf: value` as written in the file; a list item (`leaf` an index) is the value alone.
fn assign(leaf: &str, value: &str) -> String {
    if leaf.is_empty() || leaf.parse::<usize>().is_ok() { value.to_owned() } else { format!("{leaf}: {value}") }
}

/// A first example from an expectation such as "a duration like 250us, 50ms ...".
fn example(expected: &str) -> Option<&str> {
    if expected.starts_with("a whole number") {
        return Some("4");
    }
    if expected == "true or false" {
        return Some("true");
    }
    let rest = [" like ", " such as ", "e.g. "].iter().find_map(|m| expected.split_once(m))?.1;
    rest.split([',', ' ', ')']).next().filter(|x| !x.is_empty())
}

/// serde's and the reader's name of an expected type, in words.
fn plain_expected(expected: &str) -> String {
    const INTS: [(&str, &str); 8] = [
        ("u8", "0 to 255"),
        ("u16", "0 to 65535"),
        ("u32", "0 to 4294967295"),
        ("u64", "0 to 18446744073709551615"),
        ("usize", "0 to 18446744073709551615"),
        ("i32", "-2147483648 to 2147483647"),
        ("i64", "-9223372036854775808 to 9223372036854775807"),
        ("isize", "-9223372036854775808 to 9223372036854775807"),
    ];
    if let Some((_, range)) = INTS.iter().find(|(ty, _)| *ty == expected) {
        return format!("a whole number from {range}");
    }
    let word = expected.split_whitespace().next().unwrap_or_default();
    match word {
        "f32" | "f64" | "floating" => "a number (e.g. 0.5)".into(),
        "bool" | "boolean" | "a boolean" => "true or false".into(),
        "struct" | "map" | "a" if expected.contains("map") || word == "struct" => "a mapping".into(),
        "a" if expected.contains("sequence") || expected.contains("tuple") => "a list".into(),
        "a" if expected.contains("string") || expected.contains("char") => "text".into(),
        "enum" | "variant" | "internally" | "adjacently" | "untagged" => "one of the accepted kinds".into(),
        _ => expected.to_owned(),
    }
}

/// serde's description of an unexpected value, in words.
fn plain_unexpected(unexpected: &str) -> String {
    match unexpected.split_whitespace().next().unwrap_or_default() {
        "map" => "a mapping".into(),
        "sequence" => "a list".into(),
        "unit" | "null" => "nothing (an empty value)".into(),
        _ => match unexpected.split_once(' ') {
            Some((_, value)) => value.to_owned(),
            None => unexpected.to_owned(),
        },
    }
}

/// Words that show a message speaks of code: a type, a generic, a function of the
/// reader's API, a data-model term.
const JARGON: [&str; 12] = [
    "Option<",
    "::",
    "from_str",
    "weak recursion",
    "mapping start",
    "sequence start",
    "struct ",
    "enum ",
    "variant identifier",
    "field identifier",
    "configured policy",
    "Options",
];

/// True when `text` names code rather than speaking of the scenario. A marker counts
/// of letters only at the start of a word (`construct ` is not `struct `).
pub fn is_jargon(text: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    JARGON.iter().any(|j| text.match_indices(j).any(|(i, _)| !j.starts_with(word) || !text[..i].ends_with(word)))
}

/// `text`, unless it speaks of code: then a plain sentence in its place, so no library
/// wording reaches the user even from an error kind this module does not know.
fn plain(text: String) -> String {
    if is_jargon(&text) { format!("this value does not have the form this key takes ({SCHEMA_HELP})") } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::tree::Node;

    fn error(text: &str) -> ScenarioError {
        let tree = parse_tree(text).ok();
        let err = parse::<crate::scenario::ScenarioSpec>(text).map(|_| ()).expect_err("the text is refused");
        describe(&err, tree.as_ref())
    }

    #[test]
    fn a_wrong_type_is_blamed_on_its_own_key() {
        let e = error("name: t\nduration: true\nservices: {}\n");
        assert_eq!(e.key, "duration");
        assert_eq!((e.line, e.column), (2, 11));
        assert!(e.message.starts_with("expected a duration like 250us"), "{e}");
        assert!(e.message.ends_with("found `true`"), "{e}");
        assert_eq!(e.help.as_deref(), Some("e.g. `duration: 250us`"));
    }

    #[test]
    fn non_finite_numbers_name_their_key() {
        let e = error("name: t\nduration: .inf\nservices: {}\n");
        assert_eq!(e.key, "duration");
        assert!(e.message.contains("`.inf` is not a finite number"), "{e}");
    }

    #[test]
    fn examples_come_from_the_expectation() {
        assert_eq!(example("a duration like 250us, 50ms"), Some("250us"));
        assert_eq!(example("a rate like 64/s, 3000/m"), Some("64/s"));
        assert_eq!(example("`auto` or a duration like 30s or 10m"), Some("30s"));
        assert_eq!(example("a number (e.g. 0.5)"), Some("0.5"));
        assert_eq!(example("text"), None);
    }

    #[test]
    fn type_names_become_words() {
        assert_eq!(plain_expected("u32"), "a whole number from 0 to 4294967295");
        assert_eq!(plain_expected("struct ServiceSpec"), "a mapping");
        assert_eq!(plain_expected("a sequence"), "a list");
        assert_eq!(plain_expected("enum DistSpec"), "one of the accepted kinds");
        assert_eq!(plain_unexpected("boolean `true`"), "`true`");
        assert_eq!(plain_unexpected("map"), "a mapping");
        assert!(is_jargon("cannot deserialize null into string; use Option<String>"));
        assert!(!plain("use from_str_multiple".into()).contains("from_str"));
        assert!(!is_jargon("construct the list"));
        assert!(is_jargon("expected DistSpec::Constant"));
    }

    #[test]
    fn the_tree_keeps_key_positions() {
        let tree = parse_tree("a:\n  b: 1\n").expect("a tree");
        let (path, value) = tree.entry_at((2, 3)).expect("the key `b`");
        assert_eq!((path.as_str(), value.at), ("a.b", (2, 6)));
        assert!(matches!(value.node, Node::Scalar(_)));
    }
}
