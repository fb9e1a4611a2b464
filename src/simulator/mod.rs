//! The BigBlueButton simulator: an in-memory stand-in for a BBB server (tests, `demo`, workflow
//! authors without a server). It verifies every checksum like bbb-web, keeps meetings with BBB's
//! lifecycle, records the recent calls, and can be told to fail.

mod actions;
mod answers;
mod pages;
mod recordings;
mod server;
mod state;
mod xml;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::Url;

use crate::domain::Clock;

pub use server::{verify_body_checksum, verify_checksum};
pub use state::{SimulatedAttendee, SimulatedMeeting};

#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// The shared secret requests must be signed with.
    pub secret: String,
    /// A created meeting nobody joined ends after this (BBB default: 5 minutes).
    pub expire_if_no_user_joined: Duration,
    /// A meeting ends this long after its last participant left (BBB default: 1 minute).
    pub expire_when_last_user_left: Duration,
    /// Where browsers reach the simulator (join redirects, playback links), e.g. behind a TLS
    /// proxy. None: `X-Forwarded-Proto`/`-Host` from a loopback peer, else the Host over http.
    pub public_url: Option<Url>,
    /// The time the simulator reads: meeting expiry and every timestamp it hands out.
    pub clock: Clock,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            secret: "simulator-secret".to_owned(),
            expire_if_no_user_joined: Duration::from_secs(5 * 60),
            expire_when_last_user_left: Duration::from_secs(60),
            public_url: None,
            clock: Clock::system(),
        }
    }
}

/// A way to misbehave, for fault tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Connections are closed without an answer (new ones and open ones).
    Down,
    /// Every API answer waits this long first.
    Slow(Duration),
    /// HTTP 200 with a body that is not XML.
    Garbage,
    /// HTTP 500 with an HTML error page.
    Html500,
}

/// One API call as received.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    pub action: String,
    pub method: String,
    /// Decoded parameters (query, then form body), checksum excluded.
    pub params: Vec<(String, String)>,
    pub checksum_valid: bool,
}

impl RecordedCall {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// The simulator and its in-process control API; cheap to clone.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<state::Inner>,
}

impl Simulator {
    pub fn new(config: SimulatorConfig) -> Self {
        Self { inner: Arc::new(state::Inner::new(config)) }
    }

    /// Binds `addr` (port 0 allowed) and serves in a spawned task.
    pub async fn spawn(config: SimulatorConfig, addr: SocketAddr) -> std::io::Result<Simulator> {
        let simulator = Self::new(config);
        let bound = server::spawn(Arc::clone(&simulator.inner), addr).await?;
        *simulator.inner.addr.lock().unwrap_or_else(|e| e.into_inner()) = Some(bound);
        Ok(simulator)
    }

    pub fn addr(&self) -> SocketAddr {
        self.inner
            .addr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// `http://addr/bigbluebutton/`
    pub fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}/bigbluebutton/", self.addr())).expect("a socket address makes a valid URL")
    }

    /// `http://addr/`, under which the control endpoints live (`simulator/...`).
    pub fn control_url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.addr())).expect("a socket address makes a valid URL")
    }

    pub fn secret(&self) -> &str {
        &self.inner.config.secret
    }

    /// The most recent calls (the last 10,000), oldest first.
    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.inner.calls).iter().cloned().collect()
    }

    pub fn call_count(&self, action: &str) -> usize {
        lock(&self.inner.calls).iter().filter(|call| call.action == action).count()
    }

    pub fn clear_calls(&self) {
        lock(&self.inner.calls).clear();
    }

    pub fn set_fault(&self, fault: Option<Fault>) {
        self.inner.set_fault(fault);
    }

    /// Makes getMeetings answer the empty list whatever runs, as Scalelite can be configured to
    /// (`GET_MEETINGS_API_DISABLED`), or list the meetings again.
    pub fn disable_get_meetings(&self, disabled: bool) {
        self.inner.get_meetings_disabled.store(disabled, std::sync::atomic::Ordering::SeqCst);
    }

    /// A BBB restart: every meeting vanishes, without callbacks.
    pub fn forget_all_meetings(&self) {
        lock(&self.inner.meetings).forget_all();
    }

    /// Makes a participant present, as if they had opened the client.
    pub fn mark_present(&self, meeting_id: &str, full_name: &str, role: &str) {
        self.inner.mark_present(meeting_id, full_name, role);
    }

    pub fn mark_gone(&self, meeting_id: &str, full_name: &str) {
        self.inner.mark_gone(meeting_id, full_name);
    }

    /// A snapshot of a live meeting.
    pub fn meeting(&self, meeting_id: &str) -> Option<SimulatedMeeting> {
        self.inner.expire();
        lock(&self.inner.meetings).meetings.get(meeting_id).cloned()
    }

    /// Publishes a recording of the meeting, as BBB does once processing is over: the live
    /// session's recording so far, or else the meeting's latest recording again. It is then
    /// listed by getRecordings and announced to the meeting's `meta_bbb-recording-ready-url`, if
    /// any. Returns the record id; None when the meeting is neither live nor recorded.
    pub fn publish_recording(&self, meeting_id: &str) -> Option<String> {
        self.inner.publish_recording(meeting_id)
    }

    /// Every live meeting id.
    pub fn meeting_ids(&self) -> Vec<String> {
        self.inner.expire();
        lock(&self.inner.meetings).meetings.keys().cloned().collect()
    }
}

/// `bbb-connector simulate-bbb`: serves until Ctrl-C.
pub async fn run_standalone(listen: SocketAddr, secret: String, public_url: Option<Url>) -> anyhow::Result<()> {
    let config = SimulatorConfig { secret, public_url, ..SimulatorConfig::default() };
    let simulator = Simulator::spawn(config, listen).await?;
    let banner = format!(
        "BBB simulator listening: use bbb_url = \"{}\" with the secret given by --secret (any checksum algorithm).\n\
         Join links open a plain page on the simulator that makes the participant present.\n\
         Publish a recording of a meeting: curl -X POST '{}simulator/recordings/publish?meetingID=ID'\n",
        simulator.base_url(),
        simulator.control_url(),
    );
    // A reader that closed our output (a script that read the first line) must not stop us.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), banner.as_bytes());
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// Locks a mutex, recovering from a poisoned one (a panicking test must not wedge the others).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

type Params = BTreeMap<String, String>;
