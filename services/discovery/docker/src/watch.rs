//! The Docker provider's I/O: connect to the engine, list and inspect containers, and
//! follow its events.
//!
//! One watch is one connection: read the engine's clock, list every container and inspect
//! each, build a snapshot, then follow the events since that clock reading (so what
//! happened while listing is replayed rather than missed) and re-list after each relevant
//! event (bursts are coalesced). When the engine cannot be reached or the event stream
//! fails, the watch yields the error and ends; the harness reconnects with backoff.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;

use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::{EventsOptions, ListContainersOptions};
use futures::stream::{self, LocalBoxStream};
use futures::{FutureExt, Stream, StreamExt};
use switchyard_provider::{Provider, ProviderError, Snapshot};

use crate::build::build;
use crate::container::ContainerInfo;
use crate::options::DockerOptions;

/// Where and how to reach the Docker engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerSettings {
    /// The engine endpoint; `None` uses `DOCKER_HOST`, else the local socket.
    pub endpoint: Option<String>,
    /// Follow events; when false the containers are read once per watch.
    pub watch: bool,
}

/// The Docker discovery provider.
#[derive(Debug, Clone)]
pub struct DockerProvider {
    settings: DockerSettings,
    options: DockerOptions,
}

impl DockerProvider {
    /// A provider reading the engine described by `settings`, building with `options`.
    pub fn new(settings: DockerSettings, options: DockerOptions) -> Self {
        DockerProvider { settings, options }
    }
}

impl Provider for DockerProvider {
    fn kind(&self) -> &'static str {
        "docker"
    }

    fn watch(&mut self) -> LocalBoxStream<'static, Result<Snapshot, ProviderError>> {
        let state = State::Connect {
            settings: self.settings.clone(),
            options: self.options.clone(),
        };
        stream::unfold(state, step).boxed_local()
    }
}

type Events = Pin<Box<dyn Stream<Item = Result<EventMessage, DockerError>>>>;

enum State {
    Connect {
        settings: DockerSettings,
        options: DockerOptions,
    },
    Watching(Box<Session>),
    /// `watch` is off: the one snapshot was sent.
    Idle,
    Done,
}

/// A connected watch.
struct Session {
    docker: Docker,
    events: Events,
    options: DockerOptions,
    /// The last good view of each container, for when an inspection fails.
    cache: HashMap<String, ContainerInfo>,
}

async fn step(state: State) -> Option<(Result<Snapshot, ProviderError>, State)> {
    match state {
        State::Connect { settings, options } => Some(match connect(&settings, options).await {
            Ok((session, snapshot)) if settings.watch => {
                (Ok(snapshot), State::Watching(Box::new(session)))
            }
            Ok((_, snapshot)) => (Ok(snapshot), State::Idle),
            Err(err) => (Err(err), State::Done),
        }),
        State::Watching(mut session) => {
            let next = session.next_change().await;
            Some(match next {
                Ok(snapshot) => (Ok(snapshot), State::Watching(session)),
                Err(err) => (Err(err), State::Done),
            })
        }
        State::Idle => {
            futures::future::pending::<()>().await;
            None
        }
        State::Done => None,
    }
}

/// Connects, takes the first snapshot, then subscribes to the events since the engine's
/// clock reading taken before listing.
async fn connect(
    settings: &DockerSettings,
    mut options: DockerOptions,
) -> Result<(Session, Snapshot), ProviderError> {
    let docker = match &settings.endpoint {
        Some(endpoint) => Docker::connect_with_host(endpoint),
        None => Docker::connect_with_defaults(),
    }
    .map_err(|e| ProviderError(format!("cannot connect to the Docker engine: {e}")))?;
    // Speak the engine's API version when it is older than bollard's.
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| ProviderError(format!("cannot reach the Docker engine: {e}")))?;
    tracing::info!(api = %docker.client_version(), "connected to the Docker engine");
    if options.host_ip.is_none() {
        options.host_ip = resolve_host().await;
    }
    // The engine's clock, not ours: a remote engine's may differ.
    let since = match docker.info().await {
        Ok(info) => info.system_time.as_deref().and_then(unix_seconds),
        Err(err) => {
            tracing::warn!(%err, "cannot read the Docker engine's clock; events during the first listing may be missed");
            None
        }
    };
    let mut session = Session {
        docker,
        events: Box::pin(stream::pending()),
        options,
        cache: HashMap::new(),
    };
    let snapshot = session.snapshot().await?;
    let filters = HashMap::from([(
        "type".to_owned(),
        vec!["container".to_owned(), "network".to_owned()],
    )]);
    session.events = Box::pin(session.docker.events(Some(EventsOptions {
        since: since.map(|s| s.to_string()),
        filters: Some(filters),
        ..EventsOptions::default()
    })));
    Ok((session, snapshot))
}

/// Seconds since the Unix epoch of an RFC 3339 time (`2025-01-02T03:04:05.678Z`,
/// `...+02:00`), rounded down.
fn unix_seconds(time: &str) -> Option<i64> {
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let text = time.get(range)?;
        text.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| text.parse().ok())
            .flatten()
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    let bytes = time.as_bytes();
    if separators
        .iter()
        .any(|(i, c)| !bytes.get(*i).is_some_and(|b| b.eq_ignore_ascii_case(c)))
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = time.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digit = |b: &u8| b.is_ascii_digit().then(|| i64::from(b - b'0'));
            let minutes = (digit(h1)? * 10 + digit(h2)?) * 60 + digit(m1)? * 10 + digit(m2)?;
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Traefik's address for `host` network mode containers, when the name resolves.
async fn resolve_host() -> Option<IpAddr> {
    for name in ["host.docker.internal", "host.containers.internal"] {
        if let Ok(mut addresses) = tokio::net::lookup_host((name, 0)).await
            && let Some(address) = addresses.next()
        {
            return Some(address.ip());
        }
    }
    None
}

/// Whether an event can change the configuration.
fn relevant(event: &EventMessage) -> bool {
    let action = event.action.as_deref().unwrap_or_default();
    match event.typ {
        Some(EventMessageTypeEnum::CONTAINER) => {
            action.starts_with("health_status")
                || matches!(
                    action,
                    "create"
                        | "start"
                        | "restart"
                        | "die"
                        | "stop"
                        | "kill"
                        | "pause"
                        | "unpause"
                        | "destroy"
                        | "rename"
                        | "update"
                )
        }
        Some(EventMessageTypeEnum::NETWORK) => matches!(action, "connect" | "disconnect"),
        _ => false,
    }
}

impl Session {
    /// Waits for a relevant event, takes in the ones already queued behind it, and
    /// re-reads the containers.
    async fn next_change(&mut self) -> Result<Snapshot, ProviderError> {
        loop {
            match self.events.next().await {
                Some(Ok(event)) if relevant(&event) => break,
                Some(Ok(_)) => continue,
                Some(Err(err)) => {
                    return Err(ProviderError(format!("Docker event stream failed: {err}")));
                }
                None => return Err(ProviderError("Docker event stream ended".to_owned())),
            }
        }
        // A `docker compose up` emits dozens of events at once: one listing covers them.
        while let Some(Some(item)) = self.events.next().now_or_never() {
            if let Err(err) = item {
                return Err(ProviderError(format!("Docker event stream failed: {err}")));
            }
        }
        self.snapshot().await
    }

    /// Lists every container (running or not), inspects each and builds.
    async fn snapshot(&mut self) -> Result<Snapshot, ProviderError> {
        let summaries = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                ..ListContainersOptions::default()
            }))
            .await
            .map_err(|e| ProviderError(format!("cannot list containers: {e}")))?;
        let mut containers = Vec::with_capacity(summaries.len());
        let mut errors = Vec::new();
        let mut seen = HashMap::new();
        for summary in summaries {
            let Some(id) = summary.id.filter(|id| !id.is_empty()) else {
                continue;
            };
            match self.docker.inspect_container(&id, None).await {
                Ok(inspect) => match ContainerInfo::try_from(inspect) {
                    Ok(info) => {
                        seen.insert(id, info.clone());
                        containers.push(info);
                    }
                    Err(err) => {
                        errors.push(err.to_string());
                        self.keep_last(&id, &mut containers, &mut seen);
                    }
                },
                // Removed between the listing and the inspection: simply gone.
                Err(DockerError::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(err) => {
                    errors.push(format!("container {id}: cannot inspect: {err}"));
                    self.keep_last(&id, &mut containers, &mut seen);
                }
            }
        }
        self.cache = seen;
        let mut snapshot = build(&containers, &self.options);
        errors.append(&mut snapshot.errors);
        snapshot.errors = errors;
        Ok(snapshot)
    }

    /// Uses the last good view of a container that could not be read this time.
    fn keep_last(
        &self,
        id: &str,
        containers: &mut Vec<ContainerInfo>,
        seen: &mut HashMap<String, ContainerInfo>,
    ) {
        if let Some(last) = self.cache.get(id) {
            seen.insert(id.to_owned(), last.clone());
            containers.push(last.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventMessage;

    #[test]
    fn picks_relevant_events() {
        let event = |typ, action: &str| EventMessage {
            typ: Some(typ),
            action: Some(action.to_owned()),
            ..EventMessage::default()
        };
        let cases = [
            (
                "start",
                event(EventMessageTypeEnum::CONTAINER, "start"),
                true,
            ),
            ("die", event(EventMessageTypeEnum::CONTAINER, "die"), true),
            (
                "pause",
                event(EventMessageTypeEnum::CONTAINER, "pause"),
                true,
            ),
            (
                "rename",
                event(EventMessageTypeEnum::CONTAINER, "rename"),
                true,
            ),
            (
                "health",
                event(EventMessageTypeEnum::CONTAINER, "health_status: healthy"),
                true,
            ),
            (
                "exec",
                event(EventMessageTypeEnum::CONTAINER, "exec_start: sh"),
                false,
            ),
            (
                "attach",
                event(EventMessageTypeEnum::CONTAINER, "attach"),
                false,
            ),
            (
                "network connect",
                event(EventMessageTypeEnum::NETWORK, "connect"),
                true,
            ),
            (
                "network create",
                event(EventMessageTypeEnum::NETWORK, "create"),
                false,
            ),
            ("image", event(EventMessageTypeEnum::IMAGE, "pull"), false),
        ];
        for (case, event, expected) in cases {
            assert_eq!(relevant(&event), expected, "{case}");
        }
    }

    #[test]
    fn reads_the_engine_clock() {
        let cases = [
            ("epoch", "1970-01-01T00:00:00Z", Some(0)),
            (
                "nanoseconds",
                "2024-05-01T12:34:56.123456789Z",
                Some(1_714_566_896),
            ),
            ("offset", "2024-05-01T14:34:56.5+02:00", Some(1_714_566_896)),
            (
                "negative offset",
                "2024-05-01T07:34:56-05:00",
                Some(1_714_566_896),
            ),
            ("leap day", "2024-02-29T00:00:00Z", Some(1_709_164_800)),
            ("no zone", "2024-05-01T12:34:56", None),
            ("garbage", "yesterday", None),
            ("bad month", "2024-13-01T00:00:00Z", None),
            ("empty fraction", "2024-05-01T12:34:56.Z", None),
        ];
        for (case, input, expected) in cases {
            assert_eq!(unix_seconds(input), expected, "{case}");
        }
    }

    #[test]
    fn unreachable_engine_is_an_error_not_a_crash() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut provider = DockerProvider::new(
            DockerSettings {
                endpoint: Some("unix:///nonexistent/switchyard-test/docker.sock".to_owned()),
                watch: true,
            },
            DockerOptions::default(),
        );
        let items: Vec<Result<Snapshot, ProviderError>> =
            runtime.block_on(provider.watch().collect());
        assert_eq!(items.len(), 1, "{items:?}");
        assert!(
            items[0]
                .as_ref()
                .is_err_and(|e| e.0.contains("Docker engine")),
            "{items:?}"
        );
    }
}
