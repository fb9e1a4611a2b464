//! Property tests of the parsers and encoders that meet untrusted input. The properties are
//! the fuzz targets' bodies (`bbb_connector::fuzzing`, one definition each); proptest feeds
//! them structured inputs (JSON objects with flat keys, signed parameter lists, XML-ish text)
//! that random bytes reach only slowly.

use bbb_connector::fuzzing;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Arbitrary JSON, a few levels deep, with keys that look like flat paths.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(flat_key(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn flat_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,6}",
        "[a-z0-9/]{0,10}",
        Just("name".to_owned()),
        Just("idempotent_id".to_owned()),
        Just("extra".to_owned()),
        Just("create_parameters".to_owned()),
        "(create_parameters|join_user_parameters|metadata)/[a-zA-Z0-9/]{0,8}",
    ]
}

/// Name/value pairs as the fuzz bodies read them: fields separated by NUL, two by two.
fn nul_separated(pairs: &[(String, String)]) -> Vec<u8> {
    pairs.iter().flat_map(|(name, value)| [name.as_str(), value.as_str()]).collect::<Vec<_>>().join("\0").into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn unflatten_never_panics(object in prop::collection::btree_map(flat_key(), json_value(), 0..10)) {
        let object: Map<String, Value> = object.into_iter().collect();
        fuzzing::unflatten(&serde_json::to_vec(&object).unwrap());
    }

    #[test]
    fn unflatten_works_in_linear_time(recipe in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzzing::unflatten_work(&recipe);
    }

    #[test]
    fn the_payload_parser_never_panics_and_accepts_only_valid_requests(body in json_value()) {
        fuzzing::payload(&serde_json::to_vec(&body).unwrap());
    }

    #[test]
    fn a_signed_query_verifies_unless_tampered(params in prop::collection::vec(("[a-z]{1,8}", ".{0,16}"), 0..6)) {
        fuzzing::publik_signature(&nul_separated(&params));
    }

    #[test]
    fn the_signature_verifier_never_panics_on_any_query(query in ".{0,200}") {
        fuzzing::publik_signature(query.as_bytes());
    }

    #[test]
    fn the_bbb_xml_parser_never_panics(body in ".{0,300}") {
        fuzzing::bbb_xml(body.as_bytes());
    }

    #[test]
    fn encoded_queries_verify_in_the_simulator(params in prop::collection::vec(("[a-zA-Z0-9_-]{1,10}", ".{0,20}"), 0..8)) {
        fuzzing::checksum_round_trip(&nul_separated(&params));
    }
}
