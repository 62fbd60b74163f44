//! Duration parsing, formatting and serde, against Go's `time` semantics.

use proptest::prelude::*;
use switchyard_model::{Duration, DurationError};

const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;

#[test]
fn parses_traefik_durations() {
    let cases: &[(&str, &str, i64)] = &[
        ("bare integer is seconds", "10", 10 * S),
        ("negative bare integer", "-10", -10 * S),
        ("signed bare integer", "+3", 3 * S),
        ("zero", "0", 0),
        ("signed zero", "-0", 0),
        ("seconds", "10s", 10 * S),
        ("minutes and seconds", "1m30s", 90 * S),
        ("milliseconds", "100ms", 100 * MS),
        ("hours", "1h", 3600 * S),
        ("fractional seconds", "1.5s", 1500 * MS),
        ("fractional hours", "1.5h", 5400 * S),
        ("hours and minutes", "2h45m", (2 * 3600 + 45 * 60) * S),
        ("leading dot", ".5s", 500 * MS),
        ("trailing dot", "1.s", S),
        ("negative", "-1s", -S),
        ("explicit plus", "+5s", 5 * S),
        ("microseconds ascii", "1us", 1_000),
        ("microseconds micro sign", "1\u{b5}s", 1_000),
        ("microseconds greek mu", "1\u{3bc}s", 1_000),
        ("nanoseconds", "300ns", 300),
        ("one nanosecond as fraction", "0.000000001s", 1),
        ("many fraction digits truncate", "1.0000000019s", S + 1),
        ("mixed units", "1h1m1s1ms1us1ns", 3_661 * S + MS + 1_000 + 1),
        ("surrounding spaces", " 10s ", 10 * S),
        ("max", "2562047h47m16.854775807s", i64::MAX),
        ("min", "-2562047h47m16.854775808s", i64::MIN),
    ];
    for (case, input, nanos) in cases {
        let got =
            Duration::parse(input).unwrap_or_else(|e| panic!("{case}: {input:?} failed: {e}"));
        assert_eq!(got.as_nanos(), *nanos, "{case}: {input:?}");
    }
}

#[test]
fn rejects_invalid_durations() {
    let cases: &[(&str, &str, DurationError)] = &[
        ("empty", "", DurationError::Empty),
        ("sign only", "-", DurationError::Invalid("-".into())),
        ("unit only", "s", DurationError::Invalid("s".into())),
        ("dot only", ".s", DurationError::Invalid(".s".into())),
        (
            "fraction without unit",
            "1.5",
            DurationError::MissingUnit("1.5".into()),
        ),
        (
            "number after unit without unit",
            "1h30",
            DurationError::MissingUnit("1h30".into()),
        ),
        (
            "unknown unit",
            "10x",
            DurationError::UnknownUnit {
                input: "10x".into(),
                unit: "x".into(),
            },
        ),
        (
            "days are not a Go unit",
            "1d",
            DurationError::UnknownUnit {
                input: "1d".into(),
                unit: "d".into(),
            },
        ),
        (
            "inner sign is part of the unit, as in Go",
            "1h-1m",
            DurationError::UnknownUnit {
                input: "1h-1m".into(),
                unit: "h-".into(),
            },
        ),
        ("words", "abc", DurationError::Invalid("abc".into())),
        (
            "too many hours",
            "9999999999h",
            DurationError::Overflow("9999999999h".into()),
        ),
        (
            "too many seconds",
            "9223372037",
            DurationError::Overflow("9223372037".into()),
        ),
        (
            "one past max",
            "2562047h47m16.854775808s",
            DurationError::Overflow("2562047h47m16.854775808s".into()),
        ),
    ];
    for (case, input, expected) in cases {
        assert_eq!(
            Duration::parse(input).as_ref(),
            Err(expected),
            "{case}: {input:?}"
        );
    }
}

#[test]
fn error_messages_are_clear() {
    let msg = Duration::parse("10x").map_err(|e| e.to_string());
    assert_eq!(
        msg,
        Err("invalid duration \"10x\": unknown unit \"x\" (use ns, us, ms, s, m or h)".to_owned())
    );
}

#[test]
fn formats_like_go() {
    let cases: &[(&str, i64, &str)] = &[
        ("zero", 0, "0s"),
        ("nanoseconds", 1, "1ns"),
        ("fractional microseconds", 1_500, "1.5\u{b5}s"),
        ("milliseconds", 100 * MS, "100ms"),
        ("fractional milliseconds", 1_500_000 + 1, "1.500001ms"),
        ("fractional seconds", 1500 * MS, "1.5s"),
        ("minutes", 90 * S, "1m30s"),
        ("hours keep zero parts", 3600 * S, "1h0m0s"),
        ("negative", -1500 * MS, "-1.5s"),
        ("all parts", 3_723 * S + 500 * MS, "1h2m3.5s"),
        ("min", i64::MIN, "-2562047h47m16.854775808s"),
    ];
    for (case, nanos, expected) in cases {
        assert_eq!(
            Duration::from_nanos(*nanos).to_string(),
            *expected,
            "{case}"
        );
    }
}

#[test]
fn deserializes_strings_and_numbers() {
    let cases: &[(&str, &str, i64)] = &[
        ("string", r#""1m30s""#, 90 * S),
        ("string integer", r#""10""#, 10 * S),
        ("integer", "10", 10 * S),
        ("negative integer", "-1", -S),
        ("float seconds", "1.5", 1500 * MS),
        ("zero", "0", 0),
    ];
    for (case, json, nanos) in cases {
        let got: Duration = serde_json::from_str(json).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(got.as_nanos(), *nanos, "{case}");
    }
}

#[test]
fn deserialize_errors_name_the_problem() {
    let cases: &[(&str, &str, &str)] = &[
        ("bad string", r#""soon""#, "invalid duration \"soon\""),
        ("bool", "true", "expected a duration"),
        ("huge integer", "18446744073709551615", "out of range"),
        ("huge float", "1e300", "out of range"),
    ];
    for (case, json, needle) in cases {
        let err = serde_json::from_str::<Duration>(json)
            .expect_err(case)
            .to_string();
        assert!(
            err.contains(needle),
            "{case}: {err:?} should contain {needle:?}"
        );
    }
}

#[test]
fn serializes_as_go_string() {
    let json = serde_json::to_string(&Duration::from_secs(90)).ok();
    assert_eq!(json.as_deref(), Some(r#""1m30s""#));
}

#[test]
fn converts_to_std() {
    assert_eq!(
        Duration::from_millis(1500).as_std(),
        Some(std::time::Duration::from_millis(1500))
    );
    assert_eq!(Duration::from_secs(-1).as_std(), None);
    assert_eq!(
        Duration::from(std::time::Duration::from_secs(2)),
        Duration::from_secs(2)
    );
    assert_eq!(
        Duration::from(std::time::Duration::MAX).as_nanos(),
        i64::MAX
    );
    assert!(Duration::ZERO.is_zero() && !Duration::ZERO.is_negative());
    assert_eq!("2s".parse::<Duration>(), Ok(Duration::from_secs(2)));
}

proptest! {
    #[test]
    fn display_then_parse_is_identity(nanos in any::<i64>()) {
        let d = Duration::from_nanos(nanos);
        prop_assert_eq!(Duration::parse(&d.to_string()), Ok(d));
    }

    #[test]
    fn serde_round_trips(nanos in any::<i64>()) {
        let d = Duration::from_nanos(nanos);
        let json = serde_json::to_string(&d).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Duration = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, d);
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,24}") {
        let _ = Duration::parse(&s);
    }
}
