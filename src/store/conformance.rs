//! The storage conformance suite: one function per behaviour, run against SQLite and
//! PostgreSQL alike so that the backends cannot drift.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::{truncate_to_micros, CheckOutcome, Claim, Store, StoreOptions, StoredBatch, StoredCheck};
use crate::domain::{Guid, JoinKey, MeetingRequest, NewMeeting};
use crate::testing::{Backend, TestDatabase};

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + seconds, 123_456_000).single().expect("valid timestamp")
}

fn request(idempotent_id: &str) -> MeetingRequest {
    MeetingRequest {
        name: "Réunion 🎥 « RDV »".to_owned(),
        idempotent_id: idempotent_id.to_owned(),
        create_parameters: [
            ("record".to_owned(), "true".to_owned()),
            ("welcome".to_owned(), "Bonjour & bienvenue".to_owned()),
        ]
        .into(),
        join_user_parameters: [("userdata-bbb_skip_check_audio".to_owned(), "true".to_owned())].into(),
        join_agent_parameters: Default::default(),
        user_full_name: Some("Zoé Usager".to_owned()),
        agent_full_name: None,
        metadata: json!({"appointment": {"at": "2024-01-15T10:30:00Z", "labels": ["a", "ü"]}, "n": 1.5})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    }
}

fn new_meeting(slug: &str, idempotent_id: &str, created: DateTime<Utc>) -> NewMeeting {
    NewMeeting {
        slug: slug.to_owned(),
        guid: Guid::new_random(),
        request: request(idempotent_id),
        agent_key: JoinKey::generate(),
        user_key: JoinKey::generate(),
        attendee_pw: "attendee-pw".to_owned(),
        moderator_pw: "moderator-pw".to_owned(),
        created,
    }
}

async fn every_field_round_trips(store: Arc<dyn Store>) {
    let new = new_meeting("visio", "10", at(0));

    let created = store.get_or_create_meeting(&new).await.unwrap();
    let found = store.find_meeting(new.guid).await.unwrap().expect("stored");

    assert!(created.created);
    assert_eq!(found, created.meeting);
    assert_eq!(found.slug, "visio");
    assert_eq!(found.guid, new.guid);
    assert_eq!(found.request, new.request);
    assert_eq!(found.agent_key, new.agent_key);
    assert_eq!(found.user_key, new.user_key);
    assert_eq!((found.attendee_pw.as_str(), found.moderator_pw.as_str()), ("attendee-pw", "moderator-pw"));
    assert_eq!((found.created, found.updated), (at(0), at(0)));
    assert!(!found.running);
    assert_eq!((found.last_time_running, found.last_checked, found.join_followed_at), (None, None, None));
    assert_eq!(found.bbb_create_answer, None);
}

async fn state_updates_round_trip(store: Arc<dyn Store>) {
    let new = new_meeting("visio", "11", at(0));
    store.get_or_create_meeting(&new).await.unwrap();
    let answer = json!({"create_time": 1718000000000_i64, "voice_bridge": "71542", "has_user_joined": false});

    store.record_create_answer(new.guid, &json!({"create_time": 1}), at(1), None).await.unwrap();
    let booked = store.find_meeting(new.guid).await.unwrap().unwrap();
    store.record_create_answer(new.guid, &answer, at(2), Some(at(2))).await.unwrap();
    store.record_create_answer(new.guid, &answer, at(2), None).await.unwrap();
    store.record_running_state(new.guid, true, at(3)).await.unwrap();
    store.record_running_state(new.guid, false, at(4)).await.unwrap();
    let found = store.find_meeting(new.guid).await.unwrap().unwrap();

    assert_eq!((booked.updated, booked.join_followed_at), (at(1), None));
    assert_eq!(found.bbb_create_answer, Some(answer));
    assert_eq!(found.join_followed_at, Some(at(2)));
    assert!(!found.running);
    assert_eq!(found.last_time_running, Some(at(3)));
    assert_eq!(found.last_checked, Some(at(4)));
    assert_eq!(found.updated, at(4));
}

async fn a_running_check_is_claimed_once_per_period_and_keeps_its_outcome(store: Arc<dyn Store>) {
    let new = new_meeting("visio", "13", at(0));
    store.get_or_create_meeting(&new).await.unwrap();
    store.record_create_answer(new.guid, &json!({}), at(0), Some(at(0))).await.unwrap();

    let first = store.claim_running_check(new.guid, at(10), at(7)).await.unwrap();
    let again = store.claim_running_check(new.guid, at(11), at(8)).await.unwrap();
    store.record_running_check(new.guid, at(10), at(9), Some(true)).await.unwrap();
    let answered = store.stored_running_check(new.guid).await.unwrap().unwrap();
    let counted = store.count_checked_since("visio", at(8)).await.unwrap();
    let next = store.claim_running_check(new.guid, at(12), at(9)).await.unwrap();
    store.record_running_check(new.guid, at(12), at(12), None).await.unwrap();
    let failed = store.stored_running_check(new.guid).await.unwrap().unwrap();
    let late = store.claim_running_check(Guid::new_random(), at(12), at(9)).await.unwrap();

    assert_eq!(first, Claim::Claimed);
    let in_flight = StoredCheck { running: false, checked_at: Some(at(10)), outcome: CheckOutcome::InFlight };
    assert_eq!(again, Claim::Taken(Some(in_flight)));
    let expected = StoredCheck { running: true, checked_at: Some(at(9)), outcome: CheckOutcome::Answered };
    assert_eq!(answered, expected, "the check's time is the answer's");
    assert_eq!(counted, 1);
    assert_eq!(next, Claim::Claimed, "claimable once the check's time is past the cutoff");
    assert_eq!(failed, StoredCheck { running: true, checked_at: Some(at(12)), outcome: CheckOutcome::Failed });
    assert_eq!(late, Claim::Taken(None), "no such rendezvous");
    let found = store.find_meeting(new.guid).await.unwrap().unwrap();
    assert_eq!((found.running, found.last_time_running, found.last_checked), (true, Some(at(9)), Some(at(9))));
}

async fn a_batch_check_is_claimed_once_per_period_and_tells_whether_it_lists_ours(store: Arc<dyn Store>) {
    let joined = new_meeting("visio", "14", at(0));
    store.get_or_create_meeting(&joined).await.unwrap();
    store.record_create_answer(joined.guid, &json!({}), at(0), Some(at(0))).await.unwrap();
    let ours: std::collections::BTreeMap<String, bool> =
        [(joined.guid.to_string(), true), ("someone-else".to_owned(), false)].into();
    let others: std::collections::BTreeMap<String, bool> = [("someone-else".to_owned(), true)].into();

    let first = store.claim_batch_check("visio", at(10), at(7)).await.unwrap();
    let again = store.claim_batch_check("visio", at(11), at(8)).await.unwrap();
    store.record_batch_check("visio", at(10), Some(&ours)).await.unwrap();
    let listing_ours = store.stored_batch_check("visio").await.unwrap().unwrap();
    let next = store.claim_batch_check("visio", at(13), at(10)).await.unwrap();
    store.record_batch_check("visio", at(13), Some(&others)).await.unwrap();
    let listing_others = store.stored_batch_check("visio").await.unwrap().unwrap();
    store.claim_batch_check("visio", at(16), at(13)).await.unwrap();
    store.record_batch_check("visio", at(16), None).await.unwrap();
    let failed = store.stored_batch_check("visio").await.unwrap().unwrap();

    assert_eq!(first, Claim::Claimed);
    assert!(matches!(again, Claim::Taken(Some(StoredBatch { outcome: CheckOutcome::InFlight, .. }))), "{again:?}");
    assert_eq!(
        listing_ours,
        StoredBatch { checked_at: at(10), outcome: CheckOutcome::Answered, meetings: ours, lists_ours: true }
    );
    assert_eq!(next, Claim::Claimed);
    assert_eq!((listing_others.meetings, listing_others.lists_ours), (others, false));
    assert_eq!((failed.checked_at, failed.outcome), (at(16), CheckOutcome::Failed));
    assert_eq!(store.stored_batch_check("open").await.unwrap(), None);
}

async fn timestamps_are_kept_to_the_microsecond_in_utc(store: Arc<dyn Store>) {
    let precise = Utc.timestamp_opt(1_700_000_000, 123_456_789).single().unwrap();
    let new = new_meeting("visio", "12", truncate_to_micros(precise));

    store.get_or_create_meeting(&new).await.unwrap();
    let found = store.find_meeting(new.guid).await.unwrap().unwrap();

    assert_eq!(found.created, truncate_to_micros(precise));
    assert_eq!(found.created.timestamp_subsec_micros(), 123_456);
}

async fn get_or_create_returns_the_first_row_on_replay(store: Arc<dyn Store>) {
    let first = new_meeting("visio", "20", at(0));
    let mut replay = new_meeting("visio", "20", at(5));
    replay.request.name = "another name".to_owned();

    let created = store.get_or_create_meeting(&first).await.unwrap();
    let replayed = store.get_or_create_meeting(&replay).await.unwrap();

    assert!(created.created);
    assert!(!replayed.created);
    assert_eq!(replayed.meeting, created.meeting);
    assert_eq!(replayed.meeting.request.name, first.request.name);
    assert!(store.find_meeting(replay.guid).await.unwrap().is_none());
}

async fn the_same_idempotent_id_under_two_slugs_makes_two_rows(store: Arc<dyn Store>) {
    let visio = store.get_or_create_meeting(&new_meeting("visio", "30", at(0))).await.unwrap();
    let other = store.get_or_create_meeting(&new_meeting("other", "30", at(0))).await.unwrap();

    assert!(visio.created && other.created);
    assert_ne!(visio.meeting.guid, other.meeting.guid);
}

async fn concurrent_creates_on_pools(stores: Vec<Arc<dyn Store>>) {
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let store = Arc::clone(&stores[i % stores.len()]);
            tokio::spawn(async move { store.get_or_create_meeting(&new_meeting("visio", "race", at(0))).await })
        })
        .collect();
    let mut guids = HashSet::new();
    let mut creations = 0;
    for task in tasks {
        let outcome = task.await.unwrap().expect("every concurrent caller succeeds");
        guids.insert(outcome.meeting.guid);
        creations += usize::from(outcome.created);
    }

    assert_eq!(guids.len(), 1, "every caller sees the same guid");
    assert_eq!(creations, 1, "exactly one caller inserted the row");
}

async fn a_hundred_concurrent_creates_make_one_row(store: Arc<dyn Store>) {
    concurrent_creates_on_pools(vec![store]).await;
}

async fn an_unknown_guid_is_none(store: Arc<dyn Store>) {
    assert!(store.find_meeting(Guid::new_random()).await.unwrap().is_none());
}

async fn a_nonce_is_accepted_once(store: Arc<dyn Store>) {
    assert!(store.remember_nonce("n-1", at(60), at(0)).await.unwrap());
    assert!(!store.remember_nonce("n-1", at(60), at(1)).await.unwrap());
    assert!(store.remember_nonce("n-2", at(60), at(1)).await.unwrap());
}

async fn an_expired_nonce_is_forgotten(store: Arc<dyn Store>) {
    assert!(store.remember_nonce("n-old", at(60), at(0)).await.unwrap());

    assert!(store.remember_nonce("n-old", at(200), at(61)).await.unwrap());
}

/// A rendezvous created long ago whose last activity is at `activity`, through the given write.
async fn active_at(store: &dyn Store, name: &str, activity: &str, at_: DateTime<Utc>) -> Guid {
    let new = new_meeting("visio", name, at(-100));
    store.get_or_create_meeting(&new).await.unwrap();
    match activity {
        "created" => {}
        "updated" => store.record_create_answer(new.guid, &json!({"create_time": 1}), at_, None).await.unwrap(),
        // Running already, so that only last_time_running moves (not updated).
        "running" => {
            store.record_running_state(new.guid, true, at(-90)).await.unwrap();
            store.record_running_state(new.guid, true, at_).await.unwrap();
        }
        other => unreachable!("{other}"),
    }
    new.guid
}

async fn purge_judges_the_last_activity_strictly_before_the_cutoff(store: Arc<dyn Store>) {
    let idle = new_meeting("visio", "idle", at(-100));
    let created_at_cutoff = new_meeting("visio", "created at cutoff", at(0));
    let young = new_meeting("visio", "young", at(100));
    for new in [&idle, &created_at_cutoff, &young] {
        store.get_or_create_meeting(new).await.unwrap();
    }
    let updated_at_cutoff = active_at(store.as_ref(), "updated at cutoff", "updated", at(0)).await;
    let updated_before = active_at(store.as_ref(), "updated before", "updated", at(-1)).await;
    let ran_at_cutoff = active_at(store.as_ref(), "ran at cutoff", "running", at(0)).await;
    let ran_before = active_at(store.as_ref(), "ran before", "running", at(-1)).await;

    let counted = store.count_inactive(at(0)).await.unwrap();
    let counted_again = store.count_inactive(at(0)).await.unwrap();
    let purged = store.purge_inactive(at(0)).await.unwrap();

    assert_eq!(
        (counted, counted_again, purged),
        (3, 3, 3),
        "counting deletes nothing; the purge deletes what it counts"
    );
    for (guid, kept) in [
        (idle.guid, false),
        (created_at_cutoff.guid, true),
        (young.guid, true),
        (updated_at_cutoff, true),
        (updated_before, false),
        (ran_at_cutoff, true),
        (ran_before, false),
    ] {
        assert_eq!(store.find_meeting(guid).await.unwrap().is_some(), kept, "{guid} kept: {kept}");
    }
    assert_eq!(store.count_inactive(at(0)).await.unwrap(), 0);
    assert_eq!(store.purge_inactive(at(0) - Duration::days(1)).await.unwrap(), 0);
}

async fn a_ready_recording_is_noted_once_and_keeps_the_first_time(store: Arc<dyn Store>) {
    let (meeting, other) = (new_meeting("visio", "ready", at(0)), new_meeting("visio", "other", at(0)));
    store.get_or_create_meeting(&meeting).await.unwrap();
    store.get_or_create_meeting(&other).await.unwrap();

    let first = store.record_recording_ready(meeting.guid, "rec-1", at(10)).await.unwrap();
    let repeat = store.record_recording_ready(meeting.guid, "rec-1", at(20)).await.unwrap();
    let second = store.record_recording_ready(meeting.guid, "rec-2", at(15)).await.unwrap();
    let unknown = store.record_recording_ready(Guid::new_random(), "rec-1", at(10)).await.unwrap();
    let ready = store.ready_recordings(meeting.guid).await.unwrap();

    assert_eq!((first, repeat, second, unknown), (true, false, true, false));
    let listed: Vec<_> = ready.iter().map(|ready| (ready.record_id.as_str(), ready.notified_at)).collect();
    assert_eq!(listed, [("rec-1", at(10)), ("rec-2", at(15))], "first notified first, at its first time");
    assert!(store.ready_recordings(other.guid).await.unwrap().is_empty());
}

async fn ready_recordings_are_deleted_with_their_rendezvous(store: Arc<dyn Store>) {
    let old = new_meeting("visio", "old", at(-100));
    store.get_or_create_meeting(&old).await.unwrap();
    store.record_recording_ready(old.guid, "rec-old", at(-50)).await.unwrap();

    store.purge_inactive(at(0)).await.unwrap();
    let mut reborn = new_meeting("visio", "reborn", at(0));
    reborn.guid = old.guid;
    store.get_or_create_meeting(&reborn).await.unwrap();

    assert!(store.ready_recordings(old.guid).await.unwrap().is_empty(), "the rows went with the rendezvous");
}

async fn the_first_secret_key_stored_wins(store: Arc<dyn Store>) {
    let first = store.secret_key("first-candidate").await.unwrap();
    let second = store.secret_key("second-candidate").await.unwrap();

    assert_eq!(first, "first-candidate");
    assert_eq!(second, "first-candidate");
}

async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
}

async fn migrations_can_be_applied_twice(store: Arc<dyn Store>) {
    store.migrate().await.unwrap();

    assert_eq!(store.pending_migrations().await.unwrap(), Vec::new());
}

async fn a_row_nested_as_deep_as_the_payload_allows_round_trips(store: Arc<dyn Store>) {
    let mut new = new_meeting("visio", "deep", at(0));
    let deep = (0..31).fold(json!("bottom"), |inner, _| json!({"k": inner, "list": ["x", 1]}));
    new.request.metadata = deep.as_object().cloned().unwrap();
    let answer = (0..31).fold(json!(1), |inner, _| json!({"k": inner}));

    store.get_or_create_meeting(&new).await.unwrap();
    store.record_create_answer(new.guid, &answer, at(1), Some(at(1))).await.unwrap();
    let found = store.find_meeting(new.guid).await.unwrap().expect("stored");

    assert_eq!(found.request, new.request);
    assert_eq!(found.bbb_create_answer, Some(answer));
}

/// PostgreSQL refuses U+0000 in text and JSON; whatever a backend refuses is `InvalidData`
/// (the caller's value), never an outage. What a backend stores, it gives back.
async fn a_value_the_database_cannot_store_is_invalid_data(store: Arc<dyn Store>) {
    let mut new = new_meeting("visio", "nul", at(0));
    new.request.name = "a\u{0}b".to_owned();
    new.request.metadata = json!({"k": "x\u{0}"}).as_object().cloned().unwrap();

    match store.get_or_create_meeting(&new).await {
        Ok(stored) => assert_eq!(stored.meeting.request, new.request),
        Err(error) => assert!(matches!(error, super::StoreError::InvalidData(_)), "{error:?}"),
    }
    assert!(matches!(
        store.remember_nonce("nonce\u{0}", at(60), at(0)).await,
        Ok(true) | Err(super::StoreError::InvalidData(_))
    ));
}

/// Opened as `check` and `purge` open it: never created, never migrated.
async fn open_existing(url: &str) -> Result<Arc<dyn Store>, super::StoreError> {
    super::connect(url, &StoreOptions { create_if_missing: false, ..StoreOptions::default() }).await
}

async fn a_database_opened_without_creating_it_must_exist(db: &TestDatabase) {
    let missing = match db.backend {
        Backend::Sqlite => db.url.clone(),
        Backend::Postgres => {
            let mut url = url::Url::parse(&db.url).unwrap();
            url.set_path(&format!("bbb_missing_{}", uuid::Uuid::new_v4().simple()));
            url.to_string()
        }
    };

    let refused = open_existing(&missing).await;

    assert!(refused.is_err(), "a missing database is an error");
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        assert!(!std::path::Path::new(path).exists(), "the SQLite file was created");
    }
}

async fn a_bare_database_has_every_migration_pending_and_a_migrated_one_none(db: &TestDatabase) {
    let bare = super::connect(&db.url, &StoreOptions::default()).await.unwrap();

    let before = bare.pending_migrations().await.unwrap();
    bare.migrate().await.unwrap();
    let reopened = open_existing(&db.url).await.unwrap();
    let after = reopened.pending_migrations().await.unwrap();

    assert_eq!(before.first().map(|migration| migration.version), Some(1), "{before:?}");
    assert!(before.iter().all(|migration| !migration.description.is_empty()), "{before:?}");
    assert_eq!(after, Vec::new());
}

/// What a new binary sees on a database migrated by the previous one: a version it knows is
/// missing from sqlx's table.
async fn a_migration_missing_from_the_table_is_pending(db: &TestDatabase) {
    let store = db.store().await;
    let forget_first = "delete from _sqlx_migrations where version = 1";
    let forgotten = match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(forget_first).execute(&pool).await.map(|done| done.rows_affected())
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query(forget_first).execute(&pool).await.map(|done| done.rows_affected())
        }
    };

    let pending = store.pending_migrations().await.unwrap();

    assert_eq!(forgotten.unwrap(), 1);
    assert_eq!(pending.iter().map(|migration| migration.version).collect::<Vec<_>>(), vec![1]);
    assert!(pending[0].to_string().starts_with("0001 "), "{}", pending[0]);
}

/// Two pools on one database: two service instances.
async fn two_instances_race_to_one_row(db: &TestDatabase) {
    concurrent_creates_on_pools(vec![db.store().await, db.store().await]).await;
}

async fn a_nonce_is_refused_on_another_instance(db: &TestDatabase) {
    let (first, second) = (db.store().await, db.store().await);

    assert!(first.remember_nonce("shared", at(60), at(0)).await.unwrap());
    assert!(!second.remember_nonce("shared", at(60), at(1)).await.unwrap());
}

async fn one_of_two_instances_claims_a_running_check(db: &TestDatabase) {
    let (first, second) = (db.store().await, db.store().await);
    let new = new_meeting("visio", "race-check", at(0));
    first.get_or_create_meeting(&new).await.unwrap();

    let claims = futures::future::join_all((0..20).map(|i| {
        let store = if i % 2 == 0 { Arc::clone(&first) } else { Arc::clone(&second) };
        async move { store.claim_running_check(new.guid, at(10), at(7)).await.unwrap() }
    }))
    .await;
    let batch_claims = futures::future::join_all((0..20).map(|i| {
        let store = if i % 2 == 0 { Arc::clone(&first) } else { Arc::clone(&second) };
        async move { store.claim_batch_check("visio", at(10), at(7)).await.unwrap() }
    }))
    .await;

    assert_eq!(claims.iter().filter(|claim| **claim == Claim::Claimed).count(), 1, "{claims:?}");
    assert_eq!(batch_claims.iter().filter(|claim| **claim == Claim::Claimed).count(), 1, "{batch_claims:?}");
}

async fn instances_starting_together_agree_on_the_secret_key(db: &TestDatabase) {
    let (first, second) = (db.store().await, db.store().await);

    let (a, b) = tokio::join!(first.secret_key("candidate-a"), second.secret_key("candidate-b"));

    assert_eq!(a.unwrap(), b.unwrap());
}

macro_rules! conformance_suite {
    (single: [$($single:ident),* $(,)?], shared: [$($shared:ident),* $(,)?]) => {
        macro_rules! backend_tests {
            ($module:ident, $backend:expr) => {
                mod $module {
                    use super::*;
                    $(
                        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                        async fn $single() {
                            let Some(db) = TestDatabase::new($backend).await else { return };
                            super::$single(db.store().await).await;
                        }
                    )*
                    $(
                        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                        async fn $shared() {
                            let Some(db) = TestDatabase::new($backend).await else { return };
                            super::$shared(&db).await;
                        }
                    )*
                }
            };
        }
        backend_tests!(sqlite, Backend::Sqlite);
        backend_tests!(postgres, Backend::Postgres);
    };
}

conformance_suite!(
    single: [
        every_field_round_trips,
        state_updates_round_trip,
        timestamps_are_kept_to_the_microsecond_in_utc,
        a_running_check_is_claimed_once_per_period_and_keeps_its_outcome,
        a_batch_check_is_claimed_once_per_period_and_tells_whether_it_lists_ours,
        get_or_create_returns_the_first_row_on_replay,
        the_same_idempotent_id_under_two_slugs_makes_two_rows,
        a_hundred_concurrent_creates_make_one_row,
        an_unknown_guid_is_none,
        a_nonce_is_accepted_once,
        an_expired_nonce_is_forgotten,
        purge_judges_the_last_activity_strictly_before_the_cutoff,
        a_ready_recording_is_noted_once_and_keeps_the_first_time,
        ready_recordings_are_deleted_with_their_rendezvous,
        the_first_secret_key_stored_wins,
        ping_answers,
        migrations_can_be_applied_twice,
        a_row_nested_as_deep_as_the_payload_allows_round_trips,
        a_value_the_database_cannot_store_is_invalid_data,
    ],
    shared: [
        two_instances_race_to_one_row,
        a_nonce_is_refused_on_another_instance,
        one_of_two_instances_claims_a_running_check,
        instances_starting_together_agree_on_the_secret_key,
        a_database_opened_without_creating_it_must_exist,
        a_bare_database_has_every_migration_pending_and_a_migrated_one_none,
        a_migration_missing_from_the_table_is_pending,
    ]
);
