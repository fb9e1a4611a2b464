//! The layering of the crate, held by a test: every `crate::…` path in a module of `src/` must
//! name a layer that module may depend on, and no HTTP handler may use another handler. The
//! layers, from the bottom: `domain` (knows nothing else), `bbb` (the BBB client, knows nothing
//! of the crate), `store`, `config`, `rendezvous` (the service), then `http`; `app`, `cli`,
//! `demo` assemble them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What each layer may name besides itself. A module absent from this table fails the test:
/// a new top-level module must say where it stands.
const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("bbb", &[]),
    // `testing` for the conformance suite and the tests inside the backends.
    ("store", &["domain", "testing"]),
    ("config", &["domain", "bbb"]),
    ("telemetry", &["config"]),
    ("server", &[]),
    ("simulator", &["domain", "bbb"]),
    ("rendezvous", &["domain", "bbb", "store", "config"]),
    ("http", &["domain", "bbb", "store", "config", "rendezvous"]),
    ("app", &["domain", "store", "config", "rendezvous", "http", "server"]),
    ("cli", &["app", "bbb", "config", "rendezvous", "store", "telemetry", "demo", "simulator"]),
    ("demo", &["app", "config", "domain", "simulator", "telemetry"]),
    ("testing", &["store"]),
    ("fuzzing", &["domain", "bbb", "http", "simulator"]),
    ("lib", &[]),
    ("main", &[]),
];

/// The request handlers of `src/http/`: parse, call the service, render. They share support
/// modules (extractors, envelope, views, pages' HTML) but never use one another.
const HANDLERS: &[&str] =
    &["meetings", "join", "pages", "running", "events", "operations", "callbacks", "health", "docs"];

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable source folder") {
        let path = entry.expect("a readable entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// What the unit tests of any layer may use besides: the simulator and the throw-away databases.
const TEST_SUPPORT: &[&str] = &["simulator", "testing"];

/// The layer of a file: its top-level module under `src/` (`src/http/join.rs` is `http`; the
/// unit tests of `config.rs` in `config_tests.rs` are `config`).
fn layer_of(relative: &Path) -> String {
    let first = relative.components().next().expect("a path under src").as_os_str().to_string_lossy();
    first.trim_end_matches(".rs").trim_end_matches("_tests").to_owned()
}

/// Files that hold only unit tests (compiled under `cfg(test)`).
fn is_test_file(relative: &Path) -> bool {
    let name = relative.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
    name == "tests" || name.ends_with("_tests") || name == "conformance"
}

/// Code lines only: comments say what they like.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(index, line)| (index + 1, line)).filter(|(_, line)| {
        let trimmed = line.trim_start();
        !trimmed.starts_with("//")
    })
}

/// Every layer named as `crate::<layer>` on the line, and `crate::{a, b}` groups.
fn named_layers(line: &str) -> Vec<String> {
    let mut named = Vec::new();
    for (position, _) in line.match_indices("crate::") {
        let rest = &line[position + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inside = group.split('}').next().unwrap_or_default();
            named.extend(inside.split(',').filter_map(|item| item.trim().split("::").next()).map(str::to_owned));
        } else {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            named.push(name);
        }
    }
    named.into_iter().filter(|name| !name.is_empty()).collect()
}

#[test]
fn no_layer_names_one_it_must_not() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut breaches = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        if relative.starts_with("bin") {
            continue;
        }
        let layer = layer_of(relative);
        let Some(may_name) = allowed.get(layer.as_str()) else {
            breaches.push(format!("{}: module {layer} is not in the layer table", relative.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for (number, line) in code_lines(&text) {
            for named in named_layers(line) {
                let test_support = is_test_file(relative) && TEST_SUPPORT.contains(&named.as_str());
                if named != layer && !may_name.contains(&named.as_str()) && !test_support {
                    breaches.push(format!("{}:{number}: {layer} names {named}: {}", relative.display(), line.trim()));
                }
            }
        }
    }
    assert!(breaches.is_empty(), "layering broken:\n{}", breaches.join("\n"));
}

#[test]
fn handlers_never_use_one_another() {
    let http = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut breaches = Vec::new();
    for handler in HANDLERS {
        let file = http.join(format!("{handler}.rs"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        for (number, line) in code_lines(&text) {
            for other in HANDLERS.iter().filter(|other| *other != handler) {
                let uses = [format!("super::{other}::"), format!("super::{other};"), format!("http::{other}::")];
                if uses.iter().any(|pattern| line.contains(pattern.as_str())) {
                    breaches.push(format!("http/{handler}.rs:{number}: uses handler {other}: {}", line.trim()));
                }
            }
        }
    }
    assert!(breaches.is_empty(), "a handler uses another:\n{}", breaches.join("\n"));
}

#[test]
fn the_checker_sees_what_it_must() {
    assert_eq!(named_layers("use crate::http::guards::Guards;"), ["http"]);
    assert_eq!(named_layers("use crate::{bbb::X, store};"), ["bbb", "store"]);
    assert_eq!(named_layers("let x = crate::domain::unflatten::unflatten(o);"), ["domain"]);
    assert!(named_layers("use super::envelope::ApiError;").is_empty());
    assert_eq!(code_lines("// crate::http\nuse crate::x;").count(), 1);
}
