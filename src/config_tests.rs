//! Unit tests of configuration loading: defaults, the example file, and every refusal.

use super::*;

const MINIMAL_CONNECTOR: &str = r#"
[connectors.visio]
bbb_url = "https://bbb.example.org/bigbluebutton/"
shared_secret = "s3cr3t"
"#;

fn refusal(text: &str) -> ConfigError {
    Config::from_toml(text).expect_err("this configuration must be refused")
}

#[test]
fn the_example_configuration_parses() {
    let text = include_str!("../config.example.toml");

    let config = Config::from_toml(text).expect("config.example.toml must be valid");

    assert!(!config.connectors.is_empty());
    assert_eq!(config.api_users.len(), 3);
}

#[test]
fn an_empty_file_gives_the_built_in_defaults() {
    let config = Config::from_toml("").unwrap();

    assert_eq!(config.listen, "127.0.0.1:8080");
    assert_eq!(config.database_url, "sqlite://bbb-connector.db");
    assert_eq!(config.log_format, LogFormat::Text);
    assert!(config.secret_key.is_none());
    assert!(config.connectors.is_empty());
}

#[test]
fn connector_defaults_follow_the_design() {
    let config = Config::from_toml(MINIMAL_CONNECTOR).unwrap();
    let connector = &config.connectors["visio"];

    assert_eq!(connector.checksum_algorithm, ChecksumAlgorithm::Sha256);
    assert_eq!(connector.timeout_seconds, 10);
    assert_eq!(connector.is_running_cache_seconds, 3);
    assert_eq!(connector.default_agent_full_name, "Agent");
    assert_eq!(connector.default_user_full_name, "Usager");
    assert!(connector.access.is_empty());
}

#[test]
fn mistakes_are_refused_with_the_key_named() {
    let cases = [
        ("lisen = \"127.0.0.1:1\"", "lisen", "unknown key"),
        (&format!("{MINIMAL_CONNECTOR}colour = \"blue\""), "connectors.visio.colour", "unknown key"),
        ("[connectors.visio]\nbbb_url = \"https://bbb/\"", "connectors.visio.shared_secret", "missing"),
        (
            &MINIMAL_CONNECTOR.replace("https://bbb.example.org/bigbluebutton/", "not a url"),
            "connectors.visio.bbb_url",
            "",
        ),
        (&MINIMAL_CONNECTOR.replace("/bigbluebutton/", "/bigbluebutton/?x=1"), "connectors.visio.bbb_url", "query"),
        (&MINIMAL_CONNECTOR.replace("https://", "ftp://"), "connectors.visio.bbb_url", "http"),
        (&format!("{MINIMAL_CONNECTOR}checksum_algorithm = \"md5\""), "connectors.visio.checksum_algorithm", "md5"),
        ("[[api_users]]\nname = \"x\"\nkind = \"oauth\"\nkey = \"k\"", "api_users[0].kind", "oauth"),
        (&format!("{MINIMAL_CONNECTOR}access = [\"wcs\"]"), "connectors.visio.access", "wcs"),
        ("public_url = \"ftp://example.org/\"", "public_url", "http"),
        ("public_url = \"not a url\"", "public_url", ""),
        ("database_url = \"mysql://localhost/db\"", "database_url", "sqlite"),
        ("log_format = \"xml\"", "log_format", "xml"),
        (&MINIMAL_CONNECTOR.replace("[connectors.visio]", "[connectors.Visio]"), "connectors.Visio", "slug"),
    ];

    for (text, key, problem_part) in cases {
        let error = refusal(text);

        assert_eq!(error.key, key, "{text:?}");
        assert!(
            error.problem.contains(problem_part),
            "{text:?}: problem {:?} should mention {problem_part:?}",
            error.problem
        );
    }
}

#[test]
fn a_duplicate_api_user_is_refused() {
    let text = "[[api_users]]\nname = \"a\"\nkind = \"apikey\"\nkey = \"1\"\n[[api_users]]\nname = \"a\"\nkind = \"apikey\"\nkey = \"2\"";

    assert_eq!(refusal(text).key, "api_users[1].name");
}

#[test]
fn access_lists_resolve_anonymous_star_and_names() {
    let text = format!("{MINIMAL_CONNECTOR}access = [\"wcs\", \"anonymous\"]\n[[api_users]]\nname = \"wcs\"\nkind = \"signature\"\nkey = \"k\"");
    let config = Config::from_toml(&text).unwrap();
    let connector = &config.connectors["visio"];

    assert!(connector.allows_anonymous());
    assert!(connector.allows_api_user("wcs"));
    assert!(!connector.allows_api_user("ops"));
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let text = format!("secret_key = \"top-secret-key\"\n{MINIMAL_CONNECTOR}\n[[api_users]]\nname = \"ops\"\nkind = \"basic\"\nusername = \"u\"\npassword = \"basic-password\"");
    let config = Config::from_toml(&text).unwrap();

    let debug = format!("{config:?}");

    for secret in ["top-secret-key", "s3cr3t", "basic-password"] {
        assert!(!debug.contains(secret), "{secret} leaked in {debug}");
    }
}

#[test]
#[allow(clippy::result_large_err)] // figment's Jail closure returns figment::Error
fn environment_overrides_top_level_scalars() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("custom.toml", "listen = \"127.0.0.1:9000\"\ndatabase_max_connections = 3")?;
        jail.set_env("BBB_CONNECTOR_LISTEN", "127.0.0.1:9100");
        jail.set_env("BBB_CONNECTOR_SECRET_KEY", "12345");
        jail.set_env("BBB_CONNECTOR_DATABASE_MAX_CONNECTIONS", "7");
        jail.set_env("BBB_CONNECTOR_METRICS", "false");
        jail.set_env("BBB_CONNECTOR_CONFIG", "custom.toml");

        let config = Config::load(locate(None).as_deref()).map_err(|e| e.to_string())?;

        assert_eq!(config.listen, "127.0.0.1:9100");
        assert_eq!(config.secret_key.as_ref().map(|k| k.expose_secret().to_owned()).as_deref(), Some("12345"));
        assert_eq!(config.database_max_connections, 7);
        assert!(!config.metrics);
        Ok(())
    });
}

#[test]
fn a_missing_explicit_file_is_an_error() {
    let error = Config::load(Some(Path::new("/nonexistent/bbb-connector.toml"))).unwrap_err();

    assert_eq!(error.key, "--config");
}

#[test]
fn a_secret_of_the_wrong_type_is_named_never_printed() {
    let cases = [
        ("secret_key = 98765432123".to_owned(), "secret_key"),
        (
            "[connectors.visio]\nbbb_url = \"https://bbb/\"\nshared_secret = 98765432123".to_owned(),
            "connectors.visio.shared_secret",
        ),
        // serde buffers tagged tables, so the key inside the api user is not known: its table is.
        ("[[api_users]]\nname = \"ops\"\nkind = \"apikey\"\nkey = 98765432123".to_owned(), "api_users[0]"),
        (
            "[[api_users]]\nname = \"p\"\nkind = \"basic\"\nusername = \"u\"\npassword = 98765432.123".to_owned(),
            "api_users[0]",
        ),
        ("secret_key = [98765432123]".to_owned(), "secret_key"),
    ];
    for (text, key) in cases {
        let error = refusal(&text);
        let printed = error.to_string();

        assert!(printed.contains(key), "{printed}");
        assert!(!printed.contains("98765432"), "a secret leaked: {printed}");
    }
}

#[test]
fn limits_hosts_and_proxies_have_safe_defaults_and_are_checked() {
    let config = Config::from_toml("").unwrap();
    assert_eq!(config.limits, Limits::default());
    assert_eq!(config.allowed_hosts, ["*"]);
    assert!(config.trusts_any_host());
    assert_eq!(config.trusted_proxies.len(), 2);

    let set = Config::from_toml(
        "allowed_hosts = [\"rdv.example.org\"]\ntrusted_proxies = [\"10.0.0.0/8\"]\n[limits]\nmax_connections = 50",
    )
    .unwrap();
    assert!(!set.trusts_any_host());
    assert_eq!(set.limits.max_connections, 50);
    assert_eq!(set.limits.open_burst, Limits::default().open_burst);

    for (text, key) in [
        ("[limits]\nopen_burst = 0", "limits.open_burst"),
        ("[limits]\nheader_read_timeout_seconds = 0", "limits.header_read_timeout_seconds"),
        ("[limits]\nunknown = 1", "limits.unknown"),
        ("allowed_hosts = [\"evil/path\"]", "allowed_hosts"),
        ("trusted_proxies = [\"not-a-network\"]", "trusted_proxies"),
    ] {
        assert!(refusal(text).to_string().contains(key), "{text}: {}", refusal(text));
    }
}

#[test]
fn a_connector_built_in_code_gets_the_defaults_of_the_file() {
    let from_file = Config::from_toml(MINIMAL_CONNECTOR).unwrap();
    let built = Config::default()
        .with_connector("visio", ConnectorConfig::new("https://bbb.example.org/bigbluebutton/", "s3cr3t").unwrap())
        .validated()
        .unwrap();

    let (file, code) = (&from_file.connectors["visio"], &built.connectors["visio"]);
    assert_eq!(code.bbb_url, file.bbb_url, "normalised alike");
    assert_eq!(
        (
            code.timeout_seconds,
            code.is_running_cache_seconds,
            &code.default_agent_full_name,
            &code.default_user_full_name
        ),
        (
            file.timeout_seconds,
            file.is_running_cache_seconds,
            &file.default_agent_full_name,
            &file.default_user_full_name
        )
    );
    assert_eq!((built.listen, built.database_url), (from_file.listen, from_file.database_url));
}

#[test]
fn a_configuration_built_in_code_is_checked_like_a_file() {
    let bad_url = ConnectorConfig::new("https://bbb.example.org/bigbluebutton/?x=1", "s3cr3t");
    assert_eq!(bad_url.unwrap_err().key, "bbb_url");

    let connector = ConnectorConfig::new("https://bbb.example.org/", "s3cr3t").unwrap().with_access(&["nobody"]);
    let refused = Config::default().with_connector("visio", connector).validated().unwrap_err();
    assert_eq!(refused.key, "connectors.visio.access");

    let no_secret = ConnectorConfig::new("https://bbb.example.org/", "").unwrap();
    let refused = Config::default().with_connector("visio", no_secret).validated().unwrap_err();
    assert_eq!(refused.key, "connectors.visio.shared_secret");
}

#[test]
fn a_configuration_written_as_toml_loads_back_with_its_secrets() {
    let mut connector =
        ConnectorConfig::new("https://bbb.example.org/", "shared-s3cr3t").unwrap().with_access(&["ops"]);
    connector.checksum_algorithm = ChecksumAlgorithm::Sha512;
    let config = Config { secret_key: Some("service-s3cr3t".into()), ..Config::default() }
        .with_connector("visio", connector)
        .with_api_user(ApiUser::apikey("ops", "ops-s3cr3t"));

    let loaded = Config::from_toml(&config.to_toml()).unwrap();

    let visio = &loaded.connectors["visio"];
    assert_eq!(visio.shared_secret.expose_secret(), "shared-s3cr3t");
    assert_eq!(visio.checksum_algorithm, ChecksumAlgorithm::Sha512);
    assert_eq!(visio.bbb_url.as_str(), "https://bbb.example.org/api/");
    assert_eq!(loaded.secret_key.unwrap().expose_secret(), "service-s3cr3t");
    assert!(matches!(&loaded.api_users[0], ApiUser::Apikey { key, .. } if key.expose_secret() == "ops-s3cr3t"));
    assert_eq!(loaded.limits, Limits::default());
}

/// `Config::load(path)` while no other test sets `BBB_CONNECTOR_*` variables: those tests hold
/// figment's `Jail` lock, so this takes it too.
#[allow(clippy::result_large_err)] // figment's Jail closure returns figment::Error
fn load_alone(path: &Path) -> Result<Config, ConfigError> {
    let mut loaded = None;
    figment::Jail::expect_with(|_jail| {
        loaded = Some(Config::load(Some(path)));
        Ok(())
    });
    loaded.expect("the jail ran its closure")
}

/// A configuration file in a folder of its own, with the secret files beside it.
fn folder_with(config: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let path = dir.path().join("bbb-connector.toml");
    std::fs::write(&path, config).unwrap();
    (dir, path)
}

#[test]
fn secrets_are_read_from_files_beside_the_configuration_trimmed() {
    let config = r#"
secret_key_file = "secret_key"
[connectors.visio]
bbb_url = "https://bbb.example.org/bigbluebutton/"
shared_secret_file = "bbb"
[[api_users]]
name = "wcs"
kind = "signature"
key_file = "wcs"
[[api_users]]
name = "portal"
kind = "basic"
username = "portal"
password_file = "portal"
"#;
    let files = [("secret_key", "service-key\n"), ("bbb", "  bbb-secret\n"), ("wcs", "wcs-key"), ("portal", "pw\n")];
    let (_dir, path) = folder_with(config, &files);

    let config = load_alone(&path).unwrap();

    assert_eq!(config.secret_key.unwrap().expose_secret(), "service-key");
    assert_eq!(config.connectors["visio"].shared_secret.expose_secret(), "bbb-secret");
    assert!(matches!(&config.api_users[0], ApiUser::Signature { key, .. } if key.expose_secret() == "wcs-key"));
    assert!(matches!(&config.api_users[1], ApiUser::Basic { password, .. } if password.expose_secret() == "pw"));
}

#[test]
fn a_secret_given_both_ways_or_from_a_missing_or_empty_file_is_refused_by_key_without_content() {
    let connector = "[connectors.visio]\nbbb_url = \"https://bbb/\"\n";
    let cases = [
        (
            format!("{connector}shared_secret = \"s3cr3t\"\nshared_secret_file = \"bbb\""),
            "connectors.visio.shared_secret",
        ),
        (format!("{connector}shared_secret_file = \"missing\""), "connectors.visio.shared_secret_file"),
        (format!("{connector}shared_secret_file = \"empty\""), "connectors.visio.shared_secret_file"),
        ("secret_key = \"k\"\nsecret_key_file = \"bbb\"".to_owned(), "secret_key"),
        (
            "[[api_users]]\nname = \"ops\"\nkind = \"apikey\"\nkey = \"k\"\nkey_file = \"bbb\"".to_owned(),
            "api_users[0].key",
        ),
    ];
    for (text, key) in cases {
        let (_dir, path) = folder_with(&text, &[("bbb", "file-s3cr3t"), ("empty", " \n")]);

        let refused = load_alone(&path).expect_err(&text);

        assert_eq!(refused.key, key, "{text}");
        assert!(!refused.to_string().contains("s3cr3t"), "{refused}");
    }
}

#[test]
#[allow(clippy::result_large_err)] // figment's Jail closure returns figment::Error
fn the_environment_secret_key_wins_over_the_file_and_its_secret_file() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("bbb-connector.toml", "secret_key_file = \"key\"")?;
        jail.create_file("key", "from-file")?;
        jail.set_env("BBB_CONNECTOR_SECRET_KEY", "from-env");

        let config = Config::load(Some(Path::new("bbb-connector.toml"))).unwrap();

        assert_eq!(config.secret_key.unwrap().expose_secret(), "from-env");
        Ok(())
    });
}
