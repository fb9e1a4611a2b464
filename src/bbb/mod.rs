//! The BigBlueButton API client: checksums, URL building, XML answers, one method per call.

pub mod checksum;
mod client;
mod error;
mod model;
mod parse;
mod recording_ready;
mod url;
pub mod xml;

pub use checksum::{checksum, ChecksumAlgorithm};
pub use client::BbbClient;
pub use error::BbbError;
pub use model::{
    ApiVersion, Attendee, BbbServer, CreateAnswer, CreateRequest, JoinRequest, MeetingInfo, Playback, Recording,
    ServerStatus,
};
pub use recording_ready::{
    verify_recording_ready, RecordingReady, RecordingReadyError, RECORDING_READY_URL_PARAMETER, SIGNED_PARAMETERS_FIELD,
};
pub use url::{encode_query, normalize_base_url, signed_url, without_query, BaseUrlError};
