//! The rendezvous service alone: an in-memory store and the BBB simulator, no HTTP.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::*;
use crate::config::{Config, ConnectorConfig};
use crate::simulator::{Fault, Simulator, SimulatorConfig};
use crate::store::{
    CheckOutcome, Claim, GetOrCreate, PendingMigration, ReadyRecording, StoreError, StoredBatch, StoredCheck,
};

const SECRET: &str = "service-test-secret";
const BASE: &str = "https://rdv.example.org";

/// The latest check claimed and whether it failed (None while in flight).
type ClaimedCheck = (DateTime<Utc>, Option<bool>);

/// A store in memory, with a count of the writes it was asked for.
#[derive(Default)]
struct MemoryStore {
    meetings: Mutex<HashMap<Guid, Meeting>>,
    ready: Mutex<Vec<(Guid, ReadyRecording)>>,
    writes: Mutex<usize>,
    /// Per rendezvous: the latest check claimed and its outcome (None while in flight).
    checks: Mutex<HashMap<Guid, ClaimedCheck>>,
    batches: Mutex<HashMap<String, StoredBatch>>,
}

impl MemoryStore {
    fn writes(&self) -> usize {
        *self.writes.lock().unwrap()
    }

    fn update(&self, guid: Guid, change: impl FnOnce(&mut Meeting)) {
        *self.writes.lock().unwrap() += 1;
        if let Some(meeting) = self.meetings.lock().unwrap().get_mut(&guid) {
            change(meeting);
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn get_or_create_meeting(&self, new: &NewMeeting) -> Result<GetOrCreate, StoreError> {
        let mut meetings = self.meetings.lock().unwrap();
        let same =
            |meeting: &&Meeting| meeting.slug == new.slug && meeting.request.idempotent_id == new.request.idempotent_id;
        if let Some(meeting) = meetings.values().find(same) {
            return Ok(GetOrCreate { meeting: meeting.clone(), created: false });
        }
        let meeting = Meeting {
            slug: new.slug.clone(),
            guid: new.guid,
            request: new.request.clone(),
            agent_key: new.agent_key.clone(),
            user_key: new.user_key.clone(),
            attendee_pw: new.attendee_pw.clone(),
            moderator_pw: new.moderator_pw.clone(),
            running: false,
            last_time_running: None,
            last_checked: None,
            join_followed_at: None,
            bbb_create_answer: None,
            created: new.created,
            updated: new.created,
        };
        meetings.insert(new.guid, meeting.clone());
        Ok(GetOrCreate { meeting, created: true })
    }

    async fn find_meeting(&self, guid: Guid) -> Result<Option<Meeting>, StoreError> {
        Ok(self.meetings.lock().unwrap().get(&guid).cloned())
    }

    async fn record_create_answer(
        &self,
        guid: Guid,
        answer: &Value,
        at: DateTime<Utc>,
        join_followed_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.update(guid, |meeting| {
            meeting.bbb_create_answer = Some(answer.clone());
            meeting.updated = at;
            meeting.join_followed_at = join_followed_at.or(meeting.join_followed_at);
        });
        Ok(())
    }

    async fn record_running_state(&self, guid: Guid, running: bool, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.update(guid, |meeting| {
            meeting.running = running;
            meeting.last_checked = Some(at);
            if running {
                meeting.last_time_running = Some(at);
            }
        });
        Ok(())
    }

    async fn claim_running_check(
        &self,
        guid: Guid,
        at: DateTime<Utc>,
        cutoff: DateTime<Utc>,
    ) -> Result<Claim<Option<StoredCheck>>, StoreError> {
        let claimed = {
            let mut checks = self.checks.lock().unwrap();
            let claimable = self.meetings.lock().unwrap().contains_key(&guid)
                && checks.get(&guid).is_none_or(|(claimed_at, _)| *claimed_at <= cutoff);
            if claimable {
                *self.writes.lock().unwrap() += 1;
                checks.insert(guid, (at, None));
            }
            claimable
        };
        if claimed {
            return Ok(Claim::Claimed);
        }
        Ok(Claim::Taken(self.stored_running_check(guid).await?))
    }

    async fn stored_running_check(&self, guid: Guid) -> Result<Option<StoredCheck>, StoreError> {
        let check = self.checks.lock().unwrap().get(&guid).copied();
        let outcome = match check {
            None | Some((_, Some(false))) => CheckOutcome::Answered,
            Some((_, Some(true))) => CheckOutcome::Failed,
            Some((_, None)) => CheckOutcome::InFlight,
        };
        let meetings = self.meetings.lock().unwrap();
        Ok(meetings.get(&guid).map(|meeting| StoredCheck {
            running: meeting.running,
            checked_at: check.map(|(claimed_at, _)| claimed_at),
            outcome,
        }))
    }

    async fn record_running_check(
        &self,
        guid: Guid,
        claimed_at: DateTime<Utc>,
        checked_at: DateTime<Utc>,
        running: Option<bool>,
    ) -> Result<(), StoreError> {
        if let Some(check) = self.checks.lock().unwrap().get_mut(&guid).filter(|(at, _)| *at == claimed_at) {
            *check = (checked_at, Some(running.is_none()));
        }
        match running {
            Some(running) => self.record_running_state(guid, running, checked_at).await,
            None => Ok(()),
        }
    }

    async fn count_checked_since(&self, slug: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        let checks = self.checks.lock().unwrap();
        let meetings = self.meetings.lock().unwrap();
        let counted = meetings
            .values()
            .filter(|meeting| meeting.slug == slug && meeting.join_followed_at.is_some())
            .filter(|meeting| checks.get(&meeting.guid).is_some_and(|(at, _)| *at > since))
            .count();
        Ok(counted as u64)
    }

    async fn claim_batch_check(
        &self,
        slug: &str,
        at: DateTime<Utc>,
        cutoff: DateTime<Utc>,
    ) -> Result<Claim<Option<StoredBatch>>, StoreError> {
        let mut batches = self.batches.lock().unwrap();
        match batches.get_mut(slug) {
            Some(batch) if batch.checked_at > cutoff => Ok(Claim::Taken(Some(batch.clone()))),
            Some(batch) => {
                (batch.checked_at, batch.outcome) = (at, CheckOutcome::InFlight);
                Ok(Claim::Claimed)
            }
            None => {
                let batch = StoredBatch {
                    checked_at: at,
                    outcome: CheckOutcome::InFlight,
                    meetings: Default::default(),
                    lists_ours: false,
                };
                batches.insert(slug.to_owned(), batch);
                Ok(Claim::Claimed)
            }
        }
    }

    async fn stored_batch_check(&self, slug: &str) -> Result<Option<StoredBatch>, StoreError> {
        Ok(self.batches.lock().unwrap().get(slug).cloned())
    }

    async fn record_batch_check(
        &self,
        slug: &str,
        claimed_at: DateTime<Utc>,
        meetings: Option<&BTreeMap<String, bool>>,
    ) -> Result<(), StoreError> {
        let lists_ours = meetings.is_some_and(|listed| {
            let stored = self.meetings.lock().unwrap();
            stored.values().any(|meeting| {
                meeting.slug == slug
                    && meeting.join_followed_at.is_some()
                    && listed.contains_key(&meeting.guid.to_string())
            })
        });
        let mut batches = self.batches.lock().unwrap();
        if let Some(batch) = batches.get_mut(slug).filter(|batch| batch.checked_at == claimed_at) {
            batch.outcome = if meetings.is_some() { CheckOutcome::Answered } else { CheckOutcome::Failed };
            if let Some(listed) = meetings {
                (batch.meetings, batch.lists_ours) = (listed.clone(), lists_ours);
            }
        }
        Ok(())
    }

    async fn record_recording_ready(&self, guid: Guid, record_id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        *self.writes.lock().unwrap() += 1;
        let mut ready = self.ready.lock().unwrap();
        let known = ready.iter().any(|(of, noted)| *of == guid && noted.record_id == record_id);
        if known || !self.meetings.lock().unwrap().contains_key(&guid) {
            return Ok(false);
        }
        ready.push((guid, ReadyRecording { record_id: record_id.to_owned(), notified_at: at }));
        Ok(true)
    }

    async fn ready_recordings(&self, guid: Guid) -> Result<Vec<ReadyRecording>, StoreError> {
        let ready = self.ready.lock().unwrap();
        let mut listed: Vec<_> = ready.iter().filter(|(of, _)| *of == guid).map(|(_, noted)| noted.clone()).collect();
        listed.sort_by(|a, b| (a.notified_at, &a.record_id).cmp(&(b.notified_at, &b.record_id)));
        Ok(listed)
    }

    async fn remember_nonce(&self, _: &str, _: DateTime<Utc>, _: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn count_inactive(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(self.meetings.lock().unwrap().values().filter(|meeting| last_activity(meeting) < cutoff).count() as u64)
    }

    async fn purge_inactive(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut meetings = self.meetings.lock().unwrap();
        let before = meetings.len();
        meetings.retain(|_, meeting| last_activity(meeting) >= cutoff);
        Ok((before - meetings.len()) as u64)
    }

    async fn secret_key(&self, candidate: &str) -> Result<String, StoreError> {
        Ok(candidate.to_owned())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn pending_migrations(&self) -> Result<Vec<PendingMigration>, StoreError> {
        Ok(Vec::new())
    }
}

/// The latest of created, updated and last_time_running, as the purge judges it.
fn last_activity(meeting: &Meeting) -> DateTime<Utc> {
    meeting.created.max(meeting.updated).max(meeting.last_time_running.unwrap_or(meeting.created))
}

struct Fixture {
    service: Rendezvous,
    store: Arc<MemoryStore>,
    connector: Arc<Connector>,
    simulator: Simulator,
    clock: Clock,
}

async fn fixture() -> Fixture {
    fixture_with(|_| ()).await
}

/// The fixture with the connector's settings changed by `adjust`.
async fn fixture_with(adjust: impl FnOnce(&mut ConnectorConfig)) -> Fixture {
    let simulator = Simulator::spawn(
        SimulatorConfig { secret: SECRET.to_owned(), ..SimulatorConfig::default() },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let mut visio = ConnectorConfig::new(simulator.base_url().as_str(), SECRET).unwrap();
    visio.timeout_seconds = 2;
    adjust(&mut visio);
    let config = Config::default().with_connector("visio", visio).validated().unwrap();
    let connectors = Connectors::from_config(&config).unwrap();
    let connector = connectors.get("visio").unwrap();
    let store = Arc::new(MemoryStore::default());
    let clock = Clock::adjustable();
    let service = Rendezvous::new(store.clone(), SecretString::from("secret-key"), clock.clone());
    Fixture { service, store, connector, simulator, clock }
}

fn request(idempotent_id: &str, name: &str) -> MeetingRequest {
    MeetingRequest {
        name: name.to_owned(),
        idempotent_id: idempotent_id.to_owned(),
        create_parameters: Default::default(),
        join_user_parameters: Default::default(),
        join_agent_parameters: Default::default(),
        user_full_name: None,
        agent_full_name: None,
        metadata: Default::default(),
    }
}

#[tokio::test]
async fn a_replay_is_the_same_rendezvous_and_other_parameters_are_a_conflict() {
    let f = fixture().await;

    let first = f.service.get_or_create(&f.connector, request("1", "RDV"), BASE).await.unwrap();
    let replay = f.service.get_or_create(&f.connector, request("1", "RDV"), BASE).await.unwrap();
    let conflict = f.service.get_or_create(&f.connector, request("1", "Other"), BASE).await;

    assert_eq!(replay.guid, first.guid);
    assert!(first.bbb_create_answer.is_some());
    assert_eq!(f.simulator.call_count("create"), 1, "a replay makes no BBB call");
    assert!(matches!(conflict, Err(RendezvousError::IdempotencyConflict)));
    let create = f.simulator.calls().into_iter().find(|call| call.action == "create").unwrap();
    let ended = create.param("meetingEndedURL").unwrap();
    let token = end_callback_token("secret-key", first.guid);
    assert_eq!(ended, format!("{BASE}/bbb/visio/meeting/{}/callback/end/{token}/", first.guid));
}

#[tokio::test]
async fn joins_write_only_what_changed_and_the_running_state_follows_bbb() {
    let f = fixture().await;
    let meeting = f.service.get_or_create(&f.connector, request("2", "RDV"), BASE).await.unwrap();
    assert_eq!(
        f.service.running_state(&f.connector, meeting.guid).await.unwrap(),
        RunningState::Known { running: false, stale: false }
    );
    assert_eq!(f.simulator.call_count("isMeetingRunning"), 0, "never joined: BBB is not asked");
    let writes = f.store.writes();

    let url = f.service.join_url(&f.connector, &meeting, JoinRole::Agent, Some("Ana\u{7}"), BASE).await.unwrap();
    let joined = f.store.find_meeting(meeting.guid).await.unwrap().unwrap();
    f.service.join_url(&f.connector, &joined, JoinRole::Agent, None, BASE).await.unwrap();

    assert!(url.contains("fullName=Ana&") && url.contains("role=MODERATOR"), "{url}");
    assert_eq!(f.store.writes(), writes + 1, "the first join notes it; the second writes nothing");
    f.simulator.mark_present(&meeting.guid.to_string(), "Ana", "MODERATOR");
    f.clock.advance(f.connector.config.is_running_cache());
    assert_eq!(
        f.service.running_state(&f.connector, meeting.guid).await.unwrap(),
        RunningState::Known { running: true, stale: false }
    );
}

#[tokio::test]
async fn the_ended_callback_checks_its_token_before_anything_else() {
    let f = fixture().await;
    let meeting = f.service.get_or_create(&f.connector, request("3", "RDV"), BASE).await.unwrap();
    let writes = f.store.writes();

    let forged = f.service.meeting_ended(&f.connector, meeting.guid, "0".repeat(64).as_str()).await;
    assert!(matches!(forged, Err(RendezvousError::InvalidToken)));
    assert_eq!(f.store.writes(), writes);

    let token = end_callback_token("secret-key", meeting.guid);
    f.service.meeting_ended(&f.connector, meeting.guid, &token).await.unwrap();
    f.service.meeting_ended(&f.connector, meeting.guid, &token).await.unwrap();
    assert!(!f.store.find_meeting(meeting.guid).await.unwrap().unwrap().running);
    let unknown = f.service.meeting_ended(&f.connector, Guid::new_random(), &token).await;
    assert!(matches!(unknown, Err(RendezvousError::InvalidToken)), "another guid's token");
}

#[tokio::test]
async fn another_connectors_rendezvous_is_not_found() {
    let f = fixture().await;
    let mut meeting = f.service.get_or_create(&f.connector, request("4", "RDV"), BASE).await.unwrap();
    meeting.slug = "other".to_owned();
    f.store.meetings.lock().unwrap().insert(meeting.guid, meeting.clone());

    assert!(matches!(f.service.find(&f.connector, meeting.guid).await, Err(RendezvousError::NotFound)));
    assert!(matches!(f.service.end(&f.connector, meeting.guid).await, Err(RendezvousError::NotFound)));
    assert_eq!(f.service.running_state(&f.connector, meeting.guid).await.unwrap(), RunningState::Unknown);
    let ready = recording_ready_token(&meeting.guid.to_string(), "rec-1", SECRET);
    assert!(matches!(f.service.recording_ready(&f.connector, &ready).await, Err(RendezvousError::NotFound)));
}

fn recording_ready_token(meeting_id: &str, record_id: &str, secret: &str) -> String {
    let claims = serde_json::json!({"meeting_id": meeting_id, "record_id": record_id});
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

#[tokio::test]
async fn every_create_asks_bbb_for_the_recording_ready_callback() {
    let f = fixture().await;

    let meeting = f.service.get_or_create(&f.connector, request("5", "RDV"), BASE).await.unwrap();
    f.service.join_url(&f.connector, &meeting, JoinRole::User, None, BASE).await.unwrap();

    let creates: Vec<_> = f.simulator.calls().into_iter().filter(|call| call.action == "create").collect();
    assert_eq!(creates.len(), 2);
    for create in creates {
        let asked = create.param("meta_bbb-recording-ready-url");
        assert_eq!(asked, Some(format!("{BASE}/bbb/visio/callback/recording-ready/").as_str()));
    }
}

#[tokio::test]
async fn the_recording_ready_callback_checks_its_token_before_anything_else() {
    let f = fixture().await;
    let meeting = f.service.get_or_create(&f.connector, request("6", "RDV"), BASE).await.unwrap();
    let guid = meeting.guid.to_string();
    let writes = f.store.writes();

    let forged = f.service.recording_ready(&f.connector, &recording_ready_token(&guid, "rec-1", "other")).await;
    let garbage = f.service.recording_ready(&f.connector, "not.a.token").await;
    assert!(matches!(forged, Err(RendezvousError::InvalidToken)), "{forged:?}");
    assert!(matches!(garbage, Err(RendezvousError::InvalidToken)), "{garbage:?}");
    assert_eq!(f.store.writes(), writes, "nothing written for a refused token");

    let unknown = recording_ready_token(&Guid::new_random().to_string(), "rec-1", SECRET);
    let not_a_guid = recording_ready_token("room-1", "rec-1", SECRET);
    for token in [unknown, not_a_guid] {
        let outcome = f.service.recording_ready(&f.connector, &token).await;
        assert!(matches!(outcome, Err(RendezvousError::NotFound)), "{outcome:?}");
    }
    let malformed = f.service.recording_ready(&f.connector, &recording_ready_token(&guid, "", SECRET)).await;
    assert!(matches!(malformed, Err(RendezvousError::InvalidNotification(_))), "{malformed:?}");

    let token = recording_ready_token(&guid, "rec-1", SECRET);
    f.service.recording_ready(&f.connector, &token).await.unwrap();
    let first = f.store.ready_recordings(meeting.guid).await.unwrap();
    f.service.recording_ready(&f.connector, &token).await.unwrap();
    assert_eq!(f.store.ready_recordings(meeting.guid).await.unwrap(), first, "a repeat keeps the first time");
    assert_eq!(first.len(), 1);
}

#[tokio::test]
async fn recordings_tell_which_bbb_said_were_ready_and_keep_those_it_no_longer_lists() {
    let f = fixture().await;
    let mut asked = request("7", "RDV");
    asked.create_parameters.insert("record".to_owned(), "true".to_owned());
    let meeting = f.service.get_or_create(&f.connector, asked, BASE).await.unwrap();
    let guid = meeting.guid.to_string();
    f.simulator.mark_present(&guid, "Ana", "MODERATOR");
    f.service.end(&f.connector, meeting.guid).await.unwrap();
    let listed = f.service.recordings(&f.connector, meeting.guid).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].ready_notified_at, None, "not notified yet");
    let record_id = listed[0].record_id.clone();

    for id in [record_id.as_str(), "gone-from-bbb"] {
        f.service.recording_ready(&f.connector, &recording_ready_token(&guid, id, SECRET)).await.unwrap();
    }
    let recordings = f.service.recordings(&f.connector, meeting.guid).await.unwrap();

    assert_eq!(recordings.len(), 2, "{recordings:?}");
    assert_eq!(recordings[0].record_id, record_id);
    assert!(recordings[0].bbb.is_some() && recordings[0].ready_notified_at.is_some());
    assert_eq!(recordings[1].record_id, "gone-from-bbb");
    assert!(recordings[1].bbb.is_none() && recordings[1].ready_notified_at.is_some());
}

/// A rendezvous of the fixture whose agent link was followed, so that is-running asks BBB.
async fn joined_rendezvous(f: &Fixture, idempotent_id: &str) -> Guid {
    let meeting = f.service.get_or_create(&f.connector, request(idempotent_id, "RDV"), BASE).await.unwrap();
    f.service.join_url(&f.connector, &meeting, JoinRole::Agent, None, BASE).await.unwrap();
    meeting.guid
}

#[tokio::test]
async fn an_is_running_answer_is_reused_for_one_period_then_asked_again() {
    let f = fixture().await;
    let guid = joined_rendezvous(&f, "5").await;
    let period = f.connector.config.is_running_cache();

    for _ in 0..10 {
        f.service.running_state(&f.connector, guid).await.unwrap();
    }
    f.clock.advance(period - Duration::from_millis(100));
    f.service.running_state(&f.connector, guid).await.unwrap();
    assert_eq!(f.simulator.call_count("isMeetingRunning"), 1, "fresh for the whole period");

    f.clock.advance(Duration::from_millis(100));
    f.service.running_state(&f.connector, guid).await.unwrap();
    assert_eq!(f.simulator.call_count("isMeetingRunning"), 2, "asked again once the period is over");
}

#[tokio::test]
async fn warm_is_running_answers_send_the_streams_nothing_new() {
    let f = fixture().await;
    let guid = joined_rendezvous(&f, "streams").await;
    let Fixture { service, connector, simulator, .. } = f;
    let service = Arc::new(service);
    service.running_state(&connector, guid).await.unwrap();
    let meeting = service.find(&connector, guid).await.unwrap();
    let mut stream = service.watch(&connector, &meeting, false);
    service.running_state(&connector, guid).await.unwrap();
    let seen = stream.changed().await.unwrap();
    assert!(seen.state.checked_at.is_some(), "the stream learns when the state was checked");

    for _ in 0..10 {
        service.running_state(&connector, guid).await.unwrap();
    }

    assert!(!stream.has_news(), "answers from the cache are no new check: nothing to send to every stream");
    assert_eq!(simulator.call_count("isMeetingRunning"), 1);
}

#[tokio::test]
async fn concurrent_misses_share_one_bbb_call() {
    let f = Arc::new(fixture().await);
    let guid = joined_rendezvous(&f, "6").await;
    f.simulator.set_fault(Some(Fault::Slow(Duration::from_millis(200))));

    let callers = (0..50).map(|_| {
        let f = Arc::clone(&f);
        tokio::spawn(async move { f.service.running_state(&f.connector, guid).await.unwrap() })
    });
    for caller in callers {
        assert_eq!(caller.await.unwrap(), RunningState::Known { running: false, stale: false });
    }
    assert_eq!(f.simulator.call_count("isMeetingRunning"), 1);
}

#[tokio::test]
async fn with_the_cache_off_a_check_in_flight_is_shared_and_a_later_caller_asks_again() {
    let f = Arc::new(fixture_with(|visio| visio.is_running_cache_seconds = 0).await);
    let guid = joined_rendezvous(&f, "7").await;
    f.simulator.set_fault(Some(Fault::Slow(Duration::from_millis(200))));

    let (first, second) =
        tokio::join!(f.service.running_state(&f.connector, guid), f.service.running_state(&f.connector, guid));
    assert_eq!(first.unwrap(), second.unwrap());
    assert_eq!(f.simulator.call_count("isMeetingRunning"), 1, "the check in flight is shared");

    f.clock.advance(Duration::from_millis(2));
    f.service.running_state(&f.connector, guid).await.unwrap();
    assert_eq!(f.simulator.call_count("isMeetingRunning"), 2, "a later caller asks again");
}

#[tokio::test]
async fn a_failed_check_answers_the_last_known_state_stale_and_is_kept_for_the_period() {
    let f = fixture().await;
    let guid = joined_rendezvous(&f, "8").await;
    f.simulator.mark_present(&guid.to_string(), "Ana", "MODERATOR");
    assert_eq!(
        f.service.running_state(&f.connector, guid).await.unwrap(),
        RunningState::Known { running: true, stale: false }
    );

    f.simulator.set_fault(Some(Fault::Down));
    f.clock.advance(f.connector.config.is_running_cache());
    for _ in 0..20 {
        assert_eq!(
            f.service.running_state(&f.connector, guid).await.unwrap(),
            RunningState::Known { running: true, stale: true }
        );
    }
    f.simulator.set_fault(None);
    assert_eq!(
        f.service.running_state(&f.connector, guid).await.unwrap(),
        RunningState::Known { running: true, stale: true },
        "the failure is kept for the period: an outage is not multiplied by the pollers"
    );
}

/// Polls each rendezvous once and moves the clock one period on.
async fn poll_each_once(f: &Fixture, guids: &[Guid]) -> Vec<RunningState> {
    let mut states = Vec::new();
    for guid in guids {
        states.push(f.service.running_state(&f.connector, *guid).await.unwrap());
    }
    f.clock.advance(f.connector.config.is_running_cache());
    states
}

#[tokio::test]
async fn above_the_threshold_one_get_meetings_per_period_answers_every_rendezvous() {
    let f = fixture_with(|visio| visio.is_running_batch_threshold = 3).await;
    let mut guids = Vec::new();
    for id in 0..5 {
        guids.push(joined_rendezvous(&f, &format!("batch-{id}")).await);
    }
    f.simulator.mark_present(&guids[0].to_string(), "Ana", "MODERATOR");

    poll_each_once(&f, &guids).await;
    let asked_one_by_one = f.simulator.call_count("isMeetingRunning");
    let batched = poll_each_once(&f, &guids).await;
    poll_each_once(&f, &guids).await;

    assert_eq!(asked_one_by_one, 5, "below the threshold until counted: one call each");
    assert_eq!(f.simulator.call_count("isMeetingRunning"), 5, "none once batched");
    assert_eq!(f.simulator.call_count("getMeetings"), 2, "one per period");
    assert_eq!(batched[0], RunningState::Known { running: true, stale: false });
    assert!(batched[1..].iter().all(|state| *state == RunningState::Known { running: false, stale: false }));
    let stored = f.store.find_meeting(guids[0]).await.unwrap().unwrap();
    assert!(stored.running && stored.last_time_running.is_some(), "the running state is stored as before");
}

#[tokio::test]
async fn a_get_meetings_that_lists_none_of_ours_falls_back_to_is_meeting_running() {
    let f = fixture_with(|visio| visio.is_running_batch_threshold = 3).await;
    let mut guids = Vec::new();
    for id in 0..5 {
        guids.push(joined_rendezvous(&f, &format!("hidden-{id}")).await);
    }
    f.simulator.mark_present(&guids[0].to_string(), "Ana", "MODERATOR");
    f.simulator.disable_get_meetings(true);
    poll_each_once(&f, &guids).await;

    let states = poll_each_once(&f, &guids).await;

    assert_eq!(f.simulator.call_count("getMeetings"), 1);
    assert_eq!(f.simulator.call_count("isMeetingRunning"), 10, "each rendezvous asked again");
    assert_eq!(states[0], RunningState::Known { running: true, stale: false }, "not taken for not running");
    assert!(f.connector.batch_fallback_logged.load(std::sync::atomic::Ordering::Relaxed), "said once in the log");
}

#[tokio::test]
async fn a_failed_get_meetings_answers_the_last_known_states_stale() {
    let f = fixture_with(|visio| visio.is_running_batch_threshold = 3).await;
    let mut guids = Vec::new();
    for id in 0..5 {
        guids.push(joined_rendezvous(&f, &format!("down-{id}")).await);
    }
    f.simulator.mark_present(&guids[0].to_string(), "Ana", "MODERATOR");
    poll_each_once(&f, &guids).await;
    f.simulator.set_fault(Some(Fault::Html500));

    let states = poll_each_once(&f, &guids).await;

    assert_eq!(f.simulator.call_count("isMeetingRunning"), 5, "no call per rendezvous while BBB fails");
    assert_eq!(states[0], RunningState::Known { running: true, stale: true });
    assert!(states[1..].iter().all(|state| *state == RunningState::Known { running: false, stale: true }));
}
