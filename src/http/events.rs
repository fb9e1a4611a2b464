//! `GET .../events/` (open, CORS), `.../page/user/{key}/events/` and `.../page/agent/{key}/events/`:
//! the live state of a rendezvous as server-sent events, from the rendezvous service's hub (one
//! shared check per cache period, whatever the number of streams). The agent's stream also says
//! whether the user's page is open; a user page's stream is what "open" means.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde_json::Value;

use super::client::ClientAddress;
use super::envelope::{ApiError, Failure};
use super::extract::{JoinPath, MeetingPath};
use super::guards::{Guards, StreamSlot};
use super::links::open_link;
use crate::domain::JoinRole;
use crate::rendezvous::{Rendezvous, Snapshot, StateWatch};

/// A comment line this often keeps proxies from closing an idle stream.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long a browser waits before reconnecting a lost stream.
const RECONNECT_AFTER: Duration = Duration::from_secs(3);

/// The live state of the rendezvous, without presence (CORS, `OPTIONS` preflight answered).
#[utoipa::path(
    method(get, options),
    path = "/bbb/{slug}/meeting/{guid}/events/",
    tag = "links",
    params(
        ("slug" = String, Path, description = "The connector"),
        ("guid" = String, Path, description = "The rendezvous"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", description = "Server-sent events: `event: state` with \
            `{\"running\": bool, \"ended\": bool, \"stale\": bool, \"checked_at\": RFC 3339 or null}` at connection, at \
            every change and after every BBB check; a comment every 15 s; `retry: 3000`"),
        (status = 204, description = "`OPTIONS`: the CORS preflight"),
        (status = 404, description = "`not-found`", body = Failure),
        (status = 429, description = "`rate-limited`: too many streams open from this address", body = Failure),
    )
)]
pub async fn get_events(
    State(rendezvous): State<Arc<Rendezvous>>,
    State(guards): State<Arc<Guards>>,
    client: ClientAddress,
    path: MeetingPath,
) -> Result<Response, ApiError> {
    let slot = guards.open_stream(client.0)?;
    guards.admit(client.0)?;
    let meeting = rendezvous.find(&path.connector, path.guid).await?;
    let watch = rendezvous.watch(&path.connector, &meeting, false);
    Ok(answer(watch, false, slot))
}

/// The stream of a landing page: the user's counts as presence, the agent's shows it.
#[utoipa::path(
    get,
    path = "/bbb/{slug}/meeting/{guid}/page/{role}/{key}/events/",
    tag = "links",
    params(
        ("slug" = String, Path, description = "The connector"),
        ("guid" = String, Path, description = "The rendezvous"),
        ("role" = String, Path, description = "`user` or `agent`"),
        ("key" = String, Path, description = "The join key of that role"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", description = "The events of `.../events/`; on the \
            agent's stream each state also carries `\"user_page_open\": bool` (a user page's stream is open)"),
        (status = 404, description = "`not-found`: no such rendezvous or wrong key", body = Failure),
        (status = 429, description = "`rate-limited`", body = Failure),
    )
)]
pub async fn get_page_events(
    State(rendezvous): State<Arc<Rendezvous>>,
    State(guards): State<Arc<Guards>>,
    client: ClientAddress,
    path: JoinPath,
) -> Result<Response, ApiError> {
    let slot = guards.open_stream(client.0)?;
    let meeting = open_link(&rendezvous, &guards, client, &path).await?;
    let is_user = path.role == JoinRole::User;
    let watch = rendezvous.watch(&path.connector, &meeting, is_user);
    Ok(answer(watch, !is_user, slot))
}

fn answer(watch: StateWatch, presence: bool, slot: StreamSlot) -> Response {
    let sse = Sse::new(states(watch, presence, slot)).keep_alive(KeepAlive::new().interval(HEARTBEAT).text(""));
    let mut response = sse.into_response();
    // nginx would otherwise buffer the stream.
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

struct Following {
    watch: StateWatch,
    presence: bool,
    last_sent: Option<String>,
    started: bool,
    _slot: StreamSlot,
}

/// `event: state` at connection (with `retry`), then at every change this stream shows.
fn states(watch: StateWatch, presence: bool, slot: StreamSlot) -> impl Stream<Item = Result<Event, Infallible>> {
    let following = Following { watch, presence, last_sent: None, started: false, _slot: slot };
    stream::unfold(following, |mut following| async move {
        loop {
            let snapshot = if following.started { following.watch.changed().await? } else { following.watch.current() };
            let data = payload(snapshot, following.presence);
            if following.last_sent.as_ref() == Some(&data) {
                continue;
            }
            let mut event = Event::default().event("state").data(&data);
            if !following.started {
                event = event.retry(RECONNECT_AFTER);
                following.started = true;
            }
            following.last_sent = Some(data);
            return Some((Ok(event), following));
        }
    })
}

/// `{"running", "ended", "stale", "checked_at"}`, plus `"user_page_open"` with presence.
fn payload(snapshot: Snapshot, presence: bool) -> String {
    let mut value = serde_json::to_value(snapshot.state).unwrap_or(Value::Null);
    if let (true, Some(object)) = (presence, value.as_object_mut()) {
        object.insert("user_page_open".to_owned(), Value::Bool(snapshot.user_pages > 0));
    }
    value.to_string()
}
