//! The order planner: which ACME certificates to order now, given what the configuration
//! asks for, what the certs bucket holds, what is in flight and what failed.
//!
//! - One order in flight per certificate id (a domain set): duplicates are never started.
//! - A certificate is ordered when it is missing, when its names changed, or when its
//!   renewal time ([`crate::schedule::renew_at`], or an earlier ARI window) has come.
//! - A failure waits with capped exponential backoff per certificate (longer for rate limits).
//! - A certificate no router asks for any more is not renewed; its record stays (proxies keep
//!   serving it, as Traefik keeps it in `acme.json`) until it expires, then it is deleted.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::domains::{Demand, Wanted};
use crate::schedule::{renew_at, retry_after_failure};

/// A certificate the certs bucket holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Its names.
    pub domains: Vec<String>,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Its issuer.
    pub issuer: String,
}

/// Why an order starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No certificate yet.
    Missing,
    /// The names asked for differ from the certificate's.
    DomainsChanged,
    /// Its renewal time has come.
    Renewal,
}

/// An order to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// What to obtain.
    pub wanted: Wanted,
    /// Why.
    pub reason: Reason,
}

/// Why an order failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error, for logs and status.
    pub message: String,
    /// The CA answered with a rate limit.
    pub rate_limited: bool,
    /// The CA's `Retry-After`.
    pub retry_after: Option<Duration>,
}

/// The state of one certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slot {
    /// What the configuration asks for (`None`: nobody any more).
    pub wanted: Option<Wanted>,
    /// What the bucket holds.
    pub held: Option<Held>,
    /// An order is running.
    pub in_flight: bool,
    /// Failures since the last success.
    pub failures: u32,
    /// No attempt before this, Unix milliseconds.
    pub retry_at_ms: u64,
    /// The last error.
    pub last_error: Option<String>,
    /// The renewal time an ARI window suggests, Unix seconds.
    pub ari_renew_at: Option<i64>,
}

/// The planner.
#[derive(Debug, Clone, Default)]
pub struct Planner {
    slots: BTreeMap<String, Slot>,
    durations: BTreeMap<String, u64>,
}

impl Planner {
    /// A planner for resolvers with their `certificatesDuration` (hours).
    pub fn new(durations: BTreeMap<String, u64>) -> Self {
        Self {
            slots: BTreeMap::new(),
            durations,
        }
    }

    /// Every certificate known.
    pub fn slots(&self) -> &BTreeMap<String, Slot> {
        &self.slots
    }

    /// Replaces what the configuration asks for.
    pub fn set_demand(&mut self, demand: &Demand) {
        for slot in self.slots.values_mut() {
            slot.wanted = None;
        }
        for (id, wanted) in &demand.certificates {
            let slot = self.slots.entry(id.clone()).or_default();
            if slot.wanted.as_ref().map(|w| &w.domains) != Some(&wanted.domains) {
                // New names: a failure for other names says nothing about these.
                slot.failures = 0;
                slot.retry_at_ms = 0;
            }
            slot.wanted = Some(wanted.clone());
        }
        self.forget_empty();
    }

    /// Records what the certs bucket holds for `id` (`None`: deleted).
    pub fn set_held(&mut self, id: &str, held: Option<Held>) {
        let slot = self.slots.entry(id.to_owned()).or_default();
        if slot.held.as_ref().map(|h| h.not_after) != held.as_ref().map(|h| h.not_after) {
            slot.ari_renew_at = None;
        }
        slot.held = held;
        self.forget_empty();
    }

    /// Records an ARI suggestion (Unix seconds) for the certificate in force.
    pub fn set_ari(&mut self, id: &str, renew_at: i64) {
        if let Some(slot) = self.slots.get_mut(id) {
            slot.ari_renew_at = Some(renew_at);
        }
    }

    fn forget_empty(&mut self) {
        self.slots
            .retain(|_, s| s.wanted.is_some() || s.held.is_some() || s.in_flight);
    }

    /// When the certificate of `id` is to be renewed, Unix seconds.
    pub fn renew_at(&self, id: &str) -> Option<i64> {
        let slot = self.slots.get(id)?;
        let held = slot.held.as_ref()?;
        let resolver = slot.wanted.as_ref().map(|w| w.resolver.as_str());
        let hours = resolver
            .and_then(|r| self.durations.get(r))
            .copied()
            .unwrap_or(crate::config::DEFAULT_CERTIFICATES_DURATION);
        let table = renew_at(held.not_before, held.not_after, hours);
        Some(slot.ari_renew_at.map_or(table, |ari| ari.min(table)))
    }

    /// Why `id` needs an order at `now_ms`, if it does (ignoring in-flight and backoff).
    fn needs(&self, id: &str, slot: &Slot, now_ms: u64) -> Option<Reason> {
        let wanted = slot.wanted.as_ref()?;
        let Some(held) = &slot.held else {
            return Some(Reason::Missing);
        };
        let mut have = held.domains.clone();
        let mut want = wanted.domains.clone();
        have.sort();
        want.sort();
        if have != want {
            return Some(Reason::DomainsChanged);
        }
        let now = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
        (now >= self.renew_at(id)?).then_some(Reason::Renewal)
    }

    /// The orders to start at `now_ms`; each is marked in flight.
    pub fn due(&mut self, now_ms: u64) -> Vec<Start> {
        let mut starts = Vec::new();
        for (id, slot) in &self.slots {
            if slot.in_flight || now_ms < slot.retry_at_ms {
                continue;
            }
            if let (Some(reason), Some(wanted)) = (self.needs(id, slot, now_ms), &slot.wanted) {
                starts.push(Start {
                    wanted: wanted.clone(),
                    reason,
                });
            }
        }
        for start in &starts {
            if let Some(slot) = self.slots.get_mut(&start.wanted.id) {
                slot.in_flight = true;
            }
        }
        starts
    }

    /// Records the end of an order for `id` at `now_ms`: the certificate obtained, or why not.
    pub fn finished(&mut self, id: &str, result: Result<Held, Failure>, now_ms: u64) {
        let slot = self.slots.entry(id.to_owned()).or_default();
        slot.in_flight = false;
        match result {
            Ok(held) => {
                slot.failures = 0;
                slot.retry_at_ms = 0;
                slot.last_error = None;
                slot.ari_renew_at = None;
                slot.held = Some(held);
            }
            Err(failure) => {
                slot.failures = slot.failures.saturating_add(1);
                let wait =
                    retry_after_failure(slot.failures, failure.rate_limited, failure.retry_after);
                slot.retry_at_ms =
                    now_ms.saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
                slot.last_error = Some(failure.message);
            }
        }
        self.forget_empty();
    }

    /// Forgets every order in flight (they were cancelled: the lease was lost).
    pub fn cancel_all(&mut self) {
        for slot in self.slots.values_mut() {
            slot.in_flight = false;
        }
        self.forget_empty();
    }

    /// Certificates nobody asks for whose record has expired at `now_ms`: to delete.
    pub fn expired_unwanted(&self, now_ms: u64) -> Vec<String> {
        let now = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
        self.slots
            .iter()
            .filter(|(_, s)| s.wanted.is_none() && !s.in_flight)
            .filter(|(_, s)| s.held.as_ref().is_some_and(|h| h.not_after <= now))
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn wanted(id: &str, domains: &[&str]) -> Wanted {
        Wanted {
            id: id.into(),
            resolver: "le".into(),
            domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            routers: BTreeSet::from(["r@file".to_owned()]),
        }
    }

    fn demand(list: &[Wanted]) -> Demand {
        Demand {
            certificates: list.iter().map(|w| (w.id.clone(), w.clone())).collect(),
            skipped: vec![],
        }
    }

    fn held(domains: &[&str], not_before: i64, not_after: i64) -> Held {
        Held {
            domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            not_before,
            not_after,
            issuer: "CN=test".into(),
        }
    }

    fn planner() -> Planner {
        Planner::new(BTreeMap::from([("le".to_owned(), 2160)]))
    }

    fn reasons(p: &mut Planner, now_ms: u64) -> Vec<(String, Reason)> {
        p.due(now_ms)
            .into_iter()
            .map(|s| (s.wanted.id, s.reason))
            .collect()
    }

    #[test]
    fn orders_start_when_missing_changed_or_due() {
        let t = 1_000_000i64;
        let now_ms = (t * 1000) as u64;
        type Case = (
            &'static str,
            Vec<&'static str>,
            Option<Held>,
            u64,
            Option<Reason>,
        );
        let cases: Vec<Case> = vec![
            ("missing", vec!["a.x"], None, now_ms, Some(Reason::Missing)),
            (
                "fresh",
                vec!["a.x"],
                Some(held(&["a.x"], t, t + 120)),
                now_ms,
                None,
            ),
            (
                "same names in another order",
                vec!["a.x", "b.x"],
                Some(held(&["b.x", "a.x"], t, t + 120)),
                now_ms,
                None,
            ),
            (
                "names changed",
                vec!["a.x", "c.x"],
                Some(held(&["a.x"], t, t + 120)),
                now_ms,
                Some(Reason::DomainsChanged),
            ),
            (
                "before a third of the lifetime remains",
                vec!["a.x"],
                Some(held(&["a.x"], t, t + 120)),
                now_ms + 79_000,
                None,
            ),
            (
                "a third of the lifetime remains",
                vec!["a.x"],
                Some(held(&["a.x"], t, t + 120)),
                now_ms + 80_000,
                Some(Reason::Renewal),
            ),
        ];
        for (case, names, h, at, expected) in cases {
            let mut p = planner();
            p.set_demand(&demand(&[wanted("a", &names)]));
            p.set_held("a", h);
            let got: Vec<Reason> = reasons(&mut p, at).into_iter().map(|(_, r)| r).collect();
            assert_eq!(got, expected.into_iter().collect::<Vec<_>>(), "{case}");
        }
    }

    #[test]
    fn one_order_in_flight_per_certificate_and_backoff_after_failure() {
        let mut p = planner();
        p.set_demand(&demand(&[wanted("a", &["a.x"])]));
        assert_eq!(reasons(&mut p, 0).len(), 1);
        assert!(
            reasons(&mut p, 0).is_empty(),
            "in flight: not started twice"
        );
        p.set_demand(&demand(&[wanted("a", &["a.x"])]));
        assert!(
            reasons(&mut p, 0).is_empty(),
            "a config change keeps it in flight"
        );
        let failure = Failure {
            message: "boom".into(),
            rate_limited: false,
            retry_after: None,
        };
        p.finished("a", Err(failure.clone()), 1_000);
        assert_eq!(p.slots()["a"].last_error.as_deref(), Some("boom"));
        assert!(reasons(&mut p, 10_999).is_empty(), "backing off");
        assert_eq!(reasons(&mut p, 11_000).len(), 1, "10 s later");
        p.finished("a", Err(failure), 11_000);
        assert!(reasons(&mut p, 30_999).is_empty(), "20 s after the second");
        assert_eq!(reasons(&mut p, 31_000).len(), 1);
        p.finished("a", Ok(held(&["a.x"], 31, 31 + 120)), 31_000);
        assert_eq!(p.slots()["a"].failures, 0);
        assert_eq!(p.slots()["a"].last_error, None);
        assert!(reasons(&mut p, 32_000).is_empty());
    }

    #[test]
    fn rate_limits_wait_for_retry_after() {
        let mut p = planner();
        p.set_demand(&demand(&[wanted("a", &["a.x"])]));
        p.due(0);
        p.finished(
            "a",
            Err(Failure {
                message: "rateLimited".into(),
                rate_limited: true,
                retry_after: Some(Duration::from_secs(3600 * 3)),
            }),
            0,
        );
        assert!(reasons(&mut p, 3 * 3600 * 1000 - 1).is_empty());
        assert_eq!(reasons(&mut p, 3 * 3600 * 1000).len(), 1);
    }

    #[test]
    fn ari_brings_renewal_earlier_only() {
        let mut p = planner();
        p.set_demand(&demand(&[wanted("a", &["a.x"])]));
        p.set_held("a", Some(held(&["a.x"], 0, 90 * 86_400)));
        assert_eq!(p.renew_at("a"), Some(60 * 86_400));
        p.set_ari("a", 50 * 86_400);
        assert_eq!(p.renew_at("a"), Some(50 * 86_400));
        p.set_ari("a", 70 * 86_400);
        assert_eq!(p.renew_at("a"), Some(60 * 86_400));
    }

    #[test]
    fn unwanted_certificates_stay_until_they_expire() {
        let mut p = planner();
        p.set_demand(&demand(&[wanted("a", &["a.x"])]));
        p.set_held("a", Some(held(&["a.x"], 0, 100)));
        p.set_demand(&demand(&[]));
        assert!(p.due(99_000).is_empty(), "not renewed");
        assert!(p.expired_unwanted(99_000).is_empty(), "still valid: kept");
        assert_eq!(p.expired_unwanted(100_000), ["a"]);
        p.set_held("a", None);
        assert!(p.slots().is_empty());
    }

    #[test]
    fn cancelled_orders_can_start_again() {
        let mut p = planner();
        p.set_demand(&demand(&[wanted("a", &["a.x"])]));
        assert_eq!(p.due(0).len(), 1);
        p.cancel_all();
        assert_eq!(p.due(0).len(), 1);
    }
}
