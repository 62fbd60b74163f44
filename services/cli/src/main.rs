//! The `switchyard` command-line tool: checks dynamic configuration and explains routing
//! decisions without running a proxy.

mod explain;
mod head;
mod validate;

use std::io::Read as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "switchyard",
    version,
    about = "Switchyard: a Traefik-compatible reverse proxy over NATS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check dynamic-configuration files (YAML or TOML) read together as the `file` provider.
    /// Prints one line per problem; exits 1 if there is any, 0 if clean.
    Validate {
        /// The files, as one provider (like a watched directory).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Read a raw HTTP/1.1 request head on stdin and say which router wins, with the same
    /// normalisation and routing as the proxy.
    Explain {
        /// `[PROVIDER=]FILE`; PROVIDER defaults to `file`. Repeat to simulate several providers.
        #[arg(long = "config", required = true, value_name = "[PROVIDER=]FILE")]
        configs: Vec<String>,
        /// The client's IP, for `ClientIP` matchers.
        #[arg(long)]
        client_ip: Option<IpAddr>,
        /// The entrypoint the request arrives on (default: any).
        #[arg(long)]
        entry_point: Option<String>,
        /// Print one JSON object: {"status", "router", "service"}.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { files } => {
            let report = validate::validate(&files);
            for line in &report.lines {
                println!("{line}");
            }
            if report.lines.is_empty() {
                eprintln!("{} file(s) OK", files.len());
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Command::Explain {
            configs,
            client_ip,
            entry_point,
            json,
        } => {
            let mut input = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut input) {
                eprintln!("switchyard explain: cannot read stdin: {e}");
                return ExitCode::from(2);
            }
            match explain::run(&configs, &input, client_ip, entry_point.as_deref()) {
                Ok(outcome) => {
                    for warning in &outcome.warnings {
                        eprintln!("warning: {warning}");
                    }
                    if json {
                        println!("{}", outcome.to_json());
                    } else {
                        println!("{}", outcome.to_text());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("switchyard explain: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
