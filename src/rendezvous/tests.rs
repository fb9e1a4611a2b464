//! The rendezvous service alone: an in-memory store and the BBB simulator, no HTTP.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::*;
use crate::config::Config;
use crate::simulator::{Simulator, SimulatorConfig};
use crate::store::{GetOrCreate, StoreError};

const SECRET: &str = "service-test-secret";
const BASE: &str = "https://rdv.example.org";

/// A store in memory, with a count of the writes it was asked for.
#[derive(Default)]
struct MemoryStore {
    meetings: Mutex<HashMap<Guid, Meeting>>,
    writes: Mutex<usize>,
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

    async fn remember_nonce(&self, _: &str, _: DateTime<Utc>, _: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn purge_meetings_created_before(&self, _: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn secret_key(&self, candidate: &str) -> Result<String, StoreError> {
        Ok(candidate.to_owned())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

struct Fixture {
    service: Rendezvous,
    store: Arc<MemoryStore>,
    connector: Arc<Connector>,
    simulator: Simulator,
}

async fn fixture() -> Fixture {
    let simulator = Simulator::spawn(
        SimulatorConfig { secret: SECRET.to_owned(), ..SimulatorConfig::default() },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let toml = format!(
        "[connectors.visio]\nbbb_url = \"{}\"\nshared_secret = \"{SECRET}\"\ntimeout_seconds = 2\n",
        simulator.base_url()
    );
    let config = Config::from_toml(&toml).unwrap();
    let connectors = Arc::new(Connectors::from_config(&config).unwrap());
    let connector = connectors.get("visio").unwrap();
    let store = Arc::new(MemoryStore::default());
    let service = Rendezvous::new(store.clone(), connectors, SecretString::from("secret-key"));
    Fixture { service, store, connector, simulator }
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
    f.connector.running.invalidate(&meeting.guid).await;
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
}
