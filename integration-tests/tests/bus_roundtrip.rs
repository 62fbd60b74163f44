//! The bus contract through a real NATS JetStream in a locally built container: a
//! provider's snapshot reaches a late-joining reader complete, and a change to one router
//! moves exactly one record.

use std::collections::BTreeMap;
use std::time::Duration;

use switchyard_bus::follow::{Batch, Event};
use switchyard_bus::nats::{
    BucketEvent, ConfigPublisher, NatsSettings, Reconnects, connect, follow_bucket, follow_config,
    open_buckets,
};
use switchyard_bus::record::{from_records, to_records};
use switchyard_bus::{ConfigKey, Record};
use switchyard_model::DynamicConfig;
use tokio::sync::mpsc;

fn config(router_rule: &str) -> DynamicConfig {
    serde_json::from_value(serde_json::json!({
        "http": {
            "routers": {
                "whoami": {"rule": router_rule, "service": "whoami", "middlewares": ["strip"]},
                "api": {"rule": "PathPrefix(`/api`)", "service": "whoami"}
            },
            "services": {"whoami": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:9"}]}}},
            "middlewares": {"strip": {"stripPrefix": {"prefixes": ["/x"]}}}
        }
    }))
    .expect("valid model JSON")
}

async fn next_batch(rx: &mut mpsc::UnboundedReceiver<Batch>) -> Batch {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a batch within 20 s")
        .expect("follower alive")
}

fn follower(kv: async_nats::jetstream::kv::Store) -> mpsc::UnboundedReceiver<Batch> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(follow_config(kv, move |event| {
        if let Event::Apply(batch) = event {
            let _ = tx.send(batch);
        }
    }));
    rx
}

#[tokio::test]
async fn snapshot_reaches_late_joiner_and_updates_are_incremental() -> anyhow::Result<()> {
    let nats = switchyard_integration_tests::start_nats().await?;
    let settings = NatsSettings {
        url: nats.url.clone(),
        ..Default::default()
    };
    let client = connect(&settings, "test-provider").await?;
    let buckets = open_buckets(&client, 1).await?;

    // A reader that starts on an empty bucket is caught up at once, with nothing.
    let mut early = follower(buckets.config.clone());
    let first = next_batch(&mut early).await;
    assert!(first.full && first.changes.is_empty());

    let mut publisher = ConfigPublisher::new(&client, &buckets, "file")?;
    let original = config("Host(`whoami.localhost`)");
    let records = to_records("file", &original, &[]);
    let report = publisher.publish(&records).await?;
    assert_eq!((report.puts, report.deletes, report.generation), (4, 0, 1));

    // The early reader gets the batch at the commit.
    let batch = next_batch(&mut early).await;
    assert!(!batch.full);
    assert_eq!(batch.changes.len(), 4);

    // A late joiner gets the complete state in one batch, equal to what was published.
    let reader_client = connect(&settings, "test-reader").await?;
    let reader_buckets = open_buckets(&reader_client, 1).await?;
    let mut late = follower(reader_buckets.config.clone());
    let batch = next_batch(&mut late).await;
    assert!(batch.full);
    let state: BTreeMap<ConfigKey, Record> = batch
        .changes
        .into_iter()
        .filter_map(|(k, r)| r.map(|r| (k, r)))
        .collect();
    let rebuilt = from_records(&state);
    assert_eq!(rebuilt["file"].0, original);

    // Publishing the same snapshot again writes nothing.
    let report = publisher.publish(&records).await?;
    assert_eq!((report.puts, report.deletes), (0, 0));

    // Changing one router moves exactly that record.
    let changed = to_records("file", &config("Host(`whoami.example.com`)"), &[]);
    let report = publisher.publish(&changed).await?;
    assert_eq!((report.puts, report.deletes, report.generation), (1, 0, 2));
    let batch = next_batch(&mut late).await;
    assert_eq!(batch.changes.len(), 1);
    assert_eq!(batch.changes[0].0.name, "whoami");

    // A restarted provider reads back what it published and rewrites nothing.
    let mut restarted = ConfigPublisher::new(&client, &buckets, "file")?;
    let report = restarted.publish(&changed).await?;
    assert_eq!((report.puts, report.deletes), (0, 0));

    // Removing a router deletes its record, in a batch of its own.
    let mut smaller = config("Host(`whoami.example.com`)");
    smaller.http.routers.remove("api");
    let report = restarted
        .publish(&to_records("file", &smaller, &[]))
        .await?;
    assert_eq!((report.puts, report.deletes, report.generation), (0, 1, 3));
    let batch = next_batch(&mut late).await;
    assert_eq!(batch.changes.len(), 1);
    assert!(batch.changes[0].1.is_none());
    Ok(())
}

/// Follows `kv` (keys matching `filter`) into a channel of events.
fn bucket_events(
    kv: async_nats::jetstream::kv::Store,
    filter: &str,
) -> mpsc::UnboundedReceiver<BucketEvent> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(follow_bucket(
        kv,
        filter.to_owned(),
        "test",
        Reconnects::never(),
        move |event| {
            let _ = tx.send(event);
        },
    ));
    rx
}

async fn next_event(rx: &mut mpsc::UnboundedReceiver<BucketEvent>) -> BucketEvent {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("an event within 20 s")
        .expect("watch alive")
}

/// Skips the replayed entries; returns the keys of the `CaughtUp` that ends the replay.
async fn replayed_keys(rx: &mut mpsc::UnboundedReceiver<BucketEvent>) -> Vec<String> {
    assert_eq!(next_event(rx).await, BucketEvent::Opened);
    loop {
        let event = next_event(rx).await;
        if let BucketEvent::CaughtUp(keys) = event {
            let mut keys: Vec<String> = keys.into_iter().collect();
            keys.sort();
            return keys;
        }
    }
}

#[tokio::test]
async fn a_bucket_watch_replays_the_keys_present_then_follows() -> anyhow::Result<()> {
    let nats = switchyard_integration_tests::start_nats().await?;
    let settings = NatsSettings {
        url: nats.url.clone(),
        ..Default::default()
    };
    let client = connect(&settings, "test-watch").await?;
    let kv = open_buckets(&client, 1).await?.health;

    // An empty bucket is caught up at once, with no keys.
    let mut early = bucket_events(kv.clone(), ">");
    assert_eq!(replayed_keys(&mut early).await, Vec::<String>::new());

    for key in ["a.x", "a.y", "b.x"] {
        kv.put(key, "1".into()).await?;
    }
    kv.delete("a.y").await?;
    // The early watch sees each change live, with nothing pending.
    let mut live = Vec::new();
    for _ in 0..4 {
        match next_event(&mut early).await {
            BucketEvent::Entry(entry) => {
                assert_eq!(entry.pending, 0, "{entry:?}");
                live.push((entry.key, entry.value.is_some()));
            }
            other => panic!("expected a live entry, got {other:?}"),
        }
    }
    let expected = [("a.x", true), ("a.y", true), ("b.x", true), ("a.y", false)];
    assert_eq!(
        live,
        expected.map(|(k, put)| (k.to_owned(), put)).to_vec(),
        "live changes in order"
    );

    // A late watch replays what is present (deleted keys left out), filtered or not.
    let cases = [(">", vec!["a.x", "b.x"]), ("a.>", vec!["a.x"])];
    for (filter, keys) in cases {
        let mut late = bucket_events(kv.clone(), filter);
        assert_eq!(replayed_keys(&mut late).await, keys, "filter {filter}");
    }
    Ok(())
}
