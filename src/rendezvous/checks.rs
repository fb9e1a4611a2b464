//! The is-running check on a cache miss, shared by the instances of one database (DESIGN §4):
//! the instance that claims a rendezvous' check in the store asks BBB (or takes the answer from
//! the connector's getMeetings, see `batches`) and stores the answer, a failure included; the
//! others read it and keep it until that check's time plus one period.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::connector::{CheckedState, SHORTEST_FRESHNESS};
use super::{batches, Connector, RendezvousError, RunningState};
use crate::domain::{Clock, Guid, Meeting};
use crate::store::{self, CheckOutcome, Claim, Store, StoredCheck};

/// How often an instance reads a check another instance has in flight, until it is answered.
pub(super) const IN_FLIGHT_POLL: Duration = Duration::from_millis(20);

/// Computes the running state on a cache miss. A rendezvous whose join links were never
/// followed cannot be running: no BBB call, no write. Otherwise the check is claimed in the
/// store; the claimer asks, the others take what it stored.
pub(super) async fn check_running(
    store: Arc<dyn Store>,
    connector: Arc<Connector>,
    clock: Clock,
    guid: Guid,
) -> Result<CheckedState, RendezvousError> {
    let (started_at, checked_at) = (clock.instant(), clock.now());
    let Some(meeting) = store.find_meeting(guid).await?.filter(|meeting| meeting.slug == connector.slug) else {
        return Ok(CheckedState { state: RunningState::Unknown, started_at, checked_at });
    };
    if meeting.join_followed_at.is_none() {
        let state = RunningState::Known { running: false, stale: false };
        return Ok(CheckedState { state, started_at, checked_at });
    }
    let claimed_at = store::truncate_to_micros(clock.now());
    let cutoff = claimed_at - period_of(&connector);
    match store.claim_running_check(guid, claimed_at, cutoff).await? {
        Claim::Claimed => ask(&store, &connector, &clock, &meeting, claimed_at).await,
        Claim::Taken(Some(stored)) => taken(&store, &connector, &clock, guid, stored).await,
        Claim::Taken(None) => Ok(CheckedState { state: RunningState::Unknown, started_at, checked_at }),
    }
}

/// The cache period as a signed duration, never shorter than the shortest reuse.
pub(super) fn period_of(connector: &Connector) -> chrono::Duration {
    let period = connector.config.is_running_cache().max(SHORTEST_FRESHNESS);
    chrono::Duration::from_std(period).unwrap_or(chrono::Duration::MAX)
}

/// The claimed check: from the connector's getMeetings when it batches, else one
/// `isMeetingRunning`; the answer (or the failure) is stored for the other instances.
async fn ask(
    store: &Arc<dyn Store>,
    connector: &Arc<Connector>,
    clock: &Clock,
    meeting: &Meeting,
    claimed_at: DateTime<Utc>,
) -> Result<CheckedState, RendezvousError> {
    let guid = meeting.guid;
    let (running, checked_at) = match batches::answer(store, connector, clock, guid).await? {
        Some(answer) => (answer.running, answer.checked_at),
        None => (is_meeting_running(connector, guid).await, claimed_at),
    };
    store.record_running_check(guid, claimed_at, checked_at, running).await?;
    let state = RunningState::Known { running: running.unwrap_or(meeting.running), stale: running.is_none() };
    Ok(checked_state(clock, state, checked_at))
}

/// `state` as checked `at` (on this clock or another instance's; a time ahead of this clock
/// counts as now).
fn checked_state(clock: &Clock, state: RunningState, at: DateTime<Utc>) -> CheckedState {
    let checked_at = at.min(clock.now());
    CheckedState { state, started_at: instant_of(clock, checked_at), checked_at }
}

/// One `isMeetingRunning`; None when BBB could not be asked.
pub(super) async fn is_meeting_running(connector: &Connector, guid: Guid) -> Option<bool> {
    match connector.bbb.is_meeting_running(&guid.to_string()).await {
        Ok(running) => Some(running),
        Err(error) => {
            let configuration = error.is_configuration_error();
            let error = error.to_string();
            if configuration {
                let why = "configuration error: BBB refused the is-running check, answering the last known state";
                tracing::error!(%guid, error = ?error, "{why}");
            } else {
                tracing::warn!(%guid, error = ?error, "is-running: BBB could not be asked, answering the last known state");
            }
            None
        }
    }
}

/// The check another instance claimed: its answer once stored (read again while in flight, at
/// most for one BBB timeout), kept until that check's time plus one period. A check still in
/// flight then (its instance died or BBB hangs) answers the last known state, stale.
async fn taken(
    store: &Arc<dyn Store>,
    connector: &Connector,
    clock: &Clock,
    guid: Guid,
    mut stored: StoredCheck,
) -> Result<CheckedState, RendezvousError> {
    let deadline = Instant::now() + connector.config.timeout() + IN_FLIGHT_POLL;
    while stored.outcome == CheckOutcome::InFlight && Instant::now() < deadline {
        tokio::time::sleep(IN_FLIGHT_POLL).await;
        match store.stored_running_check(guid).await? {
            Some(again) => stored = again,
            None => return Ok(checked_state(clock, RunningState::Unknown, clock.now())),
        }
    }
    let state = RunningState::Known { running: stored.running, stale: stored.outcome != CheckOutcome::Answered };
    Ok(checked_state(clock, state, stored.checked_at.unwrap_or_else(|| clock.now())))
}

/// The instant of `clock` that was `at` on its wall clock; a time ahead of it (another
/// instance's clock) counts as now.
pub(super) fn instant_of(clock: &Clock, at: DateTime<Utc>) -> Instant {
    let now = clock.instant();
    let age = (clock.now() - at).to_std().unwrap_or(Duration::ZERO);
    now.checked_sub(age).unwrap_or(now)
}
