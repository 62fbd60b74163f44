//! How a proxy (or any reader) follows the config bucket: a plain state machine, fed with
//! the entries of a KV watch, that yields consistent batches to apply.
//!
//! - Catch-up (property 1): a watch that starts with every key's last value delivers the
//!   complete state; the follower applies it as one batch when the watch reports that
//!   nothing is pending any more.
//! - After that, changes are held per provider and released at that provider's commit
//!   marker (property 3), so a proxy never applies half of a provider's update.
//! - A payload that cannot be read is reported and skipped; the last good record of that
//!   key stays in force.

use std::collections::BTreeMap;

use switchyard_model::{DynamicConfig, Problem};

use crate::keys::{ConfigEntryKey, ConfigKey, KeyError};
use crate::messages::{Commit, ProviderStatus};
use crate::record::{Record, RecordError};

/// The records a reader has applied, per key: what every follower of the config bucket
/// (proxy, certificates, health) keeps, so they all read the configuration the same way.
#[derive(Debug, Clone, Default)]
pub struct ConfigView {
    records: BTreeMap<ConfigKey, Record>,
    revision: u64,
}

impl ConfigView {
    /// Applies a batch: a full batch replaces everything, a partial one changes its keys.
    pub fn apply(&mut self, batch: Batch) {
        if batch.full {
            self.records.clear();
        }
        for (key, record) in batch.changes {
            match record {
                Some(record) => {
                    self.records.insert(key, record);
                }
                None => {
                    self.records.remove(&key);
                }
            }
        }
        self.revision = self.revision.max(batch.revision);
    }

    /// The highest bus revision applied.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The records applied, by key.
    pub fn records(&self) -> &BTreeMap<ConfigKey, Record> {
        &self.records
    }

    /// Each provider's configuration and the problems of its records
    /// ([`crate::record::from_records`]); pass this to `switchyard_merge::merge`.
    pub fn providers(&self) -> BTreeMap<String, (DynamicConfig, Vec<Problem>)> {
        crate::record::from_records(&self.records)
    }
}

/// One entry of the config bucket as the watch delivers it.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The KV key.
    pub key: &'a str,
    /// The value; `None` for a delete or purge.
    pub value: Option<&'a [u8]>,
    /// The stream sequence of this entry.
    pub revision: u64,
    /// How many entries the watch still has to deliver from history (0 when caught up).
    pub pending: u64,
}

/// A set of changes to apply together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Whether this is the complete state after catch-up (the reader replaces everything).
    pub full: bool,
    /// Changed records; `None` removes the resource.
    pub changes: Vec<(ConfigKey, Option<Record>)>,
    /// The revision of the last entry included.
    pub revision: u64,
}

/// What the follower yields.
#[derive(Debug)]
pub enum Event {
    /// Apply these changes.
    Apply(Batch),
    /// A provider's status changed.
    Status(ProviderStatus),
    /// An entry could not be read and was skipped; the last good state stays in force.
    Rejected(FollowError),
}

/// An entry that could not be read; the state is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The key is not part of the contract.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The resource record is not valid JSON of the contract.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A marker payload is not valid JSON of the contract.
    #[error("bus key {key:?}: {source}")]
    Marker {
        /// The key.
        key: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

/// The follower's state.
#[derive(Debug, Default)]
pub struct Follower {
    caught_up: bool,
    initial: BTreeMap<ConfigKey, Option<Record>>,
    pending: BTreeMap<String, Vec<(ConfigKey, Option<Record>)>>,
    last_revision: u64,
}

impl Follower {
    /// A follower that starts with a catch-up.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the catch-up batch has been released.
    pub fn caught_up(&self) -> bool {
        self.caught_up
    }

    /// Releases the catch-up batch for an empty bucket (a watch of an empty bucket delivers
    /// no entry that could say so).
    pub fn finish_catch_up(&mut self) -> Option<Batch> {
        if self.caught_up {
            return None;
        }
        self.caught_up = true;
        let changes = std::mem::take(&mut self.initial)
            .into_iter()
            .filter(|(_, r)| r.is_some())
            .collect();
        // Uncommitted changes seen during catch-up are part of the full state: the write
        // order keeps such a state consistent, and the commit that follows is a no-op.
        self.pending.clear();
        Some(Batch {
            full: true,
            changes,
            revision: self.last_revision,
        })
    }

    /// Feeds one entry of the watch and returns what to do, in order.
    pub fn on_entry(&mut self, entry: Entry<'_>) -> Vec<Event> {
        self.last_revision = self.last_revision.max(entry.revision);
        let mut events = Vec::new();
        match self.read(&entry) {
            Ok(Some(event)) => events.push(event),
            Ok(None) => {}
            Err(e) => events.push(Event::Rejected(e)),
        }
        // Whatever this entry was, the end of history releases the catch-up batch.
        if !self.caught_up && entry.pending == 0 {
            events.extend(self.finish_catch_up().map(Event::Apply));
        }
        events
    }

    fn read(&mut self, entry: &Entry<'_>) -> Result<Option<Event>, FollowError> {
        match ConfigEntryKey::parse(entry.key)? {
            ConfigEntryKey::Resource(key) => {
                let record = entry
                    .value
                    .map(|bytes| Record::from_bytes(&key, bytes))
                    .transpose()?;
                if self.caught_up {
                    self.pending
                        .entry(key.provider.clone())
                        .or_default()
                        .push((key, record));
                } else {
                    self.initial.insert(key, record);
                }
                Ok(None)
            }
            ConfigEntryKey::Commit(provider) => {
                if let Some(bytes) = entry.value {
                    serde_json::from_slice::<Commit>(bytes).map_err(|source| {
                        FollowError::Marker {
                            key: entry.key.to_owned(),
                            source,
                        }
                    })?;
                }
                let changes = self.pending.remove(&provider);
                Ok(changes.filter(|_| self.caught_up).map(|changes| {
                    Event::Apply(Batch {
                        full: false,
                        changes,
                        revision: entry.revision,
                    })
                }))
            }
            ConfigEntryKey::Status(_) => entry
                .value
                .map(|bytes| {
                    serde_json::from_slice::<ProviderStatus>(bytes)
                        .map(Event::Status)
                        .map_err(|source| FollowError::Marker {
                            key: entry.key.to_owned(),
                            source,
                        })
                })
                .transpose(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_model::ResourceKind;

    fn put<'a>(key: &'a str, value: &'a str, revision: u64, pending: u64) -> Entry<'a> {
        Entry {
            key,
            value: Some(value.as_bytes()),
            revision,
            pending,
        }
    }

    fn applied(events: Vec<Event>) -> Vec<Batch> {
        events
            .into_iter()
            .filter_map(|e| match e {
                Event::Apply(b) => Some(b),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn catch_up_is_one_full_batch_released_when_nothing_is_pending() {
        let mut f = Follower::new();
        assert!(applied(f.on_entry(put("file.http-routers.a", r#"{"spec":{}}"#, 1, 2))).is_empty());
        assert!(
            applied(f.on_entry(put("file.http-services.s", r#"{"spec":{}}"#, 2, 1))).is_empty()
        );
        let batches = applied(f.on_entry(put("file._commit", r#"{"generation":1}"#, 3, 0)));
        assert_eq!(batches.len(), 1);
        assert!(batches[0].full);
        assert_eq!(batches[0].revision, 3);
        let names: Vec<_> = batches[0]
            .changes
            .iter()
            .map(|(k, _)| k.name.as_str())
            .collect();
        assert_eq!(names, ["a", "s"]);
        assert!(f.caught_up());
    }

    #[test]
    fn changes_wait_for_their_providers_commit() {
        let mut f = Follower::new();
        assert_eq!(
            applied(f.finish_catch_up().map(Event::Apply).into_iter().collect()).len(),
            1
        );
        assert!(applied(f.on_entry(put("file.http-routers.a", r#"{"spec":{}}"#, 5, 0))).is_empty());
        assert!(
            applied(f.on_entry(put("docker.http-routers.b", r#"{"spec":{}}"#, 6, 0))).is_empty()
        );
        let deleted = f.on_entry(Entry {
            key: "file.http-services.old",
            value: None,
            revision: 7,
            pending: 0,
        });
        assert!(applied(deleted).is_empty());
        let batches = applied(f.on_entry(put("file._commit", r#"{"generation":2}"#, 8, 0)));
        assert_eq!(batches.len(), 1);
        assert!(!batches[0].full);
        let changes: Vec<_> = batches[0]
            .changes
            .iter()
            .map(|(k, r)| (k.name.as_str(), r.is_some()))
            .collect();
        assert_eq!(changes, [("a", true), ("old", false)]);
        // docker's change is still held.
        let batches = applied(f.on_entry(put("docker._commit", r#"{"generation":1}"#, 9, 0)));
        assert_eq!(
            batches[0].changes[0].0,
            ConfigKey::new("docker", ResourceKind::HttpRouter, "b")
        );
    }

    #[test]
    fn bad_entries_are_rejected_and_do_not_block_catch_up() {
        let mut f = Follower::new();
        let events = f.on_entry(put("file.http-routers.a", "{not json", 1, 1));
        assert!(matches!(
            events.as_slice(),
            [Event::Rejected(FollowError::Record(_))]
        ));
        let events = f.on_entry(put("Not A Key", "{}", 2, 0));
        assert!(
            matches!(events.as_slice(), [Event::Rejected(FollowError::Key(_)), Event::Apply(b)] if b.full && b.changes.is_empty())
        );
        let events = f.on_entry(put("file._status", r#"{"healthy": "yes"}"#, 3, 0));
        assert!(matches!(
            events.as_slice(),
            [Event::Rejected(FollowError::Marker { .. })]
        ));
    }

    #[test]
    fn status_entries_are_reported() {
        let mut f = Follower::new();
        let events = f.on_entry(put(
            "file._status",
            r#"{"provider":"file","healthy":true}"#,
            1,
            0,
        ));
        assert!(matches!(events.as_slice(), [Event::Status(s), Event::Apply(_)] if s.healthy));
    }
}
