//! The bus over NATS JetStream: connecting, opening the buckets, publishing a provider's
//! snapshot and following the config bucket.
//!
//! Every loop here survives NATS outages: the client reconnects with capped backoff, and a
//! watch that ends is reopened, which replays the full state (a new catch-up), so a reader
//! never misses a change that happened while it was away (property 4).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt as _;
use tracing::{debug, info, warn};

use crate::follow::{Entry, Event, Follower};
use crate::keys::{self, ConfigEntryKey, ConfigKey};
use crate::messages::{Commit, ProviderStatus};
use crate::publish::{Plan, plan};
use crate::record::Record;

/// Errors talking to NATS.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Connecting failed (bad URL, credentials file unreadable).
    #[error("connecting to NATS at {url}: {message}")]
    Connect {
        /// The configured URL(s).
        url: String,
        /// Why.
        message: String,
    },
    /// A JetStream operation failed.
    #[error("NATS {operation}: {message}")]
    Operation {
        /// What was being done (`open bucket switchyard_config_v1`, `put file.http-routers.a`).
        operation: String,
        /// Why.
        message: String,
    },
}

fn op_err(operation: impl Into<String>, e: impl std::fmt::Display) -> BusError {
    BusError::Operation {
        operation: operation.into(),
        message: e.to_string(),
    }
}

/// How a service reaches NATS (part of every service's static configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NatsSettings {
    /// Server URL(s), comma-separated (`nats://127.0.0.1:4222`).
    pub url: String,
    /// A `.creds` file (JWT + nkey).
    pub credentials_file: Option<PathBuf>,
    /// User name (with `password`).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Token.
    pub token: Option<String>,
    /// CA bundle to verify the server (enables TLS).
    pub ca_file: Option<PathBuf>,
    /// Client certificate for mutual TLS (with `key_file`).
    pub cert_file: Option<PathBuf>,
    /// Client key for mutual TLS.
    pub key_file: Option<PathBuf>,
    /// JetStream replicas for buckets this service creates (1 for a single server).
    pub replicas: Option<usize>,
}

/// The longest wait between two reconnection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Capped exponential backoff: 100 ms, 200 ms, ... up to [`MAX_BACKOFF`].
pub fn backoff(attempt: usize) -> Duration {
    let exp = u32::try_from(attempt.min(16)).unwrap_or(16);
    Duration::from_millis(100u64.saturating_mul(1 << exp)).min(MAX_BACKOFF)
}

/// Connects to NATS. The client retries the first connection and reconnects forever with
/// capped backoff; callers never need to connect twice.
pub async fn connect(settings: &NatsSettings, name: &str) -> Result<async_nats::Client, BusError> {
    connect_with_reconnects(settings, name)
        .await
        .map(|(client, _)| client)
}

/// Counts a client's connection events and says when it came back after losing the server.
#[derive(Debug, Default)]
pub struct ReconnectTracker {
    lost: bool,
    reconnections: u64,
}

impl ReconnectTracker {
    /// Feeds one connection event; returns the new reconnection count when this event is a
    /// connection regained after a loss (the first connection is not a reconnection).
    pub fn on_event(&mut self, event: &async_nats::Event) -> Option<u64> {
        match event {
            async_nats::Event::Disconnected => {
                self.lost = true;
                None
            }
            async_nats::Event::Connected if self.lost => {
                self.lost = false;
                self.reconnections += 1;
                Some(self.reconnections)
            }
            _ => None,
        }
    }
}

/// Tells a watch loop that the client reconnected to NATS, so that it reopens its watches
/// with a full catch-up instead of trusting the client's resumed consumer.
///
/// Why: the client resumes a KV watch after a reconnect from the last sequence it saw. That
/// misses state when the server came back with other storage (a new or rebuilt server, a
/// stream recreated with sequences starting over: the resumed consumer then waits for
/// sequences that will not come for a long time), and keys that expired meanwhile; a fresh
/// watch replays the current state and the reader replaces what it holds.
#[derive(Debug, Clone)]
pub struct Reconnects(tokio::sync::watch::Receiver<u64>);

impl Reconnects {
    /// Never signals (a client that is never reconnected, tests).
    pub fn never() -> Self {
        // With the sender gone, `reconnected` waits forever.
        let (_, rx) = tokio::sync::watch::channel(0);
        Self(rx)
    }

    /// Forgets reconnections so far: the next [`Self::reconnected`] waits for a new one.
    pub fn mark_seen(&mut self) {
        self.0.mark_unchanged();
    }

    /// Runs `work` until it finishes (`Some(output)`) or the client reconnects to NATS
    /// (`None`: reopen the watch that `work` follows).
    pub async fn unless_reconnected<F: std::future::Future>(
        &mut self,
        work: F,
    ) -> Option<F::Output> {
        self.mark_seen();
        tokio::select! {
            output = work => Some(output),
            () = self.reconnected() => None,
        }
    }

    /// Waits until the client reconnects after the last [`Self::mark_seen`] (or after the
    /// last return of this function). Never returns if the client is gone.
    pub async fn reconnected(&mut self) {
        if self.0.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// [`connect`], plus the [`Reconnects`] signal of the client.
pub async fn connect_with_reconnects(
    settings: &NatsSettings,
    name: &str,
) -> Result<(async_nats::Client, Reconnects), BusError> {
    let (reconnected, reconnects) = tokio::sync::watch::channel(0u64);
    let tracker = std::sync::Arc::new(std::sync::Mutex::new(ReconnectTracker::default()));
    let url = if settings.url.is_empty() {
        "nats://127.0.0.1:4222".to_owned()
    } else {
        settings.url.clone()
    };
    let connect_err = |message: String| BusError::Connect {
        url: url.clone(),
        message,
    };
    let mut options = match &settings.credentials_file {
        Some(path) => async_nats::ConnectOptions::with_credentials_file(path)
            .await
            .map_err(|e| connect_err(format!("credentials file {}: {e}", path.display())))?,
        None => async_nats::ConnectOptions::new(),
    };
    if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
        options = options.user_and_password(user.clone(), password.clone());
    }
    if let Some(token) = &settings.token {
        options = options.token(token.clone());
    }
    if let Some(ca) = &settings.ca_file {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let (Some(cert), Some(key)) = (&settings.cert_file, &settings.key_file) {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    let name_owned = name.to_owned();
    options = options
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(5))
        .reconnect_delay_callback(backoff)
        .event_callback(move |event| {
            let name = name_owned.clone();
            let regained = tracker
                .lock()
                .map(|mut t| t.on_event(&event))
                .unwrap_or(None);
            if let Some(count) = regained {
                reconnected.send_replace(count);
            }
            async move {
                match event {
                    async_nats::Event::Connected => info!(service = %name, "connected to NATS"),
                    async_nats::Event::Disconnected => {
                        warn!(service = %name, "disconnected from NATS; serving last known state")
                    }
                    other => debug!(service = %name, event = %other, "NATS event"),
                }
            }
        });
    let servers: Vec<&str> = url
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let client = options
        .connect(servers)
        .await
        .map_err(|e| connect_err(e.to_string()))?;
    Ok((client, Reconnects(reconnects)))
}

/// The contract's buckets, opened (and created when missing).
#[derive(Clone)]
pub struct Buckets {
    /// [`keys::CONFIG_BUCKET`].
    pub config: kv::Store,
    /// [`keys::CERTS_BUCKET`].
    pub certs: kv::Store,
    /// [`keys::CHALLENGES_BUCKET`].
    pub challenges: kv::Store,
    /// [`keys::HEALTH_BUCKET`].
    pub health: kv::Store,
    /// [`keys::PROXIES_BUCKET`].
    pub proxies: kv::Store,
    /// [`keys::LEASES_BUCKET`].
    pub leases: kv::Store,
}

/// The configuration of each bucket of the contract.
pub fn bucket_configs(replicas: usize) -> Vec<kv::Config> {
    let bucket = |name: &str, description: &str, max_age: Duration| kv::Config {
        bucket: name.to_owned(),
        description: description.to_owned(),
        history: 1,
        max_age,
        // One resource, one certificate: far below NATS' default 1 MiB max payload.
        max_value_size: 1024 * 1024,
        storage: jetstream::stream::StorageType::File,
        num_replicas: replicas.max(1),
        ..Default::default()
    };
    vec![
        bucket(
            keys::CONFIG_BUCKET,
            "switchyard dynamic configuration, per provider and resource",
            Duration::ZERO,
        ),
        bucket(
            keys::CERTS_BUCKET,
            "switchyard certificates (keys sealed)",
            Duration::ZERO,
        ),
        bucket(
            keys::CHALLENGES_BUCKET,
            "switchyard pending ACME challenges",
            Duration::from_secs(3600),
        ),
        bucket(
            keys::HEALTH_BUCKET,
            "switchyard server health",
            Duration::ZERO,
        ),
        bucket(
            keys::PROXIES_BUCKET,
            "switchyard proxy heartbeats",
            Duration::from_secs(60),
        ),
        bucket(keys::LEASES_BUCKET, "switchyard leases", Duration::ZERO),
    ]
}

/// Opens every bucket, creating the missing ones. Idempotent; any service may call it.
pub async fn open_buckets(
    client: &async_nats::Client,
    replicas: usize,
) -> Result<Buckets, BusError> {
    let js = jetstream::new(client.clone());
    let mut stores = Vec::new();
    for config in bucket_configs(replicas) {
        let name = config.bucket.clone();
        let store = match js.get_key_value(&name).await {
            Ok(store) => store,
            Err(_) => js
                .create_key_value(config)
                .await
                .map_err(|e| op_err(format!("create bucket {name}"), e))?,
        };
        stores.push(store);
    }
    let mut it = stores.into_iter();
    let mut next = || {
        it.next()
            .ok_or_else(|| op_err("open buckets", "bucket list mismatch"))
    };
    Ok(Buckets {
        config: next()?,
        certs: next()?,
        challenges: next()?,
        health: next()?,
        proxies: next()?,
        leases: next()?,
    })
}

/// Opens the certificates service's own bucket ([`keys::ACME_BUCKET`]: ACME accounts and
/// certificate status), creating it when missing with the settings of every other bucket.
pub async fn open_acme_bucket(
    client: &async_nats::Client,
    replicas: usize,
) -> Result<kv::Store, BusError> {
    let js = jetstream::new(client.clone());
    if let Ok(store) = js.get_key_value(keys::ACME_BUCKET).await {
        return Ok(store);
    }
    js.create_key_value(kv::Config {
        bucket: keys::ACME_BUCKET.to_owned(),
        description: "switchyard ACME accounts (sealed) and certificate status".to_owned(),
        history: 1,
        max_value_size: 1024 * 1024,
        storage: jetstream::stream::StorageType::File,
        num_replicas: replicas.max(1),
        ..Default::default()
    })
    .await
    .map_err(|e| op_err(format!("create bucket {}", keys::ACME_BUCKET), e))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Publishes one provider's snapshots: only what changed, in a consistent order, then a commit.
pub struct ConfigPublisher {
    provider: String,
    kv: kv::Store,
    js: jetstream::Context,
    current: Option<BTreeMap<ConfigKey, Vec<u8>>>,
    generation: u64,
    /// A commit marker is owed even if the next plan is empty: records of this provider
    /// reached the bucket without a commit after them (a publish failed part way, e.g. its
    /// puts were acknowledged late, after a NATS outage). Readers hold such records until
    /// the provider's next commit, so without one they would never apply them.
    commit_owed: bool,
}

/// What one publish did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishReport {
    /// Keys put.
    pub puts: usize,
    /// Keys deleted.
    pub deletes: usize,
    /// The commit's generation (unchanged when nothing changed).
    pub generation: u64,
}

/// The bus revisions of one provider's keys, as read back from the bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Revisions {
    /// The highest revision of the provider's resource records (0: none).
    resource: u64,
    /// The revision of its commit marker, if there is one.
    commit: Option<u64>,
}

impl Revisions {
    /// Whether a record was written after the last commit (or there is no commit at all),
    /// so readers hold it until a commit comes.
    fn commit_owed(&self) -> bool {
        match self.commit {
            Some(commit) => self.resource > commit,
            None => self.resource > 0,
        }
    }
}

impl ConfigPublisher {
    /// A publisher for `provider` (a name accepted by [`keys::validate_provider_name`]).
    pub fn new(
        client: &async_nats::Client,
        buckets: &Buckets,
        provider: &str,
    ) -> Result<Self, BusError> {
        keys::validate_provider_name(provider).map_err(|e| op_err("publisher", e))?;
        Ok(Self {
            provider: provider.to_owned(),
            kv: buckets.config.clone(),
            js: jetstream::new(client.clone()),
            current: None,
            generation: 0,
            commit_owed: false,
        })
    }

    /// Forgets what was published, so that the next publish reads the bucket back first
    /// (after a reconnect, the bucket may have been lost or changed by someone else).
    pub fn resync(&mut self) {
        self.current = None;
    }

    async fn load(&mut self) -> Result<BTreeMap<ConfigKey, Vec<u8>>, BusError> {
        let prefix = format!("{}.", self.provider);
        let mut found = BTreeMap::new();
        let mut names = self.kv.keys().await.map_err(|e| op_err("list keys", e))?;
        let mut wanted = Vec::new();
        while let Some(key) = names.next().await {
            let key = key.map_err(|e| op_err("list keys", e))?;
            if key.starts_with(&prefix) {
                wanted.push(key);
            }
        }
        let mut revisions = Revisions::default();
        for key in wanted {
            let entry = self
                .kv
                .entry(&key)
                .await
                .map_err(|e| op_err(format!("get {key}"), e))?
                .filter(|e| e.operation == kv::Operation::Put);
            let Some(entry) = entry else { continue };
            match ConfigEntryKey::parse(&key) {
                Ok(ConfigEntryKey::Resource(k)) => {
                    revisions.resource = revisions.resource.max(entry.revision);
                    found.insert(k, entry.value.to_vec());
                }
                Ok(ConfigEntryKey::Commit(_)) => {
                    revisions.commit = Some(entry.revision);
                    if let Ok(commit) = serde_json::from_slice::<Commit>(&entry.value) {
                        self.generation = self.generation.max(commit.generation);
                    }
                }
                _ => {}
            }
        }
        self.commit_owed |= revisions.commit_owed();
        Ok(found)
    }

    /// Publishes a full snapshot of the provider's records.
    pub async fn publish(
        &mut self,
        records: &BTreeMap<ConfigKey, Record>,
    ) -> Result<PublishReport, BusError> {
        let current = match self.current.take() {
            Some(current) => current,
            None => self.load().await?,
        };
        let Plan { puts, deletes } = plan(&current, records);
        let mut next = current;
        let report = PublishReport {
            puts: puts.len(),
            deletes: deletes.len(),
            generation: self.generation,
        };
        if puts.is_empty() && deletes.is_empty() && !self.commit_owed {
            self.current = Some(next);
            return Ok(report);
        }
        // From here until the commit, a failure leaves records without a commit: the next
        // publish reads the bucket back (`current` stays `None`) and owes a commit.
        self.commit_owed = true;
        // Messages leave in order on the one connection, so the stream keeps the plan's
        // order while acknowledgements are awaited together.
        let mut acks = Vec::with_capacity(puts.len());
        for (key, bytes) in &puts {
            let subject = format!("$KV.{}.{}", keys::CONFIG_BUCKET, key);
            let ack = self
                .js
                .publish(subject, bytes.clone().into())
                .await
                .map_err(|e| op_err(format!("put {key}"), e))?;
            acks.push((key, ack));
        }
        for (key, ack) in acks {
            ack.await.map_err(|e| op_err(format!("put {key}"), e))?;
        }
        for (key, bytes) in puts {
            next.insert(key, bytes);
        }
        for key in &deletes {
            self.kv
                .delete(key.to_string())
                .await
                .map_err(|e| op_err(format!("delete {key}"), e))?;
            next.remove(key);
        }
        self.generation += 1;
        let commit = Commit {
            generation: self.generation,
            changed: (report.puts + report.deletes) as u64,
            resources: next.len() as u64,
            at_ms: now_ms(),
        };
        let bytes = serde_json::to_vec(&commit).unwrap_or_default();
        self.kv
            .put(keys::commit_key(&self.provider), bytes.into())
            .await
            .map_err(|e| op_err("commit", e))?;
        self.commit_owed = false;
        self.current = Some(next);
        Ok(PublishReport {
            generation: self.generation,
            ..report
        })
    }

    /// Publishes the provider's status.
    pub async fn publish_status(&self, status: &ProviderStatus) -> Result<(), BusError> {
        let bytes = serde_json::to_vec(status).unwrap_or_default();
        self.kv
            .put(keys::status_key(&self.provider), bytes.into())
            .await
            .map_err(|e| op_err("status", e))?;
        Ok(())
    }
}

/// Follows the config bucket forever, calling `on_event` with each batch to apply.
///
/// Every (re)opened watch begins with a full catch-up batch (`Batch::full`), so after an
/// outage the reader converges on the current state without replaying history.
pub async fn follow_config(kv: kv::Store, on_event: impl FnMut(Event)) {
    follow_config_reopening(kv, Reconnects::never(), on_event).await
}

/// [`follow_config`], reopening the watch (a new full catch-up) whenever the client
/// reconnects to NATS.
pub async fn follow_config_reopening(
    kv: kv::Store,
    reconnects: Reconnects,
    mut on_event: impl FnMut(Event),
) {
    let mut follower = Follower::new();
    follow_bucket(kv, ">", "config", reconnects, move |event| match event {
        BucketEvent::Opened => follower = Follower::new(),
        BucketEvent::Entry(entry) => {
            for event in follower.on_entry(Entry {
                key: &entry.key,
                value: entry.value.as_deref(),
                revision: entry.revision,
                pending: entry.pending,
            }) {
                on_event(event);
            }
        }
        // An empty bucket: the watch delivers nothing, the catch-up is complete at once.
        BucketEvent::CaughtUp(_) => {
            if let Some(batch) = follower.finish_catch_up() {
                on_event(Event::Apply(batch));
            }
        }
    })
    .await
}

/// One entry of a bucket watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketEntry {
    /// The key.
    pub key: String,
    /// Its value; `None` when deleted or purged.
    pub value: Option<bytes::Bytes>,
    /// The entry's revision (the stream sequence).
    pub revision: u64,
    /// How many entries the watch still has to deliver from history (0 when caught up).
    pub pending: u64,
}

/// What a bucket watch reports, in order: `Opened`, the entries (the current value of
/// every key first), `CaughtUp` once those have all been delivered, then later changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketEvent {
    /// A watch (re)opened: a complete replay follows; drop what was held from the last one.
    Opened,
    /// A key's value, or its deletion.
    Entry(BucketEntry),
    /// The replay is complete: these keys hold a value.
    CaughtUp(std::collections::HashSet<String>),
}

/// Follows the keys of `kv` matching `filter` (`>` for all) forever: each (re)opened watch
/// starts with [`BucketEvent::Opened`], replays the current state and ends the replay with
/// [`BucketEvent::CaughtUp`]. The watch is reopened when it fails or ends, with capped
/// [`backoff`] (reset once a replay completed), and at once when the client reconnects to
/// NATS. `what` names the watch in logs.
///
/// `CaughtUp` is known from the last replayed entry, or from an empty bucket; with a
/// `filter` that matches nothing in a non-empty bucket it only comes with the first entry.
pub async fn follow_bucket(
    kv: kv::Store,
    filter: impl Into<String>,
    what: &'static str,
    mut reconnects: Reconnects,
    mut on_event: impl FnMut(BucketEvent),
) {
    let filter = filter.into();
    let mut attempt = 0usize;
    loop {
        reconnects.mark_seen();
        let mut caught_up = false;
        let outcome = tokio::select! {
            result = follow_bucket_once(&kv, &filter, &mut on_event, &mut caught_up) => Some(result),
            () = reconnects.reconnected() => None,
        };
        if caught_up {
            attempt = 0;
        }
        match outcome {
            None => {
                info!(
                    watch = what,
                    "reconnected to NATS; reopening the watch for a full catch-up"
                );
                continue;
            }
            Some(Ok(())) => warn!(watch = what, "watch ended; reopening"),
            Some(Err(error)) => warn!(watch = what, %error, "watch failed; reopening"),
        }
        tokio::time::sleep(backoff(attempt)).await;
        attempt += 1;
    }
}

async fn follow_bucket_once(
    kv: &kv::Store,
    filter: &str,
    on_event: &mut impl FnMut(BucketEvent),
    caught_up: &mut bool,
) -> Result<(), BusError> {
    // Fresh stream info: `kv.status()` answers what the store saw when it was opened, so
    // a watch reopened on a bucket that was empty then would report a replay of nothing.
    let empty = kv
        .stream
        .get_info()
        .await
        .map_err(|e| op_err("bucket status", e))?
        .state
        .messages
        == 0;
    let mut watch = kv
        .watch_with_history(filter)
        .await
        .map_err(|e| op_err(format!("watch {filter}"), e))?;
    on_event(BucketEvent::Opened);
    let mut replay = Some(std::collections::HashSet::new());
    if empty && let Some(keys) = replay.take() {
        on_event(BucketEvent::CaughtUp(keys));
        *caught_up = true;
    }
    while let Some(entry) = watch.next().await {
        let entry = entry.map_err(|e| op_err(format!("watch {filter}"), e))?;
        let value = match entry.operation {
            kv::Operation::Put => Some(entry.value),
            kv::Operation::Delete | kv::Operation::Purge => None,
        };
        if let Some(keys) = &mut replay {
            if value.is_some() {
                keys.insert(entry.key.clone());
            } else {
                keys.remove(&entry.key);
            }
        }
        let last = entry.delta == 0;
        on_event(BucketEvent::Entry(BucketEntry {
            key: entry.key,
            value,
            revision: entry.revision,
            pending: entry.delta,
        }));
        if last && let Some(keys) = replay.take() {
            on_event(BucketEvent::CaughtUp(keys));
            *caught_up = true;
        }
    }
    Ok(())
}

/// Opens the buckets ([`open_buckets`]), retrying with capped [`backoff`] until NATS
/// answers.
pub async fn open_buckets_retrying(client: &async_nats::Client, replicas: usize) -> Buckets {
    let mut attempt = 0;
    loop {
        match open_buckets(client, replicas).await {
            Ok(buckets) => return buckets,
            Err(e) => {
                warn!(error = %e, "cannot open the bus buckets yet; retrying");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_nats::Event as NatsEvent;

    #[test]
    fn only_a_connection_regained_after_a_loss_counts_as_a_reconnection() {
        // (case, events, what each event returns)
        type Case = (&'static str, Vec<NatsEvent>, Vec<Option<u64>>);
        let cases: [Case; 4] = [
            ("first connection", vec![NatsEvent::Connected], vec![None]),
            (
                "lost and regained",
                vec![
                    NatsEvent::Connected,
                    NatsEvent::Disconnected,
                    NatsEvent::Connected,
                ],
                vec![None, None, Some(1)],
            ),
            (
                "failed attempts between loss and reconnection",
                vec![
                    NatsEvent::Disconnected,
                    NatsEvent::ClientError(async_nats::ClientError::Other("DNS error".into())),
                    NatsEvent::Disconnected,
                    NatsEvent::Connected,
                    NatsEvent::Connected,
                ],
                vec![None, None, None, Some(1), None],
            ),
            (
                "two outages",
                vec![
                    NatsEvent::Disconnected,
                    NatsEvent::Connected,
                    NatsEvent::Disconnected,
                    NatsEvent::Connected,
                ],
                vec![None, Some(1), None, Some(2)],
            ),
        ];
        for (case, events, expected) in cases {
            let mut tracker = ReconnectTracker::default();
            let got: Vec<_> = events.iter().map(|e| tracker.on_event(e)).collect();
            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn a_commit_is_owed_when_records_were_written_after_the_last_commit() {
        let cases = [
            ("empty provider", 0, None, false),
            ("records, never committed", 4, None, true),
            ("committed after its records", 4, Some(5), false),
            ("a record written after the commit", 7, Some(5), true),
            ("only a commit", 0, Some(5), false),
        ];
        for (case, resource, commit, owed) in cases {
            assert_eq!(Revisions { resource, commit }.commit_owed(), owed, "{case}");
        }
    }
}
