//! The life of a provider's watch: which run is current, and how long to wait before
//! restarting a lost one.
//!
//! Plain logic; the watcher actor drives it. Each run is numbered so that items of a
//! watch that was already given up (an error, or a stream still draining after
//! cancellation) are ignored.

use std::time::Duration;

use crate::ProviderError;
use crate::retry::Backoff;

/// What a watch run yields, tagged with its run number.
#[derive(Debug)]
pub struct WatchItem {
    /// The run that produced it.
    pub run: u64,
    /// A snapshot or an error; `None` when the stream ended.
    pub item: Option<Result<crate::Snapshot, ProviderError>>,
}

/// The watch's state.
#[derive(Debug, Default)]
pub struct WatchState {
    run: u64,
    running: bool,
    restarts: Backoff,
}

impl WatchState {
    /// No watch running yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a new run and returns its number.
    pub fn begin(&mut self) -> u64 {
        self.run = self.run.wrapping_add(1);
        self.running = true;
        self.run
    }

    /// Whether items of `run` are to be handled.
    pub fn is_current(&self, run: u64) -> bool {
        self.running && run == self.run
    }

    /// The current run delivered a snapshot: the source works, so the next loss restarts
    /// quickly again.
    pub fn delivered(&mut self) {
        self.restarts.reset();
    }

    /// The current run is lost; returns the wait before the restart.
    pub fn lost(&mut self) -> Duration {
        self.running = false;
        self.restarts.failed()
    }
}

/// Why a run was lost, as logged and reported in the provider's status.
pub fn loss_reason(error: Option<&ProviderError>) -> String {
    match error {
        Some(e) => e.to_string(),
        None => "watch ended".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn items_of_a_lost_run_are_ignored() {
        let mut w = WatchState::new();
        let first = w.begin();
        assert!(w.is_current(first));
        w.lost();
        assert!(!w.is_current(first), "nothing is current between runs");
        let second = w.begin();
        assert!(w.is_current(second));
        assert!(!w.is_current(first));
    }

    #[test]
    fn restarts_back_off_until_a_snapshot_arrives() {
        let mut w = WatchState::new();
        let mut waits = Vec::new();
        for _ in 0..4 {
            w.begin();
            waits.push(w.lost());
        }
        assert_eq!(waits, [ms(100), ms(200), ms(400), ms(800)]);
        w.begin();
        w.delivered();
        assert_eq!(w.lost(), ms(100));
    }

    #[test]
    fn reasons() {
        assert_eq!(loss_reason(None), "watch ended");
        assert_eq!(
            loss_reason(Some(&ProviderError("docker: connection refused".into()))),
            "docker: connection refused"
        );
    }
}
