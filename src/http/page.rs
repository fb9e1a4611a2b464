//! HTML answers for browsers: the error page a citizen or agent sees when a join link fails.

use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use quick_xml::escape::escape;

use super::envelope::ApiError;

/// A plain, accessible page saying what went wrong, in French and English.
pub fn error_page(error: &ApiError) -> Response {
    let status = match error.status() {
        // A BBB "FAILED" answer is a 200 envelope for API clients; a browser gets a 502 page.
        StatusCode::OK => StatusCode::BAD_GATEWAY,
        status => status,
    };
    let (title_fr, title_en, advice_fr, advice_en) = wording(status);
    let detail = escape(error.description());
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title_fr} / {title_en}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         .detail{{color:#555;font-size:.9rem}}</style>\n</head>\n<body>\n<main>\n\
         <h1>{title_fr}</h1>\n<p>{advice_fr}</p>\n\
         <h2 lang=\"en\">{title_en}</h2>\n<p lang=\"en\">{advice_en}</p>\n\
         <p class=\"detail\">{status_code} — {detail}</p>\n</main>\n</body>\n</html>\n",
        status_code = status.as_u16(),
    );
    let mut response = (status, Html(body)).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn wording(status: StatusCode) -> (&'static str, &'static str, &'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => (
            "Lien introuvable",
            "Link not found",
            "Ce lien de rendez-vous n'existe pas ou n'est plus valable. Vérifiez le lien reçu.",
            "This rendezvous link does not exist or is no longer valid. Please check the link you received.",
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
        let name = escape(self.meeting_name);
        let join_url = escape(self.join_url);
        let details = self.details(words);
        let main = if self.is_agent { self.agent_part(words, &join_url) } else { self.user_part(words, &join_url) };
        let body = format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{name}</title>\n\
             <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
             .button{{display:inline-block;padding:.8rem 1.4rem;background:#0b5cad;color:#fff;border-radius:.4rem;\
             text-decoration:none;font-size:1.1rem}}.button:focus{{outline:3px solid #f90}}[hidden]{{display:none}}</style>\n\
             </head>\n<body>\n<main>\n<h1>{name}</h1>\n{details}{main}</main>\n</body>\n</html>\n",
            lang = words.lang,
        );
        let mut response = Html(body).into_response();
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.headers_mut().insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
            ),
        );
        response
    }

    fn details(&self, words: &Wording) -> String {
        let mut html = String::new();
        if let Some(appointment) = self.appointment {
            html.push_str(&format!("<p><strong>{}</strong> : {}</p>\n", words.appointment, escape(appointment)));
        }
        if let Some(description) = self.description {
            html.push_str(&format!("<p>{}</p>\n", escape(description)));
        }
        html
    }

    fn agent_part(&self, words: &Wording, join_url: &str) -> String {
        format!("<p>{}</p>\n<p><a class=\"button\" href=\"{join_url}\">{}</a></p>\n", words.agent_hint, words.start)
    }

    fn user_part(&self, words: &Wording, join_url: &str) -> String {
        // A JSON string literal is a valid JavaScript one; our own URL holds no "</".
        let poll_url = serde_json::to_string(self.is_running_url).unwrap_or_default();
        format!(
            "<p id=\"status\" role=\"status\" aria-live=\"polite\">{waiting}</p>\n\
             <p><a id=\"join\" class=\"button\" href=\"{join_url}\" hidden>{join}</a></p>\n\
             <noscript><p>{no_script} <a href=\"{join_url}\">{join}</a></p></noscript>\n\
             <script>\n(function () {{\n  var url = {poll_url};\n\
             function poll() {{\n    fetch(url, {{headers: {{Accept: \"application/json\"}}}})\n\
             .then(function (r) {{ return r.json(); }})\n\
             .then(function (answer) {{\n      if (answer.data === true) {{\n\
             document.getElementById(\"status\").textContent = \"{ready}\";\n\
             document.getElementById(\"join\").hidden = false;\n      }} else {{ setTimeout(poll, 5000); }}\n\
             }}, function () {{ setTimeout(poll, 10000); }});\n  }}\n  poll();\n}})();\n</script>\n",
            waiting = words.waiting,
            join = words.join,
            no_script = words.no_script,
            ready = words.ready,
        )
    }
}
