//! BBB request checksums: `hex(H(action + query + secret))` for the four hashes BBB accepts,
//! and the algorithm-by-length rule the server applies when it verifies one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// A hash function BBB accepts for its API checksum (reference §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumAlgorithm {
    Sha1,
    #[default]
    Sha256,
    Sha384,
    Sha512,
}

impl ChecksumAlgorithm {
    pub const ALL: [ChecksumAlgorithm; 4] = [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512];

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Number of hex digits of a checksum made with this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Sha1 => 40,
            Self::Sha256 => 64,
            Self::Sha384 => 96,
            Self::Sha512 => 128,
        }
    }

    /// The algorithm a BBB server infers from the length of a submitted checksum.
    pub fn from_hex_len(len: usize) -> Option<Self> {
        Self::ALL.into_iter().find(|algo| algo.hex_len() == len)
    }

    /// Lower-case hex digest of `input` with this algorithm.
    pub fn hex_digest(self, input: &[u8]) -> String {
        match self {
            Self::Sha1 => hex::encode(Sha1::digest(input)),
            Self::Sha256 => hex::encode(Sha256::digest(input)),
            Self::Sha384 => hex::encode(Sha384::digest(input)),
            Self::Sha512 => hex::encode(Sha512::digest(input)),
        }
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown checksum algorithm {0:?} (expected sha1, sha256, sha384 or sha512)")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for ChecksumAlgorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|algo| algo.name() == s).ok_or_else(|| UnknownAlgorithm(s.to_owned()))
    }
}

/// The checksum of one API call: `query` must be exactly the bytes sent between `?` and
/// `&checksum=` (empty for a call without parameters).
pub fn checksum(algorithm: ChecksumAlgorithm, action: &str, query: &str, secret: &str) -> String {
    let mut input = Vec::with_capacity(action.len() + query.len() + secret.len());
    input.extend_from_slice(action.as_bytes());
    input.extend_from_slice(query.as_bytes());
    input.extend_from_slice(secret.as_bytes());
    algorithm.hex_digest(&input)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS_SECRET: &str = "639259d4-9dd8-4b25-bf01-95f9567eaf4b";
    const DOCS_QUERY: &str = "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444";

    #[test]
    fn published_test_vectors_match() {
        let cases = [
            (ChecksumAlgorithm::Sha1, "create", DOCS_QUERY, DOCS_SECRET, "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17"),
            (ChecksumAlgorithm::Sha1, "join", "param1=value1&param2=value2", "1234567890abcdefghijkl", "67882ae54f49600f56f358c10d24697ef7d8c6b2"),
            (ChecksumAlgorithm::Sha1, "join", "param2=value2&param1=value1", "1234567890abcdefghijkl", "85a54e28e4ec18bfdcb214a73f74d35b09a84176"),
            (ChecksumAlgorithm::Sha1, "join", "fullName=User+4621018&isBreakout=true&meetingID=random-1853792&password=mp&redirect=true", "a820d30da2db356124fce5bd5d8054b4", "6baef866df491ae82df992eb14f7f8511d5b77f3"),
            (ChecksumAlgorithm::Sha256, "join", "fullName=User+4621018&isBreakout=true&meetingID=random-1853792&password=mp&redirect=true", "a820d30da2db356124fce5bd5d8054b4", "3c66f806931eaf4cc43b9d3a72c3b35fcdc66e3ff4c76c3d1ca8ac68057882e0"),
            (ChecksumAlgorithm::Sha256, "create", DOCS_QUERY, DOCS_SECRET, "da9185f7f333cfdfcd6eeac32dca3777510c4c436020d8b887ba5515bd1d189e"),
            (ChecksumAlgorithm::Sha384, "create", DOCS_QUERY, DOCS_SECRET, "891ac633df39d0a1b4f8d597f3e190833216c4b29c4fb51ea3ca72757eeb958d6e7b49a845cf29f5c6019c7d29d029d1"),
            (ChecksumAlgorithm::Sha512, "create", DOCS_QUERY, DOCS_SECRET, "de73ad61d11a5c801b68d4bd6ec5248546085cefb0b25c85f3c46249ea93a3a4b120f92c0a8a58d7512cb77821884951a3b01245f3435dbbef49fff3cc3988b4"),
            (ChecksumAlgorithm::Sha1, "getMeetings", "", DOCS_SECRET, "2027baa7771026e9e93392f55031535d1444c41f"),
            (ChecksumAlgorithm::Sha256, "getMeetings", "", DOCS_SECRET, "a5370c5f3d97d56d53b435684cdbc429c2898a3bf9f435518b4279e1e0dbfc8c"),
        ];

        for (algorithm, action, query, secret, expected) in cases {
            assert_eq!(checksum(algorithm, action, query, secret), expected, "{algorithm} {action} {query}");
        }
    }

    #[test]
    fn algorithm_is_recognised_by_checksum_length() {
        for algorithm in ChecksumAlgorithm::ALL {
            let hex = checksum(algorithm, "create", "", "s");
            assert_eq!(ChecksumAlgorithm::from_hex_len(hex.len()), Some(algorithm));
        }
        assert_eq!(ChecksumAlgorithm::from_hex_len(63), None);
    }

    #[test]
    fn algorithm_names_parse_and_unknown_ones_are_refused() {
        assert_eq!("sha384".parse::<ChecksumAlgorithm>().unwrap(), ChecksumAlgorithm::Sha384);
        assert!("md5".parse::<ChecksumAlgorithm>().is_err());
        assert!("SHA256".parse::<ChecksumAlgorithm>().is_err());
    }
}
