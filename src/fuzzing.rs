//! The bodies of the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer), kept in the library so that
//! `cargo test` replays their seed inputs through the very same code. Each takes arbitrary bytes
//! and panics only when a property of the parser or encoder under test is broken; an input the
//! code refuses with an error is fine.

use std::sync::LazyLock;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::bbb::{encode_query, signed_url, xml, ChecksumAlgorithm};
use crate::domain::payload::parse_meeting_request;
use crate::http::signature::{sign_query, verify_publik_signature};
use crate::simulator::verify_checksum;

/// A fuzz target's body: arbitrary bytes in, a panic only for a broken property.
pub type Target = fn(&[u8]);

/// Every fuzz target, by the name of its file in `fuzz/fuzz_targets/` and of its seed folder.
pub const TARGETS: [(&str, Target); 6] = [
    ("unflatten", unflatten),
    ("unflatten_work", unflatten_work),
    ("payload", payload),
    ("publik_signature", publik_signature),
    ("bbb_xml", bbb_xml),
    ("checksum", checksum_round_trip),
];

const SIGNING_KEY: &str = "fuzz-signing-key";
static API_BASE: LazyLock<url::Url> =
    LazyLock::new(|| url::Url::parse("http://bbb.invalid/bigbluebutton/api/").expect("a valid URL"));
/// Parameters a Publik client adds itself when signing.
const SIGNATURE_PARAMETERS: [&str; 5] = ["orig", "algo", "timestamp", "nonce", "signature"];

/// Any JSON object through Passerelle's unflattening rules.
pub fn unflatten(data: &[u8]) {
    if let Ok(object) = serde_json::from_slice::<Map<String, Value>>(data) {
        let _ = crate::domain::unflatten::unflatten(object);
    }
}

/// Steps unflatten may take per byte of key (and per key): far above what it takes, far below
/// what a quadratic walk of a deep key would (a 4 KiB key of 2,000 components: ~2,000 per byte).
const UNFLATTEN_STEPS_PER_BYTE: usize = 64;

/// Flat keys built from the bytes, as deep, wide and prefix-sharing as the bytes say, through
/// unflatten: its work must stay linear in the size of the keys.
pub fn unflatten_work(data: &[u8]) {
    let object = flat_keys(data);
    let size: usize = object.keys().map(|key| key.len() + 1).sum::<usize>() + 1;
    let (_, work) = crate::domain::unflatten::unflatten_counting(object);
    assert!(work <= UNFLATTEN_STEPS_PER_BYTE * size, "{work} steps for {size} bytes of keys");
}

/// Each byte extends the current key (a name, an index, a literal `//`, a wide name, many
/// components at once) or ends it; a key may restart from the previous one's prefix.
fn flat_keys(data: &[u8]) -> Map<String, Value> {
    let mut object = Map::new();
    let mut key = String::new();
    let mut previous = String::new();
    for &byte in data {
        let count = usize::from(byte >> 3);
        match byte & 7 {
            0 => {
                object.insert(std::mem::take(&mut key), Value::from(byte));
                continue;
            }
            1 => key.push_str("/a"),
            2 => key.push_str(&format!("/{}", count % 12)),
            3 => key.push_str("//"),
            4 => key.push_str(&format!("/{}", "w".repeat(count * 8))),
            5 => key.push_str(&"/d".repeat(count * 4)),
            6 => key = previous[..previous.len() * count / 32].to_owned(),
            _ => key.push_str(&"/".repeat(count % 5)),
        }
        previous.clone_from(&key);
    }
    object.insert(key, Value::Null);
    object
}

/// Any JSON body through the create payload parser: what it accepts has a name and an id.
pub fn payload(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    if let Ok(request) = parse_meeting_request(body) {
        assert!(!request.name.is_empty(), "accepted without a name");
        assert!(!request.idempotent_id.is_empty(), "accepted without an idempotent_id");
    }
}

/// The input as a raw query through the verifier; then as parameters that we sign, which must
/// verify, and stop verifying once a byte of the signed part changes.
pub fn publik_signature(data: &[u8]) {
    let now = fixed_now();
    let _ = verify_publik_signature(&String::from_utf8_lossy(data), |_| Some(SIGNING_KEY.to_owned()), now);

    let params = pairs(data);
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("orig", "wcs");
    for (name, value) in params.iter().filter(|(name, _)| !SIGNATURE_PARAMETERS.contains(&name.as_str())) {
        query.append_pair(name, value);
    }
    let signed = sign_query(&query.finish(), SIGNING_KEY, "sha256", now, "nonce");
    let verified = verify_publik_signature(&signed, |_| Some(SIGNING_KEY.to_owned()), now);
    assert!(matches!(verified, Ok(Some(_))), "our own signature refused: {verified:?} for {signed}");

    let signed_part = signed.find("&algo=").unwrap_or(0);
    if signed_part > 0 {
        let position = usize::from(data.first().copied().unwrap_or(0)) % signed_part;
        let mut tampered = signed.clone().into_bytes();
        tampered[position] = if tampered[position] == b'a' { b'b' } else { b'a' };
        let tampered = String::from_utf8_lossy(&tampered);
        let verified = verify_publik_signature(&tampered, |_| Some(SIGNING_KEY.to_owned()), now);
        assert!(!matches!(verified, Ok(Some(_))), "a tampered query verified: {tampered}");
    }
}

/// Any text, alone and inside a SUCCESS answer, through the BBB XML parser and its readers.
pub fn bbb_xml(data: &[u8]) {
    let body = String::from_utf8_lossy(data);
    if let Ok(root) = xml::parse(&body) {
        let _ = xml::to_json(&root, &[]);
        let _ = xml::failure(&root);
    }
    let wrapped = format!("<response><returncode>SUCCESS</returncode>{body}</response>");
    if let Ok(root) = xml::parse(&wrapped) {
        let _ = xml::to_json(&root, &["returncode"]);
        let _ = root.text_of("createTime");
    }
}

/// Parameters encoded and signed into a URL as the client does must verify in the simulator (which checks
/// like bbb-web), fail with another secret, and decode back to themselves. Also, the input as
/// a raw query through the simulator's verifier.
pub fn checksum_round_trip(data: &[u8]) {
    let _ = verify_checksum("create", &String::from_utf8_lossy(data), "secret");
    let algorithm =
        ChecksumAlgorithm::ALL[usize::from(data.first().copied().unwrap_or(0)) % ChecksumAlgorithm::ALL.len()];
    let mut params: Vec<(String, String)> = pairs(data).into_iter().filter(|(name, _)| name != "checksum").collect();
    params.sort();
    let query = encode_query(params.iter().map(|(name, value)| (name.as_str(), value.as_str())));
    let url = signed_url(&API_BASE, "create", &query, algorithm, "secret");
    let signed = url.query().unwrap_or_default();

    assert!(verify_checksum("create", signed, "secret").is_ok(), "refused: {signed}");
    assert!(verify_checksum("create", signed, "other secret").is_err(), "accepted a wrong secret: {signed}");
    let decoded: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    assert_eq!(decoded, params);
}

/// Name/value pairs from the bytes: fields separated by NUL, taken two by two.
fn pairs(data: &[u8]) -> Vec<(String, String)> {
    let fields: Vec<String> =
        data.split(|byte| *byte == 0).map(|field| String::from_utf8_lossy(field).into_owned()).collect();
    fields.chunks(2).map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default())).collect()
}

fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().unwrap_or_default()
}
