//! What the HTTP answers show of a rendezvous: the meeting object of DESIGN §4, with the URLs
//! built under the public base.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::extract::PublicBase;
use crate::domain::{JoinRole, Meeting};
use crate::rendezvous::meeting_url;

/// The meeting object. Its URLs end with `/`; the join and page URLs carry a
/// key: hand each role only its own.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = meeting_example)]
pub struct MeetingView {
    /// The rendezvous, 32 lower-case hex digits; BBB's meetingID.
    guid: String,
    idempotent_id: String,
    name: String,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    /// As last seen by the service.
    running: bool,
    last_time_running: Option<DateTime<Utc>>,
    url: String,
    /// Open, CORS: what a portal page polls.
    is_running_url: String,
    /// Open, CORS: the live state as server-sent events (DESIGN §4).
    events_url: String,
    /// The agent's join link (moderator).
    join_agent_url: String,
    /// The user's join link (viewer).
    join_user_url: String,
    /// The user's landing page: waits for the agent, then offers to join.
    user_page_url: String,
    /// The agent's landing page.
    agent_page_url: String,
    /// As sent at creation.
    #[schema(value_type = Object)]
    metadata: Map<String, Value>,
    /// BBB's last `create` answer in snake_case, passwords removed; null before BBB answered.
    #[schema(value_type = Option<Object>)]
    bbb_meeting_info: Option<Value>,
}

impl MeetingView {
    pub fn of(meeting: &Meeting, base: &PublicBase) -> Self {
        let url = meeting_url(&base.0, &meeting.slug, meeting.guid);
        let keyed =
            |kind: &str, role: JoinRole| format!("{url}{kind}/{}/{}/", role.as_str(), meeting.join_key(role).as_str());
        Self {
            guid: meeting.guid.to_string(),
            idempotent_id: meeting.request.idempotent_id.clone(),
            name: meeting.request.name.clone(),
            created: meeting.created,
            updated: meeting.updated,
            running: meeting.running,
            last_time_running: meeting.last_time_running,
            is_running_url: format!("{url}is-running/"),
            events_url: format!("{url}events/"),
            join_agent_url: keyed("join", JoinRole::Agent),
            join_user_url: keyed("join", JoinRole::User),
            user_page_url: keyed("page", JoinRole::User),
            agent_page_url: keyed("page", JoinRole::Agent),
            url,
            metadata: meeting.request.metadata.clone(),
            bbb_meeting_info: meeting.bbb_create_answer.clone(),
        }
    }
}

impl MeetingView {
    pub fn join_url(&self, role: JoinRole) -> &str {
        match role {
            JoinRole::Agent => &self.join_agent_url,
            JoinRole::User => &self.join_user_url,
        }
    }

    pub fn is_running_url(&self) -> &str {
        &self.is_running_url
    }

    pub fn page_url(&self, role: JoinRole) -> &str {
        match role {
            JoinRole::Agent => &self.agent_page_url,
            JoinRole::User => &self.user_page_url,
        }
    }

    pub fn user_page_url(&self) -> &str {
        &self.user_page_url
    }
}

/// The body of `POST /bbb/{slug}/meeting/`. The service parses the JSON itself
/// (flat keys with `/` are unflattened, `extra` merged, loose types accepted); this type only
/// describes it, and a test parses its example.
#[derive(ToSchema)]
#[schema(example = meeting_payload_example)]
#[allow(dead_code)]
pub struct MeetingPayload {
    /// The BBB meeting name; required, non-empty.
    name: String,
    /// The caller's identity of the rendezvous (typically the form number), unique per
    /// connector: the same id with the same parameters returns the same rendezvous.
    idempotent_id: String,
    /// Extra BBB `create` parameters (`logoutURL`, `welcome`, `record`, `duration`, `meta_*`,
    /// ...); `meetingID`, `name`, the passwords and the callback URLs are the service's.
    #[schema(value_type = Option<Object>)]
    create_parameters: Option<Map<String, Value>>,
    /// Extra BBB `join` parameters for the user; `password`, `role`, `fullName` and
    /// `createTime` are the service's.
    #[schema(value_type = Option<Object>)]
    join_user_parameters: Option<Map<String, Value>>,
    /// Extra BBB `join` parameters for the agent.
    #[schema(value_type = Option<Object>)]
    join_agent_parameters: Option<Map<String, Value>>,
    /// The user's display name unless the join link says `?full_name=`.
    user_full_name: Option<String>,
    /// The agent's display name unless the join link says `?full_name=`.
    agent_full_name: Option<String>,
    /// Kept and returned as is; the pages show `appointment` and `description`.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
}

pub fn meeting_payload_example() -> Value {
    json!({
        "name": "Rendez-vous avec le service urbanisme",
        "idempotent_id": "42-17",
        "create_parameters": {"logoutURL": "https://portail.example.net/", "record": false, "duration": 60},
        "join_user_parameters": {"userdata-bbb_skip_check_audio": "true"},
        "user_full_name": "Camille Martin",
        "agent_full_name": "Service urbanisme",
        "metadata": {"appointment": "10 juin 2026, 10 h", "description": "Apportez votre dossier."},
    })
}

/// Where the examples' connector answers: a documentation page shows its own URLs instead.
pub const EXAMPLE_CONNECTOR_URL: &str = "https://connectors.example.net/bbb/visio/";

pub fn meeting_example() -> Value {
    let url = format!("{EXAMPLE_CONNECTOR_URL}meeting/6f1c0f5e2d8a4c3b9e7d1a2b3c4d5e6f/");
    json!({
        "guid": "6f1c0f5e2d8a4c3b9e7d1a2b3c4d5e6f",
        "idempotent_id": "42-17",
        "name": "Rendez-vous avec le service urbanisme",
        "created": "2026-06-01T12:00:00Z",
        "updated": "2026-06-01T12:00:00Z",
        "running": false,
        "last_time_running": null,
        "url": url,
        "is_running_url": format!("{url}is-running/"),
        "events_url": format!("{url}events/"),
        "join_agent_url": format!("{url}join/agent/0c5ae1e4b7d9a8f2/"),
        "join_user_url": format!("{url}join/user/9d1b7f3c2e6a4b80/"),
        "user_page_url": format!("{url}page/user/9d1b7f3c2e6a4b80/"),
        "agent_page_url": format!("{url}page/agent/0c5ae1e4b7d9a8f2/"),
        "metadata": {"appointment": "10 juin 2026, 10 h", "description": "Apportez votre dossier."},
        "bbb_meeting_info": {"create_time": 1_780_315_200_000_u64, "logout_url": "https://portail.example.net/"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::payload::parse_meeting_request;

    #[test]
    fn the_documented_payload_is_one_the_service_accepts() {
        let request = parse_meeting_request(meeting_payload_example()).expect("the example parses");

        assert_eq!(request.idempotent_id, "42-17");
        assert_eq!(request.create_parameters.get("record").map(String::as_str), Some("false"));
        assert_eq!(request.agent_full_name.as_deref(), Some("Service urbanisme"));
    }

    #[test]
    fn the_documented_meeting_has_the_fields_of_the_view() {
        let mut documented: Vec<String> = meeting_example().as_object().unwrap().keys().cloned().collect();
        let view = <MeetingView as utoipa::PartialSchema>::schema();

        let utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(object)) = view else {
            panic!("the view is an object")
        };
        let mut fields: Vec<String> = object.properties.keys().cloned().collect();
        fields.sort();
        documented.sort();
        assert_eq!(documented, fields);
    }
}
