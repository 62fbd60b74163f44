//! Starting the project's binaries as processes: each test gets its own ports, its own
//! log file, and processes that die with the test.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// The folder holding the workspace's binaries (`target/debug`), found from the test
/// executable's own path (`target/debug/deps/<test>`).
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let deps = exe.parent().context("test executable has no folder")?;
    let dir = if deps.ends_with("deps") {
        deps.parent().context("no target folder")?
    } else {
        deps
    };
    Ok(dir.to_path_buf())
}

/// The path of a workspace binary; `just test` builds them all before running tests.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir()?.join(name);
    if !path.exists() {
        bail!(
            "{} is missing: run `cargo build --workspace --bins` first (`just test` does)",
            path.display()
        );
    }
    Ok(path)
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts connections on `addr`.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("nothing listens on {addr} after {timeout:?}")
}

/// A child process killed when dropped; its output goes to a log file named after it.
pub struct Process {
    child: Child,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
    name: String,
}

impl Process {
    /// Starts `binary` with `args` and `env`.
    pub fn start(
        name: &str,
        binary: &str,
        args: &[String],
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let log_dir = std::env::temp_dir().join("switchyard-test-logs");
        std::fs::create_dir_all(&log_dir)?;
        let log = log_dir.join(format!("{name}-{}.log", std::process::id()));
        let file = std::fs::File::create(&log)?;
        let mut command = Command::new(self::binary(binary)?);
        command
            .args(args)
            .stdout(file.try_clone()?)
            .stderr(file)
            .stdin(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {binary}"))?;
        Ok(Self {
            child,
            log,
            name: name.to_owned(),
        })
    }

    /// The log so far (for assertion messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM (graceful stop).
    pub fn terminate(&self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY-free: shelling out keeps `unsafe` (libc::kill) out of the project.
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("{} still running after {timeout:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running whoami backend.
pub struct Whoami {
    /// The process.
    pub process: Process,
    /// `127.0.0.1:<port>`.
    pub addr: SocketAddr,
}

impl Whoami {
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Starts a whoami backend named `name` on a free port.
pub fn start_whoami(name: &str) -> anyhow::Result<Whoami> {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let process = Process::start(
        &format!("whoami-{name}"),
        "switchyard-whoami",
        &[
            "--address".into(),
            addr.to_string(),
            "--name".into(),
            name.into(),
        ],
        &[],
    )?;
    wait_for_port(addr, Duration::from_secs(10))?;
    Ok(Whoami { process, addr })
}

/// A running proxy.
pub struct Proxy {
    /// The process.
    pub process: Process,
    /// The `web` entrypoint.
    pub web: SocketAddr,
    /// The internal entrypoint (`/ping`, `/metrics`).
    pub internal: SocketAddr,
}

/// Starts a proxy against `nats_url` with a `web` entrypoint and an internal one, plus
/// `extra_args`.
pub fn start_proxy(instance: &str, nats_url: &str, extra_args: &[String]) -> anyhow::Result<Proxy> {
    start_proxy_with(instance, nats_url, extra_args, &[])
}

/// [`start_proxy`] with environment variables.
pub fn start_proxy_with(
    instance: &str,
    nats_url: &str,
    extra_args: &[String],
    env: &[(&str, String)],
) -> anyhow::Result<Proxy> {
    let web: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let internal: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let mut args = vec![
        "--entrypoint".to_owned(),
        format!("web={web}"),
        "--internal-address".into(),
        internal.to_string(),
        "--instance".into(),
        instance.into(),
        "--nats-url".into(),
        nats_url.into(),
        "--workers".into(),
        "2".into(),
    ];
    args.extend_from_slice(extra_args);
    let mut env = env.to_vec();
    env.push(("RUST_LOG", "info".into()));
    let process = Process::start(
        &format!("proxy-{instance}"),
        "switchyard-proxy",
        &args,
        &env,
    )?;
    wait_for_port(web, Duration::from_secs(20)).with_context(|| process.log_text())?;
    wait_for_port(internal, Duration::from_secs(5))?;
    Ok(Proxy {
        process,
        web,
        internal,
    })
}
