#!/usr/bin/env bash
# Installs everything Shoal needs on a fresh Debian 12 machine with Node 20, as root.
# Idempotent: a second run only checks. Usage: scripts/setup.sh [--bench]
#   --bench  also installs the peers the benchmarks compare against (etcd, Docker Engine).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(crun runc nftables iproute2 busybox-static docker-registry skopeo umoci iperf3 curl util-linux procps kmod)
# perl (not only perl-base): Time::HiRes for the network benchmark's DNS timing client.
BENCH_PACKAGES=(etcd-server etcd-client docker.io perl)

want=("${APT_PACKAGES[@]}")
[[ "${1:-}" == "--bench" ]] && want+=("${BENCH_PACKAGES[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Services must not start on install: the lab starts its own registry, etcd and dockerd.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
