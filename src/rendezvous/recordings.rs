//! Recordings of a rendezvous: what BBB lists, and what BBB said is ready through the
//! recording-ready callback (`meta_bbb-recording-ready-url`, reference §6.2).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use super::{Connector, Rendezvous, RendezvousError};
use crate::bbb::{verify_recording_ready, Recording, RecordingReadyError};
use crate::domain::Guid;

/// One recording of a rendezvous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownRecording {
    pub record_id: String,
    /// What BBB lists of it; None for a recording BBB said was ready but no longer lists
    /// (deleted, or on a server that was replaced).
    pub bbb: Option<Recording>,
    /// When BBB first said it was ready; None when it never did (or not to us).
    pub ready_notified_at: Option<DateTime<Utc>>,
}

/// `{base}/bbb/{slug}/callback/recording-ready/`: passed to BBB at every create, as
/// `meta_bbb-recording-ready-url`.
pub fn recording_ready_url(base: &str, slug: &str) -> String {
    format!("{base}/bbb/{slug}/callback/recording-ready/")
}

impl Rendezvous {
    /// BBB's recording-ready callback: the `signed_parameters` JWT is checked with the
    /// connector's shared secret before any other work, then the rendezvous it names is
    /// looked up (another connector's is not found), then the notification is kept.
    /// Idempotent: a repeat keeps the first time.
    pub async fn recording_ready(&self, connector: &Connector, signed_parameters: &str) -> Result<(), RendezvousError> {
        let secret = connector.config.shared_secret.expose_secret();
        let ready = verify_recording_ready(signed_parameters, secret, self.now().timestamp()).map_err(|error| {
            tracing::debug!(error = ?error.to_string(), "recording-ready: signed_parameters refused");
            match error {
                RecordingReadyError::Refused(_) => RendezvousError::InvalidToken,
                RecordingReadyError::Claims(message) => RendezvousError::InvalidNotification(message),
            }
        })?;
        let guid: Guid = ready.meeting_id.parse().map_err(|_| RendezvousError::NotFound)?;
        self.find(connector, guid).await?;
        let first = self.store.record_recording_ready(guid, &ready.record_id, self.now()).await?;
        tracing::info!(%guid, record_id = ?ready.record_id, first, "BBB reported a recording ready");
        Ok(())
    }

    /// The recordings BBB lists for the rendezvous, each with when BBB said it was ready,
    /// then those BBB said were ready but does not list.
    pub async fn recordings(&self, connector: &Connector, guid: Guid) -> Result<Vec<KnownRecording>, RendezvousError> {
        let meeting = self.find(connector, guid).await?;
        let listed = connector.bbb.get_recordings(&meeting.guid.to_string()).await?;
        let ready = self.store.ready_recordings(guid).await?;
        let notified_at =
            |record_id: &str| ready.iter().find(|ready| ready.record_id == record_id).map(|r| r.notified_at);
        let listed_ids: HashSet<String> = listed.iter().map(|recording| recording.record_id.clone()).collect();
        let mut recordings: Vec<KnownRecording> = listed
            .into_iter()
            .map(|recording| KnownRecording {
                record_id: recording.record_id.clone(),
                ready_notified_at: notified_at(&recording.record_id),
                bbb: Some(recording),
            })
            .collect();
        recordings.extend(ready.iter().filter(|ready| !listed_ids.contains(&ready.record_id)).map(|ready| {
            KnownRecording { record_id: ready.record_id.clone(), bbb: None, ready_notified_at: Some(ready.notified_at) }
        }));
        Ok(recordings)
    }
}
