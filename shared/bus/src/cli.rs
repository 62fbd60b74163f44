//! What every Switchyard service's `main` shares (feature `cli`): the NATS command-line
//! options, the default instance id, logging and the TLS crypto provider.

use std::path::PathBuf;

use crate::nats::NatsSettings;

/// The NATS URL when neither a flag nor a static file names one.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

/// Sets up a service process: logs to stderr at the level `RUST_LOG` sets (`info` by
/// default), and ring as the process's rustls crypto provider (for NATS over TLS, ACME,
/// health checks over https and TLS termination alike).
pub fn init_service() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    // Already installed (a second call) is fine: it is the same provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// This machine's host name (`/etc/hostname`, else `$HOSTNAME`), else `fallback`: the
/// default instance id of every service (in a container, the container's name or id).
pub fn host_name(fallback: &str) -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

/// The NATS flags and their environment variables. A service embeds them with
/// `#[command(flatten)] nats: NatsArgs`; each flag given wins over the same setting of the
/// service's static file ([`NatsArgs::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct NatsArgs {
    /// NATS server URL(s), comma-separated (default `nats://127.0.0.1:4222`).
    #[arg(long = "nats-url", env = "NATS_URL")]
    pub nats_url: Option<String>,

    /// NATS credentials file (JWT + nkey).
    #[arg(long = "nats-creds", env = "NATS_CREDS")]
    pub nats_credentials_file: Option<PathBuf>,

    /// NATS user name (with `--nats-password`).
    #[arg(long = "nats-user", env = "NATS_USER", requires = "nats_password")]
    pub nats_user: Option<String>,

    /// NATS password (with `--nats-user`).
    #[arg(long = "nats-password", env = "NATS_PASSWORD", requires = "nats_user")]
    pub nats_password: Option<String>,

    /// NATS token.
    #[arg(long = "nats-token", env = "NATS_TOKEN")]
    pub nats_token: Option<String>,

    /// CA bundle to verify the NATS server (enables TLS).
    #[arg(long = "nats-ca-file", env = "NATS_CA_FILE")]
    pub nats_ca_file: Option<PathBuf>,

    /// Client certificate for mutual TLS with NATS (with `--nats-key-file`).
    #[arg(
        long = "nats-cert-file",
        env = "NATS_CERT_FILE",
        requires = "nats_key_file"
    )]
    pub nats_cert_file: Option<PathBuf>,

    /// Client key for mutual TLS with NATS (with `--nats-cert-file`).
    #[arg(
        long = "nats-key-file",
        env = "NATS_KEY_FILE",
        requires = "nats_cert_file"
    )]
    pub nats_key_file: Option<PathBuf>,

    /// JetStream replicas for buckets this service creates (default 1).
    #[arg(long = "nats-replicas", env = "NATS_REPLICAS")]
    pub nats_replicas: Option<usize>,
}

impl NatsArgs {
    /// Options naming `url` and nothing else (as if only `--nats-url` were given).
    pub fn with_url(url: impl Into<String>) -> Self {
        Self {
            nats_url: Some(url.into()),
            ..Self::default()
        }
    }

    /// The settings of a service without a static file: the flags over the defaults
    /// ([`DEFAULT_NATS_URL`], one replica).
    pub fn settings(&self) -> NatsSettings {
        let mut settings = NatsSettings {
            url: DEFAULT_NATS_URL.to_owned(),
            replicas: Some(1),
            ..NatsSettings::default()
        };
        self.apply(&mut settings);
        settings
    }

    /// Overrides `settings` (from a static file) with every flag given; user and password
    /// go together, replicas are at least 1.
    pub fn apply(&self, settings: &mut NatsSettings) {
        let set = |slot: &mut Option<PathBuf>, flag: &Option<PathBuf>| {
            if flag.is_some() {
                slot.clone_from(flag);
            }
        };
        if let Some(url) = &self.nats_url {
            settings.url.clone_from(url);
        }
        set(&mut settings.credentials_file, &self.nats_credentials_file);
        set(&mut settings.ca_file, &self.nats_ca_file);
        set(&mut settings.cert_file, &self.nats_cert_file);
        set(&mut settings.key_file, &self.nats_key_file);
        if self.nats_user.is_some() {
            settings.user.clone_from(&self.nats_user);
            settings.password.clone_from(&self.nats_password);
        }
        if self.nats_token.is_some() {
            settings.token.clone_from(&self.nats_token);
        }
        if let Some(replicas) = self.nats_replicas {
            settings.replicas = Some(replicas.max(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser as _;

    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        nats: NatsArgs,
    }

    fn parse(args: &[&str]) -> Result<NatsArgs, String> {
        Cli::try_parse_from(std::iter::once("svc").chain(args.iter().copied()))
            .map(|c| c.nats)
            .map_err(|e| e.to_string())
    }

    fn file() -> NatsSettings {
        NatsSettings {
            url: "nats://file:4222".into(),
            credentials_file: Some("/file.creds".into()),
            user: Some("file-user".into()),
            password: Some("file-password".into()),
            token: Some("file-token".into()),
            ca_file: Some("/file-ca.pem".into()),
            cert_file: Some("/file-cert.pem".into()),
            key_file: Some("/file-key.pem".into()),
            replicas: Some(3),
        }
    }

    #[test]
    fn flags_win_over_the_file() {
        let all = [
            "--nats-url",
            "nats://a:4222,nats://b:4222",
            "--nats-creds",
            "/etc/nats/p.creds",
            "--nats-user",
            "u",
            "--nats-password",
            "p",
            "--nats-token",
            "t",
            "--nats-ca-file",
            "/etc/nats/ca.pem",
            "--nats-cert-file",
            "/etc/nats/cert.pem",
            "--nats-key-file",
            "/etc/nats/key.pem",
            "--nats-replicas",
            "0",
        ];
        let flagged = NatsSettings {
            url: "nats://a:4222,nats://b:4222".into(),
            credentials_file: Some("/etc/nats/p.creds".into()),
            user: Some("u".into()),
            password: Some("p".into()),
            token: Some("t".into()),
            ca_file: Some("/etc/nats/ca.pem".into()),
            cert_file: Some("/etc/nats/cert.pem".into()),
            key_file: Some("/etc/nats/key.pem".into()),
            replicas: Some(1),
        };
        let url_only = NatsSettings {
            url: "nats://flag:4222".into(),
            ..file()
        };
        let cases: [(&str, Vec<&str>, NatsSettings); 3] = [
            ("no flags keep the file", vec![], file()),
            (
                "one flag changes one setting",
                vec!["--nats-url", "nats://flag:4222"],
                url_only,
            ),
            ("every flag", all.to_vec(), flagged),
        ];
        for (case, flags, expected) in cases {
            let args = parse(&flags).unwrap_or_else(|e| panic!("{case}: {e}"));
            let mut settings = file();
            args.apply(&mut settings);
            // The environment of the test run may set NATS_*; compare only what it cannot.
            if std::env::vars().all(|(k, _)| !k.starts_with("NATS_")) {
                assert_eq!(settings, expected, "{case}");
            }
        }
    }

    #[test]
    fn settings_without_a_file() {
        let cases = [
            ("defaults", NatsArgs::default(), DEFAULT_NATS_URL, Some(1)),
            (
                "url",
                NatsArgs::with_url("nats://x:1"),
                "nats://x:1",
                Some(1),
            ),
            (
                "replicas",
                NatsArgs {
                    nats_replicas: Some(3),
                    ..NatsArgs::default()
                },
                DEFAULT_NATS_URL,
                Some(3),
            ),
        ];
        for (case, args, url, replicas) in cases {
            let settings = args.settings();
            assert_eq!(
                (settings.url.as_str(), settings.replicas),
                (url, replicas),
                "{case}"
            );
            assert_eq!(
                settings.credentials_file.as_deref(),
                None::<&Path>,
                "{case}"
            );
        }
    }

    #[test]
    fn incomplete_pairs_are_rejected() {
        for (case, flags) in [
            ("user without password", vec!["--nats-user", "u"]),
            ("password without user", vec!["--nats-password", "p"]),
            ("cert without key", vec!["--nats-cert-file", "/c.pem"]),
            ("key without cert", vec!["--nats-key-file", "/k.pem"]),
            ("replicas not a number", vec!["--nats-replicas", "three"]),
        ] {
            assert!(parse(&flags).is_err(), "{case} must be rejected");
        }
    }
}
