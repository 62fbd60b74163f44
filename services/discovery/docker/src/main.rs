//! Discovery service: docker.

fn main() {}
