//! Sharing the work between health instances: each instance holds a membership lease
//! (`health.members.<instance>` in the leases bucket) and renews it; every instance sees
//! the same live members and gives each service to the member that wins its rendezvous
//! hash, so a service moves only when its winner comes or goes.

use std::collections::BTreeMap;

use switchyard_bus::keys::{escape_token, unescape_token};

/// The prefix of membership keys in the leases bucket.
pub const MEMBER_PREFIX: &str = "health.members.";

/// The key of an instance's membership lease.
pub fn member_key(instance: &str) -> String {
    format!("{MEMBER_PREFIX}{}", escape_token(instance))
}

/// The instance a membership key belongs to (`None`: not a membership key).
pub fn parse_member_key(key: &str) -> Option<String> {
    let token = key.strip_prefix(MEMBER_PREFIX)?;
    unescape_token(token).ok()
}

/// The membership leases seen on the bus: instance -> expiry (Unix ms).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    leases: BTreeMap<String, u64>,
}

impl Members {
    /// Records a lease (renewed or new).
    pub fn renewed(&mut self, instance: &str, expires_at_ms: u64) {
        self.leases.insert(instance.to_owned(), expires_at_ms);
    }

    /// Forgets a lease (deleted: its instance stopped).
    pub fn left(&mut self, instance: &str) {
        self.leases.remove(instance);
    }

    /// Forgets every lease (a watch restarts with the full state).
    pub fn clear(&mut self) {
        self.leases.clear();
    }

    /// The live members at `now_ms`, plus `me` (an instance always counts itself: it
    /// checks alone rather than not at all while its own lease is not visible), sorted.
    pub fn live(&self, now_ms: u64, me: &str) -> Vec<String> {
        let mut live: Vec<String> = self
            .leases
            .iter()
            .filter(|(_, expires)| **expires > now_ms)
            .map(|(instance, _)| instance.clone())
            .collect();
        if !live.iter().any(|m| m == me) {
            live.push(me.to_owned());
            live.sort();
        }
        live
    }
}

/// FNV-1a then a SplitMix64 finaliser: a hash every instance computes alike, whatever
/// its build (std's hasher is not stable across releases).
fn score(service: &str, member: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in service
        .bytes()
        .chain(std::iter::once(0xff))
        .chain(member.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The member that checks `service`: the highest score, ties broken by name.
pub fn owner<'a>(service: &str, members: &'a [String]) -> Option<&'a str> {
    members
        .iter()
        .max_by(|a, b| {
            score(service, a)
                .cmp(&score(service, b))
                .then_with(|| b.cmp(a))
        })
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn member_keys_round_trip() {
        for instance in ["h1", "host.example", "a b", ""] {
            let key = member_key(instance);
            assert!(key.starts_with(MEMBER_PREFIX));
            assert_eq!(key.matches('.').count(), 2, "{instance:?}: one token");
            assert_eq!(parse_member_key(&key).as_deref(), Some(instance));
        }
        assert_eq!(parse_member_key("certificates.active"), None);
    }

    #[test]
    fn live_members() {
        let cases = [
            (
                "expired leases are ignored",
                vec![("a", 100), ("b", 50)],
                60,
                "a",
                vec!["a"],
            ),
            (
                "me is always live",
                vec![("b", 100)],
                60,
                "a",
                vec!["a", "b"],
            ),
            ("expiry is exclusive", vec![("a", 60)], 60, "b", vec!["b"]),
            ("nobody else", vec![], 0, "a", vec!["a"]),
        ];
        for (case, leases, now, me, expected) in cases {
            let mut members = Members::default();
            for (instance, expires) in leases {
                members.renewed(instance, expires);
            }
            assert_eq!(members.live(now, me), names(&expected), "{case}");
        }
        let mut members = Members::default();
        members.renewed("b", 100);
        members.left("b");
        assert_eq!(members.live(0, "a"), names(&["a"]));
    }

    #[test]
    fn every_service_has_one_owner_and_moves_only_with_it() {
        let three = names(&["h1", "h2", "h3"]);
        let services: Vec<String> = (0..300).map(|i| format!("svc{i}@file")).collect();
        let mut per_member = BTreeMap::new();
        for s in &services {
            let o = owner(s, &three).unwrap();
            *per_member.entry(o).or_insert(0) += 1;
            // The member list's order does not matter.
            let reversed: Vec<String> = three.iter().rev().cloned().collect();
            assert_eq!(owner(s, &reversed), Some(o));
        }
        assert_eq!(per_member.len(), 3, "{per_member:?}");
        assert!(
            per_member.values().all(|n| *n > 60),
            "spread: {per_member:?}"
        );

        // h3 leaves: only its services move.
        let two = names(&["h1", "h2"]);
        for s in &services {
            let before = owner(s, &three).unwrap();
            let after = owner(s, &two).unwrap();
            if before != "h3" {
                assert_eq!(before, after, "{s} moved although its owner stayed");
            }
        }
        assert_eq!(owner("x", &[]), None);
    }
}
