//! Deterministic JSON encoding of event bodies.
//!
//! The exact rules are part of the public contract and are spelled out in
//! the crate documentation, section "Canonical JSON".

use serde_json::Value;

/// Why a value has no canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// A number that is not an `i64`/`u64` integer. Floats are refused
    /// outright because their shortest-text formatting differs between
    /// implementations, and the hash must be reproducible by anyone.
    #[error("number {number} at {path} is not an integer; canonical JSON allows only integers that fit in i64 or u64")]
    NotAnInteger {
        /// JSON Pointer (RFC 6901) to the number; empty for the root.
        path: String,
        /// The number as serde_json prints it.
        number: String,
    },
}

/// Encodes `value` canonically; see the crate docs for the rules.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    write_value(value, &mut out, &mut path)?;
    Ok(out)
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn pointer(path: &[Segment<'_>]) -> String {
    let mut s = String::new();
    for seg in path {
        s.push('/');
        match seg {
            Segment::Key(k) => s.push_str(&k.replace('~', "~0").replace('/', "~1")),
            Segment::Index(i) => s.push_str(&i.to_string()),
        }
    }
    s
}

fn write_value<'a>(
    value: &'a Value,
    out: &mut Vec<u8>,
    path: &mut Vec<Segment<'a>>,
) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            // Formatting from the integer itself (not from `n`'s Display)
            // keeps the output fixed even if some crate in the build turns
            // on serde_json's `arbitrary_precision`, where Display echoes
            // the original text such as `1E2`.
            if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else {
                return Err(CanonicalError::NotAnInteger {
                    path: pointer(path),
                    number: n.to_string(),
                });
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                path.push(Segment::Index(i));
                write_value(item, out, path)?;
                path.pop();
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // Sorting here rather than trusting the map's iteration order
            // keeps the encoding stable when serde_json's `preserve_order`
            // feature is enabled elsewhere in the build. `str` ordering is
            // UTF-8 byte ordering.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                path.push(Segment::Key(key));
                write_value(item, out, path)?;
                path.pop();
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    // Delegating to serde_json is what makes "escaped exactly as serde_json
    // escapes" true by construction rather than by imitation.
    serde_json::to_writer(&mut *out, s).expect("serializing a str into a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn canon_str(v: &Value) -> String {
        String::from_utf8(canonical_json(v).unwrap()).unwrap()
    }

    #[test]
    fn known_encoding() {
        let v: Value = serde_json::from_str(
            r#"{ "b": 1, "a": [true, null, "x\n\u0001é\"\\/\u007f"], "A": -5,
                 "调解": {"z": 18446744073709551615, "y": -9223372036854775808}, "": {} }"#,
        )
        .unwrap();
        assert_eq!(
            canon_str(&v),
            "{\"\":{},\"A\":-5,\"a\":[true,null,\"x\\n\\u0001é\\\"\\\\/\u{7f}\"],\"b\":1,\
             \"调解\":{\"y\":-9223372036854775808,\"z\":18446744073709551615}}"
        );
    }

    #[test]
    fn keys_sort_by_utf8_bytes_not_utf16() {
        // U+FF61 sorts after U+1F600 in UTF-16 code units but before it in
        // UTF-8 bytes (EF.. < F0..); the contract is UTF-8.
        let v = json!({"\u{1F600}": 1, "\u{FF61}": 2, "a": 0, "B": 3});
        assert_eq!(
            canon_str(&v),
            "{\"B\":3,\"a\":0,\"\u{FF61}\":2,\"\u{1F600}\":1}"
        );
    }

    #[test]
    fn floats_are_rejected_with_their_location() {
        for text in ["1.5", "1.0", "1e3", "-0.0"] {
            let v: Value =
                serde_json::from_str(&format!(r#"{{"a":[0,{{"b/c":{text}}}]}}"#)).unwrap();
            let err = canonical_json(&v).unwrap_err();
            let CanonicalError::NotAnInteger { path, .. } = &err;
            assert_eq!(path, "/a/1/b~1c", "{text}");
            assert!(err.to_string().contains("not an integer"));
        }
        assert!(canonical_json(&json!(0.5)).is_err());
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            any::<u64>().prop_map(|u| json!(u)),
            any::<String>().prop_map(Value::String),
            "[\\x00-\\x1f\"\\\\a-z调解案]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn idempotent_and_parses_back(v in arb_value()) {
            let once = canonical_json(&v).unwrap();
            let parsed: Value = serde_json::from_slice(&once).unwrap();
            prop_assert_eq!(&parsed, &v);
            prop_assert_eq!(canonical_json(&parsed).unwrap(), once);
        }

        #[test]
        fn input_key_order_is_irrelevant(
            entries in prop::collection::btree_map(any::<String>(), arb_value(), 0..8)
        ) {
            // Build the same object as JSON text in two different key
            // orders, so the test also holds under `preserve_order`.
            let forward: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), v))
                .collect();
            let mut backward = forward.clone();
            backward.reverse();
            let a: Value = serde_json::from_str(&format!("{{{}}}", forward.join(","))).unwrap();
            let b: Value = serde_json::from_str(&format!("{{ {} }}", backward.join(" , "))).unwrap();
            prop_assert_eq!(canonical_json(&a).unwrap(), canonical_json(&b).unwrap());
        }
    }
}
