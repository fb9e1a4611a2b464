//! The live state of the rendezvous that have open events streams (DESIGN §4 `.../events/`): one
//! watched state per rendezvous, made on demand and dropped with its last stream, fed by the
//! running checks, the joins and the ends, and the presence of the user's page.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{watch, Notify};

use crate::domain::Guid;

/// BBB keeps an emptied room about a minute: a meeting reported not running for longer than this
/// after it ran has ended.
pub const ENDED_AFTER_NOT_RUNNING: Duration = Duration::from_secs(120);
/// How long an end said by the callback or the end endpoint is remembered in memory; past it the
/// stored `last_time_running` and the rule above tell the same.
const SAID_ENDED_MEMORY: Duration = Duration::from_secs(600);
/// How long the presence another instance told is believed without being told again (an
/// instance that stopped without saying so is forgotten after it).
const PRESENCE_BELIEVED: Duration = Duration::from_secs(90);
/// How often an instance with user pages open tells it again.
pub const PRESENCE_RETOLD: Duration = Duration::from_secs(30);

/// What every events stream shows of a rendezvous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LiveState {
    pub running: bool,
    /// It ran and stopped (said by BBB's callback or the end endpoint, or not running for over
    /// two minutes after it ran).
    pub ended: bool,
    /// BBB could not be asked: `running` is the last known state.
    pub stale: bool,
    /// When the service last asked BBB (or knew without asking); null before the first check.
    pub checked_at: Option<DateTime<Utc>>,
}

/// The watched value: the state and how many user pages have a stream open here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub state: LiveState,
    pub user_pages: usize,
}

/// What the state is judged from.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Facts {
    pub running: bool,
    pub stale: bool,
    pub checked_at: Option<DateTime<Utc>>,
    /// When the meeting was last known to run (wall clock).
    pub last_running_at: Option<DateTime<Utc>>,
    /// The callback or the end endpoint said it ended, and it was not seen running since.
    pub said_ended: bool,
}

impl Facts {
    fn state_at(&self, now: DateTime<Utc>) -> LiveState {
        let quiet_since_it_ran = self.last_running_at.is_some_and(|ran| {
            now.signed_duration_since(ran).to_std().is_ok_and(|quiet| quiet > ENDED_AFTER_NOT_RUNNING)
        });
        LiveState {
            running: self.running,
            ended: !self.running && (self.said_ended || quiet_since_it_ran),
            stale: self.stale,
            checked_at: self.checked_at,
        }
    }
}

/// A change told to the other instances sharing the database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Change {
    /// The state one instance saw (or was told by BBB's callback or the end endpoint).
    State { guid: String, running: bool, stale: bool, said_ended: bool, checked_at: Option<DateTime<Utc>> },
    /// How many user pages have a stream open on the instance that sends it.
    Presence { guid: String, user_pages: usize },
}

/// A change and the instance it comes from.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Told {
    from: String,
    #[serde(flatten)]
    change: Change,
}

/// User pages with a stream open, here and on the other instances.
#[derive(Default)]
struct Presence {
    here: usize,
    /// Per instance: its count and when it was told.
    elsewhere: HashMap<String, (usize, Instant)>,
}

impl Presence {
    fn total(&mut self) -> usize {
        self.elsewhere.retain(|_, (_, told)| told.elapsed() < PRESENCE_BELIEVED);
        self.here + self.elsewhere.values().map(|(count, _)| count).sum::<usize>()
    }
}

pub(super) struct Channel {
    sender: watch::Sender<Snapshot>,
    facts: Mutex<Facts>,
    presence: Mutex<Presence>,
    /// Wakes the rendezvous' checker before its period is over.
    pub wake: Arc<Notify>,
}

impl Channel {
    /// When the state was last checked.
    pub fn checked_at(&self) -> Option<DateTime<Utc>> {
        self.facts.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).checked_at
    }

    /// Changes the facts and sends the state they give at `now` when it differs; true when
    /// more than the time of the check changed.
    pub fn update(&self, now: DateTime<Utc>, change: impl FnOnce(&mut Facts)) -> bool {
        let mut facts = self.facts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut facts);
        let state = facts.state_at(now);
        let mut news = false;
        self.sender.send_if_modified(|snapshot| {
            news = LiveState { checked_at: state.checked_at, ..snapshot.state } != state;
            let changed = snapshot.state != state;
            snapshot.state = state;
            changed
        });
        news
    }

    /// Forgets the presence of instances that stopped telling it; answers the count here.
    pub fn refresh_presence(&self) -> usize {
        self.change_presence(|_| {})
    }

    /// Changes the presence; answers the count of this instance.
    fn change_presence(&self, change: impl FnOnce(&mut Presence)) -> usize {
        let mut presence = self.presence.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut presence);
        let total = presence.total();
        self.sender.send_if_modified(|snapshot| {
            let changed = snapshot.user_pages != total;
            snapshot.user_pages = total;
            changed
        });
        presence.here
    }
}

/// Every watched rendezvous of this instance.
pub struct Hub {
    channels: Mutex<HashMap<Guid, Weak<Channel>>>,
    /// Ends said while no stream watched: kept a while for the streams opened next.
    said_ended: Mutex<HashMap<Guid, Instant>>,
    open_streams: AtomicUsize,
    closing: watch::Sender<bool>,
    /// This instance's name in the changes it tells.
    instance: String,
    /// Where the changes for the other instances go, when they share a database.
    outbox: std::sync::OnceLock<UnboundedSender<String>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        Self {
            channels: Mutex::default(),
            said_ended: Mutex::default(),
            open_streams: AtomicUsize::new(0),
            closing: watch::Sender::new(false),
            instance: crate::domain::ids::random_hex(8),
            outbox: std::sync::OnceLock::new(),
        }
    }

    /// Sends the changes of this instance to `outbox` from now on.
    pub(super) fn tell_through(&self, outbox: UnboundedSender<String>) {
        let _ = self.outbox.set(outbox);
    }

    /// Tells the other instances, if any.
    pub(super) fn tell(&self, change: Change) {
        let Some(outbox) = self.outbox.get() else { return };
        if let Ok(text) = serde_json::to_string(&Told { from: self.instance.clone(), change }) {
            let _ = outbox.send(text);
        }
    }

    /// A change told by another instance: the streams here see it.
    pub(super) fn hear(&self, text: &str, now: DateTime<Utc>) {
        let Ok(told) = serde_json::from_str::<Told>(text) else { return };
        if told.from == self.instance {
            return;
        }
        match told.change {
            Change::State { guid, running, stale, said_ended, checked_at } => {
                let Ok(guid) = guid.parse::<Guid>() else { return };
                if said_ended || running {
                    self.note_said_ended(guid, running);
                }
                let Some(channel) = self.existing(guid) else { return };
                channel.update(now, |facts| {
                    facts.running = running;
                    facts.stale = stale;
                    facts.checked_at = facts.checked_at.max(checked_at);
                    facts.said_ended = said_ended && !running;
                    if running {
                        facts.last_running_at = facts.last_running_at.max(checked_at);
                    }
                });
            }
            Change::Presence { guid, user_pages } => {
                let Ok(guid) = guid.parse::<Guid>() else { return };
                let Some(channel) = self.existing(guid) else { return };
                channel.change_presence(|presence| {
                    if user_pages == 0 {
                        presence.elsewhere.remove(&told.from);
                    } else {
                        presence.elsewhere.insert(told.from.clone(), (user_pages, Instant::now()));
                    }
                });
            }
        }
    }

    /// Open events streams of this instance (the hook of the `bbb_connector_events_streams`
    /// gauge).
    pub fn open_streams(&self) -> usize {
        self.open_streams.load(Ordering::Relaxed)
    }

    /// Ends every stream (at shutdown, so that open streams do not hold the server).
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    /// The channel of `guid`, and whether it was made now (then `initial` gives its facts).
    pub(super) fn channel(
        &self,
        guid: Guid,
        now: DateTime<Utc>,
        initial: impl FnOnce() -> Facts,
    ) -> (Arc<Channel>, bool) {
        let mut channels = self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(channel) = channels.get(&guid).and_then(Weak::upgrade) {
            return (channel, false);
        }
        let mut facts = initial();
        facts.said_ended |= self.was_said_ended(guid);
        let (sender, _) = watch::channel(Snapshot { state: facts.state_at(now), user_pages: 0 });
        let channel = Arc::new(Channel {
            sender,
            facts: Mutex::new(facts),
            presence: Mutex::default(),
            wake: Arc::new(Notify::new()),
        });
        channels.insert(guid, Arc::downgrade(&channel));
        (channel, true)
    }

    /// The channel of `guid` when a stream watches it.
    pub(super) fn existing(&self, guid: Guid) -> Option<Arc<Channel>> {
        let channels = self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        channels.get(&guid).and_then(Weak::upgrade)
    }

    /// Notes an end said by BBB's callback or the end endpoint.
    pub(super) fn note_said_ended(&self, guid: Guid, running_again: bool) {
        let mut said = self.said_ended.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        said.retain(|_, at| at.elapsed() < SAID_ENDED_MEMORY);
        if running_again {
            said.remove(&guid);
        } else {
            said.insert(guid, Instant::now());
        }
    }

    fn was_said_ended(&self, guid: Guid) -> bool {
        let said = self.said_ended.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        said.get(&guid).is_some_and(|at| at.elapsed() < SAID_ENDED_MEMORY)
    }

    /// A stream of `channel`, counted as a user page's when `user_page`.
    pub(super) fn watch(self: &Arc<Self>, guid: Guid, channel: Arc<Channel>, user_page: bool) -> StateWatch {
        if user_page {
            let user_pages = channel.change_presence(|presence| presence.here += 1);
            self.tell(Change::Presence { guid: guid.to_string(), user_pages });
        }
        self.open_streams.fetch_add(1, Ordering::Relaxed);
        StateWatch {
            receiver: channel.sender.subscribe(),
            closing: self.closing.subscribe(),
            lease: Lease { hub: Arc::clone(self), guid, channel: Some(channel), user_page },
        }
    }
}

/// One open events stream's view of its rendezvous.
pub struct StateWatch {
    receiver: watch::Receiver<Snapshot>,
    closing: watch::Receiver<bool>,
    lease: Lease,
}

impl StateWatch {
    /// The state now, marking it seen.
    pub fn current(&mut self) -> Snapshot {
        *self.receiver.borrow_and_update()
    }

    /// The next state, or `None` when the service shuts down.
    pub async fn changed(&mut self) -> Option<Snapshot> {
        if *self.closing.borrow() {
            return None;
        }
        tokio::select! {
            changed = self.receiver.changed() => changed.ok().map(|()| *self.receiver.borrow_and_update()),
            _ = self.closing.wait_for(|closing| *closing) => None,
        }
    }

    /// Whether a state was sent since this stream last looked.
    #[cfg(test)]
    pub fn has_news(&self) -> bool {
        self.receiver.has_changed().unwrap_or(false)
    }

    /// Whether this stream is a user page's.
    pub fn is_user_page(&self) -> bool {
        self.lease.user_page
    }
}

/// Keeps the channel alive while the stream is open; the last one out removes it.
struct Lease {
    hub: Arc<Hub>,
    guid: Guid,
    channel: Option<Arc<Channel>>,
    user_page: bool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.hub.open_streams.fetch_sub(1, Ordering::Relaxed);
        let Some(channel) = self.channel.take() else { return };
        if self.user_page {
            let user_pages = channel.change_presence(|presence| presence.here = presence.here.saturating_sub(1));
            self.hub.tell(Change::Presence { guid: self.guid.to_string(), user_pages });
        }
        let wake = Arc::clone(&channel.wake);
        let mut channels = self.hub.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        drop(channel);
        if channels.get(&self.guid).is_some_and(|weak| weak.strong_count() == 0) {
            channels.remove(&self.guid);
            // The checker sees its channel gone and stops.
            wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn a_meeting_is_ended_when_said_so_or_quiet_for_two_minutes_after_it_ran() {
        let ran = Facts { last_running_at: Some(at(0)), ..Facts::default() };
        let cases = [
            (Facts::default(), 1000, false, "never ran: waiting"),
            (ran, 60, false, "an emptied room BBB still keeps"),
            (ran, 121, true, "quiet for over two minutes"),
            (Facts { running: true, ..ran }, 1000, false, "running again"),
            (Facts { said_ended: true, ..Facts::default() }, 0, true, "said ended"),
            (Facts { said_ended: true, running: true, ..Facts::default() }, 0, false, "started again"),
        ];
        for (facts, now, ended, why) in cases {
            assert_eq!(facts.state_at(at(now)).ended, ended, "{why}");
        }
    }
}
