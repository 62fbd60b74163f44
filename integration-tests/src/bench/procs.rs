//! The benchmark's processes: children stopped with their descendants, and the CPU time and
//! RSS of a process tree read from `/proc`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// Every wait on a process or a port ends after this long.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// `ppid`, `utime + stime`, `cutime + cstime` and the start time (clock ticks) from
/// `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub ppid: u32,
    pub ticks: u64,
    /// Of the children it waited for (wrk, once a run is over).
    pub children_ticks: u64,
    /// Tells a process from a later one that reused its pid.
    pub start: u64,
}

/// Parses `/proc/<pid>/stat`; the command name may hold spaces and parentheses, so fields are
/// counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); ppid is field 4, utime 14, stime 15, cutime 16,
    // cstime 17, starttime 22.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(ProcStat {
        ppid: u32::try_from(field(4)?).ok()?,
        ticks: field(14)? + field(15)?,
        children_ticks: field(16)? + field(17)?,
        start: field(22)?,
    })
}

/// `VmRSS` in KiB from `/proc/<pid>/status`.
pub fn parse_vm_rss_kib(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Busy and total clock ticks of all CPUs from `/proc/stat`'s `cpu` line (guest time is
/// already counted in user time).
pub fn parse_machine_ticks(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    let at = |i: usize| fields.get(i).copied();
    let busy = at(0)? + at(1)? + at(2)? + at(5)? + at(6)? + at(7)?;
    Some((busy, busy + at(3)? + at(4)?))
}

/// CPU ticks of the whole machine and of this process with everything it started: the
/// difference over a run is what other processes took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSnapshot {
    pub machine_busy: u64,
    pub machine_total: u64,
    pub ours: u64,
}

impl CpuSnapshot {
    pub fn take() -> Option<Self> {
        let (machine_busy, machine_total) =
            parse_machine_ticks(&std::fs::read_to_string("/proc/stat").ok()?)?;
        let me = std::process::id();
        let own = stat_of(me)?;
        Some(Self {
            machine_busy,
            machine_total,
            ours: cpu_ticks(&process_tree(me)) + own.children_ticks,
        })
    }

    /// The share of the machine's CPU (0..1) that other processes used since `earlier`.
    pub fn foreign_share_since(&self, earlier: &CpuSnapshot) -> f64 {
        let total = self.machine_total.saturating_sub(earlier.machine_total);
        let busy = self.machine_busy.saturating_sub(earlier.machine_busy);
        let ours = self.ours.saturating_sub(earlier.ours);
        if total == 0 {
            return 0.0;
        }
        busy.saturating_sub(ours) as f64 / total as f64
    }
}

/// The parsed `/proc/<pid>/stat` of `pid`, if it runs.
pub fn stat_of(pid: u32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// `root` and all its descendants (nginx's workers, for instance).
pub fn process_tree(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if let Some(stat) = stat_of(pid) {
                parents.push((pid, stat.ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    // Each pid is added at most once, so this ends after at most `parents.len()` steps.
    while i < tree.len() && i <= parents.len() {
        let parent = tree[i];
        for &(pid, ppid) in &parents {
            if ppid == parent && !tree.contains(&pid) {
                tree.push(pid);
            }
        }
        i += 1;
    }
    tree
}

pub fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|&p| stat_of(p))
        .map(|s| s.ticks)
        .sum()
}

pub fn rss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|s| parse_vm_rss_kib(&s))
        .sum()
}

pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(100)
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A child process stopped (with its descendants) when dropped: SIGTERM, then SIGKILL.
pub struct Child {
    name: String,
    child: std::process::Child,
    log: PathBuf,
}

fn signal(sig: &str, pid: u32) {
    // Shelling out keeps `unsafe` (libc::kill) out of the project.
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Child {
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        work: &Path,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let log = work.join(format!("{name}.log"));
        let file = std::fs::File::create(&log)?;
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(work)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .env_remove("RUST_LOG");
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `addr` accepts connections, failing early (with the log) if the process dies.
    pub async fn wait_for_port(&mut self, addr: SocketAddr) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before listening on {addr}:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!(
            "{} does not listen on {addr} after {START_TIMEOUT:?}:\n{}",
            self.name,
            self.log_text()
        )
    }

    pub fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let tree: Vec<(u32, Option<u64>)> = process_tree(self.pid())
            .into_iter()
            .filter(|&p| p != self.pid())
            .map(|p| (p, stat_of(p).map(|s| s.start)))
            .collect();
        signal("-TERM", self.pid());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Descendants that outlived their parent (nginx workers of a killed master).
        for &(pid, start) in &tree {
            if start.is_some() && stat_of(pid).map(|s| s.start) == start {
                signal("-KILL", pid);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything the benchmark started, stopped in reverse order of start when dropped.
#[derive(Default)]
pub struct Started {
    pub children: Vec<Child>,
}

impl Drop for Started {
    fn drop(&mut self) {
        while let Some(mut child) = self.children.pop() {
            child.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_parsed() {
        let cases = [
            (
                "plain",
                "1234 (nginx) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 4 6 20 0 1 0 100 1000 200",
                Some(ProcStat {
                    ppid: 1,
                    ticks: 325,
                    children_ticks: 10,
                    start: 100,
                }),
            ),
            (
                "name with spaces and parentheses",
                "99 (a) b (c) R 42 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1",
                Some(ProcStat {
                    ppid: 42,
                    ticks: 10,
                    children_ticks: 0,
                    start: 1,
                }),
            ),
            ("truncated", "99 (x) R 42 99", None),
            ("no name", "garbage", None),
        ];
        for (case, input, expected) in cases {
            assert_eq!(parse_stat(input), expected, "{case}");
        }
        let status = "Name:\tnginx\nVmPeak:\t 20000 kB\nVmRSS:\t    5120 kB\nThreads:\t1\n";
        assert_eq!(parse_vm_rss_kib(status), Some(5120));
        assert_eq!(parse_vm_rss_kib("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn machine_ticks_are_parsed() {
        let cases = [
            (
                "with guest columns",
                "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n",
                Some((161, 1181)),
            ),
            ("old kernel, no steal", "cpu  100 5 50 1000 20 3 2\n", None),
            ("no cpu line", "intr 1 2 3\n", None),
        ];
        for (case, input, expected) in cases {
            assert_eq!(parse_machine_ticks(input), expected, "{case}");
        }
    }

    #[test]
    fn foreign_load_is_the_machine_minus_ours() {
        let at = |busy, total, ours| CpuSnapshot {
            machine_busy: busy,
            machine_total: total,
            ours,
        };
        let cases = [
            ("all ours", at(100, 200, 50), at(300, 400, 250), 0.0),
            ("a quarter foreign", at(0, 0, 0), at(150, 200, 100), 0.25),
            ("no time passed", at(5, 10, 0), at(5, 10, 0), 0.0),
            // Our ticks are sampled at other instants than the machine's; never below zero.
            ("ours above busy", at(0, 0, 0), at(90, 200, 100), 0.0),
        ];
        for (case, before, after, expected) in cases {
            let got = after.foreign_share_since(&before);
            assert!((got - expected).abs() < 1e-9, "{case}: {got}");
        }
    }

    #[test]
    fn this_process_is_found_in_proc() {
        let me = std::process::id();
        assert!(process_tree(me).contains(&me));
        assert!(rss_kib(&[me]) > 0);
        assert!(stat_of(me).is_some());
        assert!(CpuSnapshot::take().is_some());
    }
}
