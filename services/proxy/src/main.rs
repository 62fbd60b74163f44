//! The Switchyard data plane: entrypoints, routing, middlewares, load balancing and TLS,
//! fed by the bus.

mod bus;
mod config;
mod headers;
mod middleware;
mod observe;
mod ready;
mod request;
mod server;
mod service;
mod snapshot;
mod state;
mod tls;
mod upstream;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::Actor as _;
use actix_http::HttpService;
use actix_service::{IntoServiceFactory as _, ServiceFactoryExt as _, map_config};
use actix_web::dev::AppConfig;
use actix_web::{App, HttpResponse, web};
use anyhow::Context as _;
use arc_swap::ArcSwap;
use clap::Parser;
use switchyard_http_normalize::{ForwardedConfig, parse_trusted_ip};
use switchyard_routing::ProviderPrecedence;
use tracing::info;

use crate::config::{StaticConfig, parse_address};

/// mimalloc: the request path allocates (buffers, header maps, futures), and glibc's malloc
/// costs about a microsecond more per request (design notes, measured on this machine).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use crate::server::{EntryPointState, EntryRedirect, Shared};
use crate::service::WorkerCtx;
use crate::snapshot::Snapshot;
use crate::state::BusState;

#[derive(Parser)]
#[command(
    name = "switchyard-proxy",
    version,
    about = "Switchyard proxy: serves the routes published on the bus"
)]
struct Args {
    /// Static configuration file (YAML or TOML).
    #[arg(long, env = "SWITCHYARD_CONFIG")]
    config: Option<PathBuf>,
    /// The NATS flags every service shares; each overrides the same setting of `nats`.
    #[command(flatten)]
    nats: switchyard_bus::cli::NatsArgs,
    /// This replica's id; overrides `instance`.
    #[arg(long, env = "SWITCHYARD_INSTANCE")]
    instance: Option<String>,
    /// `NAME=ADDRESS`, adds or replaces an entrypoint (`web=:8080`).
    #[arg(long = "entrypoint", value_name = "NAME=ADDRESS")]
    entry_points: Vec<String>,
    /// Address of the internal entrypoint (`/ping`, `/metrics`); overrides `internal.address`.
    #[arg(long, env = "SWITCHYARD_INTERNAL_ADDRESS")]
    internal_address: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long, env = "SWITCHYARD_WORKERS")]
    workers: Option<usize>,
}

fn load_config(args: &Args) -> anyhow::Result<StaticConfig> {
    let mut config = match &args.config {
        Some(path) => StaticConfig::from_file(path)?,
        None => StaticConfig::default(),
    };
    args.nats.apply(&mut config.nats);
    if let Some(instance) = &args.instance {
        config.instance = Some(instance.clone());
    }
    for spec in &args.entry_points {
        let (name, address) = spec
            .split_once('=')
            .with_context(|| format!("--entrypoint {spec:?}: expected NAME=ADDRESS"))?;
        config
            .entry_points
            .entry(name.to_owned())
            .or_default()
            .address = address.to_owned();
    }
    if let Some(address) = &args.internal_address {
        config.internal.address = address.clone();
    }
    config.validate()?;
    Ok(config)
}

/// The bus secret: `SWITCHYARD_BUS_SECRET`, else the file `busSecretFile`, else none
/// (certificates on the bus are then refused, with a warning).
fn load_seal_key(config: &StaticConfig) -> anyhow::Result<Option<switchyard_bus::SealKey>> {
    let text = match (
        std::env::var("SWITCHYARD_BUS_SECRET"),
        &config.bus_secret_file,
    ) {
        (Ok(text), _) => text,
        (Err(_), Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("busSecretFile {}", path.display()))?,
        (Err(_), None) => return Ok(None),
    };
    Ok(Some(switchyard_bus::SealKey::parse(&text)?))
}

fn main() -> anyhow::Result<()> {
    switchyard_bus::cli::init_service();
    let args = Args::parse();
    let config = load_config(&args)?;
    let instance = config
        .instance
        .clone()
        .unwrap_or_else(|| switchyard_bus::cli::host_name("switchyard"));
    actix::System::new().block_on(run(config, instance, args.workers))
}

async fn run(config: StaticConfig, instance: String, workers: Option<usize>) -> anyhow::Result<()> {
    let shared = Arc::new(Shared {
        snapshot: ArcSwap::from_pointee(Snapshot::default()),
        server_name: instance.clone(),
        acme_http01: ArcSwap::from_pointee(Default::default()),
    });
    let metrics = match &config.access_log {
        Some(log) => observe::Metrics::with_access_log(
            &config.internal.metrics_prefix,
            observe::AccessLogger::open(log).context("access log")?,
        ),
        None => observe::Metrics::new(&config.internal.metrics_prefix),
    };
    let tls_state = Arc::new(tls::TlsState::new().context("generating the default certificate")?);
    let seal = load_seal_key(&config)?;
    let mut tls_entry_points = Vec::new();
    let (client, reconnects) = switchyard_bus::nats::connect_with_reconnects(
        &config.nats,
        &format!("switchyard-proxy {instance}"),
    )
    .await?;
    let readiness = Arc::new(ready::Readiness::new());
    let state = BusState::new(
        config.entry_points.keys().cloned(),
        ProviderPrecedence::new(config.provider_precedence.clone()),
        metrics.clone(),
    );
    let grace = config
        .entry_points
        .values()
        .filter_map(|e| e.transport.life_cycle.grace_time_out.as_std())
        .max();
    let mut builder = actix_server::Server::build()
        .shutdown_timeout(grace.unwrap_or(Duration::from_secs(10)).as_secs().max(1));
    if let Some(workers) = workers {
        builder = builder.workers(workers);
    }
    for (name, ep) in &config.entry_points {
        let addr = parse_address(&ep.address).map_err(anyhow::Error::msg)?;
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("entrypoint {name}: bind {addr}"))?;
        let local = listener.local_addr()?;
        let redirect = match &ep.http.redirections {
            Some(r) => {
                let to = &config.entry_points[&r.entry_point.to];
                let port = parse_address(&to.address)
                    .map_err(anyhow::Error::msg)?
                    .port();
                Some(EntryRedirect {
                    scheme: r.entry_point.scheme.clone(),
                    port,
                    permanent: r.entry_point.permanent,
                })
            }
            None => None,
        };
        let trusted = ep
            .forwarded_headers
            .trusted_ips
            .iter()
            .map(|ip| parse_trusted_ip(ip))
            .collect::<Result<Vec<_>, _>>()?;
        let read_timeout = ep
            .transport
            .responding_timeouts
            .read_timeout
            .as_std()
            .unwrap_or(Duration::ZERO);
        let idle_timeout = ep
            .transport
            .responding_timeouts
            .idle_timeout
            .as_std()
            .unwrap_or(Duration::ZERO);
        let acceptor = ep.http.tls.as_ref().map(|_| {
            let handshake = if read_timeout.is_zero() {
                tls::DEFAULT_HANDSHAKE_TIMEOUT
            } else {
                read_timeout
            };
            Arc::new(tls::TlsAcceptor::new(tls_state.clone()).with_handshake_timeout(handshake))
        });
        let state = web::Data::new(EntryPointState {
            tls_acceptor: acceptor.clone(),
            name: Arc::from(name.as_str()),
            tls: ep.http.tls.is_some(),
            metrics: metrics.entrypoint(name),
            access_log: metrics.logs_access(),
            max_header_bytes: config.max_header_bytes,
            port: local.port(),
            forwarded: ForwardedConfig {
                trusted_ips: trusted,
                insecure: ep.forwarded_headers.insecure,
            },
            redirect,
        });
        let shared = web::Data::new(shared.clone());
        let app_factory = move || {
            App::new()
                .app_data(state.clone())
                .app_data(shared.clone())
                .app_data(web::Data::new(WorkerCtx {
                    client: upstream::client(),
                }))
                .default_service(web::to(server::handle))
        };
        if let (Some(ep_tls), Some(acceptor)) = (&ep.http.tls, acceptor) {
            info!(entrypoint = %name, address = %local, "listening (TLS)");
            tls_entry_points.push(bus::TlsEntryPoint {
                name: Arc::from(name.as_str()),
                acceptor: acceptor.clone(),
                default_options: (!ep_tls.options.is_empty()).then(|| ep_tls.options.clone()),
            });
            builder = tls::listen_tls(
                builder,
                name,
                listener,
                acceptor,
                tls::HttpSettings {
                    keep_alive: idle_timeout,
                    client_request_timeout: read_timeout,
                },
                {
                    let ep_metrics = metrics.entrypoint(name);
                    move |ext: &mut actix_http::Extensions| {
                        ext.insert(ep_metrics.connection_opened());
                    }
                },
                app_factory,
            )?;
            continue;
        }
        info!(entrypoint = %name, address = %local, "listening");
        let ep_metrics = metrics.entrypoint(name);
        builder = builder.listen(name.clone(), listener, move || {
            let app = app_factory();
            let ep_metrics = ep_metrics.clone();
            HttpService::build()
                .on_connect_ext(move |_, ext| {
                    ext.insert(ep_metrics.connection_opened());
                })
                .keep_alive(idle_timeout)
                .client_request_timeout(read_timeout)
                .tcp_nodelay(true)
                .local_addr(local)
                .finish(map_config(
                    app.into_factory()
                        .map_err(|e: actix_web::Error| e.error_response()),
                    |_| AppConfig::default(),
                ))
                .tcp_auto_h2c()
        })?;
    }
    if !config.internal.address.is_empty() {
        let addr = parse_address(&config.internal.address).map_err(anyhow::Error::msg)?;
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("internal entrypoint: bind {addr}"))?;
        info!(address = %listener.local_addr()?, "internal entrypoint listening (/ping)");
        let metrics = metrics.clone();
        let readiness = readiness.clone();
        builder = builder.listen("internal", listener, move || {
            let metrics = web::Data::new(metrics.clone());
            let app = App::new()
                .app_data(metrics)
                .app_data(web::Data::new(readiness.clone()))
                .route("/ping", web::get().to(ping))
                .route(
                    "/metrics",
                    web::get().to(|m: web::Data<Arc<observe::Metrics>>| async move {
                        HttpResponse::Ok()
                            .content_type(observe::CONTENT_TYPE)
                            .body(m.render())
                    }),
                );
            HttpService::build()
                .finish(map_config(
                    app.into_factory()
                        .map_err(|e: actix_web::Error| e.error_response()),
                    |_| AppConfig::default(),
                ))
                .tcp()
        })?;
    }
    bus::ConfigActor::new(
        state,
        shared.clone(),
        instance.clone(),
        client,
        config.nats.replicas.unwrap_or(1),
        bus::TlsWiring {
            state: tls_state,
            entry_points: tls_entry_points,
            seal,
        },
        metrics.clone(),
        reconnects,
        readiness,
    )
    .start();
    builder.run().await?;
    info!("stopped");
    Ok(())
}

/// `/ping`: 200 `OK` (as Traefik answers) once the configuration, certificates and server
/// health have been caught up from the bus; 503 naming what is missing until then (a
/// replica started while NATS is down stays unready until it has loaded them).
async fn ping(readiness: web::Data<Arc<ready::Readiness>>) -> HttpResponse {
    if readiness.is_ready() {
        return HttpResponse::Ok().body("OK");
    }
    let missing: Vec<String> = readiness
        .missing()
        .iter()
        .map(|part| format!("{part:?}").to_lowercase())
        .collect();
    HttpResponse::ServiceUnavailable().body(format!(
        "not ready: waiting for {} from the bus",
        missing.join(", ")
    ))
}
