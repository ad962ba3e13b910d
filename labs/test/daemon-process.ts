/**
 * Starts `shoal daemon` as a child process for tests and waits until its socket
 * answers; `stop()` sends SIGTERM and waits for the exit, killing it if it hangs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../../src/api/client.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SHOAL_BIN = join(REPO_ROOT, 'bin/shoal.js');

export interface DaemonProcess {
  dir: string;
  socket: string;
  host: string;
  dataRoot: string;
  child: ChildProcess;
  client: ApiClient;
  output(): string;
  /** SIGTERM, then wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Removes the temp dir (after stop). */
  cleanup(): Promise<void>;
}

/**
 * Starts a daemon on a fresh temp dir (or `opts.dir`); `opts.hostname` names the node
 * (default `testhost`), since the daemon takes --hostname only once.
 */
export async function startDaemonProcess(extraArgs: string[] = [], opts: { dir?: string; hostname?: string } = {}): Promise<DaemonProcess> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'shoal-d-')));
  const socket = join(dir, 'shoal.sock');
  const dataRoot = join(dir, 'data');
  const host = `unix://${socket}`;
  const child = spawn(process.execPath, [SHOAL_BIN, 'daemon', '--data-root', dataRoot, '--host', host, '--hostname', opts.hostname ?? 'testhost', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // These daemons run in the machine's own network namespace: no overlay, no routing
    // mesh table, no host-port rules may be made there (lab hosts are namespaces and do).
    env: { ...process.env, SHOAL_DATA_PLANE: 'off' },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const client = new ApiClient(host);
  const proc: DaemonProcess = {
    dir,
    socket,
    host,
    dataRoot,
    child,
    client,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async cleanup() {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await proc.cleanup();
      throw new Error(`daemon exited with ${child.exitCode} before it answered: ${out}`);
    }
    try {
      const res = await client.request('GET', '/_ping', { timeoutMs: 1000 });
      if (res.status === 200) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.cleanup();
      throw new Error(`daemon did not answer /_ping within 20 s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for daemons' --listen-addr). */
export { freePort } from '../../src/swarm/test-node.ts';
