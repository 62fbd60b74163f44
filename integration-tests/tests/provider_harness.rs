//! The provider harness against a real NATS JetStream: a fake provider, fed through a
//! channel, runs under the harness (its own thread and actix system, as in a discovery
//! service); the tests read what reaches the bus.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::kv;
use futures::StreamExt as _;
use futures::stream::LocalBoxStream;
use switchyard_bus::follow::Event;
use switchyard_bus::keys::{ConfigEntryKey, commit_key, status_key};
use switchyard_bus::messages::{Commit, ProviderStatus};
use switchyard_bus::nats::follow_config;
use switchyard_bus::record::from_records;
use switchyard_bus::{ConfigKey, Record};
use switchyard_integration_tests::{TestBus, eventually, start_nats, start_nats_on};
use switchyard_model::DynamicConfig;
use switchyard_provider::{HarnessArgs, Provider, ProviderError, Snapshot};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(30);

/// What the fake provider's watch yields next.
enum Feed {
    Snapshot(Box<Snapshot>),
    Fail(&'static str),
}

/// A provider whose every watch reads the same channel.
struct ChannelProvider {
    feed: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Feed>>>,
}

impl Provider for ChannelProvider {
    fn kind(&self) -> &'static str {
        "fake"
    }

    fn watch(&mut self) -> LocalBoxStream<'static, Result<Snapshot, ProviderError>> {
        futures::stream::unfold(self.feed.clone(), |feed| async move {
            let next = feed.lock().await.recv().await?;
            let item = match next {
                Feed::Snapshot(s) => Ok(*s),
                Feed::Fail(e) => Err(ProviderError(e.to_owned())),
            };
            Some((item, feed))
        })
        .boxed_local()
    }
}

/// Starts a harness named `name` in a thread of its own; returns its feed.
fn start_harness(url: &str, name: &str, throttle: Duration) -> mpsc::UnboundedSender<Feed> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut args = HarnessArgs::new(url);
    args.name = Some(name.to_owned());
    args.throttle = throttle;
    args.instance = Some("it-host".to_owned());
    std::thread::spawn(move || {
        let provider = ChannelProvider {
            feed: Arc::new(tokio::sync::Mutex::new(rx)),
        };
        if let Err(e) = switchyard_provider::run_blocking(provider, args) {
            eprintln!("harness failed: {e}");
        }
    });
    tx
}

fn send(feed: &mpsc::UnboundedSender<Feed>, snapshot: Snapshot) {
    assert!(
        feed.send(Feed::Snapshot(Box::new(snapshot))).is_ok(),
        "harness alive"
    );
}

/// A snapshot with one service and a router per `(name, host)`.
fn snapshot(routers: &[(&str, &str)]) -> Snapshot {
    let routers: serde_json::Map<String, serde_json::Value> = routers
        .iter()
        .map(|(name, host)| {
            (
                (*name).to_owned(),
                serde_json::json!({"rule": format!("Host(`{host}`)"), "service": "whoami"}),
            )
        })
        .collect();
    let config: DynamicConfig = serde_json::from_value(serde_json::json!({
        "http": {
            "routers": routers,
            "services": {"whoami": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:9"}]}}}
        }
    }))
    .expect("valid model JSON");
    Snapshot {
        config,
        ..Default::default()
    }
}

/// The provider's commit marker and its revision.
async fn commit(kv: &kv::Store, provider: &str) -> Option<(Commit, u64)> {
    let entry = kv.entry(commit_key(provider)).await.ok()??;
    let commit = serde_json::from_slice(&entry.value).ok()?;
    Some((commit, entry.revision))
}

async fn generation(kv: &kv::Store, provider: &str) -> u64 {
    commit(kv, provider)
        .await
        .map(|(c, _)| c.generation)
        .unwrap_or(0)
}

async fn status(kv: &kv::Store, provider: &str) -> Option<ProviderStatus> {
    let value = kv.get(status_key(provider)).await.ok()??;
    serde_json::from_slice(&value).ok()
}

/// Every resource key of `provider` with its revision, read from the bucket.
async fn resource_revisions(kv: &kv::Store, provider: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(mut keys) = kv.keys().await else {
        return out;
    };
    let mut names = Vec::new();
    while let Some(Ok(key)) = keys.next().await {
        if matches!(ConfigEntryKey::parse(&key), Ok(ConfigEntryKey::Resource(k)) if k.provider == provider)
        {
            names.push(key);
        }
    }
    for key in names {
        if let Ok(Some(entry)) = kv.entry(&key).await {
            out.insert(key, entry.revision);
        }
    }
    out
}

/// A reader following the config bucket as a proxy does.
#[derive(Clone, Default)]
struct Reader {
    state: Arc<Mutex<BTreeMap<ConfigKey, Record>>>,
    /// The state after each batch applied (one per commit once caught up).
    history: Arc<Mutex<Vec<BTreeMap<ConfigKey, Record>>>>,
}

impl Reader {
    fn follow(kv: kv::Store) -> Self {
        let reader = Self::default();
        let state = reader.state.clone();
        let history = reader.history.clone();
        tokio::spawn(follow_config(kv, move |event| {
            if let Event::Apply(batch) = event {
                let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
                if batch.full {
                    state.clear();
                }
                for (key, record) in batch.changes {
                    match record {
                        Some(r) => state.insert(key, r),
                        None => state.remove(&key),
                    };
                }
                history
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(state.clone());
            }
        }));
        reader
    }

    /// Every configuration the reader has held for `provider`, oldest first (a batch of
    /// another provider repeats none).
    fn seen(&self, provider: &str) -> Vec<DynamicConfig> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let mut seen: Vec<DynamicConfig> = history
            .iter()
            .map(|state| {
                from_records(state.iter())
                    .remove(provider)
                    .map(|(config, _)| config)
                    .unwrap_or_default()
            })
            .collect();
        seen.dedup();
        seen
    }

    /// The configuration the reader holds for `provider`.
    fn config(&self, provider: &str) -> DynamicConfig {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        from_records(state.iter())
            .remove(provider)
            .map(|(config, _)| config)
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn harness_publishes_collapses_bursts_drops_repeats_and_reports_failures()
-> anyhow::Result<()> {
    let nats = start_nats().await?;
    let bus = TestBus::connect(&nats.url).await?;
    let kv = bus.buckets.config.clone();
    let reader = Reader::follow(kv.clone());
    let throttle = Duration::from_millis(500);
    let feed = start_harness(&nats.url, "edge", throttle);

    // The first snapshot reaches a reader, with a commit and a healthy status.
    let first = snapshot(&[("web", "a.example"), ("api", "api.example")]);
    send(&feed, first.clone());
    eventually(WAIT, "the first snapshot at the reader", || {
        let held = reader.config("edge");
        let want = first.config.clone();
        async move { held == want }
    })
    .await?;
    assert_eq!(generation(&kv, "edge").await, 1);
    eventually(WAIT, "a healthy status", || async {
        status(&kv, "edge")
            .await
            .is_some_and(|s| s.healthy && s.generation == 1)
    })
    .await?;
    let s = status(&kv, "edge").await.expect("status");
    assert_eq!(
        (s.provider.as_str(), s.kind.as_str(), s.instance.as_str()),
        ("edge", "fake", "it-host")
    );
    assert_eq!(s.last_error, None);
    assert!(s.last_snapshot_at_ms.is_some());

    // A burst after a quiet period: its first snapshot is committed at once, the rest
    // collapse into its last, committed when the cooldown ends. Two commits, no more.
    tokio::time::sleep(throttle * 2).await;
    let seen_before = reader.seen("edge").len();
    let burst: Vec<Snapshot> = (0..10)
        .map(|i| snapshot(&[("web", &format!("b{i}.example"))]))
        .collect();
    for s in &burst {
        send(&feed, s.clone());
    }
    eventually(WAIT, "the burst's commits", || async {
        generation(&kv, "edge").await >= 3
    })
    .await?;
    tokio::time::sleep(throttle * 3).await;
    assert_eq!(generation(&kv, "edge").await, 3, "exactly two commits");
    let last = burst[9].clone();
    eventually(WAIT, "the burst's last state at the reader", || {
        let held = reader.config("edge");
        let want = last.config.clone();
        async move { held == want }
    })
    .await?;
    assert_eq!(
        reader.seen("edge")[seen_before..],
        [burst[0].config.clone(), last.config.clone()],
        "the reader sees the burst's first state, then its last"
    );
    let (commit_2, revision_2) = commit(&kv, "edge").await.expect("commit");
    assert_eq!(commit_2.resources, 2, "router web and service whoami");

    // An equal snapshot does not touch the bus.
    let revisions = resource_revisions(&kv, "edge").await;
    send(&feed, last.clone());
    tokio::time::sleep(throttle * 3).await;
    let (commit_now, revision_now) = commit(&kv, "edge").await.expect("commit");
    assert_eq!(
        (commit_now, revision_now),
        (commit_2, revision_2),
        "no new commit"
    );
    assert_eq!(resource_revisions(&kv, "edge").await, revisions);

    // A watch error makes the provider unhealthy; what it published stays.
    assert!(feed.send(Feed::Fail("engine unreachable")).is_ok());
    eventually(WAIT, "an unhealthy status", || async {
        status(&kv, "edge")
            .await
            .is_some_and(|s| !s.healthy && s.last_error.as_deref() == Some("engine unreachable"))
    })
    .await?;
    assert_eq!(resource_revisions(&kv, "edge").await, revisions);
    assert_eq!(reader.config("edge"), last.config);
    let s = status(&kv, "edge").await.expect("status");
    assert_eq!(s.generation, 3);

    // The restarted watch delivers again: healthy, and the change is published.
    let recovered = snapshot(&[("web", "c.example")]);
    send(&feed, recovered.clone());
    eventually(WAIT, "a healthy status after the restart", || async {
        status(&kv, "edge")
            .await
            .is_some_and(|s| s.healthy && s.last_error.is_none() && s.generation == 4)
    })
    .await?;
    eventually(WAIT, "the recovered snapshot at the reader", || {
        let held = reader.config("edge");
        let want = recovered.config.clone();
        async move { held == want }
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn an_isolated_change_is_committed_at_once_and_the_next_waits_the_throttle()
-> anyhow::Result<()> {
    let nats = start_nats().await?;
    let bus = TestBus::connect(&nats.url).await?;
    let kv = bus.buckets.config.clone();
    let reader = Reader::follow(kv.clone());
    let throttle = Duration::from_secs(2);
    let feed = start_harness(&nats.url, "edge", throttle);

    send(&feed, snapshot(&[("web", "a.example")]));
    eventually(WAIT, "the first commit", || async {
        generation(&kv, "edge").await == 1
    })
    .await?;
    // A quiet period longer than the throttle, then one change: no throttle wait.
    tokio::time::sleep(throttle + Duration::from_millis(500)).await;
    let change = snapshot(&[("web", "b.example")]);
    let sent = tokio::time::Instant::now();
    send(&feed, change.clone());
    eventually(WAIT, "the isolated change at the reader", || {
        let held = reader.config("edge");
        let want = change.config.clone();
        async move { held == want }
    })
    .await?;
    let took = sent.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "an isolated change took {took:?} with a throttle of {throttle:?}"
    );
    assert_eq!(generation(&kv, "edge").await, 2);

    // That publish started a cooldown: a change right after it waits for its end.
    let next = snapshot(&[("web", "c.example")]);
    send(&feed, next.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        generation(&kv, "edge").await,
        2,
        "a change in the cooldown is held back"
    );
    eventually(WAIT, "the held-back change at the reader", || {
        let held = reader.config("edge");
        let want = next.config.clone();
        async move { held == want }
    })
    .await?;
    assert_eq!(generation(&kv, "edge").await, 3);
    Ok(())
}

#[tokio::test]
async fn two_harnesses_share_the_bucket_without_touching_each_other() -> anyhow::Result<()> {
    let nats = start_nats().await?;
    let bus = TestBus::connect(&nats.url).await?;
    let kv = bus.buckets.config.clone();
    let reader = Reader::follow(kv.clone());
    let alpha = start_harness(&nats.url, "alpha", Duration::from_millis(100));
    let beta = start_harness(&nats.url, "beta", Duration::ZERO);

    let alpha_first = snapshot(&[("web", "a.example"), ("old", "old.example")]);
    let beta_first = snapshot(&[("web", "b.example")]);
    send(&alpha, alpha_first.clone());
    send(&beta, beta_first.clone());
    eventually(WAIT, "both providers at the reader", || {
        let (a, b) = (reader.config("alpha"), reader.config("beta"));
        let (wa, wb) = (alpha_first.config.clone(), beta_first.config.clone());
        async move { a == wa && b == wb }
    })
    .await?;
    // Same resource names, separate keys.
    assert!(kv.get("alpha.http-routers.web").await?.is_some());
    assert!(kv.get("beta.http-routers.web").await?.is_some());
    let beta_keys = resource_revisions(&kv, "beta").await;
    assert_eq!(beta_keys.len(), 2);

    // Alpha drops a router: its key goes, beta's keys are untouched.
    let alpha_second = snapshot(&[("web", "a.example")]);
    send(&alpha, alpha_second.clone());
    eventually(WAIT, "alpha's second commit", || async {
        generation(&kv, "alpha").await == 2
    })
    .await?;
    assert!(kv.get("alpha.http-routers.old").await?.is_none());
    assert_eq!(resource_revisions(&kv, "beta").await, beta_keys);
    assert_eq!(generation(&kv, "beta").await, 1);

    // Beta publishes nothing any more: its keys go, alpha's stay.
    let alpha_keys = resource_revisions(&kv, "alpha").await;
    send(&beta, Snapshot::default());
    eventually(WAIT, "beta emptied", || async {
        generation(&kv, "beta").await == 2 && resource_revisions(&kv, "beta").await.is_empty()
    })
    .await?;
    assert_eq!(resource_revisions(&kv, "alpha").await, alpha_keys);
    eventually(WAIT, "the reader sees alpha only", || {
        let (a, b) = (reader.config("alpha"), reader.config("beta"));
        let wa = alpha_second.config.clone();
        async move { a == wa && b == DynamicConfig::default() }
    })
    .await?;
    for name in ["alpha", "beta"] {
        let s = status(&kv, name).await.expect("status");
        assert!(s.healthy, "{name}");
        assert_eq!(s.provider, name);
    }
    Ok(())
}

#[tokio::test]
async fn state_is_resent_to_a_nats_that_lost_its_storage() -> anyhow::Result<()> {
    let port = switchyard_integration_tests::process::free_port()?;
    let nats = start_nats_on(port).await?;
    let feed = start_harness(&nats.url, "edge", Duration::from_millis(100));
    let published = snapshot(&[("web", "a.example")]);
    send(&feed, published.clone());
    {
        let bus = TestBus::connect(&nats.url).await?;
        let kv = bus.buckets.config.clone();
        eventually(WAIT, "the first commit", || async {
            generation(&kv, "edge").await == 1
        })
        .await?;
    }

    // A new server on the same address, without the old one's data.
    drop(nats);
    let nats = start_nats_on(port).await?;
    let bus = TestBus::connect(&nats.url).await?;
    let kv = bus.buckets.config.clone();
    let reader = Reader::follow(kv.clone());
    eventually(WAIT, "the state resent after the reconnect", || {
        let held = reader.config("edge");
        let want = published.config.clone();
        async move { held == want }
    })
    .await?;
    eventually(WAIT, "the status resent after the reconnect", || async {
        status(&kv, "edge").await.is_some_and(|s| s.healthy)
    })
    .await?;
    Ok(())
}
