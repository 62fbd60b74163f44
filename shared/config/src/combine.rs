//! Combining several decoded files into one provider's configuration, as Traefik's file
//! provider reads a directory: a resource defined in two files keeps its first definition
//! (files in the order given) and the duplicate is reported.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use switchyard_model::{DynamicConfig, ResourceKind};

use crate::Decoded;

/// One provider's files, combined.
#[derive(Debug, Default)]
pub struct Combined {
    /// The combined configuration and problems.
    pub decoded: Decoded,
    /// Which file defined each resource (kind, local name).
    pub origins: BTreeMap<(ResourceKind, String), PathBuf>,
    /// Resources defined twice (the first definition is used, as Traefik does).
    pub duplicates: Vec<String>,
}

/// Combines decoded files of one provider.
pub fn combine(files: Vec<(PathBuf, Decoded)>) -> Combined {
    let mut out = Combined::default();
    for (path, decoded) in files {
        for problem in decoded.problems {
            out.origins
                .entry((problem.kind, problem.name.clone()))
                .or_insert_with(|| path.clone());
            out.decoded.problems.push(problem);
        }
        add_file(&mut out, &path, decoded.config);
    }
    out
}

fn add_file(out: &mut Combined, path: &Path, config: DynamicConfig) {
    let DynamicConfig {
        http,
        tcp,
        udp,
        tls,
    } = config;
    let Combined {
        decoded: Decoded { config: to, .. },
        origins,
        duplicates,
    } = out;
    let mut ctx = Ctx {
        path,
        origins,
        duplicates,
    };
    ctx.merge(ResourceKind::HttpRouter, http.routers, &mut to.http.routers);
    ctx.merge(
        ResourceKind::HttpService,
        http.services,
        &mut to.http.services,
    );
    ctx.merge(
        ResourceKind::HttpMiddleware,
        http.middlewares,
        &mut to.http.middlewares,
    );
    ctx.merge(
        ResourceKind::HttpServersTransport,
        http.servers_transports,
        &mut to.http.servers_transports,
    );
    ctx.merge(ResourceKind::TcpRouter, tcp.routers, &mut to.tcp.routers);
    ctx.merge(ResourceKind::TcpService, tcp.services, &mut to.tcp.services);
    ctx.merge(
        ResourceKind::TcpMiddleware,
        tcp.middlewares,
        &mut to.tcp.middlewares,
    );
    ctx.merge(
        ResourceKind::TcpServersTransport,
        tcp.servers_transports,
        &mut to.tcp.servers_transports,
    );
    ctx.merge(ResourceKind::UdpRouter, udp.routers, &mut to.udp.routers);
    ctx.merge(ResourceKind::UdpService, udp.services, &mut to.udp.services);
    ctx.merge(ResourceKind::TlsOption, tls.options, &mut to.tls.options);
    ctx.merge(ResourceKind::TlsStore, tls.stores, &mut to.tls.stores);
    to.tls.certificates.extend(tls.certificates);
}

struct Ctx<'a> {
    path: &'a Path,
    origins: &'a mut BTreeMap<(ResourceKind, String), PathBuf>,
    duplicates: &'a mut Vec<String>,
}

impl Ctx<'_> {
    fn merge<T>(
        &mut self,
        kind: ResourceKind,
        from: BTreeMap<String, T>,
        to: &mut BTreeMap<String, T>,
    ) {
        for (name, value) in from {
            match self.origins.get(&(kind, name.clone())) {
                Some(first) => self.duplicates.push(format!(
                    "{}.{name}: defined in both {} and {}; the definition in {} is used",
                    kind.path(),
                    first.display(),
                    self.path.display(),
                    first.display()
                )),
                None => {
                    self.origins
                        .insert((kind, name.clone()), self.path.to_owned());
                    to.insert(name, value);
                }
            }
        }
    }
}
