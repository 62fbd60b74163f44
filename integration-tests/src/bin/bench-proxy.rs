//! `just bench`'s proxy benchmark: Switchyard, nginx and HAProxy in front of the same backend,
//! loaded by the same client in one run, against the backend served directly.
//!
//! One `switchyard-whoami` backend, and in front of it the release `switchyard-proxy` (routes
//! from a local NATS JetStream), nginx and HAProxy (Debian's packages, installed when missing),
//! each with upstream keep-alive and no access log. `wrk` (HTTP/1.1 keep-alive) loads every
//! target for each (connections, body) pair; targets are interleaved within a round and rounds
//! repeated, and the median over rounds is reported: requests/s, p50/p99 latency, the ratio
//! against the direct backend in the same round, the CPU time the proxy's processes spent per
//! request served (user+sys from `/proc/<pid>/stat`) and their RSS idle and at peak under load.
//!
//! Environment: `BENCH_SECONDS` (per wrk run, default 5), `BENCH_ROUNDS` (default 3);
//! `BENCH_COUNT_STATUSES=1` has wrk count responses by status in every run (slower; to explain
//! errors: by default a run with errors is repeated once with statuses counted).
//! Output: Markdown on stdout and in `target/bench-proxy.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use crate::procs::{
    Child, CpuSnapshot, START_TIMEOUT, Started, clock_ticks_per_second, cpu_ticks, process_tree,
    rss_kib,
};
use crate::report::{Row, Sample, Target, foreign_note, latency, render_table, row_of, verdict};
use crate::wrk::parse_wrk;
use anyhow::{Context as _, bail};
use serde_json::json;
use switchyard_integration_tests::client::get;
use switchyard_integration_tests::process::{bin_dir, free_port};
use switchyard_integration_tests::{TestBus, eventually, nats_server_binary};

// The parts live in `src/bench/`: a file here would be taken for another binary.
#[path = "../bench/procs.rs"]
mod procs;
#[path = "../bench/report.rs"]
mod report;
#[path = "../bench/wrk.rs"]
mod wrk;

/// Client connections of the runs.
const CONNECTIONS: [u32; 2] = [64, 256];

/// The response bodies of the runs: label, backend path, body size in bytes.
const BODIES: [Body; 2] = [
    Body {
        label: "13 B",
        path: "/bench",
        size: 13,
    },
    Body {
        label: "64 KiB",
        path: "/data?size=65536",
        size: 65536,
    },
];

/// How often RSS is sampled during a run.
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Copy)]
struct Body {
    label: &'static str,
    path: &'static str,
    size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Settings {
    seconds: u64,
    rounds: usize,
}

/// Reads the run's length and repeats; absurd values are refused rather than clamped so a
/// typo does not silently run for an hour.
fn settings_from(seconds: Option<&str>, rounds: Option<&str>) -> anyhow::Result<Settings> {
    let seconds = match seconds {
        None => 5,
        Some(s) => s
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=600).contains(n))
            .with_context(|| format!("BENCH_SECONDS={s:?}: expected 1..=600"))?,
    };
    let rounds = match rounds {
        None => 3,
        Some(s) => s
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=50).contains(n))
            .with_context(|| format!("BENCH_ROUNDS={s:?}: expected 1..=50"))?,
    };
    Ok(Settings { seconds, rounds })
}

// ---------------------------------------------------------------------------------------------
// Tools

struct Tools {
    wrk: PathBuf,
    nginx: Option<PathBuf>,
    haproxy: Option<PathBuf>,
}

fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn apt_get(args: &[&str]) -> bool {
    eprintln!("$ apt-get {}", args.join(" "));
    Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        // stdout is for the Markdown report.
        .stdout(std::io::stderr())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Finds wrk, nginx and HAProxy, installing Debian's packages for the missing ones.
fn ensure_tools() -> anyhow::Result<Tools> {
    let wanted = [
        ("wrk", "wrk"),
        ("nginx", "nginx-light"),
        ("haproxy", "haproxy"),
    ];
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(bin, _)| find_tool(bin).is_none())
        .map(|(_, package)| *package)
        .collect();
    if !missing.is_empty() {
        eprintln!("installing {} (missing)", missing.join(", "));
        let mut args = vec!["install", "-y", "--no-install-recommends"];
        args.extend(&missing);
        // A stale package index is the usual reason for a failed install.
        let installed = apt_get(&args) || (apt_get(&["update"]) && apt_get(&args));
        if !installed {
            eprintln!(
                "could not install {}; run `apt-get install -y {}` as root",
                missing.join(", "),
                missing.join(" ")
            );
        }
    }
    Ok(Tools {
        wrk: find_tool("wrk").context("wrk is missing (Debian package `wrk`)")?,
        nginx: find_tool("nginx"),
        haproxy: find_tool("haproxy"),
    })
}

fn first_line_of(program: &Path, arg: &str) -> String {
    Command::new(program)
        .arg(arg)
        .output()
        .ok()
        .map(|o| {
            let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&o.stderr));
            text.lines().next().unwrap_or_default().trim().to_owned()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Targets

/// A target under load: where wrk sends requests, and the process whose tree is measured.
struct Endpoint {
    target: Target,
    addr: SocketAddr,
    pid: u32,
    rss_idle_kib: u64,
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn nginx_conf(work: &Path, listen: SocketAddr, backend: SocketAddr) -> String {
    let w = work.display();
    format!(
        r#"worker_processes 2;
pid {w}/nginx.pid;
error_log {w}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {w}/nginx-body;
    proxy_temp_path {w}/nginx-proxy;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    upstream backend {{
        server {backend};
        keepalive 256;
        keepalive_requests 1000000;
    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # A 64 KiB body fits in memory: no temporary files, no disk in the figures.
            proxy_buffer_size 8k;
            proxy_buffers 16 8k;
            proxy_max_temp_file_size 0;
        }}
    }}
}}
"#
    )
}

fn haproxy_conf(listen: SocketAddr, backend: SocketAddr) -> String {
    format!(
        r#"global
    nbthread 2
    maxconn 4096

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s

frontend web
    bind {listen}
    default_backend backend

backend backend
    server b1 {backend}
"#
    )
}

fn route_config(backend: SocketAddr) -> serde_json::Value {
    json!({"http": {
        "routers": {"bench": {"rule": "PathPrefix(`/`)", "service": "bench"}},
        "services": {"bench": {"loadBalancer": {"servers": [{"url": format!("http://{backend}")}]}}}
    }})
}

async fn serves_bench(addr: SocketAddr) -> bool {
    get(addr, "127.0.0.1", "/bench")
        .await
        .map(|r| r.status == 200 && r.body == "Hello, World!")
        .unwrap_or(false)
}

/// Starts NATS, the backend, Switchyard, nginx and HAProxy; returns the endpoints to load.
async fn start_targets(
    tools: &Tools,
    bins: &Path,
    work: &Path,
    started: &mut Started,
) -> anyhow::Result<Vec<Endpoint>> {
    let mut endpoints = Vec::new();

    let nats_addr = local(free_port()?);
    let mut nats = Child::spawn(
        "nats",
        &nats_server_binary()?,
        &[
            "-js".into(),
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            nats_addr.port().to_string(),
            "-sd".into(),
            work.join("nats").display().to_string(),
        ],
        work,
        &[],
    )?;
    nats.wait_for_port(nats_addr).await?;
    started.children.push(nats);
    let nats_url = format!("nats://{nats_addr}");

    let backend = local(free_port()?);
    let mut whoami = Child::spawn(
        "whoami",
        &bins.join("switchyard-whoami"),
        &[
            "--address".into(),
            backend.to_string(),
            "--name".into(),
            "b".into(),
            "--workers".into(),
            "1".into(),
        ],
        work,
        &[],
    )?;
    whoami.wait_for_port(backend).await?;
    endpoints.push((Target::Direct, backend, whoami.pid()));
    started.children.push(whoami);

    let web = local(free_port()?);
    let internal = local(free_port()?);
    let mut proxy = Child::spawn(
        "switchyard",
        &bins.join("switchyard-proxy"),
        &[
            "--entrypoint".into(),
            format!("web={web}"),
            "--internal-address".into(),
            internal.to_string(),
            "--instance".into(),
            "bench".into(),
            "--nats-url".into(),
            nats_url.clone(),
            "--workers".into(),
            "2".into(),
        ],
        work,
        &[],
    )?;
    proxy.wait_for_port(web).await?;
    let mut bus = TestBus::connect(&nats_url).await?;
    bus.publish("file", route_config(backend)).await?;
    let routed = eventually(START_TIMEOUT, "Switchyard to serve /bench", || {
        serves_bench(web)
    })
    .await;
    if let Err(e) = routed {
        bail!("{e}\nproxy log:\n{}", proxy.log_text());
    }
    endpoints.push((Target::Switchyard, web, proxy.pid()));
    started.children.push(proxy);

    if let Some(nginx_bin) = &tools.nginx {
        let listen = local(free_port()?);
        let conf = work.join("nginx.conf");
        std::fs::write(&conf, nginx_conf(work, listen, backend))?;
        let mut nginx = Child::spawn(
            "nginx",
            nginx_bin,
            &[
                "-p".into(),
                work.display().to_string(),
                "-e".into(),
                work.join("nginx-error.log").display().to_string(),
                "-c".into(),
                conf.display().to_string(),
                "-g".into(),
                "daemon off;".into(),
            ],
            work,
            &[],
        )?;
        nginx.wait_for_port(listen).await?;
        endpoints.push((Target::Nginx, listen, nginx.pid()));
        started.children.push(nginx);
    }

    if let Some(haproxy_bin) = &tools.haproxy {
        let listen = local(free_port()?);
        let conf = work.join("haproxy.cfg");
        std::fs::write(&conf, haproxy_conf(listen, backend))?;
        let mut haproxy = Child::spawn(
            "haproxy",
            haproxy_bin,
            &["-f".into(), conf.display().to_string(), "-db".into()],
            work,
            &[],
        )?;
        haproxy.wait_for_port(listen).await?;
        endpoints.push((Target::Haproxy, listen, haproxy.pid()));
        started.children.push(haproxy);
    }

    let mut ready = Vec::new();
    for (target, addr, pid) in endpoints {
        eventually(
            START_TIMEOUT,
            &format!("{} to serve /bench", target.name()),
            || serves_bench(addr),
        )
        .await?;
        // Idle: started and checked with a single request, before any load.
        ready.push(Endpoint {
            target,
            addr,
            pid,
            rss_idle_kib: rss_kib(&process_tree(pid)),
        });
    }
    Ok(ready)
}

/// wrk, and a script for it that counts responses by status (run only to explain errors: a
/// Lua `response` hook makes wrk parse every response and would slow the measured runs).
struct Wrk {
    bin: PathBuf,
    status_script: PathBuf,
    /// Count statuses in every run (`BENCH_COUNT_STATUSES`), not only in a rerun after errors.
    count_statuses: bool,
}

const STATUS_SCRIPT: &str = r#"-- Counts responses by status; per thread, keeps the start of the first non-2xx body and
-- the positions (response number in the thread) of the first non-2xx ones: the start or the
-- end of a run points at connection reuse or at shutdown.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {}; sample = ""; seen = 0; positions = "" end
function response(status, headers, body)
  seen = seen + 1
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status >= 300 then
    if sample == "" then sample = string.sub(body or "", 1, 300) end
    if string.len(positions) < 200 then positions = positions .. " " .. seen end
  end
end
function done(summary, latency, requests)
  local total = {}
  for i, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
    local s = t:get("sample")
    if s ~= "" then io.write("non-2xx body: " .. s .. "\n") end
    local p = t:get("positions")
    if p ~= "" then
      io.write("thread " .. i .. ": non-2xx at response" .. p .. " of " .. t:get("seen") .. "\n")
    end
  end
  for k, v in pairs(total) do io.write("status " .. k .. ": " .. v .. "\n") end
end
"#;

/// Runs wrk with `args` (at most `seconds` plus a margin) and returns its output and the peak
/// RSS of `pids` sampled meanwhile.
async fn run_wrk(
    wrk: &Path,
    args: &[String],
    pids: &[u32],
    seconds: u64,
) -> anyhow::Result<(String, u64)> {
    let mut peak_rss = rss_kib(pids);
    let child = tokio::process::Command::new(wrk)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting wrk")?;
    let output = child.wait_with_output();
    tokio::pin!(output);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds + 30);
    let mut tick = tokio::time::interval(RSS_SAMPLE_EVERY);
    let output = loop {
        tokio::select! {
            out = &mut output => break out.context("running wrk")?,
            _ = tick.tick() => peak_rss = peak_rss.max(rss_kib(pids)),
            _ = tokio::time::sleep_until(deadline) => bail!("wrk {} did not finish", args.join(" ")),
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        bail!("wrk {} failed ({}):\n{text}", args.join(" "), output.status);
    }
    Ok((text, peak_rss))
}

/// Loads `endpoint` with wrk for `seconds`, measuring its processes' CPU time and peak RSS.
async fn measure(
    wrk: &Wrk,
    endpoint: &Endpoint,
    connections: u32,
    body: Body,
    seconds: u64,
    ticks_per_second: u64,
) -> anyhow::Result<Sample> {
    let pids = process_tree(endpoint.pid);
    let url = format!("http://{}{}", endpoint.addr, body.path);
    let mut args = vec![
        "-t2".to_owned(),
        format!("-c{connections}"),
        format!("-d{seconds}s"),
        "--latency".to_owned(),
        url,
    ];
    let status_args = ["-s".to_owned(), wrk.status_script.display().to_string()];
    if wrk.count_statuses {
        args.extend(status_args.clone());
    }
    let machine_before = CpuSnapshot::take();
    let ticks_before = cpu_ticks(&pids);
    let (text, peak_rss) = run_wrk(&wrk.bin, &args, &pids, seconds).await?;
    let ticks_after = cpu_ticks(&pids);
    let foreign_share = match (machine_before, CpuSnapshot::take()) {
        (Some(before), Some(after)) => after.foreign_share_since(&before),
        _ => 0.0,
    };
    let report = parse_wrk(&text).with_context(|| format!("wrk output:\n{text}"))?;
    let mut problems = Vec::new();
    if report.requests == 0 {
        problems.push("no request completed".to_owned());
    }
    if report.socket_errors > 0 {
        problems.push(format!("{} socket errors", report.socket_errors));
    }
    if report.non_2xx > 0 {
        problems.push(format!("{} non-2xx/3xx responses", report.non_2xx));
    }
    // wrk prints the size with two decimals; a tenth below the bodies alone is a short body.
    if report.requests > 0 && report.bytes_read < 0.9 * (report.requests * body.size) as f64 {
        problems.push(format!(
            "read {:.0} bytes for {} responses of {} bytes",
            report.bytes_read, report.requests, body.size
        ));
    }
    let mut problem = None;
    if !problems.is_empty() && wrk.count_statuses {
        problem = Some(format!("{}:\n{text}", problems.join("; ")));
    } else if !problems.is_empty() {
        // The same load again, counting statuses, to say what the errors were (errors that
        // depend on what came before, idle time for one, may not come back).
        args.extend(status_args);
        let statuses = match run_wrk(&wrk.bin, &args, &pids, seconds).await {
            Ok((statuses, _)) => statuses,
            Err(e) => format!("{e:#}"),
        };
        problem = Some(format!(
            "{}:\n{text}\nrun again with statuses counted:\n{statuses}",
            problems.join("; ")
        ));
    }
    let cpu_us = (ticks_after.saturating_sub(ticks_before)) as f64 * 1e6 / ticks_per_second as f64;
    Ok(Sample {
        cpu_us_per_request: cpu_us / report.requests.max(1) as f64,
        rss_load_kib: peak_rss,
        foreign_share,
        problem,
        wrk: report,
    })
}

// ---------------------------------------------------------------------------------------------
// Main

struct Outcome {
    markdown: String,
    problems: Vec<String>,
}

fn describe_machine(tools: &Tools, bins: &Path, settings: Settings) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mut out = format!(
        "Machine: {cores} cores ({cpu}). Each run: `wrk -t2 -c<N> -d{}s --latency`, HTTP/1.1 keep-alive; \
         {} round(s), targets interleaved, medians reported. \
         Backend: switchyard-whoami, 1 worker. Proxies: 2 workers/threads, upstream keep-alive, no access log.\n",
        settings.seconds, settings.rounds
    );
    let _ = writeln!(
        out,
        "Versions: {}; {}; {}; {}.",
        first_line_of(&bins.join("switchyard-proxy"), "--version"),
        tools
            .nginx
            .as_deref()
            .map_or("nginx: not run".into(), |p| first_line_of(p, "-v")),
        tools
            .haproxy
            .as_deref()
            .map_or("haproxy: not run".into(), |p| first_line_of(p, "-v")),
        first_line_of(&tools.wrk, "-v"),
    );
    out.push_str(
        "Ratio: req/s over the direct backend's in the same round. CPU: user+sys of the proxy's \
         processes over the requests served (direct row: the backend's own). RSS: summed over \
         processes; idle after start, load the peak sampled every 200 ms.\n",
    );
    out
}

async fn run(settings: Settings, started: &mut Started) -> anyhow::Result<Outcome> {
    let bins = bin_dir()?;
    for name in ["switchyard-proxy", "switchyard-whoami"] {
        if !bins.join(name).is_file() {
            bail!(
                "{} is missing: `cargo build --release -p {name}` (`just bench` does)",
                bins.join(name).display()
            );
        }
    }
    let target_dir = bins.parent().context("no target folder")?.to_path_buf();
    let work = target_dir.join("bench-proxy-work");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;

    let tools = ensure_tools()?;
    let wrk = Wrk {
        bin: tools.wrk.clone(),
        status_script: work.join("statuses.lua"),
        count_statuses: std::env::var_os("BENCH_COUNT_STATUSES").is_some_and(|v| !v.is_empty()),
    };
    std::fs::write(&wrk.status_script, STATUS_SCRIPT)?;
    let ticks = clock_ticks_per_second();
    let endpoints = start_targets(&tools, &bins, &work, started).await?;
    eprintln!(
        "started: {}",
        endpoints
            .iter()
            .map(|e| format!("{} {}", e.target.name(), e.addr))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Warm-up: connections, pools and allocators settle before anything is measured.
    for endpoint in &endpoints {
        measure(&wrk, endpoint, 256, BODIES[0], 1, ticks).await?;
    }

    let mut samples: BTreeMap<(u32, usize, Target), Vec<Sample>> = BTreeMap::new();
    for round in 1..=settings.rounds {
        for connections in CONNECTIONS {
            for (b, body) in BODIES.iter().enumerate() {
                for endpoint in &endpoints {
                    let sample =
                        measure(&wrk, endpoint, connections, *body, settings.seconds, ticks)
                            .await?;
                    eprintln!(
                        "round {round}/{}  c={connections:<3} {:<6} {:<10} {:>9.0} req/s  p99 {:>9}  {:>6.1} µs/req  other load {:>4.1}%{}",
                        settings.rounds,
                        body.label,
                        endpoint.target.name(),
                        sample.wrk.requests_per_second,
                        latency(sample.wrk.p99_us),
                        sample.cpu_us_per_request,
                        sample.foreign_share * 100.0,
                        if sample.problem.is_some() {
                            "  ⚠ errors"
                        } else {
                            ""
                        },
                    );
                    samples
                        .entry((connections, b, endpoint.target))
                        .or_default()
                        .push(sample);
                }
            }
        }
    }

    let mut markdown = String::from("# Proxy benchmark\n\n");
    markdown.push_str(&describe_machine(&tools, &bins, settings));
    let mut problems = Vec::new();
    let none = Vec::new();
    for connections in CONNECTIONS {
        for (b, body) in BODIES.iter().enumerate() {
            let direct = samples
                .get(&(connections, b, Target::Direct))
                .unwrap_or(&none);
            let rows: Vec<Row> = endpoints
                .iter()
                .filter_map(|e| {
                    let own = samples.get(&(connections, b, e.target))?;
                    row_of(e.target, own, direct, e.rss_idle_kib)
                })
                .collect();
            let these = Target::ALL
                .iter()
                .filter_map(|t| samples.get(&(connections, b, *t)))
                .flatten();
            let _ = write!(
                markdown,
                "\n## {connections} connections, {} body\n\n{}\n{}\n\n{}\n",
                body.label,
                render_table(&rows),
                verdict(&rows),
                foreign_note(these),
            );
            for target in Target::ALL {
                for (round, s) in samples
                    .get(&(connections, b, target))
                    .unwrap_or(&none)
                    .iter()
                    .enumerate()
                {
                    if let Some(p) = &s.problem {
                        problems.push(format!(
                            "{} c={connections} {} round {}: {p}",
                            target.name(),
                            body.label,
                            round + 1
                        ));
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        markdown.push_str("\n## Errors\n\n```\n");
        markdown.push_str(&problems.join("\n"));
        markdown.push_str("\n```\n");
    }
    std::fs::write(target_dir.join("bench-proxy.md"), &markdown)?;
    Ok(Outcome { markdown, problems })
}

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match settings_from(
        std::env::var("BENCH_SECONDS").ok().as_deref(),
        std::env::var("BENCH_ROUNDS").ok().as_deref(),
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench-proxy: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let mut started = Started::default();
    let result = {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match terminate.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            r = run(settings, &mut started) => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
            _ = terminated => Err(anyhow::anyhow!("terminated")),
        }
    };
    drop(started);
    match result {
        Ok(outcome) => {
            println!("{}", outcome.markdown);
            if outcome.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!("bench-proxy: some runs had errors (see the Errors section)");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("bench-proxy: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_and_bounded() {
        let cases = [
            (
                "defaults",
                None,
                None,
                Some(Settings {
                    seconds: 5,
                    rounds: 3,
                }),
            ),
            (
                "given",
                Some("10"),
                Some("1"),
                Some(Settings {
                    seconds: 10,
                    rounds: 1,
                }),
            ),
            ("zero seconds", Some("0"), None, None),
            ("too many rounds", None, Some("1000"), None),
            ("not a number", Some("5s"), None, None),
        ];
        for (case, seconds, rounds, expected) in cases {
            assert_eq!(settings_from(seconds, rounds).ok(), expected, "{case}");
        }
    }

    #[test]
    fn configs_point_at_the_backend() {
        let backend = local(9001);
        let listen = local(9002);
        let nginx = nginx_conf(Path::new("/tmp/w"), listen, backend);
        for needle in [
            "server 127.0.0.1:9001;",
            "listen 127.0.0.1:9002;",
            "keepalive 256;",
            "access_log off;",
            "proxy_set_header Connection \"\";",
            "worker_processes 2;",
        ] {
            assert!(nginx.contains(needle), "nginx: {needle}");
        }
        let haproxy = haproxy_conf(listen, backend);
        for needle in [
            "bind 127.0.0.1:9002",
            "server b1 127.0.0.1:9001",
            "nbthread 2",
            "http-reuse always",
        ] {
            assert!(haproxy.contains(needle), "haproxy: {needle}");
        }
        assert!(!haproxy.contains("log "), "haproxy logs nothing");
        assert_eq!(
            route_config(backend)["http"]["services"]["bench"]["loadBalancer"]["servers"][0]["url"],
            "http://127.0.0.1:9001"
        );
    }
}
