//! Domain types of the connector: identifiers, join roles and keys, and the rendezvous itself.
//! Constructors validate; nothing here does I/O.

pub mod clock;
pub mod ids;
mod meeting;

pub use clock::Clock;
pub use ids::{Guid, InvalidId, JoinKey, JoinRole, Slug};
pub use meeting::{BbbParameters, Meeting, MeetingRequest, NewMeeting};
pub mod payload;
pub mod unflatten;
