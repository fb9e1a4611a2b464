//! The service configuration: TOML file plus `BBB_CONNECTOR_*` environment overrides (DESIGN
//! §2–3), validated at load so a mistake stops the process with a message naming the key.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::error::Actual;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::bbb::{normalize_base_url, ChecksumAlgorithm};
use crate::domain::Slug;

/// Environment variable naming the configuration file when `--config` is absent.
pub const CONFIG_ENV: &str = "BBB_CONNECTOR_CONFIG";
/// The file looked up in the working directory when neither `--config` nor the variable is set.
pub const DEFAULT_CONFIG_FILE: &str = "bbb-connector.toml";
const ENV_PREFIX: &str = "BBB_CONNECTOR_";
/// Top-level text settings that an environment variable may override, taken verbatim (a secret
/// key of digits stays text).
const ENV_TEXT_KEYS: [&str; 5] = ["listen", "database_url", "public_url", "secret_key", "log_format"];
/// Top-level numeric and boolean settings that an environment variable may override.
const ENV_NUMBER_KEYS: [&str; 2] = ["database_max_connections", "metrics"];

/// An access-list entry that opens a connector to callers without credentials.
pub const ACCESS_ANONYMOUS: &str = "anonymous";
/// An access-list entry that grants every configured api user.
pub const ACCESS_ANY_API_USER: &str = "*";

/// The whole configuration. Every key but the connectors' `bbb_url` and `shared_secret` is
/// optional: its default is written once, in the `Default` implementations below.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "test-util", derive(serde::Serialize))]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    pub database_max_connections: u32,
    pub public_url: Option<Url>,
    #[cfg_attr(feature = "test-util", serde(serialize_with = "written_out"))]
    pub secret_key: Option<SecretString>,
    /// A file holding `secret_key` (read at load, trimmed).
    pub secret_key_file: Option<PathBuf>,
    pub log_format: LogFormat,
    pub connectors: BTreeMap<String, ConnectorConfig>,
    pub api_users: Vec<ApiUser>,
    /// Host values accepted when URLs are built from the request; `*` accepts any.
    pub allowed_hosts: Vec<String>,
    /// Peers whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    pub limits: Limits,
    /// Api users allowed on `/metrics` from a client address that is not loopback.
    pub metrics_access: Vec<String>,
    /// `/metrics` and its request counters; off, it answers 404 and nothing is measured.
    pub metrics: bool,
    /// The organisation's name, logo and colour on the pages.
    pub branding: Branding,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_owned(),
            database_url: "sqlite://bbb-connector.db".to_owned(),
            database_max_connections: 10,
            public_url: None,
            secret_key: None,
            secret_key_file: None,
            log_format: LogFormat::default(),
            connectors: BTreeMap::new(),
            api_users: Vec::new(),
            allowed_hosts: vec![ANY_HOST.to_owned()],
            trusted_proxies: ["127.0.0.0/8", "::1/128"].iter().filter_map(|net| net.parse().ok()).collect(),
            limits: Limits::default(),
            metrics_access: Vec::new(),
            metrics: true,
            branding: Branding::default(),
        }
    }
}

/// The `[limits]` table: what one client may hold or ask (DESIGN §3, §7).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "test-util", derive(serde::Serialize))]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub header_read_timeout_seconds: u64,
    pub request_timeout_seconds: u64,
    pub max_connections: usize,
    pub open_requests_per_second: u32,
    pub open_burst: u32,
    /// Events streams one client address may hold open at once.
    pub event_streams_per_client: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout_seconds: 10,
            request_timeout_seconds: 30,
            max_connections: 10_000,
            open_requests_per_second: 20,
            open_burst: 60,
            event_streams_per_client: 20,
        }
    }
}

impl Limits {
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let at_least_one = [
            ("header_read_timeout_seconds", self.header_read_timeout_seconds),
            ("request_timeout_seconds", self.request_timeout_seconds),
            ("max_connections", self.max_connections as u64),
            ("open_requests_per_second", u64::from(self.open_requests_per_second)),
            ("open_burst", u64::from(self.open_burst)),
            ("event_streams_per_client", u64::from(self.event_streams_per_client)),
        ];
        match at_least_one.into_iter().find(|(_, value)| *value == 0) {
            Some((key, _)) => Err(ConfigError::new(format!("limits.{key}"), "must be at least 1")),
            None => Ok(()),
        }
    }
}

/// The `allowed_hosts` entry that accepts any Host.
pub const ANY_HOST: &str = "*";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "test-util", derive(serde::Serialize))]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "test-util", derive(serde::Serialize))]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    #[serde(default)]
    pub title: String,
    /// The BBB API base, normalised at load (`…/bigbluebutton/api/`): a URL that cannot be one
    /// is refused there, naming this key.
    #[serde(deserialize_with = "bbb_api_base")]
    pub bbb_url: Url,
    /// Required, here or through `shared_secret_file`.
    #[serde(default = "no_secret")]
    #[cfg_attr(feature = "test-util", serde(serialize_with = "written_out"))]
    pub shared_secret: SecretString,
    /// A file holding `shared_secret` (read at load, trimmed).
    #[serde(default)]
    pub shared_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub checksum_algorithm: ChecksumAlgorithm,
    #[serde(default = "ConnectorDefaults::timeout_seconds")]
    pub timeout_seconds: u64,
    #[serde(default = "ConnectorDefaults::is_running_cache_seconds")]
    pub is_running_cache_seconds: u64,
    /// Above this many rendezvous checked within a cache period, one getMeetings per period
    /// answers them all (0: never).
    #[serde(default = "ConnectorDefaults::is_running_batch_threshold")]
    pub is_running_batch_threshold: u32,
    #[serde(default = "ConnectorDefaults::agent_full_name")]
    pub default_agent_full_name: String,
    #[serde(default = "ConnectorDefaults::user_full_name")]
    pub default_user_full_name: String,
    #[serde(default)]
    pub access: Vec<String>,
}

/// The defaults of a connector's optional keys, for the file and for [`ConnectorConfig::new`].
struct ConnectorDefaults;

impl ConnectorDefaults {
    fn timeout_seconds() -> u64 {
        10
    }
    fn is_running_cache_seconds() -> u64 {
        3
    }
    fn is_running_batch_threshold() -> u32 {
        20
    }
    fn agent_full_name() -> String {
        "Agent".to_owned()
    }
    fn user_full_name() -> String {
        "Usager".to_owned()
    }
}

impl ConnectorConfig {
    /// A connector of the BBB server at `bbb_url` (normalised as at load) signed with
    /// `shared_secret`, every other key at its default.
    pub fn new(bbb_url: &str, shared_secret: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            title: String::new(),
            bbb_url: normalize_base_url(bbb_url).map_err(|err| ConfigError::new("bbb_url", err.to_string()))?,
            shared_secret: SecretString::from(shared_secret),
            shared_secret_file: None,
            checksum_algorithm: ChecksumAlgorithm::default(),
            timeout_seconds: ConnectorDefaults::timeout_seconds(),
            is_running_cache_seconds: ConnectorDefaults::is_running_cache_seconds(),
            is_running_batch_threshold: ConnectorDefaults::is_running_batch_threshold(),
            default_agent_full_name: ConnectorDefaults::agent_full_name(),
            default_user_full_name: ConnectorDefaults::user_full_name(),
            access: Vec::new(),
        })
    }

    /// The same, open to the callers of `access` (api user names, `anonymous` or `*`).
    pub fn with_access(mut self, access: &[&str]) -> Self {
        self.access = access.iter().map(|entry| (*entry).to_owned()).collect();
        self
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }

    pub fn is_running_cache(&self) -> Duration {
        Duration::from_secs(self.is_running_cache_seconds)
    }

    pub fn allows_anonymous(&self) -> bool {
        self.access.iter().any(|entry| entry == ACCESS_ANONYMOUS)
    }

    pub fn allows_api_user(&self, name: &str) -> bool {
        self.access.iter().any(|entry| entry == ACCESS_ANY_API_USER || entry == name)
    }
}

/// A caller identity of the `[[api_users]]` table.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "test-util", derive(serde::Serialize))]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ApiUser {
    /// Publik signed URLs; `name` is the expected `orig`.
    Signature {
        name: String,
        #[serde(default = "no_secret")]
        #[cfg_attr(feature = "test-util", serde(serialize_with = "written_out"))]
        key: SecretString,
        #[serde(default)]
        key_file: Option<PathBuf>,
    },
    /// `?apikey=KEY`.
    Apikey {
        name: String,
        #[serde(default = "no_secret")]
        #[cfg_attr(feature = "test-util", serde(serialize_with = "written_out"))]
        key: SecretString,
        #[serde(default)]
        key_file: Option<PathBuf>,
    },
    /// HTTP Basic.
    Basic {
        name: String,
        username: String,
        #[serde(default = "no_secret")]
        #[cfg_attr(feature = "test-util", serde(serialize_with = "written_out"))]
        password: SecretString,
        #[serde(default)]
        password_file: Option<PathBuf>,
    },
}

impl ApiUser {
    /// A signature user (Publik's `orig`) with its signing key.
    pub fn signature(name: &str, key: &str) -> Self {
        Self::Signature { name: name.to_owned(), key: key.into(), key_file: None }
    }

    /// An `?apikey=` user.
    pub fn apikey(name: &str, key: &str) -> Self {
        Self::Apikey { name: name.to_owned(), key: key.into(), key_file: None }
    }

    /// An HTTP Basic user.
    pub fn basic(name: &str, username: &str, password: &str) -> Self {
        Self::Basic {
            name: name.to_owned(),
            username: username.to_owned(),
            password: password.into(),
            password_file: None,
        }
    }

    /// The secret and the file it may be read from, with the name of the secret's key.
    fn secret_and_file(&mut self) -> (&'static str, &mut SecretString, &mut Option<PathBuf>) {
        match self {
            Self::Signature { key, key_file, .. } | Self::Apikey { key, key_file, .. } => ("key", key, key_file),
            Self::Basic { password, password_file, .. } => ("password", password, password_file),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Signature { name, .. } | Self::Apikey { name, .. } | Self::Basic { name, .. } => name,
        }
    }
}

/// Where the service listens unless told otherwise (`listen`, `demo --listen`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// A configuration mistake: the key it concerns and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {key}: {problem}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { key: key.into(), problem: problem.into() }
    }
}

/// The file to read: `--config`, else `$BBB_CONNECTOR_CONFIG`, else `./bbb-connector.toml` if it
/// exists, else none (built-in defaults).
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_owned());
    }
    if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|value| !value.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let local = PathBuf::from(DEFAULT_CONFIG_FILE);
    local.is_file().then_some(local)
}

impl Config {
    /// Loads `path` (if any), applies the environment overrides, and validates.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            if !path.is_file() {
                return Err(ConfigError::new("--config", format!("file {} not found", path.display())));
            }
            figment = figment.merge(Toml::file(path));
        }
        let texts: BTreeMap<&str, String> = ENV_TEXT_KEYS
            .into_iter()
            .filter_map(|key| {
                std::env::var(format!("{ENV_PREFIX}{}", key.to_uppercase())).ok().map(|value| (key, value))
            })
            .collect();
        let secret_key_from_env = texts.contains_key("secret_key");
        figment = figment.merge(Serialized::defaults(texts)).merge(Env::prefixed(ENV_PREFIX).only(&ENV_NUMBER_KEYS));
        let mut config: Config = figment.extract().map_err(figment_error)?;
        if secret_key_from_env {
            // The environment wins over both ways of giving it in the file.
            config.secret_key_file = None;
        }
        let folder = path.and_then(Path::parent).unwrap_or_else(|| Path::new(""));
        config.read_secret_files(folder)?;
        config.validated()
    }

    /// Parses a TOML document (no environment): for tests and `config.example.toml`.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::from_figment(Figment::new().merge(Toml::string(text)))
    }

    /// The same configuration with the connector `slug` (replacing one of that slug).
    pub fn with_connector(mut self, slug: &str, connector: ConnectorConfig) -> Self {
        self.connectors.insert(slug.to_owned(), connector);
        self
    }

    /// The same configuration with one more api user.
    pub fn with_api_user(mut self, user: ApiUser) -> Self {
        self.api_users.push(user);
        self
    }

    /// The configuration if it passes the checks a file gets at load.
    pub fn validated(self) -> Result<Self, ConfigError> {
        self.validate()?;
        Ok(self)
    }

    /// The configuration as a TOML file, secrets written out: for the tests and the bench that
    /// start the service as a process.
    #[cfg(feature = "test-util")]
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a configuration is representable in TOML")
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let mut config: Config = figment.extract().map_err(figment_error)?;
        config.read_secret_files(Path::new(""))?;
        config.validated()
    }

    /// Reads the secrets given as `*_file` keys, relative paths from `folder` (the
    /// configuration file's); a secret given both ways is refused, naming the key.
    fn read_secret_files(&mut self, folder: &Path) -> Result<(), ConfigError> {
        if let Some(file) = self.secret_key_file.take() {
            if self.secret_key.is_some() {
                return Err(given_twice("secret_key"));
            }
            self.secret_key = Some(read_secret_file(folder, &file, "secret_key_file")?);
        }
        for (slug, connector) in &mut self.connectors {
            if let Some(file) = connector.shared_secret_file.take() {
                let key = format!("connectors.{slug}.shared_secret");
                if !connector.shared_secret.expose_secret().is_empty() {
                    return Err(given_twice(&key));
                }
                connector.shared_secret = read_secret_file(folder, &file, &format!("{key}_file"))?;
            }
        }
        for (index, user) in self.api_users.iter_mut().enumerate() {
            let (name, secret, file) = user.secret_and_file();
            if let Some(file) = file.take() {
                let key = format!("api_users[{index}].{name}");
                if !secret.expose_secret().is_empty() {
                    return Err(given_twice(&key));
                }
                *secret = read_secret_file(folder, &file, &format!("{key}_file"))?;
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        validate_database_url(&self.database_url)?;
        if let Some(url) = &self.public_url {
            validate_public_url(url)?;
        }
        if self.secret_key.as_ref().is_some_and(|key| key.expose_secret().is_empty()) {
            return Err(ConfigError::new("secret_key", "must not be empty (remove it to have one generated)"));
        }
        if self.database_max_connections == 0 {
            return Err(ConfigError::new("database_max_connections", "must be at least 1"));
        }
        self.limits.validate()?;
        self.branding.validate()?;
        self.validate_allowed_hosts()?;
        self.validate_api_users()?;
        for (slug, connector) in &self.connectors {
            self.validate_connector(slug, connector)?;
        }
        Ok(())
    }

    fn validate_allowed_hosts(&self) -> Result<(), ConfigError> {
        for host in &self.allowed_hosts {
            let valid = host == ANY_HOST
                || (!host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-[]:".contains(&b)));
            if !valid {
                return Err(ConfigError::new("allowed_hosts", format!("{host:?} is not a host name or \"*\"")));
            }
        }
        Ok(())
    }

    /// True when the configuration accepts any Host and builds URLs from it: worth a warning.
    pub fn trusts_any_host(&self) -> bool {
        self.public_url.is_none() && self.allowed_hosts.iter().any(|host| host == ANY_HOST)
    }

    fn validate_api_users(&self) -> Result<(), ConfigError> {
        let mut seen = HashSet::new();
        for (index, user) in self.api_users.iter().enumerate() {
            let key = format!("api_users[{index}]");
            if user.name().is_empty() || matches!(user.name(), ACCESS_ANONYMOUS | ACCESS_ANY_API_USER) {
                return Err(ConfigError::new(
                    format!("{key}.name"),
                    "must be a non-empty name other than \"anonymous\" and \"*\"",
                ));
            }
            if !seen.insert(user.name()) {
                return Err(ConfigError::new(
                    format!("{key}.name"),
                    format!("api user {:?} is defined twice", user.name()),
                ));
            }
            let secret_empty = match user {
                ApiUser::Signature { key, .. } | ApiUser::Apikey { key, .. } => key.expose_secret().is_empty(),
                ApiUser::Basic { password, username, .. } => password.expose_secret().is_empty() || username.is_empty(),
            };
            if secret_empty {
                return Err(ConfigError::new(key, "credentials must not be empty"));
            }
        }
        if let Some(unknown) = self.metrics_access.iter().find(|name| self.api_user(name).is_none()) {
            return Err(ConfigError::new("metrics_access", format!("names unknown api user {unknown:?}")));
        }
        Ok(())
    }

    fn validate_connector(&self, slug: &str, connector: &ConnectorConfig) -> Result<(), ConfigError> {
        let key = |field: &str| format!("connectors.{slug}.{field}");
        slug.parse::<Slug>().map_err(|err| ConfigError::new(format!("connectors.{slug}"), err.to_string()))?;
        if connector.shared_secret.expose_secret().is_empty() {
            return Err(ConfigError::new(
                key("shared_secret"),
                "missing or empty (give shared_secret or shared_secret_file)",
            ));
        }
        if connector.timeout_seconds == 0 {
            return Err(ConfigError::new(key("timeout_seconds"), "must be at least 1"));
        }
        for entry in &connector.access {
            let known = entry == ACCESS_ANONYMOUS
                || entry == ACCESS_ANY_API_USER
                || self.api_users.iter().any(|user| user.name() == entry);
            if !known {
                return Err(ConfigError::new(key("access"), format!("names unknown api user {entry:?}")));
            }
        }
        Ok(())
    }

    pub fn api_user(&self, name: &str) -> Option<&ApiUser> {
        self.api_users.iter().find(|user| user.name() == name)
    }
}

fn no_secret() -> SecretString {
    SecretString::from("")
}

fn given_twice(key: &str) -> ConfigError {
    ConfigError::new(key, format!("given both as {key} and as {key}_file: keep one"))
}

/// A secret file's content, trimmed; its path is named in errors, never its content.
fn read_secret_file(folder: &Path, file: &Path, key: &str) -> Result<SecretString, ConfigError> {
    let path = folder.join(file);
    let content = std::fs::read_to_string(&path)
        .map_err(|err| ConfigError::new(key, format!("cannot read {}: {err}", path.display())))?;
    let secret = content.trim();
    if secret.is_empty() {
        return Err(ConfigError::new(key, format!("{} is empty", path.display())));
    }
    Ok(SecretString::from(secret))
}

fn validate_database_url(raw: &str) -> Result<(), ConfigError> {
    let supported = ["sqlite:", "postgres://", "postgresql://"];
    if !supported.iter().any(|prefix| raw.starts_with(prefix)) {
        return Err(ConfigError::new("database_url", "must start with sqlite:, postgres:// or postgresql://"));
    }
    if !raw.starts_with("sqlite:") {
        Url::parse(raw).map_err(|err| ConfigError::new("database_url", format!("malformed URL: {err}")))?;
    }
    Ok(())
}

/// `bbb_url` as the BBB client uses it: one rule, checked once, at load.
fn bbb_api_base<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
    let raw = String::deserialize(deserializer)?;
    normalize_base_url(&raw).map_err(serde::de::Error::custom)
}

fn validate_public_url(url: &Url) -> Result<(), ConfigError> {
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(ConfigError::new("public_url", "must be an http:// or https:// URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new("public_url", "must not have a query string or fragment"));
    }
    Ok(())
}

/// Turns figment's error into one line naming the key, never echoing a value.
fn figment_error(error: figment::Error) -> ConfigError {
    use figment::error::Kind;
    let mut path = error.path.clone();
    let problem = match &error.kind {
        Kind::UnknownField(field, _) => {
            push_unless_last(&mut path, field);
            "unknown key".to_owned()
        }
        Kind::MissingField(field) => {
            push_unless_last(&mut path, field);
            "missing required key".to_owned()
        }
        Kind::UnknownVariant(found, expected) => {
            format!("unknown value {found:?} (expected one of {})", expected.join(", "))
        }
        Kind::InvalidType(found, expected) => format!("invalid type: found {}, expected {expected}", kind_of(found)),
        Kind::InvalidValue(_, expected) => format!("invalid value, expected {expected}"),
        Kind::InvalidLength(_, expected) => format!("invalid length, expected {expected}"),
        Kind::Unsupported(found) | Kind::UnsupportedKey(found, _) => format!("unsupported {}", kind_of(found)),
        Kind::Message(message) => message.clone(),
        other => other.to_string(),
    };
    ConfigError::new(key_of(&path), problem)
}

/// What a wrong value is, never the value itself: it may be a secret given with the wrong type.
fn kind_of(found: &Actual) -> &'static str {
    match found {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a float",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "a value of another type",
    }
}

/// `api_users.0.kind` -> `api_users[0].kind`, as the TOML author would locate it.
fn key_of(path: &[String]) -> String {
    let mut key = String::new();
    for part in path {
        if part.bytes().all(|b| b.is_ascii_digit()) && !key.is_empty() {
            key.push_str(&format!("[{part}]"));
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(part);
        }
    }
    if key.is_empty() {
        "configuration file".to_owned()
    } else {
        key
    }
}

/// Serializes a secret in clear, for [`Config::to_toml`] only.
#[cfg(feature = "test-util")]
fn written_out<S: serde::Serializer, T: WrittenOut>(secret: &T, serializer: S) -> Result<S::Ok, S::Error> {
    secret.write_out(serializer)
}

#[cfg(feature = "test-util")]
trait WrittenOut {
    fn write_out<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
}

#[cfg(feature = "test-util")]
impl WrittenOut for SecretString {
    fn write_out<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose_secret())
    }
}

#[cfg(feature = "test-util")]
impl WrittenOut for Option<SecretString> {
    fn write_out<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(secret) => serializer.serialize_some(secret.expose_secret()),
            None => serializer.serialize_none(),
        }
    }
}

fn push_unless_last(path: &mut Vec<String>, field: &str) {
    if path.last().map(String::as_str) != Some(field) {
        path.push(field.to_owned());
    }
}

mod branding;
mod reload;

pub use branding::Branding;

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
