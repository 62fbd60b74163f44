//! Reading what `wrk --latency` prints.

use anyhow::Context as _;

/// What a `wrk --latency` run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkReport {
    pub requests: u64,
    pub requests_per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub bytes_read: f64,
    pub socket_errors: u64,
    pub non_2xx: u64,
}

/// `535.52us`, `1.20ms`, `2.00s`, `1.00m` in microseconds.
pub fn parse_latency_us(text: &str) -> Option<f64> {
    let units = [
        ("us", 1.0),
        ("ms", 1e3),
        ("s", 1e6),
        ("m", 60e6),
        ("h", 3600e6),
    ];
    units.iter().find_map(|(unit, scale)| {
        let number = text.strip_suffix(unit)?;
        number.parse::<f64>().ok().map(|n| n * scale)
    })
}

/// `80.00MB`, `512.00KB`, `13B` in bytes (wrk uses powers of 1024).
pub fn parse_size_bytes(text: &str) -> Option<f64> {
    let units = [
        ("TB", 1024f64.powi(4)),
        ("GB", 1024f64.powi(3)),
        ("MB", 1024f64.powi(2)),
        ("KB", 1024.0),
        ("B", 1.0),
    ];
    units.iter().find_map(|(unit, scale)| {
        let number = text.strip_suffix(unit)?;
        number.parse::<f64>().ok().map(|n| n * scale)
    })
}

pub fn parse_wrk(text: &str) -> anyhow::Result<WrkReport> {
    let mut requests = None;
    let mut rps = None;
    let mut p50 = None;
    let mut p99 = None;
    let mut bytes_read = None;
    let mut socket_errors = 0;
    let mut non_2xx = 0;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => p50 = parse_latency_us(v),
            ["99%", v] => p99 = parse_latency_us(v),
            [n, "requests", "in", _, size, "read"] => {
                requests = n.parse().ok();
                bytes_read = parse_size_bytes(size);
            }
            ["Requests/sec:", v] => rps = v.parse().ok(),
            ["Socket", "errors:", rest @ ..] => {
                // `connect 0, read 0, write 0, timeout 0`
                socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => non_2xx = n.parse().unwrap_or(u64::MAX),
            _ => {}
        }
    }
    Ok(WrkReport {
        requests: requests.context("no `N requests in` line")?,
        requests_per_second: rps.context("no `Requests/sec:` line")?,
        p50_us: p50.context("no `50%` latency line")?,
        p99_us: p99.context("no `99%` latency line")?,
        bytes_read: bytes_read.context("no `read` size")?,
        socket_errors,
        non_2xx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK_OK: &str = "Running 5s test @ http://127.0.0.1:8080/bench
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   535.52us  200.00us   5.00ms   80.00%
    Req/Sec    60.00k     2.00k   65.00k    70.00%
  Latency Distribution
     50%  500.00us
     75%  600.00us
     90%  700.00us
     99%    1.20ms
  600000 requests in 5.00s, 80.00MB read
Requests/sec: 120000.00
Transfer/sec:     16.00MB
";

    const WRK_ERRORS: &str = "Running 5s test @ http://127.0.0.1:8080/bench
  2 threads and 256 connections
  Latency Distribution
     50%    2.50ms
     75%    3.00ms
     90%    4.00ms
     99%     1.01s
  1000 requests in 5.01s, 1.50MB read
  Socket errors: connect 0, read 3, write 0, timeout 7
  Non-2xx or 3xx responses: 12
Requests/sec:    199.60
Transfer/sec:    306.59KB
";

    #[test]
    fn wrk_output_is_parsed() {
        let cases = [
            (
                "clean run",
                WRK_OK,
                WrkReport {
                    requests: 600_000,
                    requests_per_second: 120_000.0,
                    p50_us: 500.0,
                    p99_us: 1200.0,
                    bytes_read: 80.0 * 1024.0 * 1024.0,
                    socket_errors: 0,
                    non_2xx: 0,
                },
            ),
            (
                "errors and non-2xx",
                WRK_ERRORS,
                WrkReport {
                    requests: 1000,
                    requests_per_second: 199.6,
                    p50_us: 2500.0,
                    p99_us: 1_010_000.0,
                    bytes_read: 1.5 * 1024.0 * 1024.0,
                    socket_errors: 10,
                    non_2xx: 12,
                },
            ),
        ];
        for (case, input, expected) in cases {
            let got = parse_wrk(input).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn wrk_output_without_figures_is_an_error() {
        let cases = [
            ("empty", ""),
            (
                "no latency distribution",
                "  10 requests in 1.00s, 1.00KB read\nRequests/sec: 10.00\n",
            ),
            (
                "connection refused",
                "unable to connect to 127.0.0.1:1 Connection refused\n",
            ),
        ];
        for (case, input) in cases {
            assert!(parse_wrk(input).is_err(), "{case}");
        }
    }

    #[test]
    fn units_are_converted() {
        let latencies = [
            ("µs", "535.52us", Some(535.52)),
            ("ms", "1.20ms", Some(1200.0)),
            ("s", "2.00s", Some(2_000_000.0)),
            ("minutes", "1.00m", Some(60_000_000.0)),
            ("garbage", "fast", None),
        ];
        for (case, input, expected) in latencies {
            let got = parse_latency_us(input);
            match (got, expected) {
                (Some(g), Some(e)) => assert!((g - e).abs() < 1e-6, "{case}: {g} != {e}"),
                (g, e) => assert_eq!(g, e, "{case}"),
            }
        }
        let sizes = [
            ("bytes", "13B", Some(13.0)),
            ("KB", "2.00KB", Some(2048.0)),
            ("MB", "1.50MB", Some(1.5 * 1024.0 * 1024.0)),
            ("GB", "1.00GB", Some(1024.0 * 1024.0 * 1024.0)),
            ("garbage", "lots", None),
        ];
        for (case, input, expected) in sizes {
            assert_eq!(parse_size_bytes(input), expected, "{case}");
        }
    }
}
