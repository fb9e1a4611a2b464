//! Batching per BBB server (DESIGN §4): once more than `is_running_batch_threshold` rendezvous
//! of a connector had a check within a cache period (counted in the store, so across
//! instances), one signed getMeetings per period, claimed in the store like a rendezvous'
//! check, answers every one of them instead of one `isMeetingRunning` each.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::checks::{instant_of, period_of, IN_FLIGHT_POLL};
use super::{Connector, RendezvousError};
use crate::bbb::MeetingInfo;
use crate::domain::{Clock, Guid};
use crate::store::{self, CheckOutcome, Claim, Store, StoredBatch};

/// What the connector's getMeetings says of one rendezvous.
pub(super) struct BatchAnswer {
    /// None when BBB could not be asked.
    pub running: Option<bool>,
    /// The getMeetings' time: the answer is kept until then plus one period.
    pub checked_at: DateTime<Utc>,
}

/// A getMeetings answer this instance holds, and when (on its clock) it was asked.
pub(super) struct Batch {
    stored: StoredBatch,
    started_at: Instant,
}

/// Whether the connector batches, as counted at `counted_at`.
pub(super) struct Demand {
    batching: bool,
    counted_at: Instant,
}

/// The answer of the connector's getMeetings for `guid`, when the connector batches and the
/// list can answer it; None means: ask `isMeetingRunning`.
pub(super) async fn answer(
    store: &Arc<dyn Store>,
    connector: &Connector,
    clock: &Clock,
    guid: Guid,
) -> Result<Option<BatchAnswer>, RendezvousError> {
    if !batching(store, connector, clock).await? {
        return Ok(None);
    }
    let Some(batch) = current(store, connector, clock).await? else { return Ok(None) };
    let checked_at = batch.stored.checked_at;
    let running = match (batch.stored.outcome, batch.stored.meetings.get(&guid.to_string())) {
        (CheckOutcome::Failed, _) => None,
        (_, Some(running)) => Some(*running),
        (_, None) if batch.stored.lists_ours => Some(false),
        (_, None) => {
            if !connector.batch_fallback_logged.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    connector = %connector.slug,
                    "getMeetings lists none of the rendezvous whose join links were followed (a load balancer \
                     that hides its meetings?): asking isMeetingRunning for each of them instead"
                );
            }
            return Ok(None);
        }
    };
    Ok(Some(BatchAnswer { running, checked_at }))
}

/// Whether more rendezvous of the connector than its threshold had a check within the last
/// period; counted once per period per instance (concurrent callers wait for that count), over
/// the last two periods, since a rendezvous polled all along is checked a little more than one
/// period apart.
async fn batching(store: &Arc<dyn Store>, connector: &Connector, clock: &Clock) -> Result<bool, RendezvousError> {
    let threshold = connector.config.is_running_batch_threshold;
    if threshold == 0 {
        return Ok(false);
    }
    let period = period_of(connector);
    let mut demand = connector.demand.lock().await;
    if let Some(known) = demand.as_ref().filter(|known| fresh(known.counted_at, clock, period)) {
        return Ok(known.batching);
    }
    let counted_at = clock.instant();
    let checked = store.count_checked_since(&connector.slug, clock.now() - period * 2).await?;
    let batching = checked > u64::from(threshold);
    *demand = Some(Demand { batching, counted_at });
    Ok(batching)
}

/// The connector's getMeetings answer of this period: held, else claimed and asked, else read
/// from the instance that claimed it (once answered, for at most one BBB timeout). None when
/// none could be had: the rendezvous are then asked one by one.
async fn current(
    store: &Arc<dyn Store>,
    connector: &Connector,
    clock: &Clock,
) -> Result<Option<Arc<Batch>>, RendezvousError> {
    let period = period_of(connector);
    let mut held = connector.batch.lock().await;
    if let Some(batch) = held.as_ref().filter(|batch| fresh(batch.started_at, clock, period)) {
        return Ok(Some(Arc::clone(batch)));
    }
    let claimed_at = store::truncate_to_micros(clock.now());
    let stored = match store.claim_batch_check(&connector.slug, claimed_at, claimed_at - period).await? {
        Claim::Claimed => {
            let meetings = get_meetings(connector).await;
            store.record_batch_check(&connector.slug, claimed_at, meetings.as_ref()).await?;
            store.stored_batch_check(&connector.slug).await?
        }
        Claim::Taken(stored) => answered(store, connector, stored).await?,
    };
    let Some(stored) = stored.filter(|stored| stored.outcome != CheckOutcome::InFlight) else { return Ok(None) };
    let batch = Arc::new(Batch { started_at: instant_of(clock, stored.checked_at), stored });
    *held = Some(Arc::clone(&batch));
    Ok(Some(batch))
}

/// The getMeetings another instance claimed, read again while in flight for one BBB timeout.
async fn answered(
    store: &Arc<dyn Store>,
    connector: &Connector,
    mut stored: Option<StoredBatch>,
) -> Result<Option<StoredBatch>, RendezvousError> {
    let deadline = Instant::now() + connector.config.timeout() + IN_FLIGHT_POLL;
    while stored.as_ref().is_some_and(|stored| stored.outcome == CheckOutcome::InFlight) && Instant::now() < deadline {
        tokio::time::sleep(IN_FLIGHT_POLL).await;
        stored = store.stored_batch_check(&connector.slug).await?;
    }
    Ok(stored)
}

/// Every meetingID getMeetings lists and whether it runs (somebody is in it: BBB's running
/// flag or its participant count); None when BBB could not be asked.
async fn get_meetings(connector: &Connector) -> Option<std::collections::BTreeMap<String, bool>> {
    match connector.bbb.get_meetings().await {
        Ok(meetings) => Some(meetings.iter().map(|info| (info.meeting_id.clone(), runs(info))).collect()),
        Err(error) => {
            let error = error.to_string();
            tracing::warn!(connector = %connector.slug, error = ?error, "is-running: getMeetings failed, answering the last known states");
            None
        }
    }
}

fn runs(info: &MeetingInfo) -> bool {
    info.running || info.participant_count > 0
}

fn fresh(since: Instant, clock: &Clock, period: chrono::Duration) -> bool {
    let period = period.to_std().unwrap_or_default();
    clock.instant().saturating_duration_since(since) < period
}
