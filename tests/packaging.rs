//! The packaging, held by tests: the Dockerfile's promises (pinned toolchain, no curl, a volume,
//! a non-root user, labels), the healthcheck it relies on, every `bbb-connector` command the
//! Dockerfile, the systemd unit and the guides name, and the deploy/ examples checked by the
//! tools that will read them (`systemd-analyze verify`, `nginx -t`).
//!
//! A missing tool skips its test with a SKIPPED line on stderr, unless CI=true, where it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_bbb-connector");

fn repo_file(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// A scratch directory, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("bbb-connector-packaging-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary, run in `dir` with no `BBB_CONNECTOR_*` variable of ours leaking in.
fn bbb_connector(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command.args(args).current_dir(dir).env("RUST_LOG", "info").stdin(Stdio::null());
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("BBB_CONNECTOR_")) {
        command.env_remove(name);
    }
    command
}

/// The tool's path, or `None` after saying the test is skipped; with CI=true, a failure.
fn tool_or_skip(name: &str, test: &str) -> Option<PathBuf> {
    let path_dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|path| std::env::split_paths(&path).collect()).unwrap_or_default();
    let found = path_dirs
        .into_iter()
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        let why = format!("{name} is not installed (bash .ci/run installs it)");
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{test}: {why}, and CI=true requires it");
        // Straight to the process's stderr, past libtest's capture of eprintln!.
        let line = format!("SKIPPED {test}: {why}\n");
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
    found
}

fn text(output: &[u8]) -> String {
    String::from_utf8_lossy(output).into_owned()
}

// ---- the Dockerfile ----

/// The instructions of a Dockerfile, continuation lines joined, comments left out.
fn instructions(dockerfile: &str) -> Vec<String> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines().map(str::trim).filter(|line| !line.starts_with('#')) {
        match line.strip_suffix('\\') {
            Some(start) => current.push_str(start),
            None => {
                current.push_str(line);
                let instruction = std::mem::take(&mut current);
                if !instruction.trim().is_empty() {
                    joined.push(instruction);
                }
            }
        }
    }
    joined
}

fn with_keyword<'a>(instructions: &'a [String], keyword: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    instructions.iter().filter_map(move |line| {
        let (first, rest) = line.split_once(char::is_whitespace)?;
        first.eq_ignore_ascii_case(keyword).then(|| rest.trim())
    })
}

#[test]
fn the_dockerfile_pins_its_images_and_probes_health_with_the_binary() {
    let dockerfile = repo_file("Dockerfile");
    let lines = instructions(&dockerfile);

    let images: Vec<&str> =
        with_keyword(&lines, "FROM").map(|rest| rest.split_whitespace().next().unwrap_or_default()).collect();
    let healthchecks: Vec<&str> = with_keyword(&lines, "HEALTHCHECK").collect();

    assert_eq!(images.len(), 2, "a build stage and a runtime stage: {images:?}");
    let rust = images[0].strip_prefix("rust:").expect("the build stage runs in the official Rust image");
    let version = rust.split('-').next().unwrap_or_default();
    assert!(
        version.split('.').count() == 3 && version.split('.').all(|part| part.parse::<u32>().is_ok()),
        "the Rust image is pinned to a full x.y.z version: {}",
        images[0]
    );
    assert_eq!(images[1], "debian:bookworm-slim", "the runtime image");
    assert_eq!(healthchecks.len(), 1, "one HEALTHCHECK: {healthchecks:?}");
    assert!(
        healthchecks[0].contains(r#"["bbb-connector", "healthcheck"]"#)
            || healthchecks[0].contains("CMD bbb-connector healthcheck"),
        "the HEALTHCHECK runs the binary's own healthcheck: {}",
        healthchecks[0]
    );
    for tool in ["curl", "wget"] {
        assert!(!lines.iter().any(|line| line.contains(tool)), "no {tool} in the image");
    }
}

#[test]
fn the_dependency_layer_stands_in_for_every_target_cargo_toml_declares() {
    let dockerfile = repo_file("Dockerfile");
    let manifest = repo_file("Cargo.toml");

    let declared: Vec<&str> = manifest
        .lines()
        .filter_map(|line| line.trim().strip_prefix("path = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .filter(|path| path.starts_with("src/"))
        .chain(["src/main.rs", "src/lib.rs"])
        .collect();

    // Cargo refuses a manifest whose targets are missing, even for a build that skips them.
    for path in declared {
        assert!(dockerfile.contains(&format!("> {path}")) || dockerfile.contains(&format!("touch {path}")), "{path}");
    }
    assert!(
        dockerfile.contains("target/release/.fingerprint/bbb-connector-*"),
        "the placeholders' fingerprints are removed, or the real sources (older in the context) are not compiled"
    );
}

#[test]
fn the_image_runs_unprivileged_on_a_volume_with_a_mounted_configuration() {
    let dockerfile = repo_file("Dockerfile");
    let lines = instructions(&dockerfile);

    let users: Vec<&str> = with_keyword(&lines, "USER").collect();
    let env = with_keyword(&lines, "ENV").collect::<Vec<_>>().join(" ");
    let labels = with_keyword(&lines, "LABEL").collect::<Vec<_>>().join(" ");

    let user = users.last().expect("a USER instruction").split(':').next().unwrap_or_default();
    assert!(!["root", "0"].contains(&user), "the service does not run as root: USER {user}");
    assert!(with_keyword(&lines, "VOLUME").any(|rest| rest == "/var/lib/bbb-connector"), "the data volume");
    assert!(
        env.contains("BBB_CONNECTOR_DATABASE_URL=sqlite:///var/lib/bbb-connector/bbb-connector.db"),
        "the SQLite file is on the volume: {env}"
    );
    assert!(env.contains("BBB_CONNECTOR_CONFIG=/etc/bbb-connector/config.toml"), "{env}");
    assert!(env.contains("BBB_CONNECTOR_LISTEN=0.0.0.0:8080"), "{env}");
    assert!(with_keyword(&lines, "EXPOSE").any(|rest| rest == "8080"), "EXPOSE 8080");
    assert!(
        !with_keyword(&lines, "COPY").any(|rest| rest.ends_with("/etc/bbb-connector/config.toml")),
        "no configuration baked in as the live one: an unconfigured container must not look healthy"
    );
    for label in ["title", "description", "version", "revision", "source", "licenses"] {
        assert!(labels.contains(&format!("org.opencontainers.image.{label}=")), "OCI label {label}: {labels}");
    }
}

#[test]
fn the_build_context_leaves_out_builds_history_and_databases() {
    let ignored: BTreeSet<String> = repo_file(".dockerignore")
        .lines()
        .map(|line| line.trim().trim_end_matches('/').to_owned())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();

    for wanted in ["target", ".git", "*.db"] {
        assert!(ignored.contains(wanted), ".dockerignore lists {wanted}: {ignored:?}");
    }
    assert!(ignored.contains("fuzz") || ignored.contains("fuzz/target"), "fuzz builds: {ignored:?}");
}

#[test]
fn the_release_binary_is_stripped() {
    let manifest = repo_file("Cargo.toml");

    let release = manifest.split("[profile.release]").nth(1).expect("a release profile");
    let release = release.split("\n[").next().unwrap_or_default();

    assert!(release.lines().any(|line| line.replace(' ', "") == "strip=true"), "[profile.release]:{release}");
}

// ---- the healthcheck ----

/// `serve` on 0.0.0.0 with an ephemeral port, in `dir`, and the port it logged.
fn serve_everywhere(dir: &Path) -> (std::process::Child, u16) {
    let mut child = bbb_connector(dir, &["serve"])
        .env("BBB_CONNECTOR_LISTEN", "0.0.0.0:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first_line).unwrap();
    let port = first_line
        .split("http://0.0.0.0:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no 0.0.0.0 port in the first log line: {first_line:?}"));
    (child, port)
}

#[test]
fn healthcheck_exits_0_when_the_service_it_is_configured_for_answers() {
    let scratch = Scratch::new();
    let (mut service, port) = serve_everywhere(&scratch.0);

    let healthy = bbb_connector(&scratch.0, &["healthcheck"])
        .env("BBB_CONNECTOR_LISTEN", format!("0.0.0.0:{port}"))
        .output()
        .unwrap();
    let not_found = bbb_connector(&scratch.0, &["healthcheck", "--url", &format!("http://127.0.0.1:{port}/nowhere")])
        .output()
        .unwrap();
    service.kill().unwrap();
    let _ = service.wait();

    assert_eq!(healthy.status.code(), Some(0), "healthy service: {}", text(&healthy.stderr));
    assert!(text(&healthy.stdout).contains(&format!("http://127.0.0.1:{port}/healthz")), "0.0.0.0 asked on loopback");
    assert_eq!(not_found.status.code(), Some(1), "an answer other than 200 is unhealthy");
    assert!(text(&not_found.stderr).contains("404"), "the reason is said: {}", text(&not_found.stderr));
}

#[test]
fn healthcheck_exits_1_with_a_reason_when_nothing_answers_or_nothing_is_configured() {
    let scratch = Scratch::new();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();

    let closed =
        bbb_connector(&scratch.0, &["healthcheck", "--url", &format!("http://127.0.0.1:{closed_port}/healthz")])
            .output()
            .unwrap();
    let unconfigured = bbb_connector(&scratch.0, &["healthcheck"])
        .env("BBB_CONNECTOR_CONFIG", scratch.0.join("missing.toml"))
        .output()
        .unwrap();

    assert_eq!(closed.status.code(), Some(1), "closed port: {}", text(&closed.stderr));
    assert!(text(&closed.stderr).contains("no answer"), "{}", text(&closed.stderr));
    // Docker reserves exit code 2: even a configuration mistake is 1 here.
    assert_eq!(unconfigured.status.code(), Some(1), "{}", text(&unconfigured.stderr));
    assert!(text(&unconfigured.stderr).contains("missing.toml"), "{}", text(&unconfigured.stderr));
}

// ---- the commands named by the Dockerfile, the unit and the guides ----

/// The text in backticks on a line.
fn code_spans(line: &str) -> impl Iterator<Item = &str> {
    line.split('`').skip(1).step_by(2)
}

/// The places of a Markdown file where commands are written: fenced blocks, and code spans.
fn markdown_code(markdown: &str) -> Vec<String> {
    let mut code = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if fenced {
            code.push(line.to_owned());
        } else {
            code.extend(code_spans(line).map(str::to_owned));
        }
    }
    code
}

/// The lines of a configuration file with `#` comments: the settings, and the code spans of the
/// comments.
fn commented_code(text: &str) -> Vec<String> {
    text.lines()
        .flat_map(|line| match line.trim_start().strip_prefix('#') {
            Some(comment) => code_spans(comment).map(str::to_owned).collect(),
            None => vec![line.to_owned()],
        })
        .collect()
}

/// The Dockerfile's instructions, exec forms written as shell words, and the service's
/// command as ENTRYPOINT followed by CMD.
fn dockerfile_code(dockerfile: &str) -> Vec<String> {
    let shell_words = |line: &str| match line.find('[') {
        Some(start) => match serde_json::from_str::<Vec<String>>(&line[start..]) {
            Ok(words) => format!("{}{}", &line[..start], words.join(" ")),
            Err(_) => line.to_owned(),
        },
        None => line.to_owned(),
    };
    let lines = instructions(dockerfile);
    let mut code: Vec<String> = lines.iter().map(|line| shell_words(line)).collect();
    let last = |keyword| with_keyword(&lines, keyword).last().map(shell_words).unwrap_or_default();
    code.push(format!("{} {}", last("ENTRYPOINT"), last("CMD")));
    code
}

fn trimmed(word: &str) -> &str {
    word.trim_matches(|c: char| "\"'`[](),$".contains(c))
}

/// `--flag` in a word such as `[--config` or `--url=URL`.
fn flag_of(word: &str) -> Option<String> {
    let flag = trimmed(word).split('=').next()?;
    let name = flag.strip_prefix("--")?;
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    valid.then(|| flag.to_owned())
}

/// Every `bbb-connector <subcommand> --flag...` in `code`, as subcommand -> flags; the flags
/// given before any subcommand under "". An argument of an option (`--gid bbb-connector`) is
/// not a command.
fn commands_named(code: &[String], commands: &mut BTreeMap<String, BTreeSet<String>>) {
    for line in code {
        for segment in line.split(['|', ';', '&', '>']) {
            let words: Vec<&str> = segment.split_whitespace().collect();
            for (at, word) in words.iter().enumerate() {
                let word = trimmed(word);
                let is_binary = word == "bbb-connector" || word.ends_with("/bbb-connector");
                if !is_binary || (at > 0 && words[at - 1].starts_with('-')) {
                    continue;
                }
                let rest = &words[at + 1..];
                let Some(first) = rest.first().map(|first| trimmed(first)) else { continue };
                let (subcommand, flags) = if first.starts_with("--") {
                    ("", rest)
                } else if first.starts_with(|c: char| c.is_ascii_lowercase())
                    && first.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                {
                    (first, &rest[1..])
                } else {
                    continue;
                };
                commands.entry(subcommand.to_owned()).or_default().extend(flags.iter().filter_map(|w| flag_of(w)));
            }
        }
    }
}

/// The `--flags` a command's `--help` lists; panics when the subcommand does not exist.
fn flags_in_help(subcommand: &str) -> BTreeSet<String> {
    let args: Vec<&str> = [subcommand, "--help"].into_iter().filter(|arg| !arg.is_empty()).collect();
    let output = Command::new(BINARY).args(&args).output().unwrap();
    assert!(output.status.success(), "`bbb-connector {}` does not exist: {}", args.join(" "), text(&output.stderr));
    text(&output.stdout).split_whitespace().filter_map(flag_of).collect()
}

#[test]
fn every_command_the_packaging_and_the_guides_name_exists() {
    let sources = [
        ("Dockerfile", dockerfile_code(&repo_file("Dockerfile"))),
        ("deploy/bbb-connector.service", commented_code(&repo_file("deploy/bbb-connector.service"))),
        ("docs/operators.md", markdown_code(&repo_file("docs/operators.md"))),
        ("docs/scaling.md", markdown_code(&repo_file("docs/scaling.md"))),
        ("README.md", markdown_code(&repo_file("README.md"))),
    ];
    let mut all = BTreeMap::new();

    for (name, code) in &sources {
        let mut named = BTreeMap::new();
        commands_named(code, &mut named);
        assert!(!named.is_empty(), "no bbb-connector command found in {name}: the scan is broken");
        for (subcommand, flags) in named {
            all.entry(subcommand).or_insert_with(BTreeSet::new).extend(flags);
        }
    }

    for wanted in ["serve", "healthcheck", "check", "migrate"] {
        assert!(all.contains_key(wanted), "`bbb-connector {wanted}` is named somewhere: {all:?}");
    }
    for (subcommand, flags) in &all {
        let known = flags_in_help(subcommand);
        let unknown: Vec<&String> = flags.difference(&known).collect();
        assert!(unknown.is_empty(), "`bbb-connector {subcommand}` has no {unknown:?} (it has {known:?})");
    }
}

// ---- the deploy/ examples, checked by the tools that read them ----

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let Some(systemd_analyze) = tool_or_skip("systemd-analyze", "the_systemd_unit_passes_systemd_analyze_verify")
    else {
        return;
    };
    let scratch = Scratch::new();
    let unit = repo_file("deploy/bbb-connector.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/bbb-connector "), "the unit runs the installed binary");
    let path = scratch.0.join("bbb-connector.service");
    std::fs::write(&path, unit.replace("ExecStart=/usr/local/bin/bbb-connector ", &format!("ExecStart={BINARY} ")))
        .unwrap();

    let output = Command::new(systemd_analyze).arg("verify").arg(&path).output().unwrap();

    // Unknown keys and bad values are only warnings to verify: any line about our unit fails.
    let stderr = text(&output.stderr);
    let about_ours: Vec<&str> = stderr.lines().filter(|line| line.contains("bbb-connector.service")).collect();
    assert!(output.status.success() && about_ours.is_empty(), "systemd-analyze verify:\n{stderr}");
}

/// The nginx configuration around a site file, every path under `dir`.
fn nginx_conf(dir: &Path, site: &Path) -> String {
    let d = dir.display();
    format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n\
         access_log off;\nclient_body_temp_path {d}/body;\nproxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
         include {};\n}}\n",
        site.display()
    )
}

/// A self-signed certificate and its key, made by openssl in `dir`.
fn self_signed_certificate(openssl: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let (certificate, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let output = Command::new(openssl)
        .args(["req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-days", "1"])
        .args(["-subj", "/CN=connectors.example.org", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .output()
        .unwrap();
    assert!(output.status.success(), "openssl req: {}", text(&output.stderr));
    (certificate, key)
}

fn with_certificate(site: &str, certificate: &Path, key: &Path) -> String {
    site.lines()
        .map(|line| match line.split_whitespace().next() {
            Some("ssl_certificate") => format!("    ssl_certificate {};", certificate.display()),
            Some("ssl_certificate_key") => format!("    ssl_certificate_key {};", key.display()),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_nginx_site_passes_nginx_t() {
    const TEST: &str = "the_nginx_site_passes_nginx_t";
    let Some(nginx) = tool_or_skip("nginx", TEST) else { return };
    let Some(openssl) = tool_or_skip("openssl", TEST) else { return };
    let scratch = Scratch::new();
    let (certificate, key) = self_signed_certificate(&openssl, &scratch.0);
    let site = repo_file("deploy/nginx-bbb-connector.conf");
    for wanted in ["$proxy_add_x_forwarded_for", "X-Forwarded-Proto $scheme", "proxy_buffering off", "127.0.0.1:8080"] {
        assert!(site.contains(wanted), "the site has {wanted}");
    }
    let site_path = scratch.0.join("site.conf");
    std::fs::write(&site_path, with_certificate(&site, &certificate, &key)).unwrap();
    let conf = scratch.0.join("nginx.conf");
    std::fs::write(&conf, nginx_conf(&scratch.0, &site_path)).unwrap();

    let output: Output = Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(&scratch.0)
        .arg("-e")
        .arg(scratch.0.join("error.log"))
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();

    assert!(output.status.success(), "nginx -t:\n{}", text(&output.stderr));
}
