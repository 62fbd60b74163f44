//! Readiness: whether this replica has loaded what it needs to serve, as `/ping` reports it.
//!
//! A replica that answers `/ping` before it has its configuration would take traffic from
//! a load balancer and answer 404 to everything; so `/ping` says 503 until the first full
//! catch-up of each required bucket has been applied, then 200 for good (a later NATS
//! outage does not make the replica unready: it serves its last known state).

use std::sync::atomic::{AtomicU8, Ordering};

/// What must be caught up before the replica is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The configuration bucket (routes).
    Config,
    /// The certificates bucket.
    Certificates,
    /// The server health bucket (so that no server known to be down takes traffic).
    Health,
}

impl Part {
    const ALL: [Part; 3] = [Part::Config, Part::Certificates, Part::Health];

    fn bit(self) -> u8 {
        match self {
            Part::Config => 1,
            Part::Certificates => 2,
            Part::Health => 4,
        }
    }
}

/// The parts caught up so far; read by `/ping` without locking.
#[derive(Debug, Default)]
pub struct Readiness {
    done: AtomicU8,
}

impl Readiness {
    /// Nothing caught up yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `part` has been caught up (applied), once or again.
    pub fn caught_up(&self, part: Part) {
        self.done.fetch_or(part.bit(), Ordering::Release);
    }

    /// Whether every part has been caught up.
    pub fn is_ready(&self) -> bool {
        let done = self.done.load(Ordering::Acquire);
        Part::ALL.iter().all(|p| done & p.bit() != 0)
    }

    /// The parts still missing, for the `/ping` body.
    pub fn missing(&self) -> Vec<Part> {
        let done = self.done.load(Ordering::Acquire);
        Part::ALL
            .into_iter()
            .filter(|p| done & p.bit() == 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_part_is_caught_up() {
        let cases: [(&str, &[Part], bool); 5] = [
            ("nothing", &[], false),
            ("config only", &[Part::Config], false),
            (
                "config and certificates",
                &[Part::Config, Part::Certificates],
                false,
            ),
            (
                "everything",
                &[Part::Health, Part::Certificates, Part::Config],
                true,
            ),
            (
                "everything, config twice",
                &[Part::Config, Part::Health, Part::Config, Part::Certificates],
                true,
            ),
        ];
        for (case, parts, ready) in cases {
            let r = Readiness::new();
            for p in parts {
                r.caught_up(*p);
            }
            assert_eq!(r.is_ready(), ready, "{case}");
            assert_eq!(r.missing().is_empty(), ready, "{case}");
        }
    }

    #[test]
    fn missing_names_what_is_left() {
        let r = Readiness::new();
        r.caught_up(Part::Certificates);
        assert_eq!(r.missing(), [Part::Config, Part::Health]);
    }
}
