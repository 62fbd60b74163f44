//! When to renew a certificate and when to retry a failed order.
//!
//! Renewal follows Traefik's table (`getCertificateRenewDurations` of its ACME provider),
//! keyed by the resolver's `certificatesDuration`, capped so that a certificate is never
//! renewed more than a third of its actual lifetime before it ends: a 2-minute test
//! certificate renews after 80 s instead of at once and forever. An ARI window from the CA
//! can only bring the renewal earlier.

use std::time::Duration;

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// Traefik's table: how long before the end to renew, and how often Traefik checks, for a
/// `certificatesDuration` in hours.
pub fn traefik_renew_durations(certificates_duration_hours: u64) -> (Duration, Duration) {
    let (before, every) = match certificates_duration_hours {
        h if h >= 365 * 24 => (4 * 30 * DAY, 7 * DAY),
        h if h >= 3 * 30 * 24 => (30 * DAY, DAY),
        h if h >= 7 * 24 => (DAY, HOUR),
        h if h >= 24 => (6 * HOUR, 600),
        _ => (1200, 60),
    };
    (Duration::from_secs(before), Duration::from_secs(every))
}

/// When (Unix seconds) to renew a certificate valid from `not_before` to `not_after`
/// (Unix seconds), issued by a resolver with `certificatesDuration` in hours.
pub fn renew_at(not_before: i64, not_after: i64, certificates_duration_hours: u64) -> i64 {
    let (before, _) = traefik_renew_durations(certificates_duration_hours);
    let before = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
    let lifetime = not_after.saturating_sub(not_before).max(0);
    not_after.saturating_sub(before.min(lifetime / 3))
}

/// The first wait before retrying a failed order.
pub const FIRST_RETRY: Duration = Duration::from_secs(10);
/// The longest wait between two attempts for one certificate.
pub const MAX_RETRY: Duration = Duration::from_secs(3600);
/// The wait after a rate limit without `Retry-After`.
pub const RATE_LIMITED: Duration = Duration::from_secs(15 * 60);

/// The wait before attempt `failures + 1` (`failures` >= 1): 10 s doubling up to an hour;
/// a rate limit waits at least what the CA said (`retry_after`), or 15 minutes.
pub fn retry_after_failure(
    failures: u32,
    rate_limited: bool,
    retry_after: Option<Duration>,
) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let backoff = FIRST_RETRY.saturating_mul(1 << exp).min(MAX_RETRY);
    let floor = match (rate_limited, retry_after) {
        (_, Some(d)) => d,
        (true, None) => RATE_LIMITED,
        (false, None) => Duration::ZERO,
    };
    backoff.max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traefik_table() {
        let cases = [
            (24 * 365, 120 * DAY, 7 * DAY),
            (2160, 30 * DAY, DAY),
            (24 * 7, DAY, HOUR),
            (24, 6 * HOUR, 600),
            (1, 1200, 60),
        ];
        for (hours, before, every) in cases {
            assert_eq!(
                traefik_renew_durations(hours),
                (Duration::from_secs(before), Duration::from_secs(every)),
                "{hours} h"
            );
        }
    }

    #[test]
    fn renewal_time() {
        let t0 = 1_000_000;
        let cases = [
            (
                "90-day cert, default table",
                t0,
                t0 + 90 * DAY as i64,
                2160,
                t0 + 60 * DAY as i64,
            ),
            (
                "2-minute cert renews after 80 s",
                t0,
                t0 + 120,
                2160,
                t0 + 80,
            ),
            (
                "1-day cert with 1-day setting",
                t0,
                t0 + DAY as i64,
                24,
                t0 + 18 * HOUR as i64,
            ),
            (
                "1-year cert with 1-year setting",
                t0,
                t0 + 365 * DAY as i64,
                24 * 365,
                t0 + 245 * DAY as i64,
            ),
            ("nonsense validity", t0, t0 - 5, 2160, t0 - 5),
        ];
        for (case, nb, na, hours, expected) in cases {
            assert_eq!(renew_at(nb, na, hours), expected, "{case}");
        }
    }

    #[test]
    fn retries() {
        let s = Duration::from_secs;
        let cases = [
            ("first", 1, false, None, s(10)),
            ("third", 3, false, None, s(40)),
            ("capped", 30, false, None, s(3600)),
            ("rate limited", 1, true, None, s(900)),
            (
                "retry-after wins when longer",
                2,
                true,
                Some(s(7200)),
                s(7200),
            ),
            ("backoff wins when longer", 5, false, Some(s(1)), s(160)),
        ];
        for (case, failures, limited, after, expected) in cases {
            assert_eq!(
                retry_after_failure(failures, limited, after),
                expected,
                "{case}"
            );
        }
    }
}
