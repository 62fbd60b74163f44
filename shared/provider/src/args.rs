//! The command-line options every discovery service shares (flattened into its own).

use std::time::Duration;

use switchyard_bus::cli::NatsArgs;
use switchyard_bus::keys::validate_provider_name;
use switchyard_bus::nats::NatsSettings;

/// The harness's options: provider name, NATS connection, throttle and instance.
///
/// A service embeds them with `#[command(flatten)] harness: HarnessArgs`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct HarnessArgs {
    /// The provider's name: the namespace of its resources (`web@docker-edge`) and of its
    /// keys on the bus; default: the provider's kind. Lets several instances of one kind
    /// run side by side.
    #[arg(long = "name", env = "SWITCHYARD_PROVIDER_NAME", value_parser = parse_provider_name)]
    pub name: Option<String>,

    /// How to reach NATS: `--nats-url` and the other NATS flags every service shares.
    #[command(flatten)]
    pub nats: NatsArgs,

    /// The minimum time between two publishes (`200ms`, `1s`; a bare number is seconds, as
    /// in Traefik): a change after a quiet period is published at once, changes during the
    /// following window are collapsed into one publish at its end; `0` publishes every
    /// snapshot at once.
    #[arg(
        long = "throttle",
        env = "SWITCHYARD_PROVIDER_THROTTLE",
        default_value = "200ms",
        value_parser = parse_throttle
    )]
    pub throttle: Duration,

    /// The instance reported in the provider's status; default: the host name.
    #[arg(long = "instance", env = "SWITCHYARD_INSTANCE")]
    pub instance: Option<String>,
}

impl HarnessArgs {
    /// Options for a local NATS and the defaults otherwise (as if no flag were given).
    pub fn new(nats_url: impl Into<String>) -> Self {
        Self {
            name: None,
            nats: NatsArgs::with_url(nats_url),
            throttle: Duration::from_millis(200),
            instance: None,
        }
    }

    /// The NATS connection settings: the flags over the defaults.
    pub fn nats_settings(&self) -> NatsSettings {
        self.nats.settings()
    }

    /// The provider name: `--name`, else the provider's kind.
    pub fn provider_name(&self, kind: &str) -> Result<String, String> {
        let name = self.name.clone().unwrap_or_else(|| kind.to_owned());
        validate_provider_name(&name)?;
        Ok(name)
    }

    /// The instance: `--instance`, else the host name.
    pub fn instance(&self) -> String {
        self.instance
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| switchyard_bus::cli::host_name("switchyard"))
    }
}

/// Parses `--name`.
pub fn parse_provider_name(raw: &str) -> Result<String, String> {
    validate_provider_name(raw)?;
    Ok(raw.to_owned())
}

/// Parses `--throttle`: Traefik's duration syntax, not negative.
pub fn parse_throttle(raw: &str) -> Result<Duration, String> {
    let parsed = switchyard_model::Duration::parse(raw).map_err(|e| e.to_string())?;
    parsed
        .as_std()
        .ok_or_else(|| format!("throttle {raw:?} must not be negative"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        harness: HarnessArgs,
    }

    fn parse(args: &[&str]) -> Result<HarnessArgs, String> {
        Cli::try_parse_from(std::iter::once("svc").chain(args.iter().copied()))
            .map(|c| c.harness)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn throttle_values() {
        let cases: [(&str, &str, Option<Duration>); 6] = [
            ("milliseconds", "200ms", Some(Duration::from_millis(200))),
            ("seconds", "1s", Some(Duration::from_secs(1))),
            ("bare number is seconds", "2", Some(Duration::from_secs(2))),
            ("zero", "0", Some(Duration::ZERO)),
            ("negative", "-1s", None),
            ("garbage", "soon", None),
        ];
        for (case, input, expected) in cases {
            assert_eq!(parse_throttle(input).ok(), expected, "{case}");
        }
    }

    #[test]
    fn defaults() {
        let args = parse(&[]).unwrap_or_else(|e| panic!("{e}"));
        // The environment of the test run may set these; only check what it cannot.
        if std::env::var_os("SWITCHYARD_PROVIDER_THROTTLE").is_none() {
            assert_eq!(args.throttle, Duration::from_millis(200));
        }
        if std::env::var_os("SWITCHYARD_PROVIDER_NAME").is_none() {
            assert_eq!(args.name, None);
            assert_eq!(args.provider_name("docker"), Ok("docker".to_owned()));
        }
        assert!(!args.instance().is_empty());
    }

    #[test]
    fn flags() {
        let args = parse(&[
            "--name",
            "docker-edge",
            "--nats-url",
            "nats://a:4222,nats://b:4222",
            "--throttle",
            "1s",
            "--instance",
            "host-a",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.provider_name("docker"), Ok("docker-edge".to_owned()));
        assert_eq!(args.throttle, Duration::from_secs(1));
        assert_eq!(args.instance(), "host-a");
        let s = args.nats_settings();
        // The NATS flags themselves are tested in switchyard_bus::cli; here: they are in.
        assert_eq!(s.url, "nats://a:4222,nats://b:4222");
    }

    #[test]
    fn rejected_flags() {
        let cases = [
            ("upper-case name", vec!["--name", "Docker"]),
            ("name with a dot", vec!["--name", "docker.edge"]),
            ("name starting with a digit", vec!["--name", "1docker"]),
            ("negative throttle", vec!["--throttle", "-5ms"]),
            ("user without password", vec!["--nats-user", "u"]),
        ];
        for (case, args) in cases {
            assert!(parse(&args).is_err(), "{case} must be rejected");
        }
    }

    #[test]
    fn default_name_is_validated_too() {
        let args = HarnessArgs::new("nats://127.0.0.1:4222");
        assert!(args.provider_name("Docker_Swarm").is_err());
        assert_eq!(
            args.provider_name("kubernetes"),
            Ok("kubernetes".to_owned())
        );
    }
}
