#!/usr/bin/env bash
# Makes the base images podman cannot pull here (no container registry is reachable), from
# Debian's archive, when they are missing:
#   docker.io/library/debian:bookworm-slim   mmdebstrap minbase bookworm, imported
#   localhost/imm-redis-standin:bookworm     that base + Debian's redis-server, a stand-in for
#                                            redis:7-bookworm (labelled as such)
# With a registry, Docker pulls the real debian:bookworm-slim and redis:7-bookworm instead.
set -euo pipefail
mirror=${IMM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
base=docker.io/library/debian:bookworm-slim
redis=localhost/imm-redis-standin:bookworm

if ! podman image exists "$base"; then
  echo "making $base with mmdebstrap (stand-in for the registry's image)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mmdebstrap --quiet --variant=minbase --include=ca-certificates \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm "$tmp/rootfs.tar" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
  podman import --quiet \
    --change 'CMD ["bash"]' \
    --change 'LABEL org.opencontainers.image.description="stand-in for debian:bookworm-slim: mmdebstrap minbase bookworm from the Debian archive"' \
    "$tmp/rootfs.tar" "$base" >/dev/null
fi

if ! podman image exists "$redis"; then
  echo "making $redis (stand-in for redis:7-bookworm)"
  podman build --quiet --pull=never -t "$redis" -f - . <<'DOCKERFILE' >/dev/null
FROM docker.io/library/debian:bookworm-slim
LABEL org.opencontainers.image.description="stand-in for redis:7-bookworm: Debian bookworm's redis-server on the mmdebstrap base"
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
DOCKERFILE
fi
