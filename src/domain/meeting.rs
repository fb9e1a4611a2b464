//! The rendezvous: what a caller asks for (`MeetingRequest`), what is stored (`Meeting`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{Guid, JoinKey, JoinRole};

/// BBB API parameters as they are sent: name to value, values already normalised to the
/// strings BBB expects (`true`/`false`, decimal numbers).
pub type BbbParameters = BTreeMap<String, String>;

/// A validated, normalised create request. Two requests are "the same" for idempotency when
/// they compare equal.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingRequest {
    pub name: String,
    pub idempotent_id: String,
    pub create_parameters: BbbParameters,
    pub join_user_parameters: BbbParameters,
    pub join_agent_parameters: BbbParameters,
    pub user_full_name: Option<String>,
    pub agent_full_name: Option<String>,
    pub metadata: Map<String, Value>,
}

/// Everything needed to insert a rendezvous; the store keeps it only if (slug, idempotent_id)
/// is new.
#[derive(Debug, Clone)]
pub struct NewMeeting {
    pub slug: String,
    pub guid: Guid,
    pub request: MeetingRequest,
    pub agent_key: JoinKey,
    pub user_key: JoinKey,
    pub attendee_pw: String,
    pub moderator_pw: String,
    pub created: DateTime<Utc>,
}

/// A stored rendezvous (DESIGN §5).
#[derive(Debug, Clone, PartialEq)]
pub struct Meeting {
    pub slug: String,
    pub guid: Guid,
    pub request: MeetingRequest,
    pub agent_key: JoinKey,
    pub user_key: JoinKey,
    /// The two BBB passwords sent on every `create`, so re-creation never meets `idNotUnique`.
    pub attendee_pw: String,
    pub moderator_pw: String,
    pub running: bool,
    pub last_time_running: Option<DateTime<Utc>>,
    pub last_checked: Option<DateTime<Utc>>,
    /// When a join link was last followed; never followed means it cannot be running.
    pub join_followed_at: Option<DateTime<Utc>>,
    /// BBB's last `create` answer, as stored (the `bbb_meeting_info` object).
    pub bbb_create_answer: Option<Value>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl Meeting {
    pub fn join_key(&self, role: JoinRole) -> &JoinKey {
        match role {
            JoinRole::Agent => &self.agent_key,
            JoinRole::User => &self.user_key,
        }
    }

    pub fn join_parameters(&self, role: JoinRole) -> &BbbParameters {
        match role {
            JoinRole::Agent => &self.request.join_agent_parameters,
            JoinRole::User => &self.request.join_user_parameters,
        }
    }

    pub fn stored_full_name(&self, role: JoinRole) -> Option<&str> {
        match role {
            JoinRole::Agent => self.request.agent_full_name.as_deref(),
            JoinRole::User => self.request.user_full_name.as_deref(),
        }
    }
}
