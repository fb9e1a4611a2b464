//! BBB's XML answers: a small element tree read with quick-xml, tolerant of unknown elements
//! and order, and the conversions the client needs (error shapes, snake_case JSON).

use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value};

/// Deepest nesting accepted: BBB answers are shallow, a deeper document is not BBB's.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// The trimmed text of a child, empty when absent.
    pub fn text_of(&self, name: &str) -> &str {
        self.child(name).map(|child| child.text.trim()).unwrap_or_default()
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// Why a body is not a BBB document, in words for an operator.
pub fn parse(body: &str) -> Result<Element, String> {
    if body.trim().is_empty() {
        return Err("empty answer".to_owned());
    }
    let root = read_tree(body).map_err(|problem| describe(body, &problem))?;
    if root.name != "response" {
        return Err(describe(body, &format!("root element <{}> instead of <response>", root.name)));
    }
    Ok(root)
}

fn describe(body: &str, problem: &str) -> String {
    let start = body.trim_start().get(..256).unwrap_or(body.trim_start()).to_ascii_lowercase();
    if start.starts_with("<!doctype html") || start.starts_with("<html") {
        "answered an HTML page instead of BBB XML".to_owned()
    } else {
        format!("answered something that is not BBB XML ({problem})")
    }
}

fn read_tree(body: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(body);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().map_err(|err| format!("malformed XML: {err}"))? {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH || root.is_some() {
                    return Err("unexpected structure".to_owned());
                }
                stack.push(element_of(&start)?);
            }
            Event::Empty(start) => attach(&mut stack, &mut root, element_of(&start)?)?,
            Event::Text(text) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text.unescape().map_err(|err| format!("malformed text: {err}"))?);
                }
            }
            Event::CData(data) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&data));
                }
            }
            Event::End(_) => {
                let done = stack.pop().ok_or("unbalanced end tag")?;
                attach(&mut stack, &mut root, done)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("truncated XML".to_owned());
    }
    root.ok_or_else(|| "no element".to_owned())
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => return Err("several root elements".to_owned()),
    }
    Ok(())
}

fn element_of(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|err| format!("malformed attribute: {err}"))?;
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        let value = attribute.unescape_value().map_err(|err| format!("malformed attribute: {err}"))?.into_owned();
        attributes.push((key, value));
    }
    Ok(Element { name, attributes, ..Element::default() })
}

/// `(messageKey, message)` of a FAILED answer, in either error shape (reference §7.1).
pub fn failure(root: &Element) -> (String, String) {
    let key = root.text_of("messageKey");
    if !key.is_empty() {
        return (key.to_owned(), root.text_of("message").to_owned());
    }
    let first = root.child("errors").and_then(|errors| errors.child("error"));
    match first {
        Some(error) => {
            let key = error.attribute("key").map(str::to_owned).unwrap_or_else(|| error.text_of("key").to_owned());
            let message =
                error.attribute("message").map(str::to_owned).unwrap_or_else(|| error.text_of("message").to_owned());
            (key, message)
        }
        None => ("unknown".to_owned(), "BBB answered FAILED without saying why".to_owned()),
    }
}

/// `createTime` -> `create_time`, `internalMeetingID` -> `internal_meeting_id`,
/// `logoutURL` -> `logout_url`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Elements whose text is an identifier, kept as a string even when it looks like a number.
const TEXT_ELEMENTS: [&str; 8] = [
    "meetingID",
    "internalMeetingID",
    "parentMeetingID",
    "voiceBridge",
    "dialNumber",
    "createDate",
    "messageKey",
    "message",
];

/// The children of `element` as a JSON object with snake_case names and typed values.
pub fn to_json(element: &Element, skip: &[&str]) -> Map<String, Value> {
    let mut object = Map::new();
    for child in &element.children {
        if skip.contains(&child.name.as_str()) {
            continue;
        }
        let value = if child.children.is_empty() {
            typed(&child.name, child.text.trim())
        } else {
            Value::Object(to_json(child, &[]))
        };
        object.insert(snake_case(&child.name), value);
    }
    object
}

fn typed(name: &str, text: &str) -> Value {
    if TEXT_ELEMENTS.contains(&name) {
        return Value::String(text.to_owned());
    }
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => text.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(text.to_owned())),
    }
}

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;
