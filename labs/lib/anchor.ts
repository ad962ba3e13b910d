// A host's anchor: one `sleep` process per host, started in the host's network namespace
// with its own mount and UTS namespaces, which it holds for everything later entered with
// `nsenter -t ANCHOR -m -n -u` (the daemon, `lab exec`). Before it sleeps it sets the
// hostname, mounts a fresh sysfs (so /sys/class/net shows this netns) with the cgroup tree
// moved back under it, a private tmpfs on /run, and binds the host's own resolv.conf and
// hosts files. Mounts propagate into the host from the root namespace, never out of it.
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabNames } from './names.ts';
import { isAlive, readPid, sleep, spawnDetached, stopPid } from './procs.ts';

/** The anchor's set-up script (POSIX sh); argv: HOSTDIR HOSTNAME. */
export const ANCHOR_SCRIPT = `set -e
H="$1"; NAME="$2"
hostname "$NAME"
mkdir -p "$H/.cgmove"
mount --rbind /sys/fs/cgroup "$H/.cgmove"
umount -l /sys
mount -t sysfs sysfs /sys
mount --move "$H/.cgmove" /sys/fs/cgroup
rmdir "$H/.cgmove"
mount -t tmpfs -o mode=0755,size=256m tmpfs /run
mkdir -p /run/netns /run/lock /run/shoal
if [ -L /etc/resolv.conf ]; then
  t=$(readlink -m /etc/resolv.conf); mkdir -p "$(dirname "$t")"; cp "$H/resolv.conf" "$t"
else
  mount --bind "$H/resolv.conf" /etc/resolv.conf
fi
if [ ! -L /etc/hosts ]; then mount --bind "$H/hosts" /etc/hosts; fi
echo $$ > "$H/anchor.pid"
exec sleep 2147483647
`;

/** Thrown when an anchor does not come up. */
export class AnchorError extends Error {
  override name = 'AnchorError';
}

/** /etc/hosts of every lab host: localhost, the switch and every host by name. */
export function labHostsFile(names: LabNames, hosts: string[]): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${names.switchAddress}\tregistry sw`,
    ...hosts.map((h) => `${names.hostAddress(h)}\t${names.hostname(h)}`),
  ].join('\n') + '\n';
}

/**
 * Starts host `hN`'s anchor (its net namespace must exist) and resolves with its PID once
 * every mount is in place. `cgroupDir`, when given, receives the anchor before it enters
 * the namespaces. Throws {@link AnchorError} with the log if it fails.
 */
export async function startAnchor(names: LabNames, host: string, opts: { hosts: string[]; cgroupDir?: string }): Promise<number> {
  const dir = names.hostDir(host);
  writeFileSync(join(dir, 'resolv.conf'), `nameserver ${names.switchAddress}\noptions timeout:1 attempts:1\n`);
  writeFileSync(join(dir, 'hosts'), labHostsFile(names, opts.hosts));
  const script = join(dir, 'anchor.sh');
  writeFileSync(script, ANCHOR_SCRIPT);
  const pidFile = join(dir, 'anchor.pid');
  writeFileSync(pidFile, '');
  const join_ = opts.cgroupDir ? `echo $$ > '${opts.cgroupDir}/cgroup.procs'; ` : '';
  const pid = spawnDetached('sh', ['-c',
    `${join_}exec nsenter --net=/run/netns/${names.hostNetns(host)} -- unshare -m -u --propagation slave -- sh "$0" "$1" "$2"`,
    script, dir, names.hostname(host)], join(dir, 'anchor.log'));
  const deadline = Date.now() + 10_000;
  while (readPid(pidFile) !== pid) {
    if (!isAlive(pid) || Date.now() > deadline) {
      await stopPid(pid, 0);
      let log = '';
      try {
        log = readFileSync(join(dir, 'anchor.log'), 'utf8');
      } catch { /* none */ }
      throw new AnchorError(`lab: anchor of ${host} failed: ${log.trim()}`);
    }
    await sleep(10);
  }
  return pid;
}

/** nsenter arguments that enter a host through its anchor (mount, net, UTS; cwd /). */
export function enterArgs(anchorPid: number): string[] {
  return ['-t', String(anchorPid), '-m', '-n', '-u', '--wd=/', '--'];
}
