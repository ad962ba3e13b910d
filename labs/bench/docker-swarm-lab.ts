/**
 * Docker Swarm on the Shoal lab: the same hosts (network namespaces on one bridge, each
 * with its own mount and UTS namespaces, private /run, resolv.conf and hostname `hN`)
 * as `labs/lib`, with one `dockerd` from Debian's docker.io per host in place of the
 * Shoal daemon. This is the approach of the anchor lab
 * (../shared/anchors/docker-swarm/lab.sh), built from our lab library so that the
 * Docker and the Shoal runs share their topology, addresses and clean-up: `lab.killDaemon`
 * is kill -9 of dockerd and everything of that host (containerd), `lab.startDaemon`
 * starts dockerd again and waits for /_ping, and `down` finds every process by PID
 * through the host namespaces, removes namespaces, mounts and directories.
 *
 *   const lab = await upDockerLab({ hosts: 3, prefix: 'shoalfd' });
 *   try { … api(lab, 'h1').init(lab.address('h1')) … } finally { await lab.down(); }
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../lib/lab.ts';
import type { DaemonContext } from '../lib/daemon.ts';

/** Debian's docker.io daemon (20.10), installed by `bash scripts/setup.sh --bench`. */
export const DOCKERD = '/usr/sbin/dockerd';
/** The 20.10 client that matches it (the newer client in /usr/local/bin is not used). */
export const DOCKER_CLI = '/usr/bin/docker';

/** Thrown when dockerd is not installed. */
export class DockerMissingError extends Error {
  override name = 'DockerMissingError';
}

/** The dockerd command line of one lab host (data under the host dir, exec root in its private /run). */
export function dockerdCommand(ctx: DaemonContext): string[] {
  const config = join(ctx.hostDir, 'daemon.json');
  writeFileSync(config, '{}\n');
  return [
    // After a kill -9 of the host, its containerd's pid file and sockets stay in the host's
    // /run; a new dockerd must start its own containerd, not wait for the dead one.
    'sh', '-c', 'rm -rf /run/docker/containerd; exec "$@"', 'dockerd',
    // Swarm tasks would try to pull from the Hub before each start; the lab is offline.
    'env', 'DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1', DOCKERD,
    '--data-root', join(ctx.hostDir, 'docker'),
    '-H', `unix://${ctx.socket}`,
    '--pidfile', join(ctx.hostDir, 'docker.pid'),
    '--config-file', config,
    '--log-level', 'info',
  ];
}

/**
 * Brings up a lab of `hosts` hosts whose daemons are dockerds (replacing a leftover lab
 * of the same prefix). `registry`: run the lab registry (as a Shoal lab does) and let
 * dockerd pull from it over plain HTTP; default false. Throws {@link DockerMissingError}
 * when dockerd is not installed. The caller ends it with `lab.down()` (or `downLabs`).
 */
export async function upDockerLab(opts: { hosts: number; prefix: string; registry?: boolean; log?: (m: string) => void }): Promise<Lab> {
  if (!existsSync(DOCKERD)) throw new DockerMissingError(`${DOCKERD} is missing: run bash scripts/setup.sh --bench`);
  return Lab.up({
    hosts: opts.hosts, prefix: opts.prefix, registry: opts.registry ?? false, replace: true, log: opts.log,
    daemons: { command: opts.registry ? dockerdWithRegistry : dockerdCommand, readyTimeoutMs: 60_000 },
  });
}

/** Ends a bench's labs, last brought up first; a failed `down` is logged, never thrown, so the others still go. */
export async function downLabs(labs: Lab[]): Promise<void> {
  for (const l of [...labs].reverse()) await l.down().catch((e: unknown) => console.error(`bench: lab down: ${String(e)}`));
}

/** The lab registry every bench lab pushes its test images to (on the lab switch). */
export const LAB_REGISTRY = '192.168.100.1:5000';

/** dockerd with the lab registry allowed over plain HTTP (its `daemon.json` in the host's dir). */
export function dockerdWithRegistry(ctx: DaemonContext): string[] {
  const argv = dockerdCommand(ctx);
  writeFileSync(join(ctx.hostDir, 'daemon.json'), JSON.stringify({ 'insecure-registries': [LAB_REGISTRY] }) + '\n');
  return argv;
}
