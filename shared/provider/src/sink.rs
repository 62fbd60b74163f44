//! Where the harness writes: the config bucket through a [`ConfigPublisher`], behind a
//! small trait so that the publisher actor is tested without NATS.

use std::collections::BTreeMap;
use std::future::Future;

use switchyard_bus::messages::ProviderStatus;
use switchyard_bus::nats::{Buckets, BusError, ConfigPublisher, PublishReport, open_buckets};
use switchyard_bus::{ConfigKey, Record};

/// One provider's writes to the config bucket.
pub trait ConfigSink: Unpin + 'static {
    /// Publishes a full snapshot of the provider's records (only what changed is written).
    fn publish(
        &mut self,
        records: &BTreeMap<ConfigKey, Record>,
    ) -> impl Future<Output = Result<PublishReport, BusError>>;

    /// Writes the provider's status.
    fn publish_status(
        &mut self,
        status: &ProviderStatus,
    ) -> impl Future<Output = Result<(), BusError>>;

    /// Forgets what the bus is believed to hold, so that the next publish reads it back
    /// (after a failed publish or a reconnect).
    fn resync(&mut self) -> impl Future<Output = Result<(), BusError>>;
}

/// The bus over NATS.
pub struct NatsSink {
    client: async_nats::Client,
    replicas: usize,
    publisher: ConfigPublisher,
}

impl NatsSink {
    /// A sink publishing as `provider` into the opened `buckets`.
    pub fn new(
        client: async_nats::Client,
        buckets: &Buckets,
        replicas: usize,
        provider: &str,
    ) -> Result<Self, BusError> {
        let publisher = ConfigPublisher::new(&client, buckets, provider)?;
        Ok(Self {
            client,
            replicas,
            publisher,
        })
    }
}

impl ConfigSink for NatsSink {
    async fn publish(
        &mut self,
        records: &BTreeMap<ConfigKey, Record>,
    ) -> Result<PublishReport, BusError> {
        self.publisher.publish(records).await
    }

    async fn publish_status(&mut self, status: &ProviderStatus) -> Result<(), BusError> {
        self.publisher.publish_status(status).await
    }

    async fn resync(&mut self) -> Result<(), BusError> {
        // A NATS server that restarted without its storage has no buckets any more:
        // recreate them (a no-op when they exist); the store handles stay valid since they
        // address the bucket by name.
        open_buckets(&self.client, self.replicas).await?;
        self.publisher.resync();
        Ok(())
    }
}
