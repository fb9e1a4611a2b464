//! The landing pages of a rendezvous (DESIGN §4 "Pages"): the meeting, the appointment from the
//! metadata, and one of the four states (waiting, running, ended, disrupted) in a polite live
//! region that the page script keeps current; the agent's page also shows whether the user's
//! page is open and the user's link to copy.

use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::{Map, Value};

use super::page::{head, with_page_headers, Language};
use super::page_assets::PAGE_SCRIPT;
use super::page_look::PageLook;

/// What a landing page shows.
pub struct LandingPage<'a> {
    pub meeting_name: &'a str,
    pub metadata: &'a Map<String, Value>,
    pub join_url: &'a str,
    pub is_running_url: &'a str,
    pub events_url: &'a str,
    /// The agent's page: its button is always there, with presence and the user's link.
    pub user_page_url: Option<&'a str>,
    pub language: Language,
    /// The organisation's name, logo and colour, from the settings in force.
    pub look: &'a PageLook,
}

/// The appointment as the metadata gives it (each key ignored when of another type).
struct Appointment<'a> {
    subject: Option<&'a str>,
    description: Option<&'a str>,
    start: Option<DateTime<FixedOffset>>,
    duration_minutes: Option<u64>,
}

impl<'a> Appointment<'a> {
    fn of(metadata: &'a Map<String, Value>) -> Self {
        let text = |key: &str| metadata.get(key).and_then(Value::as_str).filter(|text| !text.trim().is_empty());
        Self {
            subject: text("appointment"),
            description: text("description"),
            start: text("start").and_then(|start| DateTime::parse_from_rfc3339(start.trim()).ok()),
            duration_minutes: metadata.get("duration_minutes").and_then(Value::as_f64).and_then(|minutes| {
                (minutes.is_finite() && minutes > 0.0 && minutes < 100_000.0).then_some(minutes.round() as u64)
            }),
        }
    }

    fn is_empty(&self) -> bool {
        self.subject.is_none() && self.description.is_none() && self.start.is_none() && self.duration_minutes.is_none()
    }
}

/// The words of a page in one language. French typography: ’, and a no-break space before
/// `:` (U+00A0) and before `; ? !` (U+202F).
pub struct Words {
    pub lang: &'static str,
    when: &'static str,
    duration: &'static str,
    subject: &'static str,
    details: &'static str,
    waiting_user: &'static str,
    waiting_agent: &'static str,
    running_user: &'static str,
    running_agent: &'static str,
    ended_user: &'static str,
    ended_agent: &'static str,
    disrupted: &'static str,
    title_running: &'static str,
    checked: &'static str,
    join: &'static str,
    start: &'static str,
    present: &'static str,
    absent: &'static str,
    user_link: &'static str,
    copy: &'static str,
    copied: &'static str,
    no_script: &'static str,
    minutes: &'static str,
}

const FRENCH: Words = Words {
    lang: "fr",
    when: "Date et heure",
    duration: "Durée",
    subject: "Objet",
    details: "Précisions",
    waiting_user: "En attente de l’agent\u{a0}: le bouton pour rejoindre apparaîtra dès que la réunion aura commencé.",
    waiting_agent: "La réunion n’a pas encore commencé. Vous pouvez la démarrer quand vous le souhaitez.",
    running_user: "La réunion a commencé. Vous pouvez la rejoindre.",
    running_agent: "La réunion est en cours.",
    ended_user: "La réunion est terminée. Si vous pensez qu’elle doit reprendre, gardez cette page ouverte.",
    ended_agent: "La réunion est terminée. Vous pouvez la redémarrer.",
    disrupted: "Le service de visioconférence ne répond pas pour le moment. Nouvel essai automatique en cours…",
    title_running: "La réunion a commencé",
    checked: "Dernière vérification\u{a0}:",
    join: "Rejoindre la visioconférence",
    start: "Démarrer ou rejoindre la réunion",
    present: "L’usager vous attend\u{a0}: sa page du rendez-vous est ouverte.",
    absent: "La page du rendez-vous de l’usager n’est pas ouverte en ce moment.",
    user_link: "Lien à transmettre à l’usager",
    copy: "Copier le lien",
    copied: "Lien copié.",
    no_script: "Sans JavaScript, utilisez ce lien quand l’agent a démarré la réunion\u{a0}:",
    minutes: "minutes",
};

const ENGLISH: Words = Words {
    lang: "en",
    when: "Date and time",
    duration: "Duration",
    subject: "Subject",
    details: "Details",
    waiting_user: "Waiting for the agent: the button to join will appear as soon as the meeting has started.",
    waiting_agent: "The meeting has not started yet. You can start it whenever you like.",
    running_user: "The meeting has started. You can join it.",
    running_agent: "The meeting is in progress.",
    ended_user: "The meeting has ended. If you think it should resume, keep this page open.",
    ended_agent: "The meeting has ended. You can start it again.",
    disrupted: "The video-conference service is not answering right now. Trying again automatically…",
    title_running: "The meeting has started",
    checked: "Last checked:",
    join: "Join the video conference",
    start: "Start or join the meeting",
    present: "The citizen is waiting: their page of the rendezvous is open.",
    absent: "The citizen’s page of the rendezvous is not open right now.",
    user_link: "Link to give the citizen",
    copy: "Copy the link",
    copied: "Link copied.",
    no_script: "Without JavaScript, use this link once the agent has started the meeting:",
    minutes: "minutes",
};

pub fn words(language: Language) -> &'static Words {
    match language {
        Language::French => &FRENCH,
        Language::English => &ENGLISH,
    }
}

impl LandingPage<'_> {
    pub fn render(&self) -> Response {
        let words = words(self.language);
        let agent = self.user_page_url.is_some();
        let (waiting, running, ended) = if agent {
            (words.waiting_agent, words.running_agent, words.ended_agent)
        } else {
            (words.waiting_user, words.running_user, words.ended_user)
        };
        let page = html! {
            (DOCTYPE)
            html lang=(words.lang) {
                (head(self.meeting_name, self.look))
                body {
                    (self.look.banner())
                    main #rdv data-role=(if agent { "agent" } else { "user" }) data-lang=(words.lang)
                        data-events=(self.events_url) data-poll=(self.is_running_url) data-state="waiting"
                        data-say-waiting=(waiting) data-say-running=(running) data-say-ended=(ended)
                        data-say-disrupted=(words.disrupted) data-title-running=(words.title_running)
                        data-checked-label=(words.checked) data-present=(words.present)
                        data-absent=(words.absent) data-copied=(words.copied) {
                        h1 { (self.meeting_name) }
                        (self.appointment(words))
                        p #status .state role="status" data-state="waiting" { (waiting) }
                        p #checked .detail {}
                        p { a #join .button href=(self.join_url) hidden[!agent] {
                            (if agent { words.start } else { words.join })
                        } }
                        @if let Some(user_page_url) = self.user_page_url {
                            (agent_part(words, user_page_url))
                        } @else {
                            noscript { p { (words.no_script) " " a href=(self.join_url) { (words.join) } } }
                        }
                    }
                    script { (PreEscaped(PAGE_SCRIPT)) }
                }
            }
        };
        with_page_headers(Html(page.into_string()).into_response(), self.look)
    }

    fn appointment(&self, words: &Words) -> Markup {
        let appointment = Appointment::of(self.metadata);
        if appointment.is_empty() {
            return html! {};
        }
        html! {
            dl {
                @if let Some(subject) = appointment.subject { dt { (words.subject) } dd { (subject) } }
                @if let Some(start) = appointment.start {
                    dt { (words.when) }
                    dd {
                        time datetime=(start.to_rfc3339()) { (date_time(start, self.language)) }
                        " " span #countdown .detail data-start=(start.to_rfc3339()) hidden {}
                    }
                }
                @if let Some(minutes) = appointment.duration_minutes {
                    dt { (words.duration) } dd { (minutes) "\u{a0}" (words.minutes) }
                }
                @if let Some(description) = appointment.description {
                    dt { (words.details) } dd .description { (description) }
                }
            }
        }
    }
}

/// Presence and the user's link with its copy button (shown by the script).
fn agent_part(words: &Words, user_page_url: &str) -> Markup {
    html! {
        p #presence role="status" data-open="unknown" {}
        p {
            label for="user-link" { (words.user_link) }
            input #user-link type="text" readonly value=(user_page_url);
        }
        p {
            button #copy .button.secondary type="button" hidden { (words.copy) }
            " " span #copied role="status" {}
        }
    }
}

/// The date and time of `start` in its own offset, in the page's language.
pub fn date_time(start: DateTime<FixedOffset>, language: Language) -> String {
    const JOURS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
    const MOIS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let weekday = start.weekday().num_days_from_monday() as usize;
    let month = start.month0() as usize;
    match language {
        Language::French => format!(
            "{} {}{} {} {} à {}\u{a0}h\u{a0}{:02}",
            JOURS[weekday],
            start.day(),
            if start.day() == 1 { "er" } else { "" },
            MOIS[month],
            start.year(),
            start.hour(),
            start.minute()
        ),
        Language::English => format!("{} at {}", start.format("%A %-d %B %Y"), start.format("%H:%M")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_appointment_is_told_in_the_page_s_language_and_its_own_offset() {
        let start = DateTime::parse_from_rfc3339("2026-06-01T14:05:00+02:00").unwrap();

        assert_eq!(date_time(start, Language::French), "lundi 1er juin 2026 à 14\u{a0}h\u{a0}05");
        assert_eq!(date_time(start, Language::English), "Monday 1 June 2026 at 14:05");
    }

    #[test]
    fn french_words_put_a_no_break_space_before_colons_and_english_none() {
        for text in [FRENCH.waiting_user, FRENCH.checked, FRENCH.present, FRENCH.no_script] {
            assert!(!text.contains(" :") && !text.contains("'"), "{text:?}");
        }
        for text in [ENGLISH.waiting_user, ENGLISH.checked, ENGLISH.present, ENGLISH.no_script] {
            assert!(!text.contains(" :") && !text.contains("\u{a0}:"), "{text:?}");
        }
    }
}
