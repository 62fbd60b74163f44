//! Discovery service: file.

fn main() {}
