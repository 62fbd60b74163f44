//! Discovery service: file. Publishes the dynamic configuration in a file or directory,
//! as Traefik's file provider reads it, to the bus.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{ArgGroup, Parser};
use switchyard_config::Format;
use switchyard_discovery_file::{FileProvider, Source};
use switchyard_provider::HarnessArgs;

/// Publishes Traefik dynamic configuration from YAML/TOML files to the Switchyard bus.
#[derive(Debug, Parser)]
#[command(name = "switchyard-discovery-file", version)]
#[command(group(ArgGroup::new("source").required(true).multiple(false)))]
struct Args {
    /// One configuration file (.yml, .yaml or .toml; .json is read as YAML).
    #[arg(long, env = "SWITCHYARD_FILE_FILENAME", group = "source")]
    filename: Option<PathBuf>,

    /// A directory: every .yml, .yaml and .toml file in it and its subdirectories
    /// (hidden subdirectories excepted).
    #[arg(long, env = "SWITCHYARD_FILE_DIRECTORY", group = "source")]
    directory: Option<PathBuf>,

    /// Watch for changes; with `--watch=false` the configuration is published once.
    #[arg(
        long,
        env = "SWITCHYARD_FILE_WATCH",
        default_value = "true",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    watch: bool,

    #[command(flatten)]
    harness: HarnessArgs,
}

impl Args {
    fn source(&self) -> anyhow::Result<Source> {
        match (&self.filename, &self.directory) {
            (Some(file), None) => {
                if Format::from_path(file).is_none() {
                    anyhow::bail!(
                        "{}: unsupported file extension (expected .yml, .yaml, .toml or .json)",
                        file.display()
                    );
                }
                Ok(Source::File(file.clone()))
            }
            (None, Some(dir)) => Ok(Source::Directory(dir.clone())),
            // clap enforces exactly one; kept as an error rather than a panic.
            _ => anyhow::bail!("give exactly one of --filename and --directory"),
        }
    }
}

fn main() -> anyhow::Result<()> {
    switchyard_provider::init_service();
    let args = Args::parse();
    let source = args.source()?;
    tracing::info!(?source, watch = args.watch, "file provider starting");
    let provider = FileProvider::new(source, args.watch);
    actix::System::new().block_on(switchyard_provider::run(provider, args.harness))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::try_parse_from(std::iter::once("svc").chain(args.iter().copied()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn flags() {
        struct Case {
            case: &'static str,
            args: Vec<&'static str>,
            want: Option<(Source, bool)>,
        }
        let dir = || Source::Directory(PathBuf::from("/etc/sy"));
        let cases = vec![
            Case {
                case: "directory, watched by default",
                args: vec!["--directory", "/etc/sy"],
                want: Some((dir(), true)),
            },
            Case {
                case: "file",
                args: vec!["--filename", "/etc/sy/d.toml"],
                want: Some((Source::File(PathBuf::from("/etc/sy/d.toml")), true)),
            },
            Case {
                case: "no watch",
                args: vec!["--directory", "/etc/sy", "--watch=false"],
                want: Some((dir(), false)),
            },
            Case {
                case: "bare --watch",
                args: vec!["--watch", "--directory", "/etc/sy"],
                want: Some((dir(), true)),
            },
            Case {
                case: "boolish spelling",
                args: vec!["--directory", "/etc/sy", "--watch=no"],
                want: Some((dir(), false)),
            },
            Case {
                case: "both sources",
                args: vec!["--directory", "/etc/sy", "--filename", "/etc/sy/a.yml"],
                want: None,
            },
            Case {
                case: "unknown file extension",
                args: vec!["--filename", "/etc/sy/a.conf"],
                want: None,
            },
        ];
        // The environment of the test run could supply a source; only run when it does not.
        if [
            "SWITCHYARD_FILE_FILENAME",
            "SWITCHYARD_FILE_DIRECTORY",
            "SWITCHYARD_FILE_WATCH",
        ]
        .iter()
        .any(|var| std::env::var_os(var).is_some())
        {
            return;
        }
        for case in cases {
            let got = parse(&case.args)
                .and_then(|args| Ok((args.source().map_err(|e| e.to_string())?, args.watch)));
            assert_eq!(got.ok(), case.want, "{}", case.case);
        }
        assert!(parse(&[]).is_err(), "a source is required");
    }
}
