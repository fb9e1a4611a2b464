//! What the is-running checks shared by the instances of one database leave in it (DESIGN §4):
//! the latest check of each rendezvous and the latest getMeetings of each connector.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// Whether a conditional claim made this caller the one to ask BBB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim<T> {
    /// This caller asks BBB and stores the answer.
    Claimed,
    /// Another caller claimed a check within the period: what it stored (None: no such row).
    Taken(T),
}

/// Where a claimed check stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Claimed, not answered yet.
    InFlight,
    Answered,
    /// BBB could not be asked: the stored state is the last known one.
    Failed,
}

impl CheckOutcome {
    /// From the `check_failed` column: null while in flight.
    pub(super) fn of_failed(failed: Option<bool>) -> Self {
        match failed {
            None => Self::InFlight,
            Some(false) => Self::Answered,
            Some(true) => Self::Failed,
        }
    }
}

/// The latest is-running check of a rendezvous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheck {
    pub running: bool,
    /// The check's time: its answer is kept until then plus one period. None: never checked.
    pub checked_at: Option<DateTime<Utc>>,
    pub outcome: CheckOutcome,
}

/// The latest getMeetings of a connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    pub checked_at: DateTime<Utc>,
    pub outcome: CheckOutcome,
    /// Every meetingID listed, and whether it runs.
    pub meetings: BTreeMap<String, bool>,
    /// Whether the list holds one of the connector's rendezvous whose join link was followed;
    /// when it does not, the server may hide its meetings (Scalelite's disabled getMeetings).
    pub lists_ours: bool,
}
