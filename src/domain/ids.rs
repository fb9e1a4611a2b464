//! Identifiers that travel in URLs: connector slugs, rendezvous guids, join keys and roles.
//! Each is validated before it reaches the database.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use subtle::ConstantTimeEq;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidId(pub &'static str);

/// A rendezvous guid; also the BBB meetingID, in its 32-hex form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(Uuid);

impl Guid {
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for Guid {
    fn from(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl FromStr for Guid {
    type Err = InvalidId;

    /// Accepts the 32-hex form and the hyphenated UUID form, nothing else.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let well_formed = match s.len() {
            32 => s.bytes().all(|b| b.is_ascii_hexdigit()),
            36 => Uuid::try_parse(s).is_ok(),
            _ => false,
        };
        if !well_formed {
            return Err(InvalidId("guid must be 32 hexadecimal digits"));
        }
        Uuid::try_parse(s).map(Self).map_err(|_| InvalidId("guid must be 32 hexadecimal digits"))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.simple())
    }
}

/// The slug of a configured connector: lower-case letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

impl Slug {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Slug {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        if s.is_empty() || s.len() > 64 || !s.chars().all(valid_char) {
            return Err(InvalidId("slug must be 1 to 64 characters among a-z, 0-9, '-' and '_'"));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who follows a join link: the agent joins BBB as moderator, the user as viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinRole {
    Agent,
    User,
}

impl JoinRole {
    /// The path segment of the join and page URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::User => "user",
        }
    }

    /// The `role` parameter of BBB `join`.
    pub fn bbb_role(self) -> &'static str {
        match self {
            Self::Agent => "MODERATOR",
            Self::User => "VIEWER",
        }
    }
}

impl FromStr for JoinRole {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "agent" => Ok(Self::Agent),
            "user" => Ok(Self::User),
            _ => Err(InvalidId("role must be agent or user")),
        }
    }
}

/// An unguessable join key (128 random bits, lower-case hex), compared in constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinKey(String);

impl JoinKey {
    const GENERATED_BYTES: usize = 16;

    pub fn generate() -> Self {
        Self(random_hex(Self::GENERATED_BYTES))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a key presented in a URL.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl FromStr for JoinKey {
    type Err = InvalidId;

    /// At least 64 bits: 16 to 128 lower-case hex digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower_hex = s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !(16..=128).contains(&s.len()) || !lower_hex {
            return Err(InvalidId("join key must be 16 to 128 lower-case hexadecimal digits"));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for JoinKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JoinKey(..)")
    }
}

/// `bytes` random bytes from the OS-seeded generator, as lower-case hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_accepts_simple_and_hyphenated_forms_and_prints_simple() {
        let simple: Guid = "6f1c0f5e2d8a4c3b9e7d1a2b3c4d5e6f".parse().unwrap();
        let hyphenated: Guid = "6f1c0f5e-2d8a-4c3b-9e7d-1a2b3c4d5e6f".parse().unwrap();

        assert_eq!(simple, hyphenated);
        assert_eq!(hyphenated.to_string(), "6f1c0f5e2d8a4c3b9e7d1a2b3c4d5e6f");
    }

    #[test]
    fn guid_refuses_other_forms() {
        for bad in [
            "",
            "xyz",
            "6f1c0f5e2d8a4c3b9e7d1a2b3c4d5e6",
            "{6f1c0f5e-2d8a-4c3b-9e7d-1a2b3c4d5e6f}",
            "urn:uuid:6f1c0f5e-2d8a-4c3b-9e7d-1a2b3c4d5e6f",
            "6f1c0f5e2d8a4c3b9e7d1a2b3c4d5e6g",
        ] {
            assert!(bad.parse::<Guid>().is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn join_keys_are_long_distinct_lower_hex_and_compare_exactly() {
        let a = JoinKey::generate();
        let b = JoinKey::generate();

        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().parse::<JoinKey>().is_ok());
        assert!(a.matches(a.as_str()));
        assert!(!a.matches(b.as_str()));
        assert!(!a.matches(&a.as_str()[..31]));
        assert!("ABCDEF0123456789".parse::<JoinKey>().is_err());
        assert!("abc".parse::<JoinKey>().is_err());
    }

    #[test]
    fn slugs_are_validated() {
        assert!("visio".parse::<Slug>().is_ok());
        assert!("visio-rdv_2".parse::<Slug>().is_ok());
        for bad in ["", "Visio", "a/b", "..", "a b", "é"] {
            assert!(bad.parse::<Slug>().is_err(), "{bad:?} should be refused");
        }
    }
}
