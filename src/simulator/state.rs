//! The simulator's memory: live meetings and their participants, join sessions, recordings,
//! recorded calls, the current fault; and BBB's meeting lifecycle (expiry, end callbacks).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{lock, Fault, Params, RecordedCall, SimulatorConfig};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedAttendee {
    pub user_id: String,
    pub full_name: String,
    pub role: String,
}

#[derive(Debug, Clone)]
pub struct SimulatedMeeting {
    pub meeting_id: String,
    pub name: String,
    pub internal_meeting_id: String,
    pub attendee_pw: String,
    pub moderator_pw: String,
    pub create_time: i64,
    pub voice_bridge: String,
    /// Every create parameter received (checksum excluded).
    pub params: Params,
    /// `meta_*` parameters: key after `meta_`, lower-cased.
    pub metadata: Params,
    pub attendees: Vec<SimulatedAttendee>,
    /// The parameters of every join received.
    pub joins: Vec<Params>,
    pub has_user_joined: bool,
    pub created_at: Instant,
    pub last_left_at: Option<Instant>,
}

impl SimulatedMeeting {
    pub fn running(&self) -> bool {
        !self.attendees.is_empty()
    }
}

/// A join answered with a redirect: opening its client page makes the participant present.
#[derive(Debug, Clone)]
pub struct Session {
    pub meeting_id: String,
    pub attendee: SimulatedAttendee,
}

#[derive(Debug, Clone)]
pub struct SimulatedRecording {
    pub record_id: String,
    pub meeting_id: String,
    pub name: String,
    pub start_time: i64,
    pub end_time: i64,
    pub metadata: Params,
}

#[derive(Default)]
pub struct Meetings {
    pub meetings: HashMap<String, SimulatedMeeting>,
    pub sessions: HashMap<String, Session>,
    pub recordings: Vec<SimulatedRecording>,
}

pub struct Inner {
    pub config: SimulatorConfig,
    pub addr: Mutex<Option<SocketAddr>>,
    pub meetings: Mutex<Meetings>,
    pub calls: Mutex<Vec<RecordedCall>>,
    pub fault: Mutex<Option<Fault>>,
    /// Mirrors `Fault::Down` for the connection layer, which checks it on every read and write.
    pub down: std::sync::Arc<AtomicBool>,
    http: reqwest::Client,
}

/// How long the simulator waits for a callback target.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(5);

impl Inner {
    pub fn new(config: SimulatorConfig) -> Self {
        let http = reqwest::Client::builder().timeout(CALLBACK_TIMEOUT).build().unwrap_or_default();
        Self {
            config,
            addr: Mutex::new(None),
            meetings: Mutex::new(Meetings::default()),
            calls: Mutex::new(Vec::new()),
            fault: Mutex::new(None),
            down: std::sync::Arc::new(AtomicBool::new(false)),
            http,
        }
    }

    pub fn set_fault(&self, fault: Option<Fault>) {
        self.down.store(fault == Some(Fault::Down), Ordering::SeqCst);
        *lock(&self.fault) = fault;
    }

    pub fn fault(&self) -> Option<Fault> {
        lock(&self.fault).clone()
    }

    pub fn mark_present(&self, meeting_id: &str, full_name: &str, role: &str) {
        self.expire();
        let attendee = SimulatedAttendee {
            user_id: format!("w_{}", crate::domain::ids::random_hex(6)),
            full_name: full_name.to_owned(),
            role: role.to_owned(),
        };
        self.add_attendee(meeting_id, attendee);
    }

    pub fn add_attendee(&self, meeting_id: &str, attendee: SimulatedAttendee) -> bool {
        let mut state = lock(&self.meetings);
        let Some(meeting) = state.meetings.get_mut(meeting_id) else { return false };
        if !meeting.attendees.iter().any(|present| present.user_id == attendee.user_id) {
            meeting.attendees.push(attendee);
        }
        meeting.has_user_joined = true;
        meeting.last_left_at = None;
        true
    }

    pub fn mark_gone(&self, meeting_id: &str, full_name: &str) {
        let mut state = lock(&self.meetings);
        if let Some(meeting) = state.meetings.get_mut(meeting_id) {
            meeting.attendees.retain(|attendee| attendee.full_name != full_name);
            if meeting.attendees.is_empty() {
                meeting.last_left_at = Some(Instant::now());
            }
        }
    }

    /// Ends the meetings BBB would have ended by now (lazily, on every access).
    pub fn expire(&self) {
        let expired: Vec<String> = {
            let state = lock(&self.meetings);
            state.meetings.values().filter(|meeting| self.is_expired(meeting)).map(|m| m.meeting_id.clone()).collect()
        };
        for meeting_id in expired {
            self.end_meeting(&meeting_id);
        }
    }

    fn is_expired(&self, meeting: &SimulatedMeeting) -> bool {
        if !meeting.has_user_joined {
            return meeting.created_at.elapsed() >= self.config.expire_if_no_user_joined;
        }
        meeting.attendees.is_empty()
            && meeting.last_left_at.is_some_and(|left| left.elapsed() >= self.config.expire_when_last_user_left)
    }

    /// Removes the meeting, keeps a recording if one was made, fires the end callbacks.
    pub fn end_meeting(&self, meeting_id: &str) -> bool {
        let Some(meeting) = lock(&self.meetings).meetings.remove(meeting_id) else { return false };
        let recorded = meeting.params.get("record").is_some_and(|record| record == "true") && meeting.has_user_joined;
        if recorded {
            lock(&self.meetings).recordings.push(SimulatedRecording {
                record_id: meeting.internal_meeting_id.clone(),
                meeting_id: meeting.meeting_id.clone(),
                name: meeting.name.clone(),
                start_time: meeting.create_time,
                end_time: chrono::Utc::now().timestamp_millis(),
                metadata: meeting.metadata.clone(),
            });
        }
        self.fire_end_callbacks(&meeting, recorded);
        true
    }

    fn fire_end_callbacks(&self, meeting: &SimulatedMeeting, recorded: bool) {
        let mut targets = Vec::new();
        if let Some(url) = meeting.params.get("meetingEndedURL") {
            targets.push(url.clone());
        }
        if let Some(url) = meeting.metadata.get("endcallbackurl") {
            let separator = if url.contains('?') { '&' } else { '?' };
            targets.push(format!("{url}{separator}recordingmarks={recorded}&meetingID={}", meeting.meeting_id));
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        for target in targets {
            let http = self.http.clone();
            runtime.spawn(async move {
                if let Err(error) = http.get(&target).send().await {
                    tracing::debug!(%error, "simulator: end callback failed");
                }
            });
        }
    }

    pub fn record_call(&self, call: RecordedCall) {
        lock(&self.calls).push(call);
    }
}
