//! Why the rendezvous service could not do what it was asked.

use crate::bbb::BbbError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RendezvousError {
    /// No such rendezvous for this connector, or not with this key.
    #[error("no such rendezvous")]
    NotFound,
    #[error("a rendezvous with this idempotent_id exists with different parameters")]
    IdempotencyConflict,
    #[error("access denied: invalid callback token")]
    InvalidToken,
    /// A well-signed callback that does not say what it must.
    #[error("{0}")]
    InvalidNotification(String),
    #[error(transparent)]
    Bbb(#[from] BbbError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RendezvousError {
    /// A copy for each caller that waited on one shared computation (the error is not `Clone`).
    pub fn shared_copy(&self) -> Self {
        match self {
            Self::NotFound => Self::NotFound,
            Self::IdempotencyConflict => Self::IdempotencyConflict,
            Self::InvalidToken => Self::InvalidToken,
            Self::InvalidNotification(message) => Self::InvalidNotification(message.clone()),
            Self::Bbb(error) => Self::Bbb(error.clone()),
            Self::Store(error) => Self::Store(error.shared_copy()),
        }
    }
}
