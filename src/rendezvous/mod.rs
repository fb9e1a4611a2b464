//! The rendezvous service: the one place that knows the workflow of a rendezvous (DESIGN §4) —
//! get-or-create, create on BBB with coalescing, join, running state, end, the meeting-ended
//! callback, recordings and the recording-ready callback — over the store and the per-connector
//! BBB clients and caches. It knows no HTTP: handlers parse, call it, and render what it answers.

mod batches;
mod checks;
mod connector;
mod counters;
mod error;
mod events;
mod recordings;

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use connector::CheckedState;
pub use connector::{Connector, ConnectorChanges, Connectors, RunningState};
pub use error::RendezvousError;
use events::{Change, Channel, Facts};
pub use events::{Hub, LiveState, Snapshot, StateWatch, ENDED_AFTER_NOT_RUNNING};
pub use recordings::{recording_ready_url, KnownRecording};

use crate::bbb::{BbbError, CreateRequest, JoinRequest, RECORDING_READY_URL_PARAMETER};
use crate::domain::ids::random_hex;
use crate::domain::{Clock, Guid, JoinKey, JoinRole, Meeting, MeetingRequest, NewMeeting};
use crate::store::{self, Store};

/// Random bytes of each BBB password of a rendezvous (hex: twice as many characters).
const BBB_PASSWORD_BYTES: usize = 12;
/// Longest display name passed to BBB.
const MAX_FULL_NAME_CHARS: usize = 256;
/// The shortest pause of the checker of a watched rendezvous between two checks.
const SHORTEST_CHECK_PAUSE: Duration = Duration::from_millis(200);

/// What a BBB `create` left in the rendezvous.
#[derive(Debug, Clone)]
pub struct Created {
    pub meeting_info: Value,
    /// The `createTime` join URLs must carry.
    pub create_time: i64,
    pub recorded_at: DateTime<Utc>,
}

pub struct Rendezvous {
    store: Arc<dyn Store>,
    secret_key: SecretString,
    /// Judges the freshness of is-running answers.
    clock: Clock,
    /// The live state of the rendezvous with open events streams.
    hub: Arc<Hub>,
}

/// `{base}/bbb/{slug}/meeting/{guid}/`: the URL of a rendezvous under a public base (no
/// trailing `/`).
pub fn meeting_url(base: &str, slug: &str, guid: Guid) -> String {
    format!("{base}/bbb/{slug}/meeting/{guid}/")
}

/// The token of the end callback of `guid`: hex HMAC-SHA256 keyed by `secret_key`.
pub fn end_callback_token(secret_key: &str, guid: Guid) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(b"meeting-ended:");
    mac.update(guid.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

impl Rendezvous {
    pub fn new(store: Arc<dyn Store>, secret_key: SecretString, clock: Clock) -> Self {
        Self { store, secret_key, clock, hub: Arc::new(Hub::new()) }
    }

    /// The live states of this instance's events streams.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Now, on the service's clock, as the store keeps it.
    fn now(&self) -> DateTime<Utc> {
        stamp(&self.clock)
    }

    /// The rendezvous of `(connector, request.idempotent_id)`, created if new; the same
    /// idempotent_id with other parameters is a conflict. Calls BBB `create` when the
    /// rendezvous has no stored answer yet (new, or an earlier attempt failed).
    pub async fn get_or_create(
        &self,
        connector: &Connector,
        request: MeetingRequest,
        base: &str,
    ) -> Result<Meeting, RendezvousError> {
        let new = NewMeeting {
            slug: connector.slug.clone(),
            guid: Guid::new_random(),
            request,
            agent_key: JoinKey::generate(),
            user_key: JoinKey::generate(),
            attendee_pw: random_hex(BBB_PASSWORD_BYTES),
            moderator_pw: random_hex(BBB_PASSWORD_BYTES),
            created: self.now(),
        };
        let outcome = self.store.get_or_create_meeting(&new).await?;
        if !outcome.created && outcome.meeting.request != new.request {
            return Err(RendezvousError::IdempotencyConflict);
        }
        if outcome.created {
            connector.counters.rendezvous_created();
        }
        let created = if outcome.created { "new" } else { "replayed" };
        tracing::Span::current().record("outcome", tracing::field::debug(created));
        let mut meeting = outcome.meeting;
        if meeting.bbb_create_answer.is_none() {
            let created = self.create_on_bbb(connector, &meeting, base, None).await?;
            meeting.bbb_create_answer = Some(created.meeting_info);
            meeting.updated = created.recorded_at;
        }
        Ok(meeting)
    }

    /// The rendezvous `guid` of `connector` (another connector's is not found).
    pub async fn find(&self, connector: &Connector, guid: Guid) -> Result<Meeting, RendezvousError> {
        self.store
            .find_meeting(guid)
            .await?
            .filter(|meeting| meeting.slug == connector.slug)
            .ok_or(RendezvousError::NotFound)
    }

    /// The rendezvous `guid` when `key` is its join key for `role`.
    pub async fn find_with_key(
        &self,
        connector: &Connector,
        guid: Guid,
        role: JoinRole,
        key: &JoinKey,
    ) -> Result<Meeting, RendezvousError> {
        let meeting = self.find(connector, guid).await?;
        if !meeting.join_key(role).matches(key.as_str()) {
            return Err(RendezvousError::NotFound);
        }
        Ok(meeting)
    }

    /// Re-creates the BBB meeting (BBB may have forgotten it) and answers a join URL signed
    /// now for `role`, with the asked display name, else the stored one, else the default.
    pub async fn join_url(
        &self,
        connector: &Connector,
        meeting: &Meeting,
        role: JoinRole,
        asked_name: Option<&str>,
        base: &str,
    ) -> Result<String, RendezvousError> {
        let created = self.create_on_bbb(connector, meeting, base, Some(self.now())).await?;
        let full_name = display_name(connector, meeting, role, asked_name);
        let password = match role {
            JoinRole::Agent => &meeting.moderator_pw,
            JoinRole::User => &meeting.attendee_pw,
        };
        let guid = meeting.guid.to_string();
        let request = JoinRequest {
            meeting_id: &guid,
            full_name: &full_name,
            role: role.bbb_role(),
            password,
            create_time: created.create_time,
            parameters: meeting.join_parameters(role),
        };
        connector.counters.join_followed(role);
        self.note_join(connector, meeting).await;
        Ok(connector.bbb.join_url(&request).to_string())
    }

    /// Calls BBB `create` for the rendezvous (idempotent: same passwords every time) and stores
    /// the answer, with the time a join link was followed when that is why it is called.
    /// Concurrent callers share one BBB call and one write; nothing is written when the answer
    /// is the stored one and the join was already noted.
    async fn create_on_bbb(
        &self,
        connector: &Connector,
        meeting: &Meeting,
        base: &str,
        join_followed_at: Option<DateTime<Utc>>,
    ) -> Result<Created, RendezvousError> {
        let mut parameters = meeting.request.create_parameters.clone();
        parameters.insert(RECORDING_READY_URL_PARAMETER.to_owned(), recording_ready_url(base, &meeting.slug));
        let request = CreateRequest {
            meeting_id: meeting.guid.to_string(),
            name: meeting.request.name.clone(),
            attendee_pw: meeting.attendee_pw.clone(),
            moderator_pw: meeting.moderator_pw.clone(),
            meeting_ended_url: Some(self.end_callback_url(base, meeting)),
            parameters,
        };
        let (bbb, store, guid, clock) =
            (connector.bbb.clone(), Arc::clone(&self.store), meeting.guid, self.clock.clone());
        let stored_answer = meeting.bbb_create_answer.clone();
        let note_join = join_followed_at.filter(|_| meeting.join_followed_at.is_none());
        let created = connector
            .creates
            .try_get_with(guid, async move {
                let answer = bbb.create(&request).await.map_err(RendezvousError::Bbb)?;
                let recorded_at = stamp(&clock);
                if stored_answer.as_ref() != Some(&answer.meeting_info) || note_join.is_some() {
                    store.record_create_answer(guid, &answer.meeting_info, recorded_at, note_join).await?;
                }
                Ok(Arc::new(Created {
                    meeting_info: answer.meeting_info,
                    create_time: answer.create_time,
                    recorded_at,
                }))
            })
            .await
            .map_err(|failure: Arc<RendezvousError>| failure.shared_copy())?;
        // Only in-flight calls are shared: the next click must re-create a meeting BBB forgot.
        connector.creates.invalidate(&guid).await;
        Ok((*created).clone())
    }

    /// The URL passed to BBB as `meetingEndedURL`.
    fn end_callback_url(&self, base: &str, meeting: &Meeting) -> String {
        let token = end_callback_token(self.secret_key.expose_secret(), meeting.guid);
        format!("{}callback/end/{token}/", meeting_url(base, &meeting.slug, meeting.guid))
    }

    /// Whether the meeting runs, at most one cache period old on the service's clock:
    /// concurrent misses share one check, one instance of those sharing the database checks
    /// (see `checks`), and a failed check is kept too (stale answer), so that an outage is not
    /// multiplied by the number of pollers.
    pub async fn running_state(&self, connector: &Arc<Connector>, guid: Guid) -> Result<RunningState, RendezvousError> {
        let period = connector.config.is_running_cache();
        if let Some(known) =
            connector.running.get(&guid).await.filter(|known| known.fresh_at(self.clock.instant(), period))
        {
            connector.counters.is_running_answered(true);
            self.observe(guid, known);
            return Ok(known.state);
        }
        connector.counters.is_running_answered(false);
        let (store, checked, clock) = (Arc::clone(&self.store), Arc::clone(connector), self.clock.clone());
        let check = async move {
            // A caller that missed just before another check stored its answer, and came here
            // after that check stopped being shared, takes the stored answer.
            if let Some(known) =
                checked.running.get(&guid).await.filter(|known| known.fresh_at(clock.instant(), period))
            {
                return Ok(known);
            }
            let answer = checks::check_running(store, Arc::clone(&checked), clock, guid).await?;
            // Kept before the check stops being shared, so that no caller in between asks again.
            checked.running.insert(guid, answer).await;
            Ok(answer)
        };
        let answer = connector
            .checks
            .try_get_with(guid, check)
            .await
            .map_err(|failure: Arc<RendezvousError>| failure.shared_copy());
        connector.checks.invalidate(&guid).await;
        let answer = answer?;
        self.observe(guid, answer);
        Ok(answer.state)
    }

    /// Ends the BBB meeting; ending a meeting BBB no longer knows is not an error.
    pub async fn end(&self, connector: &Connector, guid: Guid) -> Result<(), RendezvousError> {
        let meeting = self.find(connector, guid).await?;
        match connector.bbb.end(&meeting.guid.to_string()).await {
            Ok(()) => {}
            Err(BbbError::Api { message_key, .. }) if message_key == "notFound" => {}
            Err(other) => return Err(other.into()),
        }
        self.mark_ended(connector, guid).await
    }

    /// BBB's meeting-ended callback: the token is checked (constant time) before any other
    /// work, then the rendezvous is marked not running at once; idempotent.
    pub async fn meeting_ended(&self, connector: &Connector, guid: Guid, token: &str) -> Result<(), RendezvousError> {
        let expected = end_callback_token(self.secret_key.expose_secret(), guid);
        if !bool::from(expected.as_bytes().ct_eq(token.as_bytes())) {
            return Err(RendezvousError::InvalidToken);
        }
        self.find(connector, guid).await?;
        self.mark_ended(connector, guid).await?;
        tracing::info!(%guid, "BBB reported the meeting ended");
        Ok(())
    }

    async fn mark_ended(&self, connector: &Connector, guid: Guid) -> Result<(), RendezvousError> {
        self.store.record_running_state(guid, false, self.now()).await?;
        connector.running.invalidate(&guid).await;
        self.hub.note_said_ended(guid, false);
        let now = self.clock.now();
        if let Some(channel) = self.hub.existing(guid) {
            channel.update(now, |facts| {
                facts.running = false;
                facts.stale = false;
                facts.said_ended = true;
            });
        }
        let checked_at = Some(now);
        self.hub.tell(Change::State {
            guid: guid.to_string(),
            running: false,
            stale: false,
            said_ended: true,
            checked_at,
        });
        Ok(())
    }

    /// An events stream of `meeting` (found by the caller), counted as the user's page open when
    /// `user_page`. The first stream of a rendezvous starts its checker: one running check per
    /// cache period, shared with is-running, whatever the number of streams.
    pub fn watch(self: &Arc<Self>, connector: &Arc<Connector>, meeting: &Meeting, user_page: bool) -> StateWatch {
        let initial =
            || Facts { running: meeting.running, last_running_at: meeting.last_time_running, ..Facts::default() };
        let (channel, made) = self.hub.channel(meeting.guid, self.clock.now(), initial);
        if made {
            let checker = follow(Arc::downgrade(self), Arc::clone(connector), meeting.guid, Arc::downgrade(&channel));
            tokio::spawn(checker);
        }
        self.hub.watch(meeting.guid, channel, user_page)
    }

    /// Feeds a running-state answer to the streams of `guid`, if any.
    fn observe(&self, guid: Guid, checked: CheckedState) {
        let RunningState::Known { running, stale } = checked.state else { return };
        let Some(channel) = self.hub.existing(guid) else { return };
        let (now, checked_at) = (self.clock.now(), checked.checked_at);
        if running && !stale {
            self.hub.note_said_ended(guid, true);
        }
        let news = channel.update(now, |facts| {
            facts.running = running;
            facts.stale = stale;
            facts.checked_at = Some(checked_at);
            if running && !stale {
                facts.last_running_at = Some(checked_at);
                facts.said_ended = false;
            }
        });
        if news && !stale {
            let checked_at = Some(checked_at);
            self.hub.tell(Change::State { guid: guid.to_string(), running, stale, said_ended: false, checked_at });
        }
    }

    /// With several instances on one database (PostgreSQL), the live-state changes of each reach
    /// the streams of all: what this one sees is published, what the others publish is heard.
    pub async fn share_changes(self: &Arc<Self>) -> Result<(), RendezvousError> {
        let Some(mut heard) = self.store.listen_changes().await? else { return Ok(()) };
        let (outbox, mut to_publish) = tokio::sync::mpsc::unbounded_channel::<String>();
        self.hub.tell_through(outbox);
        let store = Arc::clone(&self.store);
        tokio::spawn(async move {
            while let Some(payload) = to_publish.recv().await {
                if let Err(error) = store.publish_change(&payload).await {
                    tracing::warn!(error = %error, "live-state change not published to the other instances");
                }
            }
        });
        let service = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(payload) = heard.recv().await {
                let Some(service) = service.upgrade() else { return };
                service.hub.hear(&payload, service.clock.now());
            }
        });
        Ok(())
    }

    /// A join link was followed: the first one makes the cached "cannot be running" answer
    /// wrong, and the streams' checker looks again at once.
    async fn note_join(&self, connector: &Connector, meeting: &Meeting) {
        if meeting.join_followed_at.is_none() {
            connector.running.invalidate(&meeting.guid).await;
        }
        if let Some(channel) = self.hub.existing(meeting.guid) {
            channel.wake.notify_one();
        }
    }

    /// When the checker of a watched rendezvous should look next: once the last answer is one
    /// cache period old.
    fn next_check_in(&self, channel: &Channel, period: Duration) -> Duration {
        let Some(checked_at) = channel.checked_at() else { return period };
        let due = checked_at + chrono::Duration::from_std(period).unwrap_or_default();
        due.signed_duration_since(self.clock.now()).to_std().unwrap_or_default().clamp(SHORTEST_CHECK_PAUSE, period)
    }
}

/// The checker of a watched rendezvous: asks the running state once per cache period (the
/// answer reaches the streams through `observe`) until its last stream is gone.
async fn follow(rendezvous: Weak<Rendezvous>, connector: Arc<Connector>, guid: Guid, channel: Weak<Channel>) {
    let period = connector.config.is_running_cache().max(SHORTEST_CHECK_PAUSE);
    let mut presence_told = std::time::Instant::now();
    loop {
        let (Some(service), Some(watched)) = (rendezvous.upgrade(), channel.upgrade()) else { return };
        if let Err(error) = service.running_state(&connector, guid).await {
            tracing::warn!(%guid, error = %error, "events: the running state could not be had");
        }
        let user_pages = watched.refresh_presence();
        if user_pages > 0 && presence_told.elapsed() >= events::PRESENCE_RETOLD {
            service.hub.tell(Change::Presence { guid: guid.to_string(), user_pages });
            presence_told = std::time::Instant::now();
        }
        // At least as often as presence is told again (a cached answer costs no BBB call).
        let pause = service.next_check_in(&watched, period).min(events::PRESENCE_RETOLD);
        let wake = Arc::clone(&watched.wake);
        drop((service, watched));
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = wake.notified() => {}
        }
    }
}

/// The time on `clock` as the store keeps it (to the microsecond).
fn stamp(clock: &Clock) -> DateTime<Utc> {
    store::truncate_to_micros(clock.now())
}

/// The asked name, else the stored name for the role, else the connector default; control
/// characters dropped, at most 256 characters.
fn display_name(connector: &Connector, meeting: &Meeting, role: JoinRole, asked: Option<&str>) -> String {
    let default = match role {
        JoinRole::Agent => &connector.config.default_agent_full_name,
        JoinRole::User => &connector.config.default_user_full_name,
    };
    asked
        .map(clean_name)
        .filter(|name| !name.is_empty())
        .or_else(|| meeting.stored_full_name(role).map(clean_name))
        .unwrap_or_else(|| default.clone())
}

fn clean_name(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(MAX_FULL_NAME_CHARS).collect::<String>().trim().to_owned()
}

#[cfg(test)]
mod tests;
