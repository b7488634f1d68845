#!/usr/bin/env bash
# `make test-containers`: builds both images with podman and proves docker/compose.yaml works
# from the host (tests/containers/proof.py says what is checked). Run as root on a fresh
# Debian bookworm machine: installs podman & co. when missing (tests/containers/setup-host.sh),
# makes the base images no registry can give us here (tests/containers/base-images.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
start=$SECONDS
say() { echo "[containers $(date +%H:%M:%S)] $*"; }
trap 'say "containers proof: FAILED after $((SECONDS - start)) s"' ERR

say "host set-up (podman, runc, containers.conf, podman-compose) ..."
tests/containers/setup-host.sh
say "base images ..."
tests/containers/base-images.sh
setup_s=$((SECONDS - start))

# pip inside the build trusts what pip trusts here (a TLS-intercepting proxy's CA, say):
# handed over as the build secret `pip_cert`; without one, pip's own bundle.
cert=${PIP_CERT:-$(.venv/bin/python -m pip config get global.cert 2>/dev/null || true)}
secret=()
if [[ -n $cert && -s $cert ]]; then
  secret=(--secret "id=pip_cert,src=$cert")
fi
build_start=$SECONDS
for image in api worker; do
  say "building imm-engine-$image:local ..."
  podman build --quiet --pull=never "${secret[@]}" -t "imm-engine-$image:local" \
    --label org.imm-engine.proof=1 -f "docker/Dockerfile.$image" . >/dev/null
done
# The images an earlier run left untagged (ours only).
podman image prune -f --filter label=org.imm-engine.proof=1 >/dev/null
build_s=$((SECONDS - build_start))
say "images built in ${build_s} s"

.venv/bin/python tests/containers/proof.py
total=$((SECONDS - start))
say "containers proof: PASSED in ${total} s (host set-up ${setup_s} s, image builds ${build_s} s, compose proof $((total - setup_s - build_s)) s)"
