//! What can go wrong when calling BBB, each worded for an operator.

use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum BbbError {
    /// BBB answered `FAILED`.
    #[error("BBB answered FAILED ({message_key}): {message}{}", hint_for(.message_key))]
    Api { message_key: String, message: String },
    /// Connection refused, reset or closed, DNS or TLS failure.
    #[error("BBB is unreachable: {0}")]
    Transport(String),
    #[error("BBB did not answer within {} s", .0.as_secs_f32())]
    Timeout(Duration),
    #[error("BBB answered HTTP {0}")]
    HttpStatus(u16),
    /// A 200 whose body is not BBB XML.
    #[error("BBB {0}")]
    Protocol(String),
}

/// What an operator should understand from a FAILED answer, when BBB's own words do not say it.
fn hint_for(message_key: &str) -> &'static str {
    if message_key == "checksumError" {
        " (the shared secret or the checksum algorithm configured for this connector is wrong)"
    } else {
        ""
    }
}

impl BbbError {
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }

    /// BBB refused our checksum: the shared secret or the algorithm configured is wrong.
    pub fn is_configuration_error(&self) -> bool {
        matches!(self, Self::Api { message_key, .. } if message_key == "checksumError")
    }

    /// The outcome of the call as the metrics name it: one of a fixed set.
    pub fn outcome(&self) -> &'static str {
        match self {
            _ if self.is_configuration_error() => "checksum_error",
            Self::Api { .. } => "failed",
            Self::Transport(_) => "unreachable",
            Self::Timeout(_) => "timeout",
            Self::HttpStatus(_) => "http_error",
            Self::Protocol(_) => "garbage",
        }
    }

    /// Describes a reqwest failure without its URL (which would carry the checksum).
    pub fn from_reqwest(error: reqwest::Error, timeout: Duration) -> Self {
        if error.is_timeout() {
            return Self::Timeout(timeout);
        }
        // The deepest cause says what happened ("Connection refused", "connection closed before
        // message completed") and carries no URL.
        let error = error.without_url();
        let mut deepest: &dyn std::error::Error = &error;
        while let Some(cause) = deepest.source() {
            deepest = cause;
        }
        Self::Transport(deepest.to_string())
    }
}
