//! The Publik URL signature: HMAC over the raw query string up to `&signature=`, with `algo`,
//! `timestamp` (±30 s) and `nonce`; verified here, and signed for tests and benchmarks.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};

/// How far a signature timestamp may be from now, either way.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::seconds(30);
const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";
const MAX_NONCE_CHARS: usize = 128;
const SIGNATURE_PARAM: &str = "&signature=";
const SUPPORTED_ALGORITHMS: [&str; 4] = ["sha1", "sha256", "sha384", "sha512"];

/// What a valid signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedQuery {
    pub orig: String,
    pub nonce: Option<String>,
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing or repeated {0} parameter")]
    Parameter(&'static str),
    #[error("unsupported signature algorithm {0:?}")]
    Algorithm(String),
    #[error("invalid orig")]
    UnknownOrig,
    #[error("invalid timestamp format")]
    TimestampFormat,
    #[error("timestamp is more than 30 seconds in the past")]
    TooOld,
    #[error("timestamp is more than 30 seconds in the future")]
    InFuture,
    #[error("parameters after signature are not allowed")]
    AfterSignature,
    #[error("nonce is too long")]
    NonceTooLong,
    #[error("invalid signature")]
    Invalid,
}

/// Verifies the signature of `raw_query` (exactly as received, without `?`). `Ok(None)` when the
/// query carries no signature at all.
pub fn verify_publik_signature(
    raw_query: &str,
    key_for_orig: impl Fn(&str) -> Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<SignedQuery>, SignatureError> {
    let params: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes()).into_owned().collect();
    if !params.iter().any(|(name, _)| name == "signature") {
        return Ok(None);
    }
    let signed_part = signed_part(raw_query)?;
    let single = |name| optional_single(&params, name)?.ok_or(SignatureError::Parameter(name));
    let (orig, algo, timestamp, signature) =
        (single("orig")?, single("algo")?, single("timestamp")?, single("signature")?);
    let nonce = optional_single(&params, "nonce")?;
    if nonce.as_ref().is_some_and(|nonce| nonce.chars().count() > MAX_NONCE_CHARS) {
        return Err(SignatureError::NonceTooLong);
    }
    if !SUPPORTED_ALGORITHMS.contains(&algo.as_str()) {
        return Err(SignatureError::Algorithm(algo));
    }
    let timestamp = check_timestamp(&timestamp, now)?;
    let key = key_for_orig(&orig).ok_or(SignatureError::UnknownOrig)?;
    let presented = STANDARD.decode(signature.as_bytes()).map_err(|_| SignatureError::Invalid)?;
    verify_mac(&algo, key.as_bytes(), signed_part.as_bytes(), &presented)?;
    Ok(Some(SignedQuery { orig, nonce, timestamp }))
}

/// The value of a parameter that may be absent but not repeated.
fn optional_single(params: &[(String, String)], name: &'static str) -> Result<Option<String>, SignatureError> {
    let mut values = params.iter().filter(|(key, _)| key == name).map(|(_, value)| value.clone());
    match (values.next(), values.next()) {
        (value, None) => Ok(value),
        _ => Err(SignatureError::Parameter(name)),
    }
}

/// The raw bytes before the first `&signature=`, which must be the last parameter.
fn signed_part(raw_query: &str) -> Result<&str, SignatureError> {
    let position = raw_query.find(SIGNATURE_PARAM).ok_or(SignatureError::Parameter("signature"))?;
    let after = &raw_query[position + SIGNATURE_PARAM.len()..];
    if after.contains('&') {
        return Err(SignatureError::AfterSignature);
    }
    Ok(&raw_query[..position])
}

fn check_timestamp(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, SignatureError> {
    let timestamp =
        NaiveDateTime::parse_from_str(text, TIMESTAMP_FORMAT).map_err(|_| SignatureError::TimestampFormat)?.and_utc();
    if timestamp < now - MAX_CLOCK_SKEW {
        return Err(SignatureError::TooOld);
    }
    if timestamp > now + MAX_CLOCK_SKEW {
        return Err(SignatureError::InFuture);
    }
    Ok(timestamp)
}

macro_rules! with_hmac {
    ($algo:expr, $key:expr, |$mac:ident| $body:expr) => {
        match $algo {
            "sha1" => {
                let mut $mac = Hmac::<Sha1>::new_from_slice($key).map_err(|_| SignatureError::Invalid)?;
                $body
            }
            "sha256" => {
                let mut $mac = Hmac::<Sha256>::new_from_slice($key).map_err(|_| SignatureError::Invalid)?;
                $body
            }
            "sha384" => {
                let mut $mac = Hmac::<Sha384>::new_from_slice($key).map_err(|_| SignatureError::Invalid)?;
                $body
            }
            "sha512" => {
                let mut $mac = Hmac::<Sha512>::new_from_slice($key).map_err(|_| SignatureError::Invalid)?;
                $body
            }
            other => return Err(SignatureError::Algorithm(other.to_owned())),
        }
    };
}

/// Constant-time check of the HMAC (the `hmac` crate's `verify_slice`).
fn verify_mac(algo: &str, key: &[u8], message: &[u8], presented: &[u8]) -> Result<(), SignatureError> {
    with_hmac!(algo, key, |mac| {
        mac.update(message);
        mac.verify_slice(presented).map_err(|_| SignatureError::Invalid)
    })
}

fn compute_mac(algo: &str, key: &[u8], message: &[u8]) -> Result<Vec<u8>, SignatureError> {
    with_hmac!(algo, key, |mac| {
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    })
}

/// Signs `query` as Publik clients do: appends `algo`, `timestamp`, `nonce`, then `signature`.
/// An unsupported `algo` yields the query unsigned.
pub fn sign_query(query: &str, key: &str, algo: &str, timestamp: DateTime<Utc>, nonce: &str) -> String {
    let suffix = form_urlencoded::Serializer::new(String::new())
        .append_pair("algo", algo)
        .append_pair("timestamp", &timestamp.format(TIMESTAMP_FORMAT).to_string())
        .append_pair("nonce", nonce)
        .finish();
    let signed = if query.is_empty() { suffix } else { format!("{query}&{suffix}") };
    let Ok(mac) = compute_mac(algo, key.as_bytes(), signed.as_bytes()) else { return signed };
    let signature = STANDARD.encode(mac).replace('+', "%2B").replace('=', "%3D");
    format!("{signed}&signature={signature}")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(text, TIMESTAMP_FORMAT).unwrap().and_utc()
    }

    /// key, query before signing, algo, timestamp, nonce, base64 signature, query as sent.
    type Vector = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

    const VECTOR_A: Vector = (
        "test-shared-secret",
        "orig=wcs.example.net&slug=conf-42",
        "sha256",
        "2024-01-15T10:30:00Z",
        "d2f1c0ffee",
        "zy+60kavqc1Wk2XuI+Ndi/GS++M1WQS3dNqqdX6FAhI=",
        "orig=wcs.example.net&slug=conf-42&algo=sha256&timestamp=2024-01-15T10%3A30%3A00Z&nonce=d2f1c0ffee\
         &signature=zy%2B60kavqc1Wk2XuI%2BNdi/GS%2B%2BM1WQS3dNqqdX6FAhI%3D",
    );
    const VECTOR_B: Vector = (
        "12345",
        "",
        "sha256",
        "2023-06-01T08:00:00Z",
        "0123456789abcdef0123456789abcdef",
        "Z6KqXNKLH5q/qWlgUheVl293ms1ZBmK5FVw8jBQgIHc=",
        "algo=sha256&timestamp=2023-06-01T08%3A00%3A00Z&nonce=0123456789abcdef0123456789abcdef\
         &signature=Z6KqXNKLH5q/qWlgUheVl293ms1ZBmK5FVw8jBQgIHc%3D",
    );
    const VECTOR_C: Vector = (
        "s3cr3t",
        "orig=combo.example.org&name=R%C3%A9union+du+conseil",
        "sha1",
        "2025-02-28T23:59:59Z",
        "abc",
        "pZhzxO9uA8CmKvSGaKhJXMnkTug=",
        "orig=combo.example.org&name=R%C3%A9union+du+conseil&algo=sha1&timestamp=2025-02-28T23%3A59%3A59Z&nonce=abc\
         &signature=pZhzxO9uA8CmKvSGaKhJXMnkTug%3D",
    );

    #[test]
    fn signing_reproduces_the_worked_vectors_exactly() {
        for (key, query, algo, timestamp, nonce, _, sent) in [VECTOR_A, VECTOR_B, VECTOR_C] {
            assert_eq!(sign_query(query, key, algo, at(timestamp), nonce), sent);
        }
    }

    #[test]
    fn the_worked_vectors_verify_with_a_frozen_clock() {
        for ((key, _, _, timestamp, nonce, _, sent), orig) in
            [(VECTOR_A, "wcs.example.net"), (VECTOR_C, "combo.example.org")]
        {
            let key_for = |asked: &str| (asked == orig).then(|| key.to_owned());

            let verified = verify_publik_signature(sent, key_for, at(timestamp) + TimeDelta::seconds(5));

            let expected =
                SignedQuery { orig: orig.to_owned(), nonce: Some(nonce.to_owned()), timestamp: at(timestamp) };
            assert_eq!(verified, Ok(Some(expected)));
        }
    }

    #[test]
    fn vector_b_has_a_valid_mac_but_no_orig_to_find_its_key() {
        let (key, _, algo, timestamp, _, base64, sent) = VECTOR_B;
        let signed_part = sent.split("&signature=").next().unwrap();

        assert_eq!(verify_mac(algo, key.as_bytes(), signed_part.as_bytes(), &STANDARD.decode(base64).unwrap()), Ok(()));
        let outcome = verify_publik_signature(sent, |_| Some(key.to_owned()), at(timestamp));
        assert_eq!(outcome, Err(SignatureError::Parameter("orig")));
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap()
    }

    fn key_for(orig: &str) -> Option<String> {
        (orig == "wcs").then(|| "key".to_owned())
    }

    fn sample(timestamp: DateTime<Utc>) -> String {
        sign_query("orig=wcs&slug=visio", "key", "sha256", timestamp, "n1")
    }

    fn refusal(query: &str) -> SignatureError {
        verify_publik_signature(query, key_for, now()).unwrap_err()
    }

    #[test]
    fn every_supported_algorithm_verifies() {
        for algo in SUPPORTED_ALGORITHMS {
            let query = sign_query("orig=wcs", "key", algo, now(), "n");

            assert!(verify_publik_signature(&query, key_for, now()).unwrap().is_some(), "{algo}");
        }
    }

    #[test]
    fn a_tampered_query_is_refused() {
        assert_eq!(refusal(&sample(now()).replace("slug=visio", "slug=other")), SignatureError::Invalid);
        assert_eq!(refusal(&sample(now()).replace("nonce=n1", "nonce=n2")), SignatureError::Invalid);
        assert_eq!(refusal(&sign_query("orig=wcs", "wrong", "sha256", now(), "n")), SignatureError::Invalid);
        assert_eq!(refusal(&format!("{}A", sample(now()))), SignatureError::Invalid);
        assert_eq!(
            refusal("orig=wcs&algo=sha256&timestamp=2024-01-01T12%3A00%3A00Z&signature=%%%"),
            SignatureError::Invalid
        );
    }

    #[test]
    fn a_plus_in_the_signature_must_be_sent_as_percent_2b() {
        let encoded = (0..1000)
            .map(|i| sign_query("orig=wcs", "key", "sha256", now(), &i.to_string()))
            .find(|query| query.contains("%2B"))
            .unwrap();
        assert!(verify_publik_signature(&encoded, key_for, now()).unwrap().is_some());

        assert_eq!(refusal(&encoded.replace("%2B", "+")), SignatureError::Invalid);
    }

    #[test]
    fn parameters_after_the_signature_are_refused() {
        let good = sample(now());

        assert_eq!(refusal(&format!("{good}&extra=1")), SignatureError::AfterSignature);
        assert_eq!(refusal(&format!("{good}&signature=abc")), SignatureError::AfterSignature);
        let signature = good.split("&signature=").nth(1).unwrap();
        assert_eq!(refusal(&format!("{good}&signature={signature}")), SignatureError::AfterSignature);
    }

    #[test]
    fn a_signature_in_first_position_is_refused() {
        assert_eq!(refusal(&format!("signature=abc&{}", sample(now()))), SignatureError::Parameter("signature"));
        assert_eq!(refusal("signature=abc"), SignatureError::Parameter("signature"));
    }

    #[test]
    fn missing_or_repeated_parameters_are_refused() {
        let ts = "timestamp=2024-01-01T12%3A00%3A00Z";
        let cases = [
            (format!("algo=sha256&{ts}&signature=abc"), "orig"),
            (format!("orig=wcs&{ts}&signature=abc"), "algo"),
            ("orig=wcs&algo=sha256&signature=abc".to_owned(), "timestamp"),
            (sign_query("orig=wcs&orig=wcs", "key", "sha256", now(), "n"), "orig"),
            (sign_query("orig=wcs&algo=sha256", "key", "sha256", now(), "n"), "algo"),
            (sign_query(&format!("orig=wcs&{ts}"), "key", "sha256", now(), "n"), "timestamp"),
            (sign_query("orig=wcs&nonce=m", "key", "sha256", now(), "n"), "nonce"),
        ];
        for (query, name) in cases {
            assert_eq!(refusal(&query), SignatureError::Parameter(name), "{query}");
        }
        assert_eq!(SignatureError::Parameter("orig").to_string(), "missing or repeated orig parameter");
    }

    #[test]
    fn an_unknown_orig_is_refused() {
        assert_eq!(refusal(&sign_query("orig=nobody", "key", "sha256", now(), "n")), SignatureError::UnknownOrig);
    }

    #[test]
    fn only_the_sha_family_is_accepted() {
        for algo in ["md5", "sha224", "SHA256", "blake2b", ""] {
            let query = format!("orig=wcs&algo={algo}&timestamp=2024-01-01T12%3A00%3A00Z&signature=abc");

            assert_eq!(refusal(&query), SignatureError::Algorithm(algo.to_owned()));
        }
    }

    #[test]
    fn timestamps_are_accepted_within_30_seconds_either_way() {
        let thirty = TimeDelta::seconds(30);
        assert!(verify_publik_signature(&sample(now() - thirty), key_for, now()).unwrap().is_some());
        assert!(verify_publik_signature(&sample(now() + thirty), key_for, now()).unwrap().is_some());

        assert_eq!(refusal(&sample(now() - TimeDelta::seconds(31))), SignatureError::TooOld);
        assert_eq!(refusal(&sample(now() + TimeDelta::seconds(31))), SignatureError::InFuture);
        assert_eq!(SignatureError::TooOld.to_string(), "timestamp is more than 30 seconds in the past");
    }

    #[test]
    fn a_malformed_timestamp_is_refused() {
        for timestamp in
            ["yesterday", "2024-01-01T12%3A00%3A00", "2024-01-01+12%3A00%3A00Z", "2024-01-01T12%3A00%3A00.5Z"]
        {
            let query = format!("orig=wcs&algo=sha256&timestamp={timestamp}&signature=abc");

            assert_eq!(refusal(&query), SignatureError::TimestampFormat, "{timestamp}");
        }
    }

    #[test]
    fn the_nonce_is_optional_and_at_most_128_characters() {
        let long = "n".repeat(128);
        let verified = verify_publik_signature(&sign_query("orig=wcs", "key", "sha256", now(), &long), key_for, now());
        assert_eq!(verified.unwrap().unwrap().nonce, Some(long));

        let no_nonce = "orig=wcs&algo=sha256&timestamp=2024-01-01T12%3A00%3A00Z";
        let signature = STANDARD.encode(compute_mac("sha256", b"key", no_nonce.as_bytes()).unwrap());
        let query = format!("{no_nonce}&signature={}", signature.replace('+', "%2B").replace('=', "%3D"));
        assert_eq!(verify_publik_signature(&query, key_for, now()).unwrap().unwrap().nonce, None);

        let too_long = sign_query("orig=wcs", "key", "sha256", now(), &"n".repeat(129));
        assert_eq!(refusal(&too_long), SignatureError::NonceTooLong);
    }

    #[test]
    fn an_unsigned_query_is_not_an_error() {
        assert_eq!(verify_publik_signature("apikey=x&orig=wcs", |_| None, now()), Ok(None));
        assert_eq!(verify_publik_signature("", |_| None, now()), Ok(None));
        assert_eq!(verify_publik_signature("orig=wcs&signatures=x", |_| None, now()), Ok(None));
    }
}
