//! `POST /bbb/{slug}/meeting/` (create-or-return a rendezvous) and `GET .../{guid}/`, and the
//! meeting object both answer (DESIGN §4).

use std::sync::Arc;

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::auth::Caller;
use super::envelope::{ApiError, Envelope, NoStore};
use super::extract::{ConnectorPath, JsonBody, MeetingPath, PublicBase};
use crate::app::AppState;
use crate::bbb::{BbbError, CreateRequest};
use crate::connectors::{Connector, Created};
use crate::domain::ids::random_hex;
use crate::domain::payload::parse_meeting_request;
use crate::domain::{Guid, JoinKey, JoinRole, Meeting, MeetingRequest, NewMeeting};
use crate::store::{truncate_to_micros, Store, StoreError};

/// Random bytes of each BBB password of a rendezvous (hex: twice as many characters).
const BBB_PASSWORD_BYTES: usize = 12;

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
        let url = meeting_url(base, &meeting.slug, meeting.guid);
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

/// `{base}/bbb/{slug}/meeting/{guid}/`
pub fn meeting_url(base: &PublicBase, slug: &str, guid: Guid) -> String {
    format!("{}/bbb/{slug}/meeting/{guid}/", base.0)
}

pub async fn post_meeting(
    State(state): State<AppState>,
    ConnectorPath(connector): ConnectorPath,
    _caller: Caller,
    base: PublicBase,
    body: JsonBody,
) -> Result<NoStore<Envelope<MeetingView>>, ApiError> {
    let request = parse_off_the_workers(body).await?;
    let new = NewMeeting {
        slug: connector.slug.clone(),
        guid: Guid::new_random(),
        request,
        agent_key: JoinKey::generate(),
        user_key: JoinKey::generate(),
        attendee_pw: random_hex(BBB_PASSWORD_BYTES),
        moderator_pw: random_hex(BBB_PASSWORD_BYTES),
        created: truncate_to_micros(Utc::now()),
    };
    let outcome = state.store.get_or_create_meeting(&new).await?;
    if !outcome.created && outcome.meeting.request != new.request {
        return Err(ApiError::IdempotencyConflict);
    }
    let mut meeting = outcome.meeting;
    if meeting.bbb_create_answer.is_none() {
        let created = create_on_bbb(&state, &connector, &meeting, &base, None).await?;
        meeting.bbb_create_answer = Some(created.meeting_info);
        meeting.updated = created.recorded_at;
    }
    Ok(NoStore(Envelope(MeetingView::of(&meeting, &base))))
}

/// Bodies from this size on are parsed on the blocking pool: unflattening and checking a large
/// body takes long enough to delay the other requests of an async worker.
const PARSE_ON_BLOCKING_POOL_FROM_BYTES: usize = 8 * 1024;

async fn parse_off_the_workers(body: JsonBody) -> Result<MeetingRequest, ApiError> {
    let parse = move || parse_meeting_request(body.value).map_err(|err| ApiError::InvalidPayload(err.to_string()));
    if body.size < PARSE_ON_BLOCKING_POOL_FROM_BYTES {
        return parse();
    }
    tokio::task::spawn_blocking(parse)
        .await
        .map_err(|_| ApiError::InvalidPayload("the payload could not be parsed".to_owned()))?
}

pub async fn get_meeting(
    State(store): State<Arc<dyn Store>>,
    path: MeetingPath,
    _caller: Caller,
    base: PublicBase,
) -> Result<NoStore<Envelope<MeetingView>>, ApiError> {
    let meeting = find_meeting(store.as_ref(), &path).await?;
    Ok(NoStore(Envelope(MeetingView::of(&meeting, &base))))
}

/// The rendezvous of `path`, or 404 (also when it belongs to another connector).
pub async fn find_meeting(store: &dyn Store, path: &MeetingPath) -> Result<Meeting, ApiError> {
    store
        .find_meeting(path.guid)
        .await?
        .filter(|meeting| meeting.slug == path.connector.slug)
        .ok_or_else(|| ApiError::NotFound("no such rendezvous".to_owned()))
}

/// Calls BBB `create` for the rendezvous (idempotent: same passwords every time) and stores the
/// answer, with the time a join link was followed when that is why it is called. Concurrent
/// callers share one BBB call and one write; nothing is written when the answer is the stored
/// one and the join was already noted (a meeting BBB still knows answers the same each time).
pub async fn create_on_bbb(
    state: &AppState,
    connector: &Connector,
    meeting: &Meeting,
    base: &PublicBase,
    join_followed_at: Option<DateTime<Utc>>,
) -> Result<Created, ApiError> {
    let request = CreateRequest {
        meeting_id: meeting.guid.to_string(),
        name: meeting.request.name.clone(),
        attendee_pw: meeting.attendee_pw.clone(),
        moderator_pw: meeting.moderator_pw.clone(),
        meeting_ended_url: Some(super::callbacks::end_callback_url(state, base, meeting)),
        parameters: meeting.request.create_parameters.clone(),
    };
    let (bbb, store, guid) = (connector.bbb.clone(), Arc::clone(&state.store), meeting.guid);
    let stored_answer = meeting.bbb_create_answer.clone();
    let join_already_noted = meeting.join_followed_at.is_some();
    let created = connector
        .creates
        .try_get_with(guid, async move {
            let answer = bbb.create(&request).await.map_err(CreateFailure::Bbb)?;
            let recorded_at = truncate_to_micros(Utc::now());
            let note_join = join_followed_at.filter(|_| !join_already_noted);
            if stored_answer.as_ref() != Some(&answer.meeting_info) || note_join.is_some() {
                store
                    .record_create_answer(guid, &answer.meeting_info, recorded_at, note_join)
                    .await
                    .map_err(CreateFailure::Store)?;
            }
            Ok(Arc::new(Created { meeting_info: answer.meeting_info, create_time: answer.create_time, recorded_at }))
        })
        .await
        .map_err(|failure: Arc<CreateFailure>| failure.to_api_error())?;
    // Only in-flight calls are shared: the next click must re-create a meeting BBB forgot.
    connector.creates.invalidate(&guid).await;
    Ok((*created).clone())
}

/// Why a shared BBB `create` failed, for every caller that waited on it.
#[derive(Debug)]
pub enum CreateFailure {
    Bbb(BbbError),
    Store(StoreError),
}

impl CreateFailure {
    fn to_api_error(&self) -> ApiError {
        match self {
            Self::Bbb(error) => ApiError::Bbb(error.clone()),
            Self::Store(error) => ApiError::Store(error.shared_copy()),
        }
    }
}
