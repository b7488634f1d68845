#!/usr/bin/env bash
# Prepares this machine to build and run the images with podman (idempotent; run as root):
#   - Debian packages: podman, buildah, runc, mmdebstrap, netavark + aardvark-dns (names between
#     compose services), catatonit (compose's `init: true`);
#   - /etc/containers/containers.conf: runc (crun refuses hybrid cgroup v1/v2 hosts), ulimits
#     pinned to this machine's hard limits (podman's defaults are higher and cannot be raised in
#     an unprivileged VM), the netavark network backend;
#   - podman-compose (PyPI) in the project's venv.
# Only Debian's archive and PyPI need to be reachable.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ $(id -u) -ne 0 ]]; then
  echo "error: tests/containers/setup-host.sh installs packages and writes /etc/containers: run it as root" >&2
  exit 1
fi

packages=(podman buildah runc mmdebstrap uidmap fuse-overlayfs slirp4netns netavark aardvark-dns catatonit iptables)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}"
fi

conf=/etc/containers/containers.conf
marker="# written by imm-engine tests/containers/setup-host.sh"
nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
[[ $nofile == unlimited ]] && nofile=1048576
[[ $nproc == unlimited ]] && nproc=4194304
# Measured on this machine kind: runc may not set nproc above kernel.pid_max (EPERM).
pid_max=$(cat /proc/sys/kernel/pid_max)
(( nproc > pid_max )) && nproc=$pid_max
wanted="$marker
[containers]
default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]

[engine]
runtime = \"runc\"

[network]
network_backend = \"netavark\""
if [[ ! -e $conf ]] || head -1 "$conf" | grep -qF "$marker"; then
  if [[ "$(cat "$conf" 2>/dev/null)" != "$wanted" ]]; then
    mkdir -p /etc/containers
    printf '%s\n' "$wanted" > "$conf"
    echo "wrote $conf"
  fi
else
  echo "note: $conf exists and is not ours; leaving it as it is (needs: runtime=runc on hybrid cgroups, default_ulimits within the hard limits)" >&2
fi
# The backend podman first chose (CNI, before netavark was installed) is remembered here.
if [[ -e /var/lib/containers/storage/defaultNetworkBackend ]] && ! grep -qx netavark /var/lib/containers/storage/defaultNetworkBackend; then
  echo netavark > /var/lib/containers/storage/defaultNetworkBackend
fi

if [[ ! -x .venv/bin/podman-compose ]]; then
  .venv/bin/python -m pip install -q 'podman-compose>=1.2,<2'
fi
