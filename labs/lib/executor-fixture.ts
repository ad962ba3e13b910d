/**
 * Shared set-up of the executor's lab tests: a temp data root and state dir, an
 * ImageService holding the lab's busybox test image (loaded from its OCI tarball),
 * an Executor, and a clean-up that removes containers, mounts, netns, cgroups and
 * the monitor, then checks nothing is left. Lab tests only (needs root).
 */
import { mkdtempSync, readFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestImage, writeOciTarball } from './test-image.ts';
import { ImageService } from '../../src/images/image-service.ts';
import { Executor, type ExecutorOptions } from '../../src/agent/exec/executor.ts';
import { cgroupDirs } from '../../src/agent/exec/kernel.ts';

/** One test environment. */
export interface ExecLab {
  base: string;
  dataRoot: string;
  stateDir: string;
  name: string;
  images: ImageService;
  ex: Executor;
  /** Reference of the loaded test image (v1). */
  image: string;
}

let cachedTar: string | undefined;

/** The test image (v1 and v2) as an OCI tarball, built once per process; removed at exit. */
export function testImageTarball(): string {
  if (cachedTar) return cachedTar;
  const dir = mkdtempSync(join(tmpdir(), 'shoal-exec-img-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  buildTestImage(join(dir, 'layout'), { version: 'v1' });
  buildTestImage(join(dir, 'layout'), { version: 'v2' });
  writeOciTarball(join(dir, 'layout'), join(dir, 'bb.tar'));
  return (cachedTar = join(dir, 'bb.tar'));
}

/** Creates the environment; `fn` runs inside; clean-up runs in finally and asserts no leftovers. */
export async function withExecLab(fn: (lab: ExecLab) => Promise<void>, opts: Partial<ExecutorOptions> = {}): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'shoal-exec-'));
  const name = `t${process.pid}${Math.random().toString(36).slice(2, 6)}`;
  const dataRoot = join(base, 'data');
  const stateDir = join(base, 'run');
  const images = new ImageService({ root: join(dataRoot, 'images') });
  const ex = new Executor({ name, dataRoot, stateDir, images, ...opts });
  images.inUse = (id) => ex.imageInUse(id);
  let failed: unknown;
  try {
    await images.load(testImageTarball());
    await ex.restore();
    await fn({ base, dataRoot, stateDir, name, images, ex, image: 'shoal/bb:v1' });
  } catch (e) {
    failed = e;
  } finally {
    await ex.destroy().catch(() => {});
    const left = leftovers(base, name);
    rmSync(base, { recursive: true, force: true });
    if (!failed && left.length) failed = new Error(`leftovers: ${left.join(', ')}`);
  }
  if (failed) throw failed;
}

/** Mounts under `base`, netns and cgroups of daemon `name`, and monitor processes still there. */
export function leftovers(base: string, name: string): string[] {
  const out: string[] = [];
  for (const l of readFileSync('/proc/self/mounts', 'utf8').split('\n')) if (l.split(' ')[1]?.startsWith(base)) out.push(`mount ${l.split(' ')[1]}`);
  out.push(...cgroupDirs(`/shoal-${name}`).map((d) => `cgroup ${d}`));
  if (existsSync('/run/netns')) for (const n of readdirSync('/run/netns')) if (n.includes(name)) out.push(`netns ${n}`);
  const monPid = join(base, 'run', 'exec', 'monitor', 'monitor.pid');
  if (existsSync(monPid)) {
    const pid = Number(readFileSync(monPid, 'utf8'));
    try { process.kill(pid, 0); out.push(`monitor ${pid}`); process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  const rt = join(base, 'run', 'exec', 'runtime');
  if (existsSync(rt)) for (const c of readdirSync(rt)) out.push(`runtime container ${c}`);
  return out;
}

/** Polls `cond` every 20 ms until true or `ms` passed. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
