#!/usr/bin/env bash
# Generates what deploy/compose/compose.yml needs and the repository does not hold:
#   secrets/bus_secret   32 random bytes (hex) sealing private keys on the bus
#   certs/demo.pem, .key a self-signed certificate for whoami.localhost and file.localhost
# Existing files are kept, so running it again changes nothing.
set -euo pipefail
cd "$(dirname "$0")"
umask 077
mkdir -p secrets certs
if [ ! -s secrets/bus_secret ]; then
  openssl rand -hex 32 > secrets/bus_secret
  echo "wrote deploy/compose/secrets/bus_secret"
fi
if [ ! -s certs/demo.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 90 \
    -subj "/CN=whoami.localhost" \
    -addext "subjectAltName=DNS:whoami.localhost,DNS:file.localhost" \
    -keyout certs/demo.key -out certs/demo.pem 2>/dev/null
  echo "wrote deploy/compose/certs/demo.pem and demo.key"
fi
# The containers run as root in FROM-scratch images (Compose), but the Kubernetes manifests
# and rootless Docker do not: let any user read the demo files (not the bus secret).
chmod 0644 certs/demo.pem certs/demo.key
chmod 0755 secrets certs
