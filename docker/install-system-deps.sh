#!/usr/bin/env bash
# Installs the Debian packages imm-engine needs, only those that are missing.
# Used by `make deps` (and so by `make up` / `make test`) and by the worker image.
#   docker/install-system-deps.sh [--with-redis]
set -euo pipefail

packages=(
  libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui python3-uno
  fonts-noto-cjk fonts-liberation2 fonts-crosextra-carlito fonts-crosextra-caladea
  util-linux bubblewrap
  ffmpeg zip
)
if [[ "${1:-}" == "--with-redis" ]]; then
  packages+=(redis-server)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "Installing Debian packages: ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo=(sudo); else
    echo "error: these packages are missing and I am not root: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
