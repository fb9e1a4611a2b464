//! The BigBlueButton API client: checksums, URL building, XML answers, one method per call.

pub mod checksum;
mod client;
mod error;
mod model;
mod parse;
mod url;
pub mod xml;

pub use checksum::{checksum, ChecksumAlgorithm};
pub use client::BbbClient;
pub use error::BbbError;
pub use model::{
    ApiVersion, Attendee, BbbServer, CreateAnswer, CreateRequest, JoinRequest, MeetingInfo, Playback, Recording,
    ServerStatus,
};
pub use url::{encode_query, normalize_base_url, signed_url, without_query, BaseUrlError};
