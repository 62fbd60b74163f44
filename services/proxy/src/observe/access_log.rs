//! Traefik's access log: the `common` line and the `json` object (logrus' JSON formatter
//! over Traefik's field names), written by one thread fed through a bounded channel so that
//! workers never wait on the disk. When the writer falls behind, lines are dropped and
//! counted rather than queued without bound.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::{Duration, SystemTime};

use actix_web::http::Version;

use super::clock::{clf_timestamp, rfc3339_nanos, rfc3339_seconds};
use crate::config::{AccessLog, AccessLogFormat};

/// Lines that may wait for the writer before new ones are dropped.
pub const DEFAULT_CAPACITY: usize = 16 * 1024;

/// Why the access log cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum AccessLogError {
    /// The file (or its directory) cannot be created or opened.
    #[error("access log {path}: {source}")]
    Open {
        /// The configured path.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// The writer thread cannot be started.
    #[error("access log writer thread: {0}")]
    Spawn(io::Error),
}

/// What the handler knows about a request when it starts, borrowed for the call to
/// [`super::Observation::log_request`], which copies only what the log needs.
#[derive(Debug, Clone, Copy)]
pub struct LogRequest<'a> {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// The `X-Forwarded-For` the client sent, if it came from a trusted peer (Traefik logs
    /// it as `ClientHost` instead of the peer address).
    pub forwarded_for: Option<&'a str>,
    /// The `Host` header (or absolute-form authority) as received.
    pub host: &'a str,
    /// The method.
    pub method: &'a str,
    /// The request target as received: path and query.
    pub path: &'a str,
    /// The HTTP version.
    pub version: Version,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// The `Referer` header.
    pub referer: Option<&'a str>,
    /// The `User-Agent` header.
    pub user_agent: Option<&'a str>,
}

/// One finished request, as the writer formats it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// When the request started (`StartUTC`).
    pub start: SystemTime,
    /// Total time (`Duration`).
    pub duration: Duration,
    /// The TCP peer (`ClientAddr`); `None` when the handler gave no request details.
    pub client_addr: Option<SocketAddr>,
    /// `ClientHost`: the trusted `X-Forwarded-For`, else the peer IP.
    pub client_host: String,
    /// `ClientUsername`, set by authentication middlewares.
    pub username: Option<String>,
    /// `RequestAddr`: the Host header.
    pub host: String,
    /// `RequestMethod`.
    pub method: String,
    /// `RequestPath`: path and query.
    pub path: String,
    /// `RequestProtocol`: `HTTP/1.1`, `HTTP/2.0`.
    pub protocol: &'static str,
    /// Whether the request came over TLS (`RequestScheme`).
    pub tls: bool,
    /// The `Referer` header, only when request headers are kept.
    pub referer: Option<String>,
    /// The `User-Agent` header, only when request headers are kept.
    pub user_agent: Option<String>,
    /// `RequestCount`: requests seen by this process, this one included.
    pub request_count: u64,
    /// `entryPointName`.
    pub entry_point: Arc<str>,
    /// `RouterName`.
    pub router: Option<Arc<str>>,
    /// `ServiceName`.
    pub service: Option<Arc<str>>,
    /// `ServiceURL`: the server the request was forwarded to.
    pub service_url: Option<String>,
    /// `ServiceAddr`: that server's `host:port`.
    pub service_addr: Option<String>,
    /// `OriginDuration`: time from forwarding to the end of the response.
    pub origin_duration: Duration,
    /// `OriginStatus`: 0 when no server answered.
    pub origin_status: u16,
    /// `OriginContentSize`: 0 when no server answered.
    pub origin_content_size: u64,
    /// `DownstreamStatus`.
    pub status: u16,
    /// `DownstreamContentSize`.
    pub response_bytes: u64,
    /// `RequestContentSize`.
    pub request_bytes: u64,
}

/// `RequestProtocol` as Go's `Request.Proto` spells it.
pub fn protocol_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// Go's `net.SplitHostPort`, with Traefik's fallback of the whole value and `-` when it
/// does not split.
fn split_host_port(value: &str) -> (&str, &str) {
    if let Some(rest) = value.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, after)) => match after.strip_prefix(':') {
                Some(port) if !port.contains(':') => (host, port),
                _ => (value, "-"),
            },
            None => (value, "-"),
        };
    }
    match value.split_once(':') {
        Some((host, port)) if !port.contains(':') => (host, port),
        _ => (value, "-"),
    }
}

/// A value that Traefik's common formatter prints bare, `-` when empty.
fn bare(v: &str) -> &str {
    if v.is_empty() { "-" } else { v }
}

/// A value that Traefik's common formatter prints quoted (inner quotes escaped), `"-"` when
/// absent or empty.
fn quoted(out: &mut String, v: Option<&str>) {
    match v.filter(|v| !v.is_empty()) {
        Some(v) => {
            out.push('"');
            out.push_str(&v.replace('"', "\\\""));
            out.push('"');
        }
        None => out.push_str("\"-\""),
    }
}

/// Traefik's common log format:
/// `<ClientHost> - <ClientUsername> [<StartUTC>] "<RequestMethod> <RequestPath> <RequestProtocol>"
/// <DownstreamStatus> <DownstreamContentSize> "<Referer>" "<User-Agent>" <RequestCount>
/// "<RouterName>" "<ServiceURL>" <Duration>ms`, newline included.
pub fn common_line(r: &LogRecord) -> String {
    let mut out = String::with_capacity(192);
    let _ = write!(
        out,
        "{} - {} [{}] \"{} {} {}\" {} {} ",
        bare(&r.client_host),
        bare(r.username.as_deref().unwrap_or("")),
        clf_timestamp(r.start),
        bare(&r.method),
        bare(&r.path),
        r.protocol,
        r.status,
        r.response_bytes,
    );
    quoted(&mut out, r.referer.as_deref());
    out.push(' ');
    quoted(&mut out, r.user_agent.as_deref());
    let _ = write!(out, " {} ", r.request_count);
    quoted(&mut out, r.router.as_deref());
    out.push(' ');
    quoted(&mut out, r.service_url.as_deref());
    let _ = writeln!(out, " {}ms", r.duration.as_millis());
    out
}

/// A JSON value of the access log.
enum Json<'a> {
    Str(&'a str),
    Owned(String),
    Int(u128),
}

/// Writes `s` as a JSON string the way Go's `encoding/json` does by default: HTML-sensitive
/// characters and the JavaScript line separators are escaped too.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", ch as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One JSON object per line with Traefik's field names, keys sorted as logrus (through Go's
/// map encoding) writes them, newline included.
pub fn json_line(r: &LogRecord) -> String {
    let mut fields: BTreeMap<&str, Json<'_>> = BTreeMap::new();
    let (client_ip, client_port) = match r.client_addr {
        Some(addr) => (addr.ip().to_string(), addr.port().to_string()),
        None => ("-".to_owned(), "-".to_owned()),
    };
    if let Some(addr) = r.client_addr {
        fields.insert("ClientAddr", Json::Owned(addr.to_string()));
    }
    let client_host = if r.client_host.is_empty() {
        client_ip
    } else {
        r.client_host.clone()
    };
    fields.insert("ClientHost", Json::Owned(client_host));
    fields.insert("ClientPort", Json::Owned(client_port));
    fields.insert(
        "ClientUsername",
        Json::Str(r.username.as_deref().unwrap_or("-")),
    );
    fields.insert("DownstreamContentSize", Json::Int(r.response_bytes.into()));
    fields.insert("DownstreamStatus", Json::Int(r.status.into()));
    fields.insert("Duration", Json::Int(r.duration.as_nanos()));
    fields.insert("OriginContentSize", Json::Int(r.origin_content_size.into()));
    fields.insert("OriginDuration", Json::Int(r.origin_duration.as_nanos()));
    fields.insert("OriginStatus", Json::Int(r.origin_status.into()));
    fields.insert(
        "Overhead",
        Json::Int(r.duration.saturating_sub(r.origin_duration).as_nanos()),
    );
    if !r.host.is_empty() {
        let (host, port) = split_host_port(&r.host);
        fields.insert("RequestAddr", Json::Str(&r.host));
        fields.insert("RequestHost", Json::Str(host));
        fields.insert("RequestPort", Json::Str(port));
    }
    fields.insert("RequestContentSize", Json::Int(r.request_bytes.into()));
    fields.insert("RequestCount", Json::Int(r.request_count.into()));
    fields.insert("RequestMethod", Json::Str(&r.method));
    fields.insert("RequestPath", Json::Str(&r.path));
    fields.insert("RequestProtocol", Json::Str(r.protocol));
    fields.insert(
        "RequestScheme",
        Json::Str(if r.tls { "https" } else { "http" }),
    );
    fields.insert("RetryAttempts", Json::Int(0));
    if let Some(router) = &r.router {
        fields.insert("RouterName", Json::Str(router));
    }
    if let Some(service) = &r.service {
        fields.insert("ServiceName", Json::Str(service));
    }
    if let Some(url) = &r.service_url {
        fields.insert("ServiceURL", Json::Str(url));
    }
    if let Some(addr) = &r.service_addr {
        fields.insert("ServiceAddr", Json::Str(addr));
    }
    // The container's local zone is UTC; StartLocal is written as Go writes a UTC time.
    let start = rfc3339_nanos(r.start);
    fields.insert("StartLocal", Json::Owned(start.clone()));
    fields.insert("StartUTC", Json::Owned(start));
    fields.insert("entryPointName", Json::Str(&r.entry_point));
    fields.insert("level", Json::Str("info"));
    fields.insert("msg", Json::Str(""));
    if let Some(referer) = &r.referer {
        fields.insert("request_Referer", Json::Str(referer));
    }
    if let Some(agent) = &r.user_agent {
        fields.insert("request_User-Agent", Json::Str(agent));
    }
    fields.insert("time", Json::Owned(rfc3339_seconds(r.start + r.duration)));

    let mut out = String::with_capacity(768);
    out.push('{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(&mut out, key);
        out.push(':');
        match value {
            Json::Str(s) => json_string(&mut out, s),
            Json::Owned(s) => json_string(&mut out, s),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
        }
    }
    out.push_str("}\n");
    out
}

/// The access log: formats and writes on its own thread. Cloning shares the channel.
#[derive(Clone)]
pub struct AccessLogger {
    tx: SyncSender<LogRecord>,
    dropped: Arc<AtomicU64>,
    keep_headers: bool,
}

impl std::fmt::Debug for AccessLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLogger")
            .field("dropped", &self.dropped())
            .field("keep_headers", &self.keep_headers)
            .finish()
    }
}

fn open_file(path: &Path) -> Result<std::fs::File, AccessLogError> {
    let fail = |source| AccessLogError::Open {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)
}

impl AccessLogger {
    /// Opens the configured file (creating its directory) or standard output, and starts the
    /// writer with room for [`DEFAULT_CAPACITY`] waiting lines.
    pub fn open(config: &AccessLog) -> Result<Self, AccessLogError> {
        let sink: Box<dyn Write + Send> = match &config.file_path {
            Some(path) => Box::new(open_file(path)?),
            None => Box::new(io::stdout()),
        };
        Self::to_writer(config.format, sink, DEFAULT_CAPACITY)
    }

    /// Starts a writer thread that writes `format` lines to `sink`; at most `capacity` lines
    /// wait for it (at least one).
    pub fn to_writer(
        format: AccessLogFormat,
        sink: Box<dyn Write + Send>,
        capacity: usize,
    ) -> Result<Self, AccessLogError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(capacity.max(1));
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_loop(&rx, format, sink))
            .map_err(AccessLogError::Spawn)?;
        Ok(Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            keep_headers: false,
        })
    }

    /// Also logs the `Referer` and `User-Agent` request headers. Traefik drops request
    /// headers by default (`accessLog.fields.headers.defaultMode: drop`), so its common lines
    /// show `"-" "-"` there unless they are kept.
    #[cfg(test)]
    pub fn keep_request_headers(mut self, keep: bool) -> Self {
        self.keep_headers = keep;
        self
    }

    /// Whether `Referer` and `User-Agent` are logged.
    pub fn keeps_request_headers(&self) -> bool {
        self.keep_headers
    }

    /// Lines dropped so far because the writer fell behind (or stopped).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queues a record without waiting; drops and counts it when the queue is full.
    pub fn submit(&self, record: LogRecord) {
        match self.tx.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn write_loop(rx: &Receiver<LogRecord>, format: AccessLogFormat, sink: Box<dyn Write + Send>) {
    let mut out = io::BufWriter::with_capacity(64 * 1024, sink);
    let mut failing = false;
    let mut report = |result: io::Result<()>| match result {
        Ok(()) => failing = false,
        Err(e) => {
            // One warning per run of failures, not one per line.
            if !failing {
                tracing::warn!(error = %e, "cannot write the access log");
            }
            failing = true;
        }
    };
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        // Write everything already queued, then flush once: lines reach the file as soon as
        // the queue is empty, without a syscall per line under load.
        while let Some(record) = next {
            let line = match format {
                AccessLogFormat::Common => common_line(&record),
                AccessLogFormat::Json => json_line(&record),
            };
            report(out.write_all(line.as_bytes()));
            next = rx.try_recv().ok();
        }
        report(out.flush());
    }
    report(out.flush());
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::mpsc::{Sender, channel};
    use std::time::UNIX_EPOCH;

    use super::*;

    fn record() -> LogRecord {
        LogRecord {
            start: UNIX_EPOCH + Duration::new(1_257_894_000, 250_000_000),
            duration: Duration::from_micros(123_456),
            client_addr: Some("10.0.0.1:51234".parse().unwrap()),
            client_host: "10.0.0.1".into(),
            username: None,
            host: "example.com:8080".into(),
            method: "GET".into(),
            path: "/foo?a=1&b=2".into(),
            protocol: "HTTP/1.1",
            tls: false,
            referer: None,
            user_agent: None,
            request_count: 7,
            entry_point: Arc::from("web"),
            router: Some(Arc::from("api@docker")),
            service: Some(Arc::from("api@docker")),
            service_url: Some("http://10.0.0.2:80".into()),
            service_addr: Some("10.0.0.2:80".into()),
            origin_duration: Duration::from_micros(100_000),
            origin_status: 200,
            origin_content_size: 512,
            status: 200,
            response_bytes: 512,
            request_bytes: 0,
        }
    }

    #[test]
    fn common_lines() {
        let cases: Vec<(&str, LogRecord, &str)> = vec![
            (
                "routed and forwarded",
                record(),
                "10.0.0.1 - - [10/Nov/2009:23:00:00 +0000] \"GET /foo?a=1&b=2 HTTP/1.1\" 200 512 \"-\" \"-\" 7 \"api@docker\" \"http://10.0.0.2:80\" 123ms\n",
            ),
            (
                "headers kept, quotes escaped, user known",
                LogRecord {
                    referer: Some("https://a.example/\"x\"".into()),
                    user_agent: Some("curl/8.5".into()),
                    username: Some("alice".into()),
                    ..record()
                },
                "10.0.0.1 - alice [10/Nov/2009:23:00:00 +0000] \"GET /foo?a=1&b=2 HTTP/1.1\" 200 512 \"https://a.example/\\\"x\\\"\" \"curl/8.5\" 7 \"api@docker\" \"http://10.0.0.2:80\" 123ms\n",
            ),
            (
                "not routed: router and service URL are \"-\"",
                LogRecord {
                    router: None,
                    service: None,
                    service_url: None,
                    service_addr: None,
                    status: 404,
                    response_bytes: 19,
                    duration: Duration::from_micros(900),
                    client_host: "203.0.113.9, 10.0.0.1".into(),
                    protocol: "HTTP/2.0",
                    ..record()
                },
                "203.0.113.9, 10.0.0.1 - - [10/Nov/2009:23:00:00 +0000] \"GET /foo?a=1&b=2 HTTP/2.0\" 404 19 \"-\" \"-\" 7 \"-\" \"-\" 0ms\n",
            ),
            (
                "client went away, empty fields",
                LogRecord {
                    status: 499,
                    response_bytes: 0,
                    method: String::new(),
                    path: String::new(),
                    client_host: String::new(),
                    referer: Some(String::new()),
                    ..record()
                },
                "- - - [10/Nov/2009:23:00:00 +0000] \"- - HTTP/1.1\" 499 0 \"-\" \"-\" 7 \"api@docker\" \"http://10.0.0.2:80\" 123ms\n",
            ),
        ];
        for (case, r, expected) in cases {
            assert_eq!(common_line(&r), expected, "{case}");
        }
    }

    #[test]
    fn json_lines() {
        let cases: Vec<(&str, LogRecord, &str)> = vec![
            (
                "routed and forwarded",
                record(),
                concat!(
                    r#"{"ClientAddr":"10.0.0.1:51234","ClientHost":"10.0.0.1","ClientPort":"51234","ClientUsername":"-","#,
                    r#""DownstreamContentSize":512,"DownstreamStatus":200,"Duration":123456000,"OriginContentSize":512,"#,
                    r#""OriginDuration":100000000,"OriginStatus":200,"Overhead":23456000,"RequestAddr":"example.com:8080","#,
                    r#""RequestContentSize":0,"RequestCount":7,"RequestHost":"example.com","RequestMethod":"GET","#,
                    r#""RequestPath":"/foo?a=1\u0026b=2","RequestPort":"8080","RequestProtocol":"HTTP/1.1","#,
                    r#""RequestScheme":"http","RetryAttempts":0,"RouterName":"api@docker","ServiceAddr":"10.0.0.2:80","#,
                    r#""ServiceName":"api@docker","ServiceURL":"http://10.0.0.2:80","StartLocal":"2009-11-10T23:00:00.25Z","#,
                    r#""StartUTC":"2009-11-10T23:00:00.25Z","entryPointName":"web","level":"info","msg":"","#,
                    r#""time":"2009-11-10T23:00:00Z"}"#,
                    "\n"
                ),
            ),
            (
                "not routed, IPv6 peer, TLS, headers kept, no host",
                LogRecord {
                    client_addr: Some("[2001:db8::1]:443".parse().unwrap()),
                    client_host: "2001:db8::1".into(),
                    host: String::new(),
                    tls: true,
                    router: None,
                    service: None,
                    service_url: None,
                    service_addr: None,
                    origin_duration: Duration::ZERO,
                    origin_status: 0,
                    origin_content_size: 0,
                    status: 404,
                    response_bytes: 19,
                    duration: Duration::from_secs(2),
                    referer: Some("<script>".into()),
                    user_agent: Some("ua\t\"1\"".into()),
                    ..record()
                },
                concat!(
                    r#"{"ClientAddr":"[2001:db8::1]:443","ClientHost":"2001:db8::1","ClientPort":"443","ClientUsername":"-","#,
                    r#""DownstreamContentSize":19,"DownstreamStatus":404,"Duration":2000000000,"OriginContentSize":0,"#,
                    r#""OriginDuration":0,"OriginStatus":0,"Overhead":2000000000,"#,
                    r#""RequestContentSize":0,"RequestCount":7,"RequestMethod":"GET","#,
                    r#""RequestPath":"/foo?a=1\u0026b=2","RequestProtocol":"HTTP/1.1","#,
                    r#""RequestScheme":"https","RetryAttempts":0,"StartLocal":"2009-11-10T23:00:00.25Z","#,
                    r#""StartUTC":"2009-11-10T23:00:00.25Z","entryPointName":"web","level":"info","msg":"","#,
                    r#""request_Referer":"\u003cscript\u003e","request_User-Agent":"ua\t\"1\"","#,
                    r#""time":"2009-11-10T23:00:02Z"}"#,
                    "\n"
                ),
            ),
        ];
        for (case, r, expected) in cases {
            let line = json_line(&r);
            assert_eq!(line, expected, "{case}");
            assert!(
                serde_json::from_str::<serde_json::Value>(&line).is_ok(),
                "{case}: not JSON"
            );
        }
    }

    #[test]
    fn host_port_splitting_follows_go() {
        let cases = [
            ("host and port", "example.com:8080", ("example.com", "8080")),
            ("no port", "example.com", ("example.com", "-")),
            ("bracketed v6 with port", "[::1]:80", ("::1", "80")),
            ("bracketed v6 without port", "[::1]", ("[::1]", "-")),
            ("bare v6", "::1", ("::1", "-")),
            ("empty port", "example.com:", ("example.com", "")),
        ];
        for (case, input, expected) in cases {
            assert_eq!(split_host_port(input), expected, "{case}");
        }
    }

    #[test]
    fn protocol_names_follow_go() {
        let cases = [
            (Version::HTTP_09, "HTTP/0.9"),
            (Version::HTTP_10, "HTTP/1.0"),
            (Version::HTTP_11, "HTTP/1.1"),
            (Version::HTTP_2, "HTTP/2.0"),
            (Version::HTTP_3, "HTTP/3.0"),
        ];
        for (version, expected) in cases {
            assert_eq!(protocol_name(version), expected);
        }
    }

    /// A sink that tells the test when a write starts and blocks until released.
    struct Gate {
        entered: Sender<()>,
        release: Arc<Mutex<Receiver<()>>>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _ = self.entered.send(());
            let _ = self.release.lock().unwrap().recv();
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let (entered_tx, entered_rx) = channel();
        let (release_tx, release_rx) = channel();
        let written = Arc::new(Mutex::new(Vec::new()));
        let gate = Gate {
            entered: entered_tx,
            release: Arc::new(Mutex::new(release_rx)),
            written: written.clone(),
        };
        // Lines reach the sink when the writer flushes, which it does as soon as its queue is
        // empty: right after taking line 1, so that flush blocks in the gate.
        let logger = AccessLogger::to_writer(AccessLogFormat::Common, Box::new(gate), 2).unwrap();
        logger.submit(LogRecord {
            request_count: 1,
            ..record()
        });
        // The writer took line 1 and is stuck writing it.
        entered_rx.recv().unwrap();
        for n in 2..=6 {
            logger.submit(LogRecord {
                request_count: n,
                ..record()
            });
        }
        // Two fit in the queue, three were dropped.
        assert_eq!(logger.dropped(), 3);
        for _ in 0..10 {
            let _ = release_tx.send(());
        }
        drop(logger);
        // Wait until the writer wrote the two queued lines as well.
        for _ in 0..200 {
            if String::from_utf8_lossy(&written.lock().unwrap())
                .lines()
                .count()
                == 3
            {
                break;
            }
            let _ = release_tx.send(());
            std::thread::sleep(Duration::from_millis(10));
        }
        let text = String::from_utf8_lossy(&written.lock().unwrap()).into_owned();
        let counts: Vec<&str> = text
            .lines()
            .map(|l| l.split(' ').nth(12).unwrap_or(""))
            .collect();
        assert_eq!(counts, vec!["1", "2", "3"], "{text}");
    }

    #[test]
    fn a_file_log_is_created_and_appended() {
        let dir =
            std::env::temp_dir().join(format!("switchyard-access-log-{}", std::process::id()));
        let path = dir.join("nested").join("access.log");
        let _ = std::fs::remove_dir_all(&dir);
        for lines in 1..=2 {
            let logger = AccessLogger::open(&AccessLog {
                format: AccessLogFormat::Json,
                file_path: Some(path.clone()),
            })
            .unwrap();
            logger.submit(record());
            drop(logger);
            // The writer flushes and exits once every sender is gone.
            for _ in 0..200 {
                if std::fs::read_to_string(&path).is_ok_and(|t| t.lines().count() == lines) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            text.lines().all(|l| l.starts_with("{\"ClientAddr\"")),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unopenable_file_is_an_error() {
        let err = AccessLogger::open(&AccessLog {
            format: AccessLogFormat::Common,
            file_path: Some("/proc/no/such/dir/log".into()),
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("access log /proc/no/such/dir/log:"),
            "{err}"
        );
    }
}
