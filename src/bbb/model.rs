//! Typed requests to and answers from BBB.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;
use serde::Serialize;
use url::Url;

use super::checksum::ChecksumAlgorithm;

/// One BBB server as configured for a connector.
#[derive(Debug, Clone)]
pub struct BbbServer {
    pub api_base: Url,
    pub secret: SecretString,
    pub algorithm: ChecksumAlgorithm,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiVersion {
    pub version: String,
    /// None when the server does not reveal it.
    pub bbb_version: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ServerStatus {
    pub version: ApiVersion,
    pub latency: Duration,
}

#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub meeting_id: String,
    pub name: String,
    pub attendee_pw: String,
    pub moderator_pw: String,
    /// Sent as `meetingEndedURL`.
    pub meeting_ended_url: Option<String>,
    pub parameters: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct CreateAnswer {
    /// ms since the epoch, for join's `createTime`.
    pub create_time: i64,
    /// BBB already had the meeting (`duplicateWarning`).
    pub duplicate: bool,
    /// DESIGN §4's `bbb_meeting_info`.
    pub meeting_info: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct JoinRequest<'a> {
    pub meeting_id: &'a str,
    pub full_name: &'a str,
    /// `MODERATOR` or `VIEWER`.
    pub role: &'a str,
    /// The password matching the role, for servers older than 2.4.
    pub password: &'a str,
    pub create_time: i64,
    pub parameters: &'a BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeetingInfo {
    pub meeting_id: String,
    pub meeting_name: String,
    pub internal_meeting_id: String,
    pub create_time: i64,
    pub running: bool,
    pub has_user_joined: bool,
    pub participant_count: u32,
    pub moderator_count: u32,
    pub attendees: Vec<Attendee>,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attendee {
    pub user_id: String,
    pub full_name: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recording {
    pub record_id: String,
    pub meeting_id: String,
    pub name: String,
    pub state: String,
    pub published: bool,
    pub start_time: i64,
    pub end_time: i64,
    pub playback: Vec<Playback>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Playback {
    pub kind: String,
    pub url: String,
    pub length_minutes: Option<u32>,
}
