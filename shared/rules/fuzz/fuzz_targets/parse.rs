//! Fuzzes the rule parser: arbitrary UTF-8 parsed as HTTP and TCP rules must
//! never panic, and every accepted rule must survive print -> parse.
//!
//! Run with `cargo +nightly fuzz run parse` from `shared/rules/fuzz`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_rules::{parse_http, parse_tcp};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rule) = parse_http(input) {
        let printed = rule.to_string();
        let reparsed = parse_http(&printed);
        assert_eq!(reparsed.as_ref(), Ok(&rule), "HTTP rule {input:?} printed as {printed:?}");
        let reprinted = reparsed.map(|r| r.to_string()).unwrap_or_default();
        assert_eq!(reprinted, printed, "HTTP print is not stable");
        let _ = rule.host_constraint();
    }
    if let Ok(rule) = parse_tcp(input) {
        let printed = rule.to_string();
        let reparsed = parse_tcp(&printed);
        assert_eq!(reparsed.as_ref(), Ok(&rule), "TCP rule {input:?} printed as {printed:?}");
        let _ = rule.sni_constraint();
    }
});
