//! Fuzzes file decoding: any text, read as YAML and as TOML, must decode or fail cleanly.
//!
//! Run with `cargo +nightly fuzz run yaml` from `shared/config/fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_config::{Format, decode_str};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_str(text, Format::Yaml);
        let _ = decode_str(text, Format::Toml);
    }
});
