//! HTML answers for browsers: the headers and `<head>` of every page, and the error page a citizen or agent sees
//! when a link fails. Their script and styles are constants (with the branding's accent style,
//! `page_look.rs`), allowed by their hash in the Content-Security-Policy (no `'unsafe-inline'`);
//! what varies goes in escaped attributes.

use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::envelope::ApiError;
use super::page_look::PageLook;
use crate::bbb::BbbError;

/// The headers of every HTML answer: their URLs carry join keys, so no cache, no referrer, no
/// framing, no content sniffing, and only our own script and styles (and the look's).
pub fn with_page_headers(mut response: Response, look: &PageLook) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("content-security-policy", look.content_security_policy());
    response
}

/// A plain, accessible page for the citizen or agent whose link failed, in the reader's language:
/// what happened, what to do, a retry button where a retry can help, and the request id to quote.
/// No technical detail: that goes to the log.
pub fn error_page(error: &ApiError, request: &HeaderMap, look: &PageLook) -> Response {
    let status = match error.status() {
        // A BBB "FAILED" answer is a 200 envelope for API clients; a browser gets a 502 page.
        StatusCode::OK => StatusCode::BAD_GATEWAY,
        status => status,
    };
    let language = Language::from_accept_language(
        request.get(ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()).unwrap_or_default(),
    );
    let reference = request.get("x-request-id").and_then(|value| value.to_str().ok()).unwrap_or_default();
    let words = ErrorWords::of(error, status, language);
    let page = html! {
        (DOCTYPE)
        html lang=(words.lang) {
            (head(words.title, look))
            body {
                (look.banner())
                main {
                    h1 { (words.title) }
                    p { (words.what) }
                    p { (words.advice) }
                    @if words.retry {
                        p { a.button href="" { (words.retry_label) } }
                    }
                    @if !reference.is_empty() {
                        p.detail { (words.reference) " " span.reference { (reference) } }
                    }
                }
            }
        }
    };
    let mut response = with_page_headers((status, Html(page.into_string())).into_response(), look);
    error.add_headers(&mut response);
    response
}

/// The `<head>` of every page: the title after the look's, our stylesheet and the look's, allowed
/// by their hash.
pub fn head(title: &str, look: &PageLook) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (look.title(title)) }
            (look.styles())
        }
    }
}

/// The sentences of an error page.
struct ErrorWords {
    lang: &'static str,
    title: &'static str,
    what: &'static str,
    advice: &'static str,
    retry: bool,
    retry_label: &'static str,
    reference: &'static str,
}

impl ErrorWords {
    fn of(error: &ApiError, status: StatusCode, language: Language) -> Self {
        let french = language == Language::French;
        let pick = |fr: &'static str, en: &'static str| if french { fr } else { en };
        // A refused checksum is the service's configuration, not a passing trouble.
        let misconfigured = matches!(error, ApiError::Bbb(BbbError::Api { message_key, .. })
            if message_key == "checksumError");
        let (title, what, advice, retry) = match status {
            StatusCode::NOT_FOUND => (
                pick("Lien introuvable", "Link not found"),
                pick("Ce lien de rendez-vous n’existe pas ou n’est plus valable.",
                    "This rendezvous link does not exist or is no longer valid."),
                pick("Vérifiez que vous avez copié le lien en entier, ou demandez un nouveau lien à l’organisme qui vous l’a envoyé.",
                    "Check that you copied the whole link, or ask the organisation that sent it for a new one."),
                false,
            ),
            StatusCode::TOO_MANY_REQUESTS => (
                pick("Trop de demandes", "Too many requests"),
                pick("Trop de demandes sont venues de votre connexion en peu de temps.",
                    "Too many requests came from your connection in a short time."),
                pick("Patientez quelques secondes, puis réessayez.", "Please wait a few seconds, then try again."),
                true,
            ),
            _ if misconfigured => (
                pick("Visioconférence indisponible", "Video conference unavailable"),
                pick("Le service de visioconférence a refusé la demande\u{a0}: il est mal configuré.",
                    "The video-conference service refused the request: it is misconfigured."),
                pick("Réessayer ne changera rien. Prévenez l’organisme qui vous a envoyé le lien en lui indiquant la référence ci-dessous.",
                    "Trying again will not help. Please tell the organisation that sent you the link, quoting the reference below."),
                false,
            ),
            StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => (
                pick("Visioconférence indisponible", "Video conference unavailable"),
                pick("Le serveur de visioconférence ne répond pas pour le moment.",
                    "The video-conference server is not answering right now."),
                pick("Réessayez dans quelques minutes. Si cela dure, prévenez l’organisme qui vous a envoyé le lien.",
                    "Please try again in a few minutes. If it goes on, tell the organisation that sent you the link."),
                true,
            ),
            _ => (
                pick("Rendez-vous indisponible", "Rendezvous unavailable"),
                pick("Le rendez-vous ne peut pas être ouvert pour le moment.", "The rendezvous cannot be opened right now."),
                pick("Réessayez dans quelques minutes. Si cela dure, prévenez l’organisme qui vous a envoyé le lien.",
                    "Please try again in a few minutes. If it goes on, tell the organisation that sent you the link."),
                status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT,
            ),
        };
        Self {
            lang: pick("fr", "en"),
            title,
            what,
            advice,
            retry,
            retry_label: pick("Réessayer", "Try again"),
            reference: pick("Référence à indiquer\u{a0}:", "Reference to quote:"),
        }
    }
}

/// The language of a landing page: French unless the browser prefers English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    French,
    English,
}

impl Language {
    pub fn from_accept_language(header: &str) -> Self {
        let mut best = (Self::French, 0.0_f32);
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            let language = match tag.split('-').next() {
                Some("fr") => Self::French,
                Some("en") => Self::English,
                _ => continue,
            };
            if q > best.1 {
                best = (language, q);
            }
        }
        best.0
    }
}
