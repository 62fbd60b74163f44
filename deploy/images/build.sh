#!/usr/bin/env bash
# Builds the service images locally from static binaries (no registry needed):
#   deploy/images/build.sh [--debug] [SERVICE...]     (default: every service)
# Tags: switchyard/<service>:<workspace version> and :local.
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=release; flag=--release
if [ "${1:-}" = "--debug" ]; then profile=debug; flag=; shift; fi
services=("$@")
[ ${#services[@]} -gt 0 ] || services=(proxy discovery-file discovery-docker health certificates cli whoami)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
target=x86_64-unknown-linux-gnu
packages=()
for s in "${services[@]}"; do packages+=(-p "switchyard-$s"); done
RUSTFLAGS='-C target-feature=+crt-static' cargo build $flag --target $target "${packages[@]}"
for s in "${services[@]}"; do
  bin=switchyard-$s; [ "$s" = cli ] && bin=switchyard
  context=$(mktemp -d)
  cp "target/$target/$profile/$bin" "$context/"
  cp /etc/ssl/certs/ca-certificates.crt "$context/"
  docker build -q -f "deploy/images/$s/Dockerfile" -t "switchyard/$s:$version" -t "switchyard/$s:local" "$context" >/dev/null
  rm -rf "$context"
  echo "built switchyard/$s:$version"
done
