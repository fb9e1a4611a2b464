//! A connector's documentation page, as Passerelle shows one per connector: each endpoint of
//! `/bbb/{slug}/` read from the OpenAPI document (so it says what /openapi.json says), who may
//! call it, and how to set the w.c.s. webservice call up. It shows no secret and no BBB URL.

use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Content, RefOr, Required};

use super::openapi::document;
use super::page::{head, with_page_headers, Language};
use super::page_look::PageLook;
use super::views::EXAMPLE_CONNECTOR_URL;
use crate::config::{ApiUser, Config};
use crate::rendezvous::Connector;

/// The prefix of the paths a connector's page lists.
const CONNECTOR_PATHS: &str = "/bbb/{slug}/";
/// The tag of what BBB calls back: open, but checked by a token of their own.
const CALLBACKS_TAG: &str = "callbacks";
/// The workflow variable name of the example webservice call.
const WCS_VARIABLE: &str = "bbb";

/// Which kinds of callers a connector lets in: its `access` list, read against the api users.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub signature: bool,
    pub apikey: bool,
    pub basic: bool,
    pub anonymous: bool,
}

impl Access {
    pub fn of(connector: &Connector, config: &Config) -> Self {
        let mut access = Self { anonymous: connector.config.allows_anonymous(), ..Self::default() };
        for user in config.api_users.iter().filter(|user| connector.config.allows_api_user(user.name())) {
            match user {
                ApiUser::Signature { .. } => access.signature = true,
                ApiUser::Apikey { .. } => access.apikey = true,
                ApiUser::Basic { .. } => access.basic = true,
            }
        }
        access
    }
}

pub struct DocPage<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    /// The public base of the URLs, without a trailing `/`.
    pub base: &'a str,
    pub access: Access,
    pub language: Language,
}

struct Wording {
    lang: &'static str,
    colon: &'static str,
    heading: &'static str,
    intro: &'static str,
    openapi: &'static str,
    endpoints: &'static str,
    access: &'static str,
    open: &'static str,
    callback: &'static str,
    protected: &'static str,
    nobody: &'static str,
    anonymous: &'static str,
    signature: &'static str,
    apikey: &'static str,
    basic: &'static str,
    parameters: &'static str,
    required: &'static str,
    optional: &'static str,
    payload: &'static str,
    answer: &'static str,
    wcs: &'static str,
    wcs_intro: &'static str,
    method: &'static str,
    url: &'static str,
    signing: &'static str,
    body: &'static str,
    variable: &'static str,
    variables: &'static str,
}

const FRENCH: Wording = Wording {
    lang: "fr",
    colon: " : ",
    heading: "Connecteur BigBlueButton",
    intro: "Rendez-vous en visioconférence BigBlueButton pour les démarches w.c.s. ; chaque chemin répond aussi sans sa barre oblique finale.",
    openapi: "Description OpenAPI de toute l'API",
    endpoints: "Points d'accès",
    access: "Accès",
    open: "ouvert à tous",
    callback: "appelé par le serveur BBB ; vérifié par un jeton tiré des secrets du connecteur",
    protected: "protégé ; ce connecteur accepte",
    nobody: "aucun utilisateur d'API n'y a accès",
    anonymous: "les appels sans identifiant",
    signature: "la signature Publik",
    apikey: "une clé d'API (apikey)",
    basic: "l'authentification HTTP Basic",
    parameters: "Paramètres",
    required: "obligatoire",
    optional: "facultatif",
    payload: "Exemple de contenu envoyé",
    answer: "Exemple de réponse",
    wcs: "Appel depuis un workflow w.c.s.",
    wcs_intro: "Action « Appeler un webservice » qui crée le rendez-vous :",
    method: "Méthode",
    url: "URL",
    signing: "Signature : w.c.s. signe l'appel lui-même (et ajoute orig) quand la section [wscall-secrets] de ses options contient une clé pour l'hôte de cette URL ; l'utilisateur d'API de type signature de ce connecteur porte le nom d'hôte de w.c.s. (orig) et cette même clé.",
    body: "Données envoyées (JSON)",
    variable: "Identifiant de la variable de réponse",
    variables: "Liens à utiliser ensuite dans le workflow (variables) :",
};

const ENGLISH: Wording = Wording {
    lang: "en",
    colon: ": ",
    heading: "BigBlueButton connector",
    intro: "BigBlueButton video rendezvous for w.c.s. workflows; every path also answers without its trailing slash.",
    openapi: "OpenAPI description of the whole API",
    endpoints: "Endpoints",
    access: "Access",
    open: "open to anyone",
    callback: "called by the BBB server; checked by a token drawn from the connector's secrets",
    protected: "protected; this connector accepts",
    nobody: "no api user may call it",
    anonymous: "calls without credentials",
    signature: "the Publik signature",
    apikey: "an api key (apikey)",
    basic: "HTTP Basic authentication",
    parameters: "Parameters",
    required: "required",
    optional: "optional",
    payload: "Example payload",
    answer: "Example answer",
    wcs: "Calling it from a w.c.s. workflow",
    wcs_intro: "A \"Call a webservice\" action that creates the rendezvous:",
    method: "Method",
    url: "URL",
    signing: "Signature: w.c.s. signs the call itself (adding orig) when the [wscall-secrets] section of its options holds a key for the host of this URL; this connector's signature api user is named after w.c.s.'s host name (orig) and has that same key.",
    body: "Data sent (JSON)",
    variable: "Identifier of the response variable",
    variables: "Links to use next in the workflow (variables):",
};

impl DocPage<'_> {
    pub fn render(&self) -> Response {
        let words = match self.language {
            Language::French => &FRENCH,
            Language::English => &ENGLISH,
        };
        let title = if self.title.is_empty() { self.slug } else { self.title };
        let page = html! {
            (DOCTYPE)
            html lang=(words.lang) {
                (head(&format!("{title} — {}", words.heading), PageLook::plain()))
                body {
                    main {
                        h1 { (title) }
                        p { (words.heading) " — " code { (self.slug) } }
                        p { (words.intro) }
                        p { a href=(format!("{}/openapi.json", self.base)) { (words.openapi) } }
                        (self.wcs_part(words))
                        h2 { (words.endpoints) }
                        @for (path, item) in connector_paths() {
                            (self.endpoint(words, path, item))
                        }
                    }
                }
            }
        };
        with_page_headers(Html(page.into_string()).into_response(), PageLook::plain())
    }

    /// An example as JSON, with this connector's URLs.
    fn pretty(&self, value: &Value) -> String {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        text.replace(EXAMPLE_CONNECTOR_URL, &self.url("/bbb/{slug}/"))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.replace("{slug}", self.slug))
    }

    fn endpoint(&self, words: &Wording, path: &str, item: &PathItem) -> Markup {
        let methods = operations(item);
        let Some((_, operation)) = methods.first() else { return html! {} };
        let names: Vec<&str> = methods.iter().map(|(name, _)| *name).collect();
        let parameters: Vec<_> = operation
            .parameters
            .iter()
            .flatten()
            .filter(|parameter| !(parameter.parameter_in == ParameterIn::Path && parameter.name == "slug"))
            .collect();
        let payload = operation.request_body.as_ref().and_then(|body| example(body.content.values()));
        let answer = operation.responses.responses.iter().filter(|(status, _)| status.starts_with('2')).find_map(
            |(_, response)| match response {
                RefOr::T(response) => example(response.content.values()),
                RefOr::Ref(_) => None,
            },
        );
        html! {
            section {
                h3 { code { (names.join(", ")) " " (self.url(path)) } }
                @if let Some(summary) = &operation.summary { p { strong { (summary) } } }
                @if let Some(description) = &operation.description { p.detail { (description) } }
                p { strong { (words.access) } (words.colon) (self.access_text(words, operation)) }
                @if !parameters.is_empty() {
                    p { strong { (words.parameters) } }
                    ul {
                        @for parameter in &parameters {
                            li {
                                code { (parameter.name) } " ("
                                (if parameter.parameter_in == ParameterIn::Query { "query" } else { "path" }) ", "
                                (if parameter.required == Required::True { words.required } else { words.optional }) ")"
                                @if let Some(description) = &parameter.description { (words.colon) (description) }
                            }
                        }
                    }
                }
                @if let Some(payload) = payload {
                    p { strong { (words.payload) } }
                    pre { code { (self.pretty(&payload)) } }
                }
                @if let Some(answer) = answer {
                    p { strong { (words.answer) } }
                    pre { code { (self.pretty(&answer)) } }
                }
            }
        }
    }

    fn access_text(&self, words: &Wording, operation: &Operation) -> String {
        if operation.tags.iter().flatten().any(|tag| tag == CALLBACKS_TAG) {
            return words.callback.to_owned();
        }
        if operation.security.as_ref().is_none_or(Vec::is_empty) {
            return words.open.to_owned();
        }
        let access = self.access;
        let kinds: Vec<&str> = [
            (access.signature, words.signature),
            (access.apikey, words.apikey),
            (access.basic, words.basic),
            (access.anonymous, words.anonymous),
        ]
        .into_iter()
        .filter_map(|(allowed, text)| allowed.then_some(text))
        .collect();
        if kinds.is_empty() {
            return format!("{}{}{}", words.protected, words.colon, words.nobody);
        }
        format!("{} {}", words.protected, kinds.join(", "))
    }

    /// The webservice action to create a rendezvous, and the variables that hold its links.
    fn wcs_part(&self, words: &Wording) -> Markup {
        let create = document().paths.paths.get("/bbb/{slug}/meeting/").and_then(|item| item.post.as_ref());
        let payload = create
            .and_then(|operation| operation.request_body.as_ref())
            .and_then(|body| example(body.content.values()));
        html! {
            h2 { (words.wcs) }
            p { (words.wcs_intro) }
            ul {
                li { (words.method) (words.colon) code { "POST" } }
                li { (words.url) (words.colon) code { (self.url("/bbb/{slug}/meeting/")) } }
                li { (words.signing) }
                li { (words.variable) (words.colon) code { (WCS_VARIABLE) } }
            }
            @if let Some(payload) = payload {
                p { (words.body) (words.colon.trim_end()) }
                pre { code { (self.pretty(&payload)) } }
            }
            p { (words.variables) }
            ul {
                @for field in meeting_links() {
                    li { code { "form_workflow_data_" (WCS_VARIABLE) "_response_data_" (field) } }
                }
            }
        }
    }
}

/// The paths of a connector, in the document's order.
fn connector_paths() -> impl Iterator<Item = (&'static str, &'static PathItem)> {
    document()
        .paths
        .paths
        .iter()
        .filter(|(path, _)| path.starts_with(CONNECTOR_PATHS) || path.as_str() == CONNECTOR_PATHS)
        .map(|(path, item)| (path.as_str(), item))
}

/// The operations of a path, the main one first (`HEAD` and `OPTIONS` document the same one).
fn operations(item: &PathItem) -> Vec<(&'static str, &Operation)> {
    [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
        ("HEAD", &item.head),
        ("OPTIONS", &item.options),
    ]
    .into_iter()
    .filter_map(|(name, operation)| operation.as_ref().map(|operation| (name, operation)))
    .collect()
}

fn example<'a>(mut contents: impl Iterator<Item = &'a Content>) -> Option<Value> {
    contents.find_map(|content| content.example.clone())
}

/// The guid and the URL fields of the meeting object, as the document describes it.
fn meeting_links() -> Vec<&'static str> {
    let schema = document().components.as_ref().and_then(|components| components.schemas.get("MeetingView"));
    let Some(RefOr::T(Schema::Object(object))) = schema else { return Vec::new() };
    object.properties.keys().map(String::as_str).filter(|field| *field == "guid" || field.ends_with("_url")).collect()
}
