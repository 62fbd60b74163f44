//! The whole system in containers, laid out as a real deployment: one user-defined Docker
//! network holding NATS, N proxies, discovery-file (a host folder bind-mounted as its config
//! folder), discovery-docker (the engine's socket bind-mounted), the health service and
//! whoami backends, each service in its own container and reached by its container name.
//! With [`StackBuilder::certificates`] it also holds the certificates service and an ACME
//! CA (Pebble with its DNS, challtestsrv), and the proxies listen as at the edge: `web` on
//! :80 and `websecure` (TLS) on :443.
//!
//! Images are built locally from the static binaries `just static-bins` puts in
//! `target/x86_64-unknown-linux-gnu/debug/` (no registry is reachable here), with the
//! Dockerfiles in `deploy/images/<service>/`. Containers and the network are removed when
//! the [`Stack`] is dropped (testcontainers does it).

use std::collections::BTreeMap;
use std::hash::{Hash as _, Hasher as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use testcontainers::core::{IntoContainerPort as _, Mount, WaitFor};
use testcontainers::runners::{AsyncBuilder as _, AsyncRunner as _};
use testcontainers::{ContainerAsync, GenericBuildableImage, GenericImage, ImageExt as _};

use crate::client::{self, Reply};
use crate::pebble::{PebbleEndpoints, PebbleSettings};
use crate::process::free_port;

/// The port of the proxies' `web` entrypoint inside their containers.
pub const WEB_PORT: u16 = 8080;
/// The port of the proxies' internal entrypoint (`/ping`) inside their containers.
pub const INTERNAL_PORT: u16 = 8082;
/// The port whoami backends listen on inside their containers.
pub const BACKEND_PORT: u16 = 80;
/// The label discovery-docker's constraint selects: only this stack's labelled backends.
pub const SCOPE_LABEL: &str = "switchyard.test";
/// Where discovery-file's folder is mounted inside its container.
pub const FILE_DIR: &str = "/etc/switchyard/dynamic";
/// The tag of the service images the stack builds (kept apart from `:local`, which
/// `deploy/images/build.sh` gives release images).
pub const IMAGE_TAG: &str = "test";
/// The proxies' `web` port in a stack with certificates (where ACME CAs send HTTP-01).
pub const EDGE_WEB_PORT: u16 = 80;
/// The proxies' `websecure` port in a stack with certificates (where ACME CAs make
/// TLS-ALPN-01 handshakes).
pub const EDGE_WEBSECURE_PORT: u16 = 443;
/// The certificate resolver on Pebble that uses HTTP-01 (on the `web` entrypoint).
pub const HTTP_RESOLVER: &str = "pebble-http";
/// The certificate resolver on Pebble that uses TLS-ALPN-01.
pub const TLS_RESOLVER: &str = "pebble-tls";
/// Where the certificates service's static configuration is copied in its container.
const CERTIFICATES_CONFIG: &str = "/etc/switchyard/certificates.yml";
/// Where the CA of Pebble's own HTTPS certificate is copied (its `caCertificates`).
const PEBBLE_TLS_CA: &str = "/etc/switchyard/pebble-tls-ca.pem";
/// Where the proxies' static configuration is copied in a stack with certificates.
const PROXY_CONFIG: &str = "/etc/switchyard/proxy.yml";
/// The label an image carries with the fingerprint of the binary it was built from.
const FINGERPRINT_LABEL: &str = "org.switchyard.test.binary";

/// The role of the proxy replica `index` (`proxy-0`, `proxy-1`, ...).
pub fn proxy_role(index: usize) -> String {
    format!("proxy-{index}")
}

/// Whether a Docker engine answers; the whole-system tests skip (and say so) without one.
pub async fn docker_available() -> Result<(), String> {
    let docker = bollard::Docker::connect_with_local_defaults().map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(5), docker.ping()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer to ping within 5 s".into()),
    }
}

/// The static binary of `package` (`switchyard-proxy`, ...) that `just static-bins` builds.
pub fn static_binary(package: &str) -> anyhow::Result<PathBuf> {
    let path = crate::repo_root()
        .join("target/x86_64-unknown-linux-gnu/debug")
        .join(package);
    if !path.exists() {
        bail!(
            "{} is missing: run `just static-bins` first (`just test` does)",
            path.display()
        );
    }
    Ok(path)
}

/// What identifies a build's inputs: the binary's size and modification time and the
/// Dockerfile's text. Cheap (no hashing of a 100 MB binary), and changes on every rebuild.
fn fingerprint(binary: &Path, dockerfile: &str) -> anyhow::Result<String> {
    let meta = std::fs::metadata(binary).with_context(|| binary.display().to_string())?;
    let modified = meta
        .modified()?
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    meta.len().hash(&mut hasher);
    modified.hash(&mut hasher);
    dockerfile.hash(&mut hasher);
    Ok(format!("{:016x}", hasher.finish()))
}

/// Builds `switchyard/<service>:test` from `deploy/images/<service>/Dockerfile`, the static
/// binary and the host's CA bundle, unless the image already there was built from the
/// same binary (its fingerprint label says so): a suite's tests then share one build.
pub async fn service_image(service: &str) -> anyhow::Result<GenericImage> {
    let package = format!("switchyard-{service}");
    let binary = static_binary(&package)?;
    let dockerfile_path = crate::repo_root().join(format!("deploy/images/{service}/Dockerfile"));
    let dockerfile = std::fs::read_to_string(&dockerfile_path)
        .with_context(|| dockerfile_path.display().to_string())?;
    let fingerprint = fingerprint(&binary, &dockerfile)?;
    let name = format!("switchyard/{service}");
    let descriptor = format!("{name}:{IMAGE_TAG}");
    let docker = bollard::Docker::connect_with_local_defaults()?;
    let current = docker
        .inspect_image(&descriptor)
        .await
        .ok()
        .and_then(|image| image.config)
        .and_then(|config| config.labels)
        .and_then(|labels| labels.get(FINGERPRINT_LABEL).cloned());
    if current.as_deref() == Some(fingerprint.as_str()) {
        return Ok(GenericImage::new(name, IMAGE_TAG.to_owned()));
    }
    // Images that talk plain HTTP only need no CA bundle; an empty one keeps the
    // Dockerfile's COPY valid on a host without /etc/ssl/certs.
    let ca_bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
    let image = GenericBuildableImage::new(name, IMAGE_TAG)
        .with_dockerfile_string(format!(
            "{dockerfile}\nLABEL {FINGERPRINT_LABEL}=\"{fingerprint}\"\n"
        ))
        .with_file(binary, package.as_str())
        .with_data(ca_bundle, "ca-certificates.crt")
        .build_image()
        .await
        .with_context(|| format!("building {descriptor}"))?;
    Ok(image)
}

/// A whoami backend to start with the stack.
#[derive(Debug, Clone)]
struct BackendSpec {
    role: String,
    /// Labels; `Some` puts the backend in discovery-docker's view.
    labels: Option<Vec<(String, String)>>,
}

/// What to start; [`Stack::builder`] makes one.
#[derive(Debug, Clone)]
pub struct StackBuilder {
    proxies: usize,
    file: bool,
    docker: bool,
    health: bool,
    certificates: bool,
    backends: Vec<BackendSpec>,
    throttle: String,
}

/// The certificates service's static configuration: the two resolvers on Pebble.
fn certificates_config(directory_url: &str) -> String {
    let mut yaml = String::from("certificatesResolvers:\n");
    for (name, challenge) in [
        (HTTP_RESOLVER, "httpChallenge: {entryPoint: web}"),
        (TLS_RESOLVER, "tlsChallenge: {}"),
    ] {
        yaml.push_str(&format!(
            "  {name}:\n    acme:\n      email: ops@example.com\n      caServer: {directory_url}\n      caCertificates: [\"{PEBBLE_TLS_CA}\"]\n      keyType: EC256\n      {challenge}\n"
        ));
    }
    yaml
}

/// The proxies' static configuration at the edge: `web` and `websecure` (TLS).
fn edge_proxy_config() -> String {
    format!(
        "entryPoints:\n  web:\n    address: \":{EDGE_WEB_PORT}\"\n  websecure:\n    address: \":{EDGE_WEBSECURE_PORT}\"\n    http:\n      tls: {{}}\naccessLog: {{}}\n"
    )
}

impl StackBuilder {
    /// Starts `count` proxy replicas (`proxy-0` ...).
    pub fn proxies(mut self, count: usize) -> Self {
        self.proxies = count;
        self
    }

    /// Starts discovery-file on a fresh host folder ([`Stack::write_file`] writes to it).
    pub fn file_provider(mut self) -> Self {
        self.file = true;
        self
    }

    /// Starts discovery-docker, seeing only this stack's labelled backends.
    pub fn docker_provider(mut self) -> Self {
        self.docker = true;
        self
    }

    /// Starts the health service.
    pub fn health(mut self) -> Self {
        self.health = true;
        self
    }

    /// Starts the certificates service with resolvers [`HTTP_RESOLVER`] and
    /// [`TLS_RESOLVER`] on Pebble, a real ACME CA on the network, whose DNS (challtestsrv)
    /// answers every name with proxy 0's address: Pebble validates every challenge against
    /// that one replica. The proxies then listen on :80 (`web`) and :443 (`websecure`,
    /// TLS; [`Stack::websecure`]).
    pub fn certificates(mut self) -> Self {
        self.certificates = true;
        self
    }

    /// A whoami backend that discovery-docker does not see (file routes point at it by
    /// [`Stack::backend_url`]).
    pub fn backend(mut self, role: &str) -> Self {
        self.backends.push(BackendSpec {
            role: role.to_owned(),
            labels: None,
        });
        self
    }

    /// A whoami backend with Docker labels, in discovery-docker's view.
    pub fn labelled_backend(mut self, role: &str, labels: &[(&str, &str)]) -> Self {
        self.backends.push(BackendSpec {
            role: role.to_owned(),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
        });
        self
    }

    /// The providers' throttle (`--throttle`, default `50ms`).
    pub fn throttle(mut self, throttle: &str) -> Self {
        self.throttle = throttle.to_owned();
        self
    }

    /// Builds the images and starts everything: NATS and the backends first, then the
    /// proxies and the services, each group concurrently; returns once NATS is ready and
    /// every proxy answers `/ping`.
    pub async fn start(self) -> anyhow::Result<Stack> {
        let prefix = unique_prefix();
        let network = format!("{prefix}-net");
        let scope = prefix.clone();
        let file_dir = if self.file {
            let dir = std::env::temp_dir().join(format!("switchyard-{prefix}"));
            std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
            Some(dir)
        } else {
            None
        };
        let mut stack = Stack {
            prefix: prefix.clone(),
            network: network.clone(),
            scope: scope.clone(),
            nats_url: String::new(),
            docker: bollard::Docker::connect_with_local_defaults()?,
            nodes: BTreeMap::new(),
            proxies: Vec::new(),
            backends: BTreeMap::new(),
            file_dir,
            seal: switchyard_bus::SealKey::generate()?,
            acme: None,
        };

        // Images, concurrently (each is skipped when already built from the same binary).
        let need = |on: bool, service: &'static str| on.then_some(service);
        let services: Vec<&str> = [
            need(self.proxies > 0, "proxy"),
            need(self.file, "discovery-file"),
            need(self.docker, "discovery-docker"),
            need(self.health, "health"),
            need(self.certificates, "certificates"),
            need(!self.backends.is_empty(), "whoami"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let (nats_image, images, pebble_image) = tokio::try_join!(
            crate::nats_image(),
            futures::future::try_join_all(services.iter().map(|s| service_image(s))),
            async {
                if self.certificates {
                    crate::pebble::pebble_image().await.map(Some)
                } else {
                    Ok(None)
                }
            }
        )?;
        let images: BTreeMap<&str, GenericImage> = services.into_iter().zip(images).collect();
        let image = |service: &str| {
            images
                .get(service)
                .cloned()
                .with_context(|| format!("no image built for {service}"))
        };

        // NATS and the backends.
        let nats_name = stack.container_name("nats");
        let nats_port = free_port()?;
        stack.nats_url = format!("nats://127.0.0.1:{nats_port}");
        let nats = nats_image
            .with_wait_for(WaitFor::message_on_stderr("Server is ready"))
            .with_network(&network)
            .with_container_name(&nats_name)
            .with_mapped_port(nats_port, 4222.tcp())
            .with_cmd(["-js", "-sd", "/data"])
            .with_startup_timeout(Duration::from_secs(60))
            .start();
        let mut backend_starts = Vec::new();
        for spec in &self.backends {
            let name = stack.container_name(&spec.role);
            let host_port = free_port()?;
            let mut request = image("whoami")?
                .with_network(&network)
                .with_container_name(&name)
                .with_mapped_port(host_port, BACKEND_PORT.tcp())
                .with_cmd([
                    "--address".to_owned(),
                    format!("0.0.0.0:{BACKEND_PORT}"),
                    "--name".to_owned(),
                    name.clone(),
                ]);
            if let Some(labels) = &spec.labels {
                request = request.with_label(SCOPE_LABEL, &scope);
                for (k, v) in labels {
                    request = request.with_label(k, v);
                }
            }
            let addr: SocketAddr = format!("127.0.0.1:{host_port}").parse()?;
            stack.backends.insert(spec.role.clone(), addr);
            backend_starts.push(request.start());
        }
        let pebble_start = async {
            let Some(image) = pebble_image else {
                return Ok(None);
            };
            let settings = PebbleSettings {
                http_port: EDGE_WEB_PORT,
                tls_port: EDGE_WEBSECURE_PORT,
                validity: None,
                eab: None,
            };
            crate::pebble::start_nodes(
                image,
                &network,
                &stack.container_name("pebble"),
                &stack.container_name("challtestsrv"),
                &settings,
            )
            .await
            .map(Some)
        };
        let (nats, backends, pebble) = tokio::try_join!(
            async { nats.await.context("starting NATS") },
            async {
                futures::future::try_join_all(backend_starts)
                    .await
                    .context("starting the backends")
            },
            pebble_start
        )?;
        if let Some(nodes) = pebble {
            stack.nodes.insert("pebble".into(), nodes.pebble);
            stack
                .nodes
                .insert("challtestsrv".into(), nodes.challtestsrv);
            stack.acme = Some(nodes.endpoints);
        }
        stack.nodes.insert("nats".into(), nats);
        for (spec, container) in self.backends.iter().zip(backends) {
            stack.nodes.insert(spec.role.clone(), container);
        }

        // Proxies and services.
        let nats_url = format!("nats://{nats_name}:4222");
        let mut roles = Vec::new();
        let mut starts = Vec::new();
        for index in 0..self.proxies {
            let role = proxy_role(index);
            let web: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
            let ping: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
            let mut args = vec![
                "--internal-address".to_owned(),
                format!(":{INTERNAL_PORT}"),
                "--nats-url".into(),
                nats_url.clone(),
                "--instance".into(),
                role.clone(),
                "--workers".into(),
                "2".into(),
            ];
            let mut request = stack
                .service(image("proxy")?, &role)
                .with_env_var("SWITCHYARD_BUS_SECRET", stack.seal.to_base64())
                .with_mapped_port(ping.port(), INTERNAL_PORT.tcp());
            let websecure = if self.certificates {
                let websecure: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
                request = request
                    .with_copy_to(PROXY_CONFIG, edge_proxy_config().into_bytes())
                    .with_mapped_port(web.port(), EDGE_WEB_PORT.tcp())
                    .with_mapped_port(websecure.port(), EDGE_WEBSECURE_PORT.tcp());
                args.extend(["--config".to_owned(), PROXY_CONFIG.to_owned()]);
                Some(websecure)
            } else {
                request = request.with_mapped_port(web.port(), WEB_PORT.tcp());
                args.extend(["--entrypoint".to_owned(), format!("web=:{WEB_PORT}")]);
                None
            };
            starts.push(request.with_cmd(args).start());
            roles.push(role);
            stack.proxies.push(ProxyPorts {
                web,
                websecure,
                ping,
            });
        }
        if let Some(dir) = &stack.file_dir {
            let role = "discovery-file".to_owned();
            starts.push(
                stack
                    .service(image("discovery-file")?, &role)
                    .with_mount(
                        Mount::bind_mount(dir.display().to_string(), FILE_DIR)
                            .with_access_mode(testcontainers::core::AccessMode::ReadOnly),
                    )
                    .with_cmd([
                        "--directory".to_owned(),
                        FILE_DIR.into(),
                        "--name".into(),
                        "file".into(),
                        "--nats-url".into(),
                        nats_url.clone(),
                        "--throttle".into(),
                        self.throttle.clone(),
                    ])
                    .start(),
            );
            roles.push(role);
        }
        if self.docker {
            let role = "discovery-docker".to_owned();
            starts.push(
                stack
                    .service(image("discovery-docker")?, &role)
                    .with_mount(Mount::bind_mount(
                        "/var/run/docker.sock",
                        "/var/run/docker.sock",
                    ))
                    .with_cmd([
                        "--name".to_owned(),
                        "docker".into(),
                        "--nats-url".into(),
                        nats_url.clone(),
                        "--throttle".into(),
                        self.throttle.clone(),
                        "--network".into(),
                        network.clone(),
                        "--constraints".into(),
                        format!("Label(`{SCOPE_LABEL}`, `{scope}`)"),
                    ])
                    .start(),
            );
            roles.push(role);
        }
        if self.health {
            let role = "health".to_owned();
            starts.push(
                stack
                    .service(image("health")?, &role)
                    .with_cmd([
                        "--nats-url".to_owned(),
                        nats_url.clone(),
                        "--instance".into(),
                        role.clone(),
                    ])
                    .start(),
            );
            roles.push(role);
        }
        if let Some(acme) = &stack.acme {
            let role = "certificates".to_owned();
            starts.push(
                stack
                    .service(image("certificates")?, &role)
                    .with_env_var("SWITCHYARD_BUS_SECRET", stack.seal.to_base64())
                    .with_copy_to(
                        CERTIFICATES_CONFIG,
                        certificates_config(&acme.directory_url).into_bytes(),
                    )
                    .with_copy_to(PEBBLE_TLS_CA, acme.tls.ca_pem.clone().into_bytes())
                    .with_cmd([
                        "--config".to_owned(),
                        CERTIFICATES_CONFIG.into(),
                        "--nats-url".into(),
                        nats_url.clone(),
                        "--instance".into(),
                        role.clone(),
                    ])
                    .start(),
            );
            roles.push(role);
        }
        let started = futures::future::try_join_all(starts)
            .await
            .context("starting the services")?;
        for (role, container) in roles.into_iter().zip(started) {
            stack.nodes.insert(role, container);
        }
        if let Some(acme) = &stack.acme {
            // Pebble validates against proxy 0 only; the others learn the certificate
            // from the bus.
            let ip = stack
                .node(&proxy_role(0))?
                .get_bridge_ip_address()
                .await
                .context("proxy 0's address on the stack's network")?;
            acme.answer_with(ip).await?;
        }
        for index in 0..stack.proxies.len() {
            let ready = stack.wait_ping(index, Duration::from_secs(30)).await;
            stack.with_logs(ready).await?;
        }
        Ok(stack)
    }
}

/// Where proxy replica i is reached from the host.
#[derive(Debug, Clone, Copy)]
struct ProxyPorts {
    web: SocketAddr,
    /// Only in a stack with certificates.
    websecure: Option<SocketAddr>,
    ping: SocketAddr,
}

/// A running stack; dropping it removes its containers, network and file folder.
pub struct Stack {
    prefix: String,
    network: String,
    scope: String,
    nats_url: String,
    docker: bollard::Docker,
    nodes: BTreeMap<String, ContainerAsync<GenericImage>>,
    proxies: Vec<ProxyPorts>,
    backends: BTreeMap<String, SocketAddr>,
    file_dir: Option<PathBuf>,
    /// The bus secret every proxy (and the certificates service) holds.
    seal: switchyard_bus::SealKey,
    /// Pebble, in a stack with certificates.
    acme: Option<PebbleEndpoints>,
}

fn unique_prefix() -> String {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!(
        "sy-{}-{}-{nanos:x}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

impl Stack {
    /// An empty plan: no proxy, no provider, no backend.
    pub fn builder() -> StackBuilder {
        StackBuilder {
            proxies: 0,
            file: false,
            docker: false,
            health: false,
            certificates: false,
            backends: Vec::new(),
            throttle: "50ms".into(),
        }
    }

    /// The Docker network every container is on.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// NATS as the host reaches it (`nats://127.0.0.1:<mapped port>`), e.g. for a
    /// [`crate::TestBus`] that inspects what the services published.
    pub fn nats_url(&self) -> &str {
        &self.nats_url
    }

    /// The value of [`SCOPE_LABEL`] that discovery-docker selects.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The container (and host) name of `role` on the stack's network.
    pub fn container_name(&self, role: &str) -> String {
        format!("{}-{role}", self.prefix)
    }

    /// `http://<backend container>:80`: the URL a file route uses to reach backend `role`.
    pub fn backend_url(&self, role: &str) -> String {
        format!("http://{}:{BACKEND_PORT}", self.container_name(role))
    }

    /// Backend `role`'s port on the host (to drive it directly, e.g. `POST /health`).
    pub fn backend_addr(&self, role: &str) -> anyhow::Result<SocketAddr> {
        self.backends
            .get(role)
            .copied()
            .with_context(|| format!("no backend {role:?} in this stack"))
    }

    /// How many proxy replicas the stack has.
    pub fn proxy_count(&self) -> usize {
        self.proxies.len()
    }

    fn proxy(&self, index: usize) -> anyhow::Result<ProxyPorts> {
        self.proxies
            .get(index)
            .copied()
            .with_context(|| format!("no proxy {index} in this stack"))
    }

    /// The host address of proxy `index`'s `web` entrypoint.
    pub fn web(&self, index: usize) -> anyhow::Result<SocketAddr> {
        Ok(self.proxy(index)?.web)
    }

    /// The host address of proxy `index`'s `websecure` entrypoint (stacks with
    /// certificates only).
    pub fn websecure(&self, index: usize) -> anyhow::Result<SocketAddr> {
        self.proxy(index)?.websecure.with_context(|| {
            format!("proxy {index} has no websecure: start the stack with certificates()")
        })
    }

    /// The bus secret the proxies and the certificates service hold (`SWITCHYARD_BUS_SECRET`).
    pub fn seal_key(&self) -> &switchyard_bus::SealKey {
        &self.seal
    }

    /// The root that signs the certificates Pebble issues: what a client trusts to check
    /// that a proxy serves a certificate from this stack's ACME CA.
    pub async fn acme_roots(&self) -> anyhow::Result<rustls::RootCertStore> {
        self.acme
            .as_ref()
            .context("this stack has no ACME CA: start it with certificates()")?
            .issuing_roots()
            .await
    }

    fn service(
        &self,
        image: GenericImage,
        role: &str,
    ) -> testcontainers::ContainerRequest<GenericImage> {
        image
            .with_network(&self.network)
            .with_container_name(self.container_name(role))
            // `STACK_RUST_LOG` (e.g. `info,async_nats=debug`) turns up the services' logs.
            .with_env_var(
                "RUST_LOG",
                std::env::var("STACK_RUST_LOG").unwrap_or_else(|_| "info".to_owned()),
            )
            .with_env_var("NO_COLOR", "1")
            .with_startup_timeout(Duration::from_secs(60))
    }

    /// `GET path` with `Host: host` through proxy `index`.
    pub async fn get(&self, index: usize, host: &str, path: &str) -> anyhow::Result<Reply> {
        client::get(self.web(index)?, host, path).await
    }

    /// The status of `GET /` with `Host: host` through proxy `index`; 0 when no response
    /// came (connection refused or reset, timeout).
    pub async fn status(&self, index: usize, host: &str) -> u16 {
        match self.web(index) {
            Ok(addr) => client::get(addr, host, "/")
                .await
                .map(|r| r.status)
                .unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// Whether proxy `index` answers `GET /ping` with 200.
    pub async fn ping(&self, index: usize) -> bool {
        match self.proxy(index) {
            Ok(ports) => client::get(ports.ping, "ping", "/ping")
                .await
                .is_ok_and(|r| r.status == 200),
            Err(_) => false,
        }
    }

    /// Polls proxy `index`'s `/ping` every 10 ms until it answers 200.
    pub async fn wait_ping(&self, index: usize, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.ping(index).await {
            if tokio::time::Instant::now() > deadline {
                bail!("proxy {index}: /ping did not answer within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// Writes `name` (e.g. `routes.yml`) into discovery-file's folder.
    pub fn write_file(&self, name: &str, content: &str) -> anyhow::Result<()> {
        let dir = self
            .file_dir
            .as_ref()
            .context("this stack has no file provider")?;
        let path = dir.join(name);
        std::fs::write(&path, content).with_context(|| path.display().to_string())
    }

    fn node(&self, role: &str) -> anyhow::Result<&ContainerAsync<GenericImage>> {
        self.nodes
            .get(role)
            .with_context(|| format!("no container {role:?} in this stack"))
    }

    /// Stops `role` (SIGTERM, then SIGKILL after `grace`).
    pub async fn stop(&self, role: &str, grace: Duration) -> anyhow::Result<()> {
        let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        self.node(role)?
            .stop_with_timeout(Some(seconds))
            .await
            .with_context(|| format!("stopping {role}"))
    }

    /// Starts `role` again (same container: same name, same mapped host ports, same files).
    pub async fn start(&self, role: &str) -> anyhow::Result<()> {
        self.node(role)?
            .start()
            .await
            .with_context(|| format!("starting {role}"))
    }

    /// Kills `role` with SIGKILL: no graceful shutdown.
    pub async fn kill(&self, role: &str) -> anyhow::Result<()> {
        let id = self.node(role)?.id().to_owned();
        self.docker
            .kill_container(&id, None)
            .await
            .with_context(|| format!("killing {role}"))?;
        // The kill is asynchronous in the engine; wait until the container is down.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.node(role)?.is_running().await? {
            if tokio::time::Instant::now() > deadline {
                bail!("{role} still running 10 s after SIGKILL");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Stops `role` gracefully (up to `grace`) and starts it again.
    pub async fn restart(&self, role: &str, grace: Duration) -> anyhow::Result<()> {
        self.stop(role, grace).await?;
        self.start(role).await
    }

    /// What `role` has logged (stdout and stderr), every run of the container.
    pub async fn logs(&self, role: &str) -> anyhow::Result<String> {
        let node = self.node(role)?;
        let stdout = node.stdout_to_vec().await?;
        let stderr = node.stderr_to_vec().await?;
        Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ))
    }

    /// `result`, its error extended with the last lines every container logged (what a
    /// failed assertion needs to be understood).
    pub async fn with_logs<T>(&self, result: anyhow::Result<T>) -> anyhow::Result<T> {
        let error = match result {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        // `STACK_LOG_LINES` shows more of each log when 15 lines do not tell the story.
        let keep = std::env::var("STACK_LOG_LINES")
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(15);
        let mut report = String::new();
        for role in self.nodes.keys() {
            let text = self.logs(role).await.unwrap_or_else(|e| e.to_string());
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines
                .get(lines.len().saturating_sub(keep)..)
                .unwrap_or_default();
            report.push_str(&format!("\n--- {role} ---\n{}", tail.join("\n")));
        }
        Err(error.context(format!("container logs:{report}")))
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(dir) = &self.file_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
