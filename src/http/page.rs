//! HTML answers for browsers: the landing pages, and the error page a citizen or agent sees
//! when a link fails. Their script and styles are constants, allowed by their hash in the
//! Content-Security-Policy (no `'unsafe-inline'`); what varies goes in escaped attributes.

use std::sync::LazyLock;

use axum::http::header::{CACHE_CONTROL, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};

use super::envelope::ApiError;

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;\
    line-height:1.5}.button{display:inline-block;padding:.8rem 1.4rem;background:#0b5cad;color:#fff;\
    border-radius:.4rem;text-decoration:none;font-size:1.1rem}.button:focus{outline:3px solid #f90}\
    [hidden]{display:none}.detail{color:#555;font-size:.9rem}pre{overflow-x:auto;background:#f4f4f4;\
    padding:.6rem}code{overflow-wrap:anywhere}";

/// Polls is-running (its URL and the words to show come from the page's attributes) and
/// reveals the Join button once the meeting runs.
const POLL_SCRIPT: &str = r#"(function () {
  var join = document.getElementById("join");
  var status = document.getElementById("status");
  function poll() {
    fetch(join.dataset.poll, {headers: {Accept: "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        if (answer.data === true) {
          status.textContent = status.dataset.ready;
          join.hidden = false;
        } else { setTimeout(poll, 5000); }
      }, function () { setTimeout(poll, 10000); });
  }
  poll();
})();"#;

/// `'sha256-…'` of an inline script or style, as CSP names it.
fn csp_hash(text: &str) -> String {
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
}

static CONTENT_SECURITY_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let policy = format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; img-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        csp_hash(POLL_SCRIPT),
        csp_hash(PAGE_STYLE)
    );
    HeaderValue::from_str(&policy).expect("the policy is ASCII")
});

/// The headers of every HTML answer: their URLs carry join keys, so no cache, no referrer, no
/// framing, no content sniffing, and only our own script and styles.
pub fn with_page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("content-security-policy", CONTENT_SECURITY_POLICY.clone());
    response
}

/// A plain, accessible page saying what went wrong, in French and English.
pub fn error_page(error: &ApiError) -> Response {
    let status = match error.status() {
        // A BBB "FAILED" answer is a 200 envelope for API clients; a browser gets a 502 page.
        StatusCode::OK => StatusCode::BAD_GATEWAY,
        status => status,
    };
    let (title_fr, title_en, advice_fr, advice_en) = wording(status);
    let page = html! {
        (DOCTYPE)
        html lang="fr" {
            (head(&format!("{title_fr} / {title_en}")))
            body {
                main {
                    h1 { (title_fr) }
                    p { (advice_fr) }
                    h2 lang="en" { (title_en) }
                    p lang="en" { (advice_en) }
                    p.detail { (status.as_u16()) " — " (error.description()) }
                }
            }
        }
    };
    let mut response = with_page_headers((status, Html(page.into_string())).into_response());
    error.add_headers(&mut response);
    response
}

/// The `<head>` of every page: our one stylesheet, allowed by its hash.
pub(super) fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            style { (PreEscaped(PAGE_STYLE)) }
        }
    }
}

fn wording(status: StatusCode) -> (&'static str, &'static str, &'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => (
            "Lien introuvable",
            "Link not found",
            "Ce lien de rendez-vous n'existe pas ou n'est plus valable. Vérifiez le lien reçu.",
            "This rendezvous link does not exist or is no longer valid. Please check the link you received.",
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            "Trop de demandes",
            "Too many requests",
            "Trop de demandes sont venues de votre connexion. Patientez quelques secondes puis réessayez.",
            "Too many requests came from your connection. Please wait a few seconds and try again.",
        ),
        StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => (
            "Service de visioconférence indisponible",
            "Video-conference service unavailable",
            "Le serveur de visioconférence ne répond pas pour le moment. Réessayez dans quelques minutes.",
            "The video-conference server is not answering right now. Please try again in a few minutes.",
        ),
        _ => (
            "Rendez-vous indisponible",
            "Rendezvous unavailable",
            "Le rendez-vous ne peut pas être ouvert pour le moment. Réessayez dans quelques minutes.",
            "The rendezvous cannot be opened right now. Please try again in a few minutes.",
        ),
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

/// What a landing page shows.
pub struct LandingPage<'a> {
    pub meeting_name: &'a str,
    pub appointment: Option<&'a str>,
    pub description: Option<&'a str>,
    pub join_url: &'a str,
    pub is_running_url: &'a str,
    /// The agent may start the meeting at any time; the user waits for the agent.
    pub is_agent: bool,
    pub language: Language,
}

struct Wording {
    lang: &'static str,
    appointment: &'static str,
    waiting: &'static str,
    ready: &'static str,
    join: &'static str,
    start: &'static str,
    agent_hint: &'static str,
    no_script: &'static str,
}

const FRENCH: Wording = Wording {
    lang: "fr",
    appointment: "Rendez-vous",
    waiting: "En attente de l'agent : le bouton apparaîtra dès que la réunion aura commencé.",
    ready: "La réunion a commencé.",
    join: "Rejoindre la visioconférence",
    start: "Démarrer la réunion",
    agent_hint: "Vous animez ce rendez-vous : vous pouvez démarrer la réunion quand vous le souhaitez.",
    no_script: "Sans JavaScript, utilisez ce lien quand l'agent a démarré la réunion :",
};

const ENGLISH: Wording = Wording {
    lang: "en",
    appointment: "Appointment",
    waiting: "Waiting for the agent: the button will appear as soon as the meeting has started.",
    ready: "The meeting has started.",
    join: "Join the video conference",
    start: "Start the meeting",
    agent_hint: "You host this rendezvous: you can start the meeting whenever you like.",
    no_script: "Without JavaScript, use this link once the agent has started the meeting:",
};

impl LandingPage<'_> {
    pub fn render(&self) -> Response {
        let words = match self.language {
            Language::French => &FRENCH,
            Language::English => &ENGLISH,
        };
        let page = html! {
            (DOCTYPE)
            html lang=(words.lang) {
                (head(self.meeting_name))
                body {
                    main {
                        h1 { (self.meeting_name) }
                        @if let Some(appointment) = self.appointment {
                            p { strong { (words.appointment) } " : " (appointment) }
                        }
                        @if let Some(description) = self.description {
                            p { (description) }
                        }
                        @if self.is_agent { (self.agent_part(words)) } @else { (self.user_part(words)) }
                    }
                }
            }
        };
        with_page_headers(Html(page.into_string()).into_response())
    }

    fn agent_part(&self, words: &Wording) -> Markup {
        html! {
            p { (words.agent_hint) }
            p { a.button href=(self.join_url) { (words.start) } }
        }
    }

    /// The status line and the hidden Join button the poll script reveals; without script, a
    /// plain link.
    fn user_part(&self, words: &Wording) -> Markup {
        html! {
            p #status role="status" aria-live="polite" data-ready=(words.ready) { (words.waiting) }
            p { a #join .button href=(self.join_url) data-poll=(self.is_running_url) hidden { (words.join) } }
            noscript { p { (words.no_script) " " a href=(self.join_url) { (words.join) } } }
            script { (PreEscaped(POLL_SCRIPT)) }
        }
    }
}
