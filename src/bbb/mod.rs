//! The BigBlueButton API client: checksums, URL building, XML answers, one method per call.

pub mod checksum;

pub use checksum::{checksum, ChecksumAlgorithm};
