//! Qualifying names: `name` inside provider `p` is `name@p`; `name@other` stays.

use switchyard_model::http::Service;
use switchyard_model::{tcp, udp};

/// Resolves a reference written inside `provider`.
pub fn qualify(reference: &str, provider: &str) -> String {
    if reference.is_empty() || reference.contains('@') {
        reference.to_owned()
    } else {
        format!("{reference}@{provider}")
    }
}

/// The provider part of a qualified name (empty when there is none).
pub fn provider_of(qualified: &str) -> &str {
    qualified.rsplit_once('@').map_or("", |(_, p)| p)
}

/// An HTTP service with its references to other services and transports qualified.
pub(crate) fn http_service(service: &Service, provider: &str) -> Service {
    let mut s = service.clone();
    match &mut s {
        Service::LoadBalancer(lb) => {
            if !lb.servers_transport.is_empty() {
                lb.servers_transport = qualify(&lb.servers_transport, provider);
            }
        }
        Service::Weighted(w) => {
            for child in &mut w.services {
                child.name = qualify(&child.name, provider);
            }
        }
        Service::Mirroring(m) => {
            m.service = qualify(&m.service, provider);
            for mirror in &mut m.mirrors {
                mirror.name = qualify(&mirror.name, provider);
            }
        }
        Service::Failover(f) => {
            f.service = qualify(&f.service, provider);
            f.fallback = qualify(&f.fallback, provider);
        }
    }
    s
}

/// A TCP service with its references qualified.
pub(crate) fn tcp_service(service: &tcp::Service, provider: &str) -> tcp::Service {
    let mut s = service.clone();
    match &mut s {
        tcp::Service::LoadBalancer(lb) => {
            if !lb.servers_transport.is_empty() {
                lb.servers_transport = qualify(&lb.servers_transport, provider);
            }
        }
        tcp::Service::Weighted(w) => {
            for child in &mut w.services {
                child.name = qualify(&child.name, provider);
            }
        }
    }
    s
}

/// A UDP service with its references qualified.
pub(crate) fn udp_service(service: &udp::Service, provider: &str) -> udp::Service {
    let mut s = service.clone();
    if let udp::Service::Weighted(w) = &mut s {
        for child in &mut w.services {
            child.name = qualify(&child.name, provider);
        }
    }
    s
}
