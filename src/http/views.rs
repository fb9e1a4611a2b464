//! What the HTTP answers show of a rendezvous: the meeting object of DESIGN §4, with the URLs
//! built under the public base.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::extract::PublicBase;
use crate::domain::{JoinRole, Meeting};
use crate::rendezvous::meeting_url;

/// The meeting object of DESIGN §4.
#[derive(Debug, Serialize)]
pub struct MeetingView {
    guid: String,
    idempotent_id: String,
    name: String,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    running: bool,
    last_time_running: Option<DateTime<Utc>>,
    url: String,
    is_running_url: String,
    join_agent_url: String,
    join_user_url: String,
    user_page_url: String,
    agent_page_url: String,
    metadata: Map<String, Value>,
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
}
