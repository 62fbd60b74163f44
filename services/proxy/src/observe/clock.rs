//! Time sources and the timestamp formats of Traefik's access log.

#[cfg(test)]
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where observations take their time from; tests inject a fixed one.
pub trait Clock: Send + Sync {
    /// Wall-clock time (log timestamps, reload timestamps).
    fn now(&self) -> SystemTime;
    /// Monotonic time (durations).
    fn instant(&self) -> Instant;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

#[cfg(test)]
/// A clock that only moves when told to: both readings start at fixed points and advance
/// together by [`ManualClock::advance`].
#[derive(Debug)]
pub struct ManualClock {
    wall: SystemTime,
    base: Instant,
    offset_ns: AtomicU64,
}

#[cfg(test)]
impl ManualClock {
    /// A clock whose wall time reads `unix_nanos` after the epoch.
    pub fn at_unix_nanos(unix_nanos: u64) -> Self {
        Self {
            wall: UNIX_EPOCH + Duration::from_nanos(unix_nanos),
            base: Instant::now(),
            offset_ns: AtomicU64::new(0),
        }
    }

    /// Moves both readings forward.
    pub fn advance(&self, by: Duration) {
        let ns = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset_ns.fetch_add(ns, Ordering::SeqCst);
    }

    fn offset(&self) -> Duration {
        Duration::from_nanos(self.offset_ns.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.wall + self.offset()
    }

    fn instant(&self) -> Instant {
        self.base + self.offset()
    }
}

/// A UTC calendar time broken into fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn civil(t: SystemTime) -> Civil {
    // Times before the epoch are not produced by a running proxy; clamp rather than fail.
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX / 2);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil, valid for the whole proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month: month as u32,
        day: day as u32,
        hour: (rem / 3600) as u32,
        minute: (rem % 3600 / 60) as u32,
        second: (rem % 60) as u32,
        nanos: since.subsec_nanos(),
    }
}

/// `10/Nov/2009:23:00:00 +0000`: Go's `02/Jan/2006:15:04:05 -0700` on a UTC time, as the
/// common log format writes `StartUTC`.
pub fn clf_timestamp(t: SystemTime) -> String {
    let c = civil(t);
    let month = MONTHS[(c.month as usize).saturating_sub(1) % 12];
    format!(
        "{:02}/{month}/{:04}:{:02}:{:02}:{:02} +0000",
        c.day, c.year, c.hour, c.minute, c.second
    )
}

/// RFC 3339 with nanoseconds, trailing zeros trimmed (Go's `RFC3339Nano`, how a
/// `time.Time` marshals to JSON): `2009-11-10T23:00:00.5Z`.
pub fn rfc3339_nanos(t: SystemTime) -> String {
    let c = civil(t);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    if c.nanos != 0 {
        let digits = format!("{:09}", c.nanos);
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// RFC 3339 to the second (logrus' `time` field): `2009-11-10T23:00:00Z`.
pub fn rfc3339_seconds(t: SystemTime) -> String {
    let c = civil(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn formats_match_go_layouts() {
        // (case, time, CLF, RFC3339Nano, RFC3339)
        let cases = [
            (
                "epoch",
                at(0, 0),
                "01/Jan/1970:00:00:00 +0000",
                "1970-01-01T00:00:00Z",
                "1970-01-01T00:00:00Z",
            ),
            (
                "go reference test date",
                at(1_257_894_000, 0),
                "10/Nov/2009:23:00:00 +0000",
                "2009-11-10T23:00:00Z",
                "2009-11-10T23:00:00Z",
            ),
            (
                "fraction trimmed",
                at(1_257_894_000, 500_000_000),
                "10/Nov/2009:23:00:00 +0000",
                "2009-11-10T23:00:00.5Z",
                "2009-11-10T23:00:00Z",
            ),
            (
                "leap day, nanoseconds",
                at(1_709_210_096, 123_456_789),
                "29/Feb/2024:12:34:56 +0000",
                "2024-02-29T12:34:56.123456789Z",
                "2024-02-29T12:34:56Z",
            ),
            (
                "last second of a year",
                at(1_735_689_599, 1_000),
                "31/Dec/2024:23:59:59 +0000",
                "2024-12-31T23:59:59.000001Z",
                "2024-12-31T23:59:59Z",
            ),
            (
                "before the epoch clamps",
                UNIX_EPOCH - Duration::from_secs(5),
                "01/Jan/1970:00:00:00 +0000",
                "1970-01-01T00:00:00Z",
                "1970-01-01T00:00:00Z",
            ),
        ];
        for (case, t, clf, nano, secs) in cases {
            assert_eq!(clf_timestamp(t), clf, "{case}");
            assert_eq!(rfc3339_nanos(t), nano, "{case}");
            assert_eq!(rfc3339_seconds(t), secs, "{case}");
        }
    }

    #[test]
    fn manual_clock_moves_both_readings() {
        let clock = ManualClock::at_unix_nanos(1_000_000_000);
        let (w0, i0) = (clock.now(), clock.instant());
        clock.advance(Duration::from_millis(1500));
        assert_eq!(
            clock.now().duration_since(w0).ok(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(clock.instant() - i0, Duration::from_millis(1500));
    }
}
