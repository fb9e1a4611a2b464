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
    let single = |name: &'static str| {
        let mut values = params.iter().filter(|(key, _)| key == name);
        match (values.next(), values.next()) {
            (Some((_, value)), None) => Ok(value.clone()),
            _ => Err(SignatureError::Parameter(name)),
        }
    };
    let (orig, algo, timestamp, signature) =
        (single("orig")?, single("algo")?, single("timestamp")?, single("signature")?);
    let nonce = params.iter().find(|(key, _)| key == "nonce").map(|(_, value)| value.clone());
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

    const VECTORS: [(&str, &str, &str, &str, &str, &str); 3] = [
        (
            "test-shared-secret",
            "orig=wcs.example.net&slug=conf-42",
            "sha256",
            "2024-01-15T10:30:00Z",
            "d2f1c0ffee",
            "&signature=zy%2B60kavqc1Wk2XuI%2BNdi/GS%2B%2BM1WQS3dNqqdX6FAhI%3D",
        ),
        (
            "12345",
            "",
            "sha256",
            "2023-06-01T08:00:00Z",
            "0123456789abcdef0123456789abcdef",
            "&signature=Z6KqXNKLH5q/qWlgUheVl293ms1ZBmK5FVw8jBQgIHc%3D",
        ),
        (
            "s3cr3t",
            "orig=combo.example.org&name=R%C3%A9union+du+conseil",
            "sha1",
            "2025-02-28T23:59:59Z",
            "abc",
            "&signature=pZhzxO9uA8CmKvSGaKhJXMnkTug%3D",
        ),
    ];

    #[test]
    fn the_worked_vectors_sign_exactly() {
        for (key, query, algo, timestamp, nonce, suffix) in VECTORS {
            let signed = sign_query(query, key, algo, at(timestamp), nonce);

            assert!(signed.ends_with(suffix), "{signed}");
        }
    }

    #[test]
    fn the_worked_vectors_verify_with_a_frozen_clock() {
        for (key, query, algo, timestamp, nonce, suffix) in VECTORS {
            let suffix_query = format!("algo={algo}&timestamp={}&nonce={nonce}", timestamp.replace(':', "%3A"));
            let full = if query.is_empty() {
                format!("{suffix_query}{suffix}")
            } else {
                format!("{query}&{suffix_query}{suffix}")
            };
            let with_orig = if query.is_empty() { format!("orig=x&{full}") } else { full };
            let key_for = |_: &str| Some(key.to_owned());

            let result = verify_publik_signature(&with_orig, key_for, at(timestamp) + TimeDelta::seconds(10));

            if query.is_empty() {
                assert_eq!(result, Err(SignatureError::Invalid), "orig was added after signing");
            } else {
                let signed = result.unwrap().unwrap();
                assert_eq!(signed.nonce.as_deref(), Some(nonce));
                assert_eq!(signed.timestamp, at(timestamp));
            }
        }
    }

    fn sample(now: DateTime<Utc>) -> String {
        sign_query("orig=wcs&slug=visio", "key", "sha256", now, "n1")
    }

    /// A signed query whose signature holds a `+` (sent as `%2B`).
    fn with_plus_sign(now: DateTime<Utc>) -> String {
        (0..1000)
            .map(|i| sign_query("orig=wcs", "key", "sha256", now, &i.to_string()))
            .find(|query| query.contains("%2B"))
            .expect("some nonce gives a '+' in the signature")
    }

    #[test]
    fn every_tampering_is_refused() {
        let now = Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap();
        let key_for = |orig: &str| (orig == "wcs").then(|| "key".to_owned());
        let good = sample(now);
        assert!(verify_publik_signature(&good, key_for, now).unwrap().is_some());
        let cases = [
            (good.replace("slug=visio", "slug=other"), SignatureError::Invalid),
            (format!("{good}&extra=1"), SignatureError::AfterSignature),
            (sign_query("orig=wcs", "wrong", "sha256", now, "n"), SignatureError::Invalid),
            (sign_query("orig=nobody", "key", "sha256", now, "n"), SignatureError::UnknownOrig),
            (
                format!("orig=wcs&algo=md5&timestamp={}&signature=abc", now.format("%Y-%m-%dT%H%%3A%M%%3A%SZ")),
                SignatureError::Algorithm("md5".to_owned()),
            ),
            (sample(now - TimeDelta::seconds(31)), SignatureError::TooOld),
            (sample(now + TimeDelta::seconds(31)), SignatureError::InFuture),
            (sign_query("orig=wcs&orig=wcs", "key", "sha256", now, "n"), SignatureError::Parameter("orig")),
            (sign_query("orig=wcs", "key", "sha256", now, &"n".repeat(129)), SignatureError::NonceTooLong),
            (with_plus_sign(now).replace("%2B", "+"), SignatureError::Invalid),
            (format!("signature=abc&{good}"), SignatureError::Parameter("signature")),
            ("orig=wcs&algo=sha256&timestamp=yesterday&signature=abc".to_owned(), SignatureError::TimestampFormat),
        ];
        for (query, expected) in cases {
            let outcome = verify_publik_signature(&query, key_for, now);

            assert_eq!(outcome, Err(expected.clone()), "{query}");
        }
    }

    #[test]
    fn an_unsigned_query_is_not_an_error() {
        let now = Utc::now();

        assert_eq!(verify_publik_signature("apikey=x&orig=wcs", |_| None, now), Ok(None));
        assert_eq!(verify_publik_signature("", |_| None, now), Ok(None));
    }
}
