//! Leases: one holder among several instances of a service, decided by compare-and-set on
//! the leases bucket.
//!
//! A lease is a key of [`crate::keys::LEASES_BUCKET`] holding a [`Lease`] (holder and
//! expiry). An instance takes a lease that is absent or expired, and renews its own, by
//! writing with the revision it read (`create` / `update(key, value, revision)`): when two
//! instances race, exactly one write succeeds, the other sees a stale revision and stands by.
//!
//! The holder must stop working *before* anyone else may take over: it only works while
//! [`Holding::working`] is true, which ends a safety margin before the expiry it wrote,
//! counted from the moment it *sent* the write (so a slow reply never extends it). A standby
//! takes over only once the written expiry has passed on its own clock; the margin absorbs
//! clock skew between instances.
//!
//! The logic ([`decide`], [`Holding`]) is plain and unit-tested; [`LeaseClient`] runs it
//! against a `kv::Store`.

use std::time::Duration;

use async_nats::jetstream::kv;

use tracing::{info, warn};

use crate::messages::Lease;
use crate::nats::BusError;

/// Gives a lease up at a clean stop, so that another instance takes over at once: runs
/// `release` for at most `timeout` and logs how it went. With NATS gone the write would
/// wait for the reconnection, that is for ever; the lease then lapses by itself after its
/// `ttl`, which the log says. `lease` names it in the log. Returns whether it was released.
pub async fn release_within<E: std::fmt::Display>(
    lease: &str,
    timeout: Duration,
    ttl: Duration,
    release: impl Future<Output = Result<(), E>>,
) -> bool {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    match tokio::time::timeout(timeout, release).await {
        Ok(Ok(())) => {
            info!(lease, "lease released");
            true
        }
        Ok(Err(error)) => {
            warn!(lease, %error, ttl_ms = ms(ttl), "lease not released; it lapses by itself");
            false
        }
        Err(_) => {
            warn!(
                lease,
                timeout_ms = ms(timeout),
                ttl_ms = ms(ttl),
                "lease not released in time (is NATS reachable?); it lapses by itself"
            );
            false
        }
    }
}

/// What the bucket holds for a lease: the lease and the revision it was written at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// The lease as stored.
    pub lease: Lease,
    /// Its KV revision (for compare-and-set).
    pub revision: u64,
}

/// What an instance should do, given what the bucket holds and the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nobody holds it (absent or deleted): create it.
    Acquire,
    /// It is ours: renew it at this revision.
    Renew {
        /// The revision read.
        revision: u64,
    },
    /// Someone else held it and it lapsed: take it over at this revision.
    TakeOver {
        /// The revision read.
        revision: u64,
        /// The previous holder.
        previous: String,
    },
    /// Someone else holds it: wait.
    Standby {
        /// The holder.
        holder: String,
        /// When it lapses unless renewed, Unix milliseconds.
        expires_at_ms: u64,
    },
}

/// Decides what `me` does with a lease, at `now_ms` (Unix milliseconds).
pub fn decide(current: Option<&Current>, me: &str, now_ms: u64) -> Decision {
    match current {
        None => Decision::Acquire,
        Some(c) if c.lease.holder == me => Decision::Renew {
            revision: c.revision,
        },
        Some(c) if now_ms >= c.lease.expires_at_ms => Decision::TakeOver {
            revision: c.revision,
            previous: c.lease.holder.clone(),
        },
        Some(c) => Decision::Standby {
            holder: c.lease.holder.clone(),
            expires_at_ms: c.lease.expires_at_ms,
        },
    }
}

/// Timing of a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// How long a written lease lasts.
    pub ttl: Duration,
    /// How often the holder renews it (and a standby looks at it).
    pub renew_every: Duration,
    /// How long before the written expiry the holder stops working.
    pub margin: Duration,
}

impl LeaseTiming {
    /// TTL 15 s, renewed every 5 s, work stops 3 s before the expiry.
    pub const DEFAULT: LeaseTiming = LeaseTiming {
        ttl: Duration::from_secs(15),
        renew_every: Duration::from_secs(5),
        margin: Duration::from_secs(3),
    };

    /// The lease `holder` writes when it sends the write at `sent_ms`.
    pub fn lease(&self, holder: &str, sent_ms: u64) -> Lease {
        Lease {
            holder: holder.to_owned(),
            expires_at_ms: sent_ms.saturating_add(ms(self.ttl)),
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The holder's view of its own lease: when it must stop working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    /// The revision of the holder's last successful write.
    pub revision: u64,
    /// The end of work: the write's send time plus TTL minus the margin, Unix milliseconds.
    pub work_until_ms: u64,
}

impl Holding {
    /// The holding after a successful write sent at `sent_ms` that got `revision`.
    pub fn after_write(timing: &LeaseTiming, sent_ms: u64, revision: u64) -> Self {
        Self {
            revision,
            work_until_ms: sent_ms
                .saturating_add(ms(timing.ttl))
                .saturating_sub(ms(timing.margin)),
        }
    }

    /// Whether the holder may still work at `now_ms`.
    pub fn working(&self, now_ms: u64) -> bool {
        now_ms < self.work_until_ms
    }
}

/// The outcome of one [`LeaseClient::tick`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// This instance holds the lease.
    Held(Holding),
    /// Another instance holds it.
    Standby {
        /// The holder.
        holder: String,
        /// When it lapses unless renewed, Unix milliseconds.
        expires_at_ms: u64,
    },
}

/// A lease on a bucket, for one instance.
#[derive(Clone)]
pub struct LeaseClient {
    kv: kv::Store,
    name: String,
    me: String,
    timing: LeaseTiming,
}

fn op_err(operation: String, e: impl std::fmt::Display) -> BusError {
    BusError::Operation {
        operation,
        message: e.to_string(),
    }
}

impl LeaseClient {
    /// A client for lease `name` (a single key token) held as `me`.
    pub fn new(kv: kv::Store, name: &str, me: &str, timing: LeaseTiming) -> Self {
        Self {
            kv,
            name: name.to_owned(),
            me: me.to_owned(),
            timing,
        }
    }

    /// The timing this client uses.
    pub fn timing(&self) -> LeaseTiming {
        self.timing
    }

    /// Reads the lease as the bucket holds it (`None`: absent or deleted).
    pub async fn current(&self) -> Result<Option<Current>, BusError> {
        let entry = self
            .kv
            .entry(self.name.as_str())
            .await
            .map_err(|e| op_err(format!("read lease {}", self.name), e))?;
        let Some(entry) = entry else { return Ok(None) };
        if !matches!(entry.operation, kv::Operation::Put) {
            return Ok(None);
        }
        match serde_json::from_slice::<Lease>(&entry.value) {
            Ok(lease) => Ok(Some(Current {
                lease,
                revision: entry.revision,
            })),
            // An unreadable lease is treated as lapsed at once: whoever wins the
            // compare-and-set replaces it with a good one.
            Err(_) => Ok(Some(Current {
                lease: Lease {
                    holder: String::new(),
                    expires_at_ms: 0,
                },
                revision: entry.revision,
            })),
        }
    }

    /// Reads the lease, then acquires, renews, takes over or stands by as [`decide`] says.
    ///
    /// `now_ms` is the wall clock (Unix milliseconds) at the call; a lost race is a standby,
    /// not an error.
    pub async fn tick(&self, now_ms: u64) -> Result<Outcome, BusError> {
        let current = self.current().await?;
        let revision = match decide(current.as_ref(), &self.me, now_ms) {
            Decision::Standby {
                holder,
                expires_at_ms,
            } => {
                return Ok(Outcome::Standby {
                    holder,
                    expires_at_ms,
                });
            }
            Decision::Acquire => None,
            Decision::Renew { revision } | Decision::TakeOver { revision, .. } => Some(revision),
        };
        let bytes = serde_json::to_vec(&self.timing.lease(&self.me, now_ms))
            .map_err(|e| op_err(format!("encode lease {}", self.name), e))?;
        let written = match revision {
            None => self
                .kv
                .create(self.name.as_str(), bytes.into())
                .await
                .map_err(|e| e.to_string()),
            Some(revision) => self
                .kv
                .update(self.name.as_str(), bytes.into(), revision)
                .await
                .map_err(|e| e.to_string()),
        };
        match written {
            Ok(revision) => Ok(Outcome::Held(Holding::after_write(
                &self.timing,
                now_ms,
                revision,
            ))),
            Err(write_error) => {
                // Lost a race, or the write failed: whoever is in the bucket now decides.
                match self.current().await? {
                    Some(c) if c.lease.holder != self.me => Ok(Outcome::Standby {
                        holder: c.lease.holder,
                        expires_at_ms: c.lease.expires_at_ms,
                    }),
                    _ => Err(op_err(format!("write lease {}", self.name), write_error)),
                }
            }
        }
    }

    /// Gives the lease up if this instance holds it (at `revision`), so a standby takes over
    /// at once: the lease is rewritten as expired, with compare-and-set.
    pub async fn release(&self, revision: u64) -> Result<(), BusError> {
        let bytes = serde_json::to_vec(&Lease {
            holder: self.me.clone(),
            expires_at_ms: 0,
        })
        .map_err(|e| op_err(format!("encode lease {}", self.name), e))?;
        self.kv
            .update(self.name.as_str(), bytes.into(), revision)
            .await
            .map_err(|e| op_err(format!("release lease {}", self.name), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_within_says_whether_the_lease_was_released() {
        type Release = std::pin::Pin<Box<dyn Future<Output = Result<(), String>>>>;
        let cases: [(&str, Release, bool); 3] = [
            ("released", Box::pin(async { Ok(()) }), true),
            ("refused", Box::pin(async { Err("no".to_owned()) }), false),
            ("no answer", Box::pin(std::future::pending()), false),
        ];
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        for (case, release, expected) in cases {
            let ttl = Duration::from_secs(15);
            let released = runtime.block_on(release_within(
                "test",
                Duration::from_millis(10),
                ttl,
                release,
            ));
            assert_eq!(released, expected, "{case}");
        }
    }

    fn current(holder: &str, expires_at_ms: u64, revision: u64) -> Current {
        Current {
            lease: Lease {
                holder: holder.into(),
                expires_at_ms,
            },
            revision,
        }
    }

    #[test]
    fn decisions() {
        let cases = [
            ("absent", None, 1_000, Decision::Acquire),
            (
                "ours, valid",
                Some(current("a", 2_000, 7)),
                1_000,
                Decision::Renew { revision: 7 },
            ),
            (
                "ours, lapsed",
                Some(current("a", 500, 7)),
                1_000,
                Decision::Renew { revision: 7 },
            ),
            (
                "theirs, valid",
                Some(current("b", 2_000, 7)),
                1_000,
                Decision::Standby {
                    holder: "b".into(),
                    expires_at_ms: 2_000,
                },
            ),
            (
                "theirs, expires now",
                Some(current("b", 1_000, 7)),
                1_000,
                Decision::TakeOver {
                    revision: 7,
                    previous: "b".into(),
                },
            ),
            (
                "released",
                Some(current("b", 0, 9)),
                1_000,
                Decision::TakeOver {
                    revision: 9,
                    previous: "b".into(),
                },
            ),
        ];
        for (case, cur, now, expected) in cases {
            assert_eq!(decide(cur.as_ref(), "a", now), expected, "{case}");
        }
    }

    #[test]
    fn the_holder_stops_before_anyone_may_take_over() {
        let timing = LeaseTiming::DEFAULT;
        let sent = 10_000;
        let lease = timing.lease("a", sent);
        let holding = Holding::after_write(&timing, sent, 3);
        let cases = [
            ("just written", sent, true),
            ("before the margin", sent + 11_999, true),
            ("at the margin", sent + 12_000, false),
            ("at expiry", lease.expires_at_ms, false),
        ];
        for (case, now, working) in cases {
            assert_eq!(holding.working(now), working, "{case}");
        }
        // A standby may take over only from the written expiry on, after the holder stopped.
        let cur = Current {
            lease: lease.clone(),
            revision: 3,
        };
        assert!(matches!(
            decide(Some(&cur), "b", holding.work_until_ms),
            Decision::Standby { .. }
        ));
        assert!(matches!(
            decide(Some(&cur), "b", lease.expires_at_ms),
            Decision::TakeOver { .. }
        ));
        assert!(holding.work_until_ms < lease.expires_at_ms);
    }
}
