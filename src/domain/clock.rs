//! The time the service and the simulator read: the system's in production; in tests, one that
//! follows the system and that a test can move ahead, so that cache periods and BBB's expiry
//! delays are crossed without sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Cheap to clone; every clone of an adjustable clock moves with the others.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Nanoseconds added to the system's time; `None` for the system clock.
    ahead: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self { ahead: None }
    }

    /// A clock that follows the system's and can be moved ahead with [`Clock::advance`]. It is
    /// not frozen: timeouts measured on it elapse as in production.
    pub fn adjustable() -> Self {
        Self { ahead: Some(Arc::new(AtomicU64::new(0))) }
    }

    /// Moves this clock and every clone of it `by` ahead.
    ///
    /// # Panics
    /// On the system clock, which cannot be moved: only tests call this.
    pub fn advance(&self, by: Duration) {
        let ahead = self.ahead.as_ref().expect("only an adjustable clock can be moved");
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        ahead.fetch_add(nanos, Ordering::SeqCst);
    }

    fn ahead(&self) -> Duration {
        self.ahead.as_ref().map_or(Duration::ZERO, |ahead| Duration::from_nanos(ahead.load(Ordering::SeqCst)))
    }

    /// Monotonic time, for durations and deadlines.
    pub fn instant(&self) -> Instant {
        let now = Instant::now();
        now.checked_add(self.ahead()).unwrap_or(now)
    }

    /// Wall-clock time, for what is stored and shown.
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        chrono::Duration::from_std(self.ahead()).ok().and_then(|ahead| now.checked_add_signed(ahead)).unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adjustable_clock_moves_every_clone_ahead() {
        let clock = Clock::adjustable();
        let clone = clock.clone();
        let (before, wall_before) = (clone.instant(), clone.now());
        clock.advance(Duration::from_secs(300));
        assert!(clone.instant() >= before + Duration::from_secs(300));
        assert!(clone.now() >= wall_before + chrono::Duration::seconds(300));
    }

    #[test]
    fn the_system_clock_follows_the_system() {
        let clock = Clock::system();
        let before = Instant::now();
        let read = clock.instant();
        assert!(read >= before && read <= Instant::now());
    }

    #[test]
    #[should_panic(expected = "only an adjustable clock can be moved")]
    fn the_system_clock_cannot_be_moved() {
        Clock::system().advance(Duration::from_secs(1));
    }
}
