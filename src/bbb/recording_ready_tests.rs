//! The check of the recording-ready JWT: what bbb-web and Scalelite send passes, nothing else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::Sha256;

use super::*;

const SECRET: &str = "bbb-shared-secret-for-tests";
const NOW: i64 = 1_718_000_000;
const MEETING_ID: &str = "0f4c6a2e9b8d4c1a8e7f6d5c4b3a2910";
const RECORD_ID: &str = "fc7056e017627c689d3219bb1c7e8144ab733f07-1718000000000";

/// Computed outside this crate, with Python's hmac and base64 only:
/// header `{"alg":"HS256"}`, payload `{"meeting_id": MEETING_ID, "record_id": RECORD_ID}`
/// (compact JSON), HMAC-SHA256 keyed by `SECRET`.
const INDEPENDENT_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.\
    eyJtZWV0aW5nX2lkIjoiMGY0YzZhMmU5YjhkNGMxYThlN2Y2ZDVjNGIzYTI5MTAiLCJyZWNvcmRfaWQiOiJmYzcwNTZlMDE3NjI3YzY4OWQzMjE5YmIxYzdlODE0NGFiNzMzZjA3LTE3MTgwMDAwMDAwMDAifQ.\
    qDpqhpYJKjCSnsGrfs0IpzyoDZ6A8oZnFM053xBhD5g";

fn signed(algorithm: Algorithm, claims: &Value, secret: &str) -> String {
    encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn notification() -> Value {
    json!({"meeting_id": MEETING_ID, "record_id": RECORD_ID})
}

/// A token with any header, signed by HMAC-SHA256 with `secret` whatever the header says.
fn hand_made(header: &Value, claims: &Value, secret: Option<&str>) -> String {
    let encoded = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let message = format!("{}.{}", encoded(header), encoded(claims));
    let signature = secret.map_or_else(String::new, |secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(message.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    });
    format!("{message}.{signature}")
}

fn expected() -> RecordingReady {
    RecordingReady { meeting_id: MEETING_ID.to_owned(), record_id: RECORD_ID.to_owned() }
}

#[test]
fn a_token_computed_independently_is_accepted() {
    let token: String = INDEPENDENT_TOKEN.split_whitespace().collect();

    assert_eq!(verify_recording_ready(&token, SECRET, NOW), Ok(expected()));
}

#[test]
fn every_accepted_algorithm_verifies() {
    for algorithm in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let token = signed(algorithm, &notification(), SECRET);

        assert_eq!(verify_recording_ready(&token, SECRET, NOW), Ok(expected()), "{algorithm:?}");
    }
}

#[test]
fn time_claims_are_honoured_with_a_small_leeway() {
    let with = |extra: Value| {
        let mut claims = notification();
        claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        verify_recording_ready(&signed(Algorithm::HS256, &claims, SECRET), SECRET, NOW)
    };
    let cases = [
        (json!({"exp": NOW - 3600}), false, "expired an hour ago"),
        (json!({"exp": NOW - 10}), true, "expired within the leeway"),
        (json!({"exp": NOW + 60, "iat": NOW}), true, "valid for a minute"),
        (json!({"exp": (NOW - 3600) as f64 + 0.5}), false, "expired, as a fractional number"),
        (json!({"nbf": NOW + 3600}), false, "valid in an hour"),
        (json!({"nbf": NOW + 10}), true, "valid soon, within the leeway"),
    ];

    for (extra, accepted, case) in cases {
        let outcome = with(extra);

        assert_eq!(outcome.is_ok(), accepted, "{case}: {outcome:?}");
        if !accepted {
            assert!(matches!(outcome, Err(RecordingReadyError::Refused(_))), "{case}: {outcome:?}");
        }
    }
}

#[test]
fn a_tampered_token_is_refused() {
    let token = signed(Algorithm::HS256, &notification(), SECRET);
    let [header, _, signature]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let other = json!({"meeting_id": MEETING_ID, "record_id": "another-record"});
    let swapped = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(other.to_string()));
    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };

    for forged in [swapped, String::from_utf8(flipped).unwrap()] {
        let outcome = verify_recording_ready(&forged, SECRET, NOW);

        assert!(matches!(outcome, Err(RecordingReadyError::Refused(_))), "{forged}: {outcome:?}");
    }
}

#[test]
fn a_foreign_secret_is_refused() {
    let token = signed(Algorithm::HS256, &notification(), "another-bbb-secret");

    let outcome = verify_recording_ready(&token, SECRET, NOW);

    assert!(matches!(outcome, Err(RecordingReadyError::Refused(_))), "{outcome:?}");
}

#[test]
fn other_algorithms_are_refused_whatever_the_signature() {
    let cases = [
        (hand_made(&json!({"alg": "none", "typ": "JWT"}), &notification(), None), "alg none, no signature"),
        (hand_made(&json!({"alg": "none"}), &notification(), Some(SECRET)), "alg none, signed"),
        (hand_made(&json!({"alg": "RS256"}), &notification(), Some(SECRET)), "RS256 header, HMAC signature"),
        (hand_made(&json!({"alg": "ES256"}), &notification(), Some(SECRET)), "ES256 header, HMAC signature"),
        (hand_made(&json!({"alg": "hs256"}), &notification(), Some(SECRET)), "algorithm in lower case"),
        (hand_made(&json!({}), &notification(), Some(SECRET)), "no algorithm"),
    ];

    for (token, case) in cases {
        let outcome = verify_recording_ready(&token, SECRET, NOW);

        assert!(matches!(outcome, Err(RecordingReadyError::Refused(_))), "{case}: {outcome:?}");
    }
    let control = hand_made(&json!({"alg": "HS256", "typ": "JWT"}), &notification(), Some(SECRET));
    assert_eq!(verify_recording_ready(&control, SECRET, NOW), Ok(expected()), "the same, with HS256, passes");
}

#[test]
fn garbage_is_refused() {
    let valid = signed(Algorithm::HS256, &notification(), SECRET);
    let cases = [
        String::new(),
        "garbage".to_owned(),
        "a.b.c".to_owned(),
        "...".to_owned(),
        format!("{valid}.extra"),
        valid.replace('.', ""),
        "\u{0}.\u{0}.\u{0}".to_owned(),
        "é".repeat(10_000),
    ];

    for token in cases {
        let outcome = verify_recording_ready(&token, SECRET, NOW);

        assert!(matches!(outcome, Err(RecordingReadyError::Refused(_))), "{token:.40}: {outcome:?}");
    }
}

#[test]
fn a_well_signed_token_without_the_claims_is_malformed_not_forged() {
    let cases = [
        (json!({"meeting_id": MEETING_ID}), "no record_id"),
        (json!({"record_id": RECORD_ID}), "no meeting_id"),
        (json!({"meeting_id": 12, "record_id": RECORD_ID}), "a number"),
        (json!({"meeting_id": MEETING_ID, "record_id": ""}), "an empty record_id"),
        (json!({"meeting_id": MEETING_ID, "record_id": "a b"}), "a space"),
        (json!({"meeting_id": MEETING_ID, "record_id": "a\u{0}"}), "U+0000"),
        (json!({"meeting_id": MEETING_ID, "record_id": "x".repeat(257)}), "too long"),
        (json!({"meeting_id": MEETING_ID, "record_id": RECORD_ID, "exp": "tomorrow"}), "a text exp"),
    ];

    for (claims, case) in cases {
        let outcome = verify_recording_ready(&signed(Algorithm::HS256, &claims, SECRET), SECRET, NOW);

        assert!(matches!(outcome, Err(RecordingReadyError::Claims(_))), "{case}: {outcome:?}");
    }
}
