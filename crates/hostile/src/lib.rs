//! Shared pieces of the property tests that feed hostile input to every parser of outside
//! data (release-controller answers, registry notifications, payload files, tar layers,
//! Markdown): one fixed configuration — a set number of cases from a fixed seed, no failure
//! files written — and mutators that turn a real upstream example into a near miss of it,
//! so a parser is attacked deep inside a document and not only at its first byte. The
//! server's unit tests use it next to each parser, and its integration tests for the
//! router-level properties.

#![expect(
    clippy::expect_used,
    reason = "test input: a missing or broken fixture fails the test that asked for it"
)]

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use serde_json::{Map, Value};

/// The configuration of every property: `cases` cases from a fixed seed, so CI runs the
/// same inputs each time whatever `PROPTEST_*` says, and no regression files on disk.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5354_5247_4154_4531),
        max_shrink_iters: 1024,
        ..ProptestConfig::default()
    }
}

/// Reads a file of `server/tests/fixtures/`, the upstream examples.
pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../server/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture readable")
}

/// Reads a JSON file of `server/tests/fixtures/`.
pub fn json_fixture(path: &str) -> Value {
    serde_json::from_slice(&fixture(path)).expect("fixture is json")
}

/// Text an attacker would try: empty, blank, control characters and NUL, traversal, script
/// and URL schemes, bidirectional overrides, long runs, and any other string.
pub fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[a-z0-9./:@_-]{0,40}",
        1 => Just(String::new()),
        1 => Just(" \t\r\n".to_string()),
        1 => Just("\0".to_string()),
        1 => Just("a\0b".to_string()),
        1 => Just("../../etc/passwd".to_string()),
        1 => Just("javascript:alert(1)".to_string()),
        1 => Just("<script>alert(1)</script>".to_string()),
        1 => Just("\u{202e}\u{feff}\u{200b}".to_string()),
        1 => Just("%00%2e%2e%2f".to_string()),
        1 => Just("sha256:".to_string()),
        1 => (1usize..20_000).prop_map(|n| "a".repeat(n)),
        1 => (1usize..2_000).prop_map(|n| "💥".repeat(n)),
    ]
}

/// A JSON scalar an attacker would send where a parser expects something else: extreme
/// numbers, hostile strings, `null`, booleans.
pub fn hostile_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(f64::MAX),
            Just(f64::MIN),
            Just(f64::MIN_POSITIVE),
            Just(-0.0),
            Just(1.5),
            Just(1e300),
        ]
        .prop_map(Value::from),
        hostile_string().prop_map(Value::String),
    ]
}

/// Any JSON value of a few levels, built from [`hostile_scalar`]s.
pub fn hostile_value() -> impl Strategy<Value = Value> {
    hostile_scalar().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((hostile_string(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One change to a JSON document, applied at the node a selector picks.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Replace the node with another value (often of another type).
    Replace(Value),
    /// Replace a string with this text, a number with this number: the document still has
    /// the right shape, so the hostile value travels past the parser.
    SameType(String, i64),
    /// Remove the node from its object or array.
    Remove,
    /// Add a member or element next to the node's own.
    Insert(String, Value),
    /// Repeat an array's first element this many times.
    Repeat(usize),
    /// Wrap the node in this many arrays (past the parser's nesting limit for large ones).
    Nest(usize),
}

/// A mutation and the node it applies to (an index into the document's nodes, modulo
/// their number).
pub fn mutation() -> impl Strategy<Value = (usize, Mutation)> {
    let op = prop_oneof![
        4 => hostile_value().prop_map(Mutation::Replace),
        4 => (hostile_string(), any::<i64>()).prop_map(|(s, n)| Mutation::SameType(s, n)),
        2 => Just(Mutation::Remove),
        2 => (hostile_string(), hostile_value()).prop_map(|(k, v)| Mutation::Insert(k, v)),
        1 => (0usize..300).prop_map(Mutation::Repeat),
        1 => prop_oneof![1usize..8, 120usize..140].prop_map(Mutation::Nest),
    ];
    (any::<usize>(), op)
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn paths(value: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(here.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                here.push(Step::Key(k.clone()));
                paths(v, here, out);
                here.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                here.push(Step::Index(i));
                paths(v, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, step| match step {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// Applies `mutations` to `doc` one after another.
pub fn mutate(mut doc: Value, mutations: &[(usize, Mutation)]) -> Value {
    for (selector, m) in mutations {
        let mut all = Vec::new();
        paths(&doc, &mut Vec::new(), &mut all);
        let path = &all[selector % all.len()];
        match m {
            Mutation::Replace(v) => {
                if let Some(n) = node(&mut doc, path) {
                    *n = v.clone();
                }
            }
            Mutation::SameType(text, number) => match node(&mut doc, path) {
                Some(n @ Value::String(_)) => *n = Value::String(text.clone()),
                Some(n @ Value::Number(_)) => *n = Value::from(*number),
                _ => {}
            },
            Mutation::Remove => {
                let Some((last, parent)) = path.split_last() else {
                    doc = Value::Null;
                    continue;
                };
                match (node(&mut doc, parent), last) {
                    (Some(Value::Object(map)), Step::Key(k)) => {
                        map.remove(k);
                    }
                    (Some(Value::Array(items)), Step::Index(i)) if *i < items.len() => {
                        items.remove(*i);
                    }
                    _ => {}
                }
            }
            Mutation::Insert(key, v) => match node(&mut doc, path) {
                Some(Value::Object(map)) => {
                    map.insert(key.clone(), v.clone());
                }
                Some(Value::Array(items)) => items.push(v.clone()),
                _ => {}
            },
            Mutation::Repeat(n) => {
                if let Some(Value::Array(items)) = node(&mut doc, path) {
                    if let Some(first) = items.first().cloned() {
                        items.extend(std::iter::repeat_n(first, *n));
                    }
                }
            }
            Mutation::Nest(depth) => {
                if let Some(n) = node(&mut doc, path) {
                    let mut v = n.take();
                    for _ in 0..*depth {
                        v = Value::Array(vec![v]);
                    }
                    *n = v;
                }
            }
        }
    }
    doc
}

/// A byte-level change to a serialized document: what the lexer sees.
#[derive(Debug, Clone)]
pub enum ByteEdit {
    /// Flip bits of the byte at the position.
    Flip(usize, u8),
    /// Insert bytes at the position.
    Insert(usize, Vec<u8>),
    /// Cut the document at the position.
    Truncate(usize),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, bits)| ByteEdit::Flip(at, bits)),
        (
            any::<usize>(),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 1..8),
                Just(b"\\u0000".to_vec()),
                Just(b"\\ud800".to_vec()),
                Just(b"\"".to_vec()),
                Just(b"{".to_vec()),
                Just(b"]".to_vec()),
                Just(vec![0xff, 0xfe]),
                Just(b"1e999999".to_vec()),
            ]
        )
            .prop_map(|(at, bytes)| ByteEdit::Insert(at, bytes)),
        any::<usize>().prop_map(ByteEdit::Truncate),
    ]
}

/// Applies `edits` to `bytes`, positions modulo the length.
pub fn edit_bytes(mut bytes: Vec<u8>, edits: &[ByteEdit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len().max(1);
        match edit {
            ByteEdit::Flip(at, bits) => {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b ^= bits;
                }
            }
            ByteEdit::Insert(at, more) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, more.iter().copied());
            }
            ByteEdit::Truncate(at) => bytes.truncate(at % len),
        }
    }
    bytes
}

/// Near misses of `doc`: a few structural mutations, then (sometimes) a few byte edits of
/// the serialized result.
pub fn near_misses(doc: Value) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(mutation(), 0..4),
        prop_oneof![
            3 => Just(Vec::new()),
            1 => prop::collection::vec(byte_edit(), 1..4),
        ],
    )
        .prop_map(move |(mutations, edits)| {
            let text = serde_json::to_vec(&mutate(doc.clone(), &mutations)).unwrap_or_default();
            edit_bytes(text, &edits)
        })
}

/// Any bytes: mostly short, sometimes JSON-looking.
pub fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        hostile_value().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
    ]
}
