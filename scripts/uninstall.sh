#!/usr/bin/env bash
# Removes what scripts/install.sh installed, as root: the unit, the command, /opt/shoal,
# /etc/shoal, and the packages install.sh itself added. The data root /var/lib/shoal (the
# swarm's Raft log, keys and volumes) is kept unless --purge is given.
#
# On a live host (no DESTDIR) it first takes the node down: leaves the swarm if the daemon
# answers (a manager should be demoted or removed by the others first; --force skips that
# check), stops and disables the unit, removes the containers still in the runtime's
# state, and deletes the nftables tables Shoal made.
#
#   scripts/uninstall.sh [--purge] [--force]
#   DESTDIR=DIR  remove the files staged under DIR only (tests; nothing else is touched)
#   SHOAL_UNINSTALL_LIVE=1  with DESTDIR: take the node down too (tests, inside a lab host
#                whose /run and network namespace are its own); SHOAL_DAEMON_PID then
#                names the daemon to stop, as systemd would stop the unit
set -euo pipefail

purge=0 force=0
for a in "$@"; do
  case $a in
    --purge) purge=1 ;;
    --force) force=1 ;;
    *) echo "uninstall: unknown argument $a (expected --purge, --force)" >&2; exit 2 ;;
  esac
done
D=${DESTDIR:-}
log() { echo "uninstall: $*" >&2; }
[[ $(id -u) == 0 ]] || { log "run as root"; exit 1; }
[[ -n $D && $D != /* ]] && { log "DESTDIR must be an absolute path"; exit 1; }

live=0
[[ -z $D || ${SHOAL_UNINSTALL_LIVE:-} == 1 ]] && live=1
if ((live)); then
  shoal=$D/opt/shoal/bin/shoal
  if [[ -x $shoal ]] && "$shoal" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null | grep -qx active; then
    if [[ $force == 0 ]] && "$shoal" info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null | grep -qx true; then
      log "this node is a swarm manager: demote it (shoal node demote) or pass --force"; exit 1
    fi
    log "leaving the swarm"
    "$shoal" swarm leave --force >/dev/null || log "swarm leave failed; going on"
  fi
  if [[ -z $D && -d /run/systemd/system ]]; then
    systemctl disable shoal.service >/dev/null 2>&1 || true
    systemctl stop shoal.service >/dev/null 2>&1 || true
    # KillMode=process left the helpers running (so a restart re-adopts them): end them.
    cg=/sys/fs/cgroup/system.slice/shoal.service
    [[ -f $cg/cgroup.procs ]] && xargs -r kill -9 < "$cg/cgroup.procs" 2>/dev/null || true
    systemctl reset-failed shoal.service >/dev/null 2>&1 || true
  elif [[ -n ${SHOAL_DAEMON_PID:-} ]]; then
    kill -TERM "$SHOAL_DAEMON_PID" 2>/dev/null || true
    for _ in $(seq 1 600); do kill -0 "$SHOAL_DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  # Containers outlive the daemon; their runtime state says which are left.
  runtime_root=/run/shoal/exec/runtime
  for rt in runc crun; do
    command -v $rt >/dev/null || continue
    [[ -d $runtime_root ]] || continue
    for id in $($rt --root "$runtime_root" list -q 2>/dev/null); do
      $rt --root "$runtime_root" delete --force "$id" >/dev/null 2>&1 || true
    done
  done
  # The exec monitor (one perl process per daemon, the containers' subreaper) outlives it too.
  mon=/run/shoal/exec/monitor/monitor.pid
  if [[ -f $mon ]] && grep -q monitor.pl "/proc/$(cat "$mon")/cmdline" 2>/dev/null; then
    kill -9 "$(cat "$mon")" 2>/dev/null || true
  fi
  if command -v nft >/dev/null; then
    nft list tables 2>/dev/null | awk '$3 ~ /^shoal/ { print $2, $3 }' | while read -r family name; do
      nft delete table "$family" "$name" || true
    done
  fi
  rm -rf /run/shoal
  # iproute2's convention, which Shoal follows: /run/netns bound onto itself and shared. An
  # empty one serves nobody and is made again on demand, so the host is left as found.
  if mountpoint -q /run/netns 2>/dev/null && [[ -z $(ls -A /run/netns) ]]; then
    umount /run/netns 2>/dev/null || log "could not unmount the empty /run/netns; going on"
  fi
fi

rm -f "$D/etc/systemd/system/shoal.service"
[[ -z $D && -d /run/systemd/system ]] && systemctl daemon-reload
# Only our link: a `shoal` installed some other way stays.
if [[ -L $D/usr/local/bin/shoal && $(readlink "$D/usr/local/bin/shoal") == /opt/shoal/bin/shoal ]]; then
  rm -f "$D/usr/local/bin/shoal"
fi
rm -rf "$D/etc/shoal"
packages=()
[[ -f $D/opt/shoal/.apt-installed ]] && mapfile -t packages < <(sort -u "$D/opt/shoal/.apt-installed")
rm -rf "$D/opt/shoal"
if ((purge)); then
  rm -rf "$D/var/lib/shoal"
else
  [[ -d $D/var/lib/shoal ]] && log "kept the data root $D/var/lib/shoal (--purge removes it)"
fi
if ((${#packages[@]})) && [[ -z $D ]]; then
  log "removing the packages install.sh added: ${packages[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 remove -y -qq "${packages[@]}" >/dev/null || log "apt-get remove failed"
fi
# Empty parents the install made (a staged tree is then left as it was found).
for d in "$D/usr/local/bin" "$D/usr/local" "$D/usr" "$D/etc/systemd/system" "$D/etc/systemd" "$D/etc" "$D/var/lib" "$D/var" "$D/opt"; do
  [[ -n $D ]] && rmdir "$d" 2>/dev/null || true
done
log "removed Shoal${D:+ from $D}"
