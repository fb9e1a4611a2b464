//! Property tests of the parsers and encoders that meet untrusted input: no panic, and every
//! refusal is an error value, whatever the input.

use bbb_connector::bbb::{checksum, encode_query, xml, ChecksumAlgorithm};
use bbb_connector::domain::payload::parse_meeting_request;
use bbb_connector::domain::unflatten::unflatten;
use bbb_connector::http::signature::{sign_query, verify_publik_signature};
use bbb_connector::simulator::verify_checksum;
use chrono::{TimeZone, Utc};
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn unflatten_never_panics(object in prop::collection::btree_map(flat_key(), json_value(), 0..10)) {
        let object: Map<String, Value> = object.into_iter().collect();
        let _ = unflatten(object);
    }

    #[test]
    fn the_payload_parser_never_panics_and_accepts_only_valid_requests(body in json_value()) {
        if let Ok(request) = parse_meeting_request(body) {
            prop_assert!(!request.name.is_empty());
            prop_assert!(!request.idempotent_id.is_empty());
        }
    }

    #[test]
    fn the_signature_verifier_never_panics(query in ".{0,200}", orig in "[a-z.]{0,10}") {
        let now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let _ = verify_publik_signature(&query, |_| Some("key".to_owned()), now);
        let signed = sign_query(&format!("orig={orig}&{query}"), "key", "sha256", now, "nonce");
        let _ = verify_publik_signature(&signed, |_| Some("key".to_owned()), now);
    }

    #[test]
    fn a_signed_query_verifies_unless_tampered(params in prop::collection::vec(("[a-z]{1,8}", ".{0,16}"), 0..6), flip in any::<prop::sample::Index>()) {
        let now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("orig", "wcs");
        for (name, value) in &params {
            query.append_pair(name, value);
        }
        let signed = sign_query(&query.finish(), "key", "sha256", now, "n");
        let verified = verify_publik_signature(&signed, |_| Some("key".to_owned()), now);
        prop_assert!(matches!(verified, Ok(Some(_))), "{signed}");
        let position = flip.index(signed.find("&algo=").unwrap_or(1).max(1));
        let mut tampered = signed.clone().into_bytes();
        tampered[position] = if tampered[position] == b'a' { b'b' } else { b'a' };
        if let Ok(tampered) = String::from_utf8(tampered) {
            if tampered != signed {
                prop_assert!(!matches!(verify_publik_signature(&tampered, |_| Some("key".to_owned()), now), Ok(Some(_))), "{tampered}");
            }
        }
    }

    #[test]
    fn the_bbb_xml_parser_never_panics(body in ".{0,300}") {
        let _ = xml::parse(&body);
        let wrapped = format!("<response><returncode>SUCCESS</returncode>{body}</response>");
        if let Ok(root) = xml::parse(&wrapped) {
            let _ = xml::to_json(&root, &[]);
            let _ = xml::failure(&root);
        }
    }

    #[test]
    fn encoded_queries_verify_in_the_simulator(params in prop::collection::btree_map("[a-zA-Z0-9_-]{1,10}", ".{0,20}", 0..8), algorithm in prop::sample::select(ChecksumAlgorithm::ALL.to_vec())) {
        let query = encode_query(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let signed = format!("{query}&checksum={}", checksum(algorithm, "create", &query, "secret"));
        prop_assert!(verify_checksum("create", &signed, "secret").is_ok(), "{signed}");
        prop_assert!(verify_checksum("create", &signed, "other").is_err());
        let decoded: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let expected: Vec<(String, String)> = params.into_iter().collect();
        prop_assert_eq!(decoded, expected);
    }
}
