//! The simulator's memory: live meetings and their participants, join sessions, recordings,
//! recorded calls, the current fault; and BBB's meeting lifecycle (expiry, end callbacks).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

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
    /// The session of the meeting joined: a later one of the same meetingID is not entered.
    pub internal_meeting_id: String,
    pub attendee: SimulatedAttendee,
}

/// A published recording of one session (reference §5.5).
#[derive(Debug, Clone)]
pub struct SimulatedRecording {
    /// The `internalMeetingID` of the session recorded.
    pub record_id: String,
    pub meeting_id: String,
    pub name: String,
    /// Milliseconds since the epoch.
    pub start_time: i64,
    pub end_time: i64,
    pub participants: usize,
    /// The meeting's metadata (keys lower-cased, as stored at create).
    pub metadata: Params,
}

#[derive(Default)]
pub struct Meetings {
    pub meetings: HashMap<String, SimulatedMeeting>,
    pub sessions: HashMap<String, Session>,
    pub recordings: Vec<SimulatedRecording>,
    /// When meetings may end, earliest first: one entry per creation and per last departure.
    /// An entry outdated since (somebody joined, the meeting ended or was re-created) is
    /// dropped when it comes due, so that `expire`, run on every access, costs a heap peek.
    deadlines: BinaryHeap<Reverse<(Instant, String)>>,
}

impl Meetings {
    /// Keeps a new meeting, which ends at `deadline` (None: never) unless somebody joins.
    pub fn add(&mut self, meeting: SimulatedMeeting, deadline: Option<Instant>) {
        self.expect_end_at(&meeting.meeting_id, deadline);
        self.meetings.insert(meeting.meeting_id.clone(), meeting);
    }

    fn expect_end_at(&mut self, meeting_id: &str, deadline: Option<Instant>) {
        if let Some(deadline) = deadline {
            self.deadlines.push(Reverse((deadline, meeting_id.to_owned())));
        }
    }

    /// A BBB restart: every meeting and session is gone (recordings stay, as on disk).
    pub fn forget_all(&mut self) {
        self.meetings.clear();
        self.sessions.clear();
        self.deadlines.clear();
    }

    /// Takes the deadline entries due at `now`, whatever their meeting's state.
    fn take_due(&mut self, now: Instant) -> Vec<String> {
        let mut due = Vec::new();
        while self.deadlines.peek().is_some_and(|Reverse((deadline, _))| *deadline <= now) {
            if let Some(Reverse((_, meeting_id))) = self.deadlines.pop() {
                due.push(meeting_id);
            }
        }
        due
    }
}

/// The most recent API calls kept for inspection; older ones are dropped, so that a long-running
/// simulator does not grow without bound.
const RECORDED_CALLS_KEPT: usize = 10_000;

pub struct Inner {
    pub config: SimulatorConfig,
    pub addr: Mutex<Option<SocketAddr>>,
    pub meetings: Mutex<Meetings>,
    pub calls: Mutex<VecDeque<RecordedCall>>,
    pub fault: Mutex<Option<Fault>>,
    /// Mirrors `Fault::Down` for the connection layer, which checks it on every read and write.
    pub down: std::sync::Arc<AtomicBool>,
    /// getMeetings answers the empty list, as a Scalelite with it disabled does (reference §5.3).
    pub get_meetings_disabled: AtomicBool,
    http: reqwest::Client,
    /// Paces the end callbacks: when many meetings expire together they are sent a few at a
    /// time, as bbb-web's callback queue does, not as one burst of connections.
    callbacks_in_flight: std::sync::Arc<Semaphore>,
}

/// How long the simulator waits for a callback target.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(5);
/// End callbacks sent at once.
const CONCURRENT_CALLBACKS: usize = 4;

impl Inner {
    pub fn new(config: SimulatorConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(CALLBACK_TIMEOUT)
            .pool_max_idle_per_host(CONCURRENT_CALLBACKS)
            .build()
            .unwrap_or_default();
        Self {
            config,
            addr: Mutex::new(None),
            meetings: Mutex::new(Meetings::default()),
            calls: Mutex::new(VecDeque::new()),
            fault: Mutex::new(None),
            down: std::sync::Arc::new(AtomicBool::new(false)),
            get_meetings_disabled: AtomicBool::new(false),
            http,
            callbacks_in_flight: std::sync::Arc::new(Semaphore::new(CONCURRENT_CALLBACKS)),
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
                let left = self.config.clock.instant();
                meeting.last_left_at = Some(left);
                state.expect_end_at(meeting_id, left.checked_add(self.config.expire_when_last_user_left));
            }
        }
    }

    /// Ends the meetings BBB would have ended by now (lazily, on every access).
    pub fn expire(&self) {
        let now = self.config.clock.instant();
        let expired: Vec<String> = {
            let mut state = lock(&self.meetings);
            let due = state.take_due(now);
            due.into_iter()
                .filter(|meeting_id| {
                    let meeting = state.meetings.get(meeting_id);
                    meeting.and_then(|meeting| self.expiry_of(meeting)).is_some_and(|deadline| deadline <= now)
                })
                .collect()
        };
        for meeting_id in expired {
            self.end_meeting(&meeting_id);
        }
    }

    /// When BBB would end the meeting as it is now; None while somebody is in it (or for a delay
    /// too long to reach).
    pub fn expiry_of(&self, meeting: &SimulatedMeeting) -> Option<Instant> {
        if !meeting.has_user_joined {
            return meeting.created_at.checked_add(self.config.expire_if_no_user_joined);
        }
        if !meeting.attendees.is_empty() {
            return None;
        }
        meeting.last_left_at.and_then(|left| left.checked_add(self.config.expire_when_last_user_left))
    }

    /// Removes the meeting and fires the end callbacks; a recorded meeting then publishes and
    /// announces its recording, as BBB does once processing is over.
    pub fn end_meeting(&self, meeting_id: &str) -> bool {
        let meeting = {
            let mut state = lock(&self.meetings);
            let Some(meeting) = state.meetings.remove(meeting_id) else { return false };
            state.sessions.retain(|_, session| session.internal_meeting_id != meeting.internal_meeting_id);
            meeting
        };
        let recorded = meeting.params.get("record").is_some_and(|record| record == "true") && meeting.has_user_joined;
        self.fire_end_callbacks(&meeting, recorded);
        if recorded {
            self.publish(self.recording_of(&meeting));
        }
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
        for target in targets {
            self.deliver(self.http.get(&target), "end");
        }
    }

    /// Sends a callback in the background, a few at a time (outside a runtime: not at all).
    pub fn deliver(&self, request: reqwest::RequestBuilder, kind: &'static str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let in_flight = std::sync::Arc::clone(&self.callbacks_in_flight);
        runtime.spawn(async move {
            let Ok(_permit) = in_flight.acquire_owned().await else { return };
            if let Err(error) = request.send().await {
                tracing::debug!(%error, kind, "simulator: callback failed");
            }
        });
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn record_call(&self, call: RecordedCall) {
        let mut calls = lock(&self.calls);
        if calls.len() == RECORDED_CALLS_KEPT {
            calls.pop_front();
        }
        calls.push_back(call);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_log_keeps_only_the_most_recent_calls() {
        let inner = Inner::new(SimulatorConfig::default());

        for i in 0..RECORDED_CALLS_KEPT + 10 {
            let action = format!("call-{i}");
            inner.record_call(RecordedCall {
                action,
                method: "GET".to_owned(),
                params: Vec::new(),
                checksum_valid: true,
            });
        }

        let calls = lock(&inner.calls);
        assert_eq!(calls.len(), RECORDED_CALLS_KEPT);
        assert_eq!(calls.front().map(|call| call.action.as_str()), Some("call-10"));
        let last = format!("call-{}", RECORDED_CALLS_KEPT + 9);
        assert_eq!(calls.back().map(|call| call.action.as_str()), Some(last.as_str()));
    }
}
