//! The OpenAPI 3.1 document of the service, assembled once from the handlers'
//! `#[utoipa::path]` and the views' schemas, so that it says what the code does.

use std::sync::LazyLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

use super::envelope::{ErrClass, Failure};
use super::{callbacks, docs, events, health, join, meetings, metrics, operations, pages, running};

/// The security schemes the protected endpoints name; which api users a connector lets in is
/// its `access` list (its documentation page says which kinds).
pub const SIGNATURE_SCHEME: &str = "publik_signature";
pub const APIKEY_SCHEME: &str = "apikey";
pub const BASIC_SCHEME: &str = "basic";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "bbb-connector",
        description = "BigBlueButton rendezvous for Publik w.c.s. workflows, a drop-in for Passerelle's \
            `bbb` connector. Every path also answers without its trailing slash. Answers are \
            Passerelle's envelope: `{\"err\": 0, \"data\": ...}`, or `{\"err\": 1, \"err_class\": ..., \
            \"err_desc\": ..., \"data\": null}` whose `err_class` is one of `ErrClass`. Signature and \
            identity query parameters (`orig`, `algo`, `timestamp`, `nonce`, `signature`, `NameID`, \
            `email`, `apikey`) are tolerated on every endpoint."
    ),
    paths(
        meetings::post_meeting,
        meetings::get_meeting,
        running::get_is_running,
        join::get_join,
        pages::get_page,
        events::get_events,
        events::get_page_events,
        operations::post_end,
        operations::get_recordings,
        operations::get_status,
        callbacks::meeting_ended,
        callbacks::recording_ready,
        docs::get_doc_page,
        docs::get_openapi,
        health::get_healthz,
        health::get_readyz,
        metrics::get_metrics,
    ),
    components(schemas(ErrClass, Failure)),
    modifiers(&SecuritySchemes, &DistinctOperationIds),
    tags(
        (name = "rendezvous", description = "Create a rendezvous and read it back (w.c.s. workflows)"),
        (name = "links", description = "What browsers open: join links, landing pages, is-running"),
        (name = "operations", description = "End a meeting, list its recordings, check the BBB server"),
        (name = "callbacks", description = "What BBB calls back"),
        (name = "documentation", description = "This document and each connector's page"),
        (name = "probes", description = "Liveness, readiness and metrics"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let signature = ApiKeyValue::with_description(
            "signature",
            "Publik signature: the query carries `orig` (the api user's name, w.c.s.'s host name), \
             `algo`, `timestamp` (UTC, ±30 s), a single-use `nonce` and last `signature`, the \
             standard base64 of the HMAC of the query before `&signature=` with the api user's \
             key. w.c.s. signs by itself when its `[wscall-secrets]` holds a key for this host.",
        );
        components.add_security_scheme(SIGNATURE_SCHEME, SecurityScheme::ApiKey(ApiKey::Query(signature)));
        let apikey = ApiKeyValue::with_description("apikey", "`?apikey=KEY`, the key of an api user of kind apikey.");
        components.add_security_scheme(APIKEY_SCHEME, SecurityScheme::ApiKey(ApiKey::Query(apikey)));
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description = Some("HTTP Basic, the username and password of an api user of kind basic.".to_owned());
        components.add_security_scheme(BASIC_SCHEME, SecurityScheme::Http(basic));
    }
}

/// `method(get, head)` gives both methods one operation and so one operationId; OpenAPI wants
/// each unique, so the second method's is suffixed with its name.
struct DistinctOperationIds;

impl Modify for DistinctOperationIds {
    fn modify(&self, openapi: &mut Document) {
        for item in openapi.paths.paths.values_mut() {
            let mut first = None;
            let operations = [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("put", &mut item.put),
                ("patch", &mut item.patch),
                ("delete", &mut item.delete),
                ("head", &mut item.head),
                ("options", &mut item.options),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation.as_mut() else { continue };
                match (&first, &mut operation.operation_id) {
                    (None, id) => first = id.clone(),
                    (Some(first), Some(id)) if id == first => *id = format!("{id}_{method}"),
                    _ => {}
                }
            }
        }
    }
}

static DOCUMENT: LazyLock<Document> = LazyLock::new(ApiDoc::openapi);

static DOCUMENT_JSON: LazyLock<String> =
    LazyLock::new(|| DOCUMENT.to_pretty_json().unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}")));

/// The document, built once.
pub fn document() -> &'static Document {
    &DOCUMENT
}

/// The document as served, written once.
pub fn document_json() -> &'static str {
    &DOCUMENT_JSON
}
