// A throwaway OCI registry for tests and the lab: Debian's `docker-registry` (distribution
// 2.8), plain HTTP, filesystem storage under a data dir, optionally inside a network
// namespace. Plus `pushTestImages`, which builds the busybox test image and pushes v1 and v2.
//
//   const reg = await startRegistry({ listen: '127.0.0.1:0', dataDir: '/tmp/t/reg' });
//   const { tags } = await pushTestImages(reg.address);   // tags.v1.ref = '127.0.0.1:PORT/shoal/bb:v1'
//   ...
//   await reg.stop();
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pushLayout, PushError, type PushedTag } from './oci-push.ts';
import { isAlive, readPid, runOk, sleep, spawnDetached, stopPid, writePid } from './procs.ts';
import { buildTestImage, TEST_IMAGE_REPO, type TestImageVersion } from './test-image.ts';

/** The registry binary (Debian package docker-registry). */
export const REGISTRY_BIN = '/usr/bin/docker-registry';

/** Options of {@link startRegistry}. */
export interface StartRegistryOptions {
  /** `host:port` to listen on; port 0 picks a free one (read back from the log). */
  listen: string;
  /** Directory for config, storage, log and pid file; created if missing. */
  dataDir: string;
  /** Name of a network namespace (under /run/netns) to run in. Default: ours. */
  netns?: string;
  /** How long to wait for it to listen, in ms. Default 10000. */
  timeoutMs?: number;
  /** A cgroup (v2) directory to put the registry in before it starts. */
  cgroupDir?: string;
}

/** A running registry. */
export interface RunningRegistry {
  /** `host:port` it listens on (port resolved when 0 was asked). */
  address: string;
  pid: number;
  dataDir: string;
  /** Stops it (SIGTERM, then SIGKILL) and waits for the exit. Storage stays. Idempotent. */
  stop(): Promise<void>;
}

/** Thrown when the registry does not come up. */
export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** The config file the registry runs with (YAML is a superset of JSON). */
function registryConfig(listen: string, storage: string): string {
  return JSON.stringify({
    version: '0.1',
    log: { level: 'info', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: storage },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: listen, secret: 'shoal-lab-registry' },
  }, null, 2);
}

/**
 * Starts docker-registry detached (it outlives the calling process; stop it with `stop()`
 * or {@link stopRegistry}) and resolves once it logs that it listens. Throws
 * {@link RegistryError} (with the log tail) if it exits or times out first.
 */
export async function startRegistry(opts: StartRegistryOptions): Promise<RunningRegistry> {
  const { dataDir } = opts;
  mkdirSync(join(dataDir, 'storage'), { recursive: true });
  const configPath = join(dataDir, 'registry.yml');
  const logPath = join(dataDir, 'registry.log');
  writeFileSync(configPath, registryConfig(opts.listen, join(dataDir, 'storage')));
  writeFileSync(logPath, '');
  const args = ['serve', configPath];
  const argv = opts.netns ? ['nsenter', `--net=/run/netns/${opts.netns}`, '--', REGISTRY_BIN, ...args] : [REGISTRY_BIN, ...args];
  const pid = opts.cgroupDir
    ? spawnDetached('sh', ['-c', `echo $$ > '${opts.cgroupDir}/cgroup.procs'; exec "$@"`, 'sh', ...argv], logPath)
    : spawnDetached(argv[0], argv.slice(1), logPath);
  writePid(join(dataDir, 'registry.pid'), pid);
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const log = readFileSync(logPath, 'utf8');
    const m = /msg="listening on ([^"]+)"/.exec(log);
    if (m) {
      const address = m[1].replace(/^\[::\]/, '127.0.0.1');
      return { address, pid, dataDir, stop: () => stopRegistry(dataDir) };
    }
    if (!isAlive(pid) || Date.now() > deadline) {
      await stopPid(pid, 0);
      throw new RegistryError(`registry: did not start on ${opts.listen}: ${log.trim().split('\n').slice(-5).join('\n')}`);
    }
    await sleep(25);
  }
}

/** Stops the registry whose pid file is in `dataDir` (if any); idempotent. */
export async function stopRegistry(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'registry.pid');
  const pid = readPid(pidFile);
  if (pid && isOurRegistry(pid, dataDir)) await stopPid(pid, 3000);
  rmSync(pidFile, { force: true });
}

/** Guards against a recycled PID: the process must be docker-registry serving our config. */
function isOurRegistry(pid: number, dataDir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(dataDir, 'registry.yml'));
  } catch {
    return false;
  }
}

/** Options of {@link pushTestImages}. */
export interface PushTestImagesOptions {
  /** Versions to build and push. Default ['v1', 'v2']. */
  versions?: TestImageVersion[];
  /** Repository to push to. Default 'shoal/bb'. */
  repo?: string;
  /** Where to build the OCI layout (`<workDir>/layout`). Default a fresh temp dir. */
  workDir?: string;
  /** Push from inside this network namespace (for a registry only reachable there). */
  netns?: string;
}

/** What {@link pushTestImages} pushed. */
export interface PushedTestImages {
  /** The OCI layout that was built (holds every version as a tag). */
  layoutDir: string;
  /** Per version: full reference (`registry/repo:tag`) and manifest digest. */
  tags: Partial<Record<TestImageVersion, PushedTag>>;
}

/**
 * Builds the busybox test image (v1 and v2 by default) and pushes it to the registry at
 * `registryAddress` (`host:port`, plain HTTP) with our own distribution client. With
 * `netns`, the push runs in a helper process inside that namespace. Idempotent.
 */
export async function pushTestImages(registryAddress: string, opts: PushTestImagesOptions = {}): Promise<PushedTestImages> {
  const versions = opts.versions ?? ['v1', 'v2'];
  const repo = opts.repo ?? TEST_IMAGE_REPO;
  const workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'shoal-testimg-'));
  const layoutDir = join(workDir, 'layout');
  for (const v of versions) buildTestImage(layoutDir, { version: v });
  let pushed: PushedTag[];
  if (!opts.netns) {
    pushed = await pushLayout(registryAddress, repo, layoutDir, { tags: versions });
  } else {
    const helper = fileURLToPath(new URL('./push-main.ts', import.meta.url));
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const out = await runOk('nsenter', [
      `--net=/run/netns/${opts.netns}`, '--wd=' + root, '--', process.execPath, '--import', 'tsx',
      helper, registryAddress, repo, layoutDir, versions.join(','),
    ], { timeoutMs: 60_000 });
    pushed = JSON.parse(out.trim().split('\n').pop()!) as PushedTag[];
  }
  const tags: PushedTestImages['tags'] = {};
  for (const p of pushed) tags[p.tag as TestImageVersion] = p;
  if (!existsSync(layoutDir)) throw new PushError(`push: layout vanished: ${layoutDir}`);
  return { layoutDir, tags };
}
