//! The health service's options: flags and environment variables (the same NATS flags as
//! every Switchyard service), over an optional static file (YAML or TOML).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use switchyard_bus::cli::NatsArgs;
use switchyard_bus::nats::NatsSettings;

/// Command-line options.
#[derive(Debug, Clone, PartialEq, Eq, clap::Parser)]
#[command(
    name = "switchyard-health",
    version,
    about = "Active health checks of load-balancer servers, published on the bus"
)]
pub struct Args {
    /// Static configuration file (YAML or TOML): `instance`, `nats`, `memberTtl`.
    #[arg(long = "config", env = "SWITCHYARD_HEALTH_CONFIG")]
    pub config: Option<PathBuf>,

    /// How to reach NATS: the NATS flags every service shares; each wins over `nats` in
    /// the file.
    #[command(flatten)]
    pub nats: NatsArgs,

    /// This instance's id (membership and the `checker` of what it writes); default: the
    /// host name.
    #[arg(long = "instance", env = "SWITCHYARD_INSTANCE")]
    pub instance: Option<String>,

    /// How long this instance's membership lasts unless renewed (`10s`); others take its
    /// checks over this long after it dies (at once when it stops cleanly).
    #[arg(long = "member-ttl", env = "SWITCHYARD_HEALTH_MEMBER_TTL", value_parser = parse_ttl)]
    pub member_ttl: Option<Duration>,
}

/// The static file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FileConfig {
    /// This instance's id.
    pub instance: Option<String>,
    /// How to reach NATS.
    pub nats: NatsSettings,
    /// Membership lease lifetime (`10s`).
    pub member_ttl: Option<switchyard_model::Duration>,
}

/// Errors of the static configuration; each names the file or setting.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// The file cannot be read or parsed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A setting is invalid.
    #[error("{setting}: {message}")]
    Invalid {
        /// The setting.
        setting: String,
        /// Why.
        message: String,
    },
}

/// The default membership lease lifetime.
pub const DEFAULT_MEMBER_TTL: Duration = Duration::from_secs(10);

/// Everything the service needs, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The instance id.
    pub instance: String,
    /// NATS settings.
    pub nats: NatsSettings,
    /// Membership lease lifetime.
    pub member_ttl: Duration,
}

/// Parses `--member-ttl`: Traefik's duration syntax, at least 300ms.
pub fn parse_ttl(raw: &str) -> Result<Duration, String> {
    let parsed = switchyard_model::Duration::parse(raw).map_err(|e| e.to_string())?;
    parsed
        .as_std()
        .filter(|d| *d >= Duration::from_millis(300))
        .ok_or_else(|| format!("member TTL {raw:?} must be at least 300ms"))
}

/// Reads a static file: TOML by extension, YAML otherwise.
pub fn read_file(path: &Path) -> Result<FileConfig, ArgsError> {
    let file_err = |message: String| ArgsError::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        toml::from_str(&text).map_err(|e| file_err(e.to_string()))
    } else if text.trim().is_empty() {
        Ok(FileConfig::default())
    } else {
        serde_norway::from_str(&text).map_err(|e| file_err(e.to_string()))
    }
}

impl Args {
    /// Flags over the file over the defaults.
    pub fn resolve(&self, file: FileConfig) -> Result<Resolved, ArgsError> {
        let mut nats = file.nats;
        self.nats.apply(&mut nats);
        let member_ttl = match (self.member_ttl, file.member_ttl) {
            (Some(ttl), _) => ttl,
            (None, Some(ttl)) => {
                parse_ttl(&ttl.to_string()).map_err(|message| ArgsError::Invalid {
                    setting: "memberTtl".into(),
                    message,
                })?
            }
            (None, None) => DEFAULT_MEMBER_TTL,
        };
        let instance = self
            .instance
            .clone()
            .or(file.instance)
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| switchyard_bus::cli::host_name("switchyard-health"));
        Ok(Resolved {
            instance,
            nats,
            member_ttl,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::try_parse_from(std::iter::once("switchyard-health").chain(args.iter().copied()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = dir.path().join("health.yaml");
        std::fs::write(
            &yaml,
            "instance: from-file\nmemberTtl: 4s\nnats:\n  url: nats://file:4222\n  token: t\n",
        )
        .unwrap();
        let toml_path = dir.path().join("health.toml");
        std::fs::write(
            &toml_path,
            "instance = \"toml\"\n[nats]\nurl = \"nats://toml:4222\"\n",
        )
        .unwrap();
        let cases = [
            (
                "file only",
                vec![],
                Some(&yaml),
                ("from-file", "nats://file:4222", Duration::from_secs(4)),
            ),
            (
                "flags win",
                vec![
                    "--instance",
                    "h2",
                    "--nats-url",
                    "nats://flag:4222",
                    "--member-ttl",
                    "2s",
                ],
                Some(&yaml),
                ("h2", "nats://flag:4222", Duration::from_secs(2)),
            ),
            (
                "toml",
                vec![],
                Some(&toml_path),
                ("toml", "nats://toml:4222", DEFAULT_MEMBER_TTL),
            ),
            (
                "no file",
                vec!["--instance", "h3"],
                None,
                ("h3", "", DEFAULT_MEMBER_TTL),
            ),
        ];
        for (case, flags, file, (instance, url, ttl)) in cases {
            let args = parse(&flags).unwrap_or_else(|e| panic!("{case}: {e}"));
            let file = file.map(|p| read_file(p).unwrap()).unwrap_or_default();
            let resolved = args.resolve(file).unwrap_or_else(|e| panic!("{case}: {e}"));
            if std::env::var_os("SWITCHYARD_INSTANCE").is_none() {
                assert_eq!(resolved.instance, instance, "{case}");
            }
            if std::env::var_os("NATS_URL").is_none() {
                assert_eq!(resolved.nats.url, url, "{case}");
            }
            assert_eq!(resolved.member_ttl, ttl, "{case}");
        }
    }

    #[test]
    fn bad_settings_are_errors() {
        for (case, flags) in [
            ("ttl too short", vec!["--member-ttl", "10ms"]),
            ("ttl garbage", vec!["--member-ttl", "soon"]),
            ("user without password", vec!["--nats-user", "u"]),
        ] {
            assert!(parse(&flags).is_err(), "{case}");
        }
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "nope: true\n").unwrap();
        let err = read_file(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.yaml"), "{err}");
        assert!(read_file(&dir.path().join("missing.yaml")).is_err());
    }
}
