//! The simulator's XML answers, written the way bbb-web writes them.

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use quick_xml::escape::escape;

/// `<name>text</name>` with the text escaped.
pub fn element(name: &str, text: &str) -> String {
    format!("<{name}>{}</{name}>", escape(text))
}

pub fn elements(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(name, text)| element(name, text)).collect()
}

/// A SUCCESS answer with these elements.
pub fn success(pairs: &[(&str, &str)]) -> Response {
    success_raw(&elements(pairs))
}

/// A SUCCESS answer around already-written XML.
pub fn success_raw(inner: &str) -> Response {
    answer(&format!("<response><returncode>SUCCESS</returncode>{inner}</response>"))
}

pub fn failed(message_key: &str, message: &str) -> Response {
    answer(&format!(
        "<response><returncode>FAILED</returncode>{}</response>",
        elements(&[("messageKey", message_key), ("message", message)])
    ))
}

fn answer(body: &str) -> Response {
    ([(CONTENT_TYPE, "text/xml;charset=utf-8")], format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"))
        .into_response()
}
