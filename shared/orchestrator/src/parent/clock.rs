//! The parent's wall clock: Unix milliseconds that follow tokio's clock.
//!
//! Invocation times go into stage logs and events (a resumed parent or a unit in another process
//! compares them with its own wall clock), so they must be wall-clock times; deadlines must
//! follow tokio's clock, so a test with a paused clock decides when a unit times out. Anchoring
//! the wall clock once and advancing it with tokio's gives both.

use groves_core::timing::now_ms;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct ParentClock {
    wall_ms: i64,
    at: Instant,
}

impl ParentClock {
    pub fn start() -> ParentClock {
        ParentClock {
            wall_ms: now_ms(),
            at: Instant::now(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.wall_ms + i64::try_from(self.at.elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn follows_a_paused_clock() {
        let clock = ParentClock::start();
        let t0 = clock.now_ms();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(clock.now_ms() - t0, 3_600_000);
    }
}
