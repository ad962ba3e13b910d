/**
 * One node's WireGuard device: the kernel's where `ip link add type wireguard` works,
 * else `wireguard-go -f` (userspace over /dev/net/tun) run in the foreground as a child
 * this object supervises: restarted when it dies (with the address, MTU and last
 * configuration applied again), killed by its PID on `down()`. It never daemonizes: a
 * forked-away `wireguard-go` outlives its owner, and `wg show` against one was seen to hang.
 * Every `ip`/`wg` call has a timeout.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { WireGuardDeviceError } from './errors.ts';

/** Which implementation carries a device. */
export type WgPath = 'kernel' | 'wireguard-go';

/** Where the userspace implementation keeps its control sockets (fixed in wireguard-go and wg). */
export const WG_SOCKET_DIR = '/var/run/wireguard';

export interface WgDeviceOptions {
  /** Interface name (≤ 15 chars). */
  name: string;
  /** Tunnel address of this node, no prefix; set with the pool's prefix so the whole pool routes through the device. */
  address: string;
  /** Prefix length of the tunnel pool (default 15). */
  poolBits?: number;
  /** Device MTU. */
  mtu: number;
  /** Run in this named netns (labs whose hosts are namespaces); default: the caller's. */
  netns?: string;
  /** 'auto' (default): the kernel module when it works, else wireguard-go. */
  mode?: 'auto' | 'kernel' | 'userspace';
  /** Records the wireguard-go PID, so a restarted daemon kills the one its predecessor left. */
  pidFile?: string;
  /** Timeout of each `ip`/`wg` call, ms (default 5000). */
  timeoutMs?: number;
  /** First restart delay after wireguard-go died, ms, doubling up to 30 s (default 500). */
  restartMs?: number;
  log?: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

interface CmdResult { code: number; stdout: string; stderr: string }

export class WgDevice {
  /** The implementation in use; undefined while down. */
  path: WgPath | undefined;
  private child: ChildProcess | undefined;
  private stopping = false;
  private config: string | undefined;
  private restartDelay: number;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Times wireguard-go was started again after dying. */
  restarts = 0;

  constructor(private readonly opts: WgDeviceOptions) {
    this.restartDelay = opts.restartMs ?? 500;
  }

  /** The wireguard-go PID while it runs. */
  get pid(): number | undefined { return this.child?.pid; }

  /** Makes the device (idempotent): a leftover of an earlier run is removed first. Rejects with `WireGuardDeviceError`. */
  async up(): Promise<WgPath> {
    if (this.path) return this.path;
    this.stopping = false;
    await this.removeLeftovers();
    const mode = this.opts.mode ?? 'auto';
    let path: WgPath | undefined;
    if (mode !== 'userspace') {
      const r = await this.ip(['link', 'add', this.opts.name, 'type', 'wireguard']);
      if (r.code === 0) path = 'kernel';
      else if (mode === 'kernel') throw new WireGuardDeviceError(`no kernel WireGuard: ${r.stderr.trim()}`);
    }
    if (!path) {
      await this.startUserspace();
      path = 'wireguard-go';
    }
    this.path = path;
    try {
      await this.addressAndUp();
    } catch (err) {
      await this.down().catch(() => {});
      throw err;
    }
    this.opts.log?.('info', 'wireguard: device up', { device: this.opts.name, path });
    return path;
  }

  /** Applies a `wg syncconf` text (only what differs changes; open sessions stay). */
  async configure(text: string): Promise<void> {
    if (!this.path) throw new WireGuardDeviceError(`device ${this.opts.name} is down`);
    // A file, not /dev/stdin: node's stdio pipes are sockets, which wg cannot fopen. It
    // holds the private key: an owner-only directory, removed at once.
    const dir = mkdtempSync(join(tmpdir(), 'shoal-wg-'));
    let r: CmdResult;
    try {
      writeFileSync(join(dir, 'wg.conf'), text, { mode: 0o600 });
      r = await this.run(this.wrap(['wg', 'syncconf', this.opts.name, join(dir, 'wg.conf')]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (r.code !== 0) throw new WireGuardDeviceError(`wg syncconf ${this.opts.name} failed: ${r.stderr.trim()}`);
    this.config = text;
  }

  /** `wg show NAME dump` (tab-separated: the interface line, then one line per peer). */
  async dump(): Promise<string> {
    const r = await this.run(this.wrap(['wg', 'show', this.opts.name, 'dump']));
    if (r.code !== 0) throw new WireGuardDeviceError(`wg show ${this.opts.name} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Removes the device: wireguard-go killed by its PID, the link and control socket gone. */
  async down(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((res) => child.once('exit', () => res()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    }
    if ((await this.ip(['link', 'show', this.opts.name])).code === 0) await this.ip(['link', 'del', this.opts.name]);
    rmSync(`${WG_SOCKET_DIR}/${this.opts.name}.sock`, { force: true });
    if (this.opts.pidFile) rmSync(this.opts.pidFile, { force: true });
    this.path = undefined;
    this.config = undefined;
  }

  // ---- internals ----

  private async addressAndUp(): Promise<void> {
    const bits = this.opts.poolBits ?? 15;
    for (const args of [
      ['addr', 'replace', `${this.opts.address}/${bits}`, 'dev', this.opts.name],
      ['link', 'set', this.opts.name, 'mtu', String(this.opts.mtu), 'up'],
    ]) {
      const r = await this.ip(args);
      if (r.code !== 0) throw new WireGuardDeviceError(`ip ${args.join(' ')} failed: ${r.stderr.trim()}`);
    }
    if (this.config) await this.configure(this.config);
  }

  private async startUserspace(): Promise<void> {
    const argv = this.wrap(['wireguard-go', '-f', this.opts.name]);
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WG_PROCESS_FOREGROUND: '1' } });
    let stderr = '';
    child.stderr!.on('data', (d) => { if (stderr.length < 4096) stderr += d; });
    const spawned = await new Promise<Error | undefined>((res) => { child.once('spawn', () => res(undefined)); child.once('error', res); });
    if (spawned) throw new WireGuardDeviceError(`cannot run wireguard-go: ${spawned.message}`, { cause: spawned });
    this.child = child;
    if (this.opts.pidFile) { mkdirSync(dirname(this.opts.pidFile), { recursive: true }); writeFileSync(this.opts.pidFile, String(child.pid)); }
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopping) return;
      this.opts.log?.('warn', 'wireguard: wireguard-go exited; restarting', { device: this.opts.name, code, signal, stderr: stderr.trim().slice(-300) });
      this.scheduleRestart();
    });
    // Ready once its control socket answers: the socket file and the link exist.
    const deadline = Date.now() + (this.opts.timeoutMs ?? 5000);
    while (!(existsSync(`${WG_SOCKET_DIR}/${this.opts.name}.sock`) && (await this.ip(['link', 'show', this.opts.name])).code === 0)) {
      if (this.child !== child) throw new WireGuardDeviceError(`wireguard-go exited at start: ${stderr.trim().slice(-300)}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new WireGuardDeviceError(`wireguard-go did not make ${this.opts.name} in time: ${stderr.trim().slice(-300)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private scheduleRestart(): void {
    const delay = this.restartDelay;
    this.restartDelay = Math.min(30_000, delay * 2);
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      void (async () => {
        try {
          await this.removeLink();
          await this.startUserspace();
          await this.addressAndUp();
          this.restarts++;
          this.restartDelay = this.opts.restartMs ?? 500;
          this.opts.log?.('info', 'wireguard: wireguard-go restarted', { device: this.opts.name, restarts: this.restarts });
        } catch (err) {
          this.opts.log?.('warn', 'wireguard: restart failed', { device: this.opts.name, error: (err as Error).message });
          if (!this.child && !this.stopping) this.scheduleRestart();
        }
      })();
    }, delay);
    this.restartTimer.unref?.();
  }

  /** A wireguard-go a previous run left (by its recorded PID, checked against its command line), its link and socket. */
  private async removeLeftovers(): Promise<void> {
    const file = this.opts.pidFile;
    if (file && existsSync(file)) {
      const pid = Number(readFileSync(file, 'utf8').trim());
      let cmd = '';
      try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { /* gone */ }
      if (pid > 1 && cmd.includes('wireguard-go') && cmd.includes(this.opts.name)) {
        try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
        for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 20));
      }
      rmSync(file, { force: true });
    }
    await this.removeLink();
    rmSync(`${WG_SOCKET_DIR}/${this.opts.name}.sock`, { force: true });
  }

  private async removeLink(): Promise<void> {
    if ((await this.ip(['link', 'show', this.opts.name])).code === 0) await this.ip(['link', 'del', this.opts.name]);
  }

  private ip(args: string[]): Promise<CmdResult> {
    return this.run(['ip', ...(this.opts.netns ? ['-n', this.opts.netns] : []), ...args]);
  }

  private wrap(argv: string[]): string[] {
    return this.opts.netns ? ['ip', 'netns', 'exec', this.opts.netns, ...argv] : argv;
  }

  private run(argv: string[], input?: string): Promise<CmdResult> {
    return new Promise((resolve) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], timeout: this.opts.timeoutMs ?? 5000, killSignal: 'SIGKILL' });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { if (stderr.length < 8192) stderr += d; });
      child.on('error', (err) => resolve({ code: -1, stdout, stderr: err.message }));
      child.on('close', (code, signal) => resolve({ code: code ?? -1, stdout, stderr: signal ? `${stderr}(killed by ${signal}: timed out)` : stderr }));
      child.stdin.on('error', () => { /* exited early */ });
      child.stdin.end(input ?? '');
    });
  }
}

/**
 * Which implementation `WgDevice` in mode 'auto' will use on this host, found by making
 * and removing a kernel device (`ip link add … type wireguard`, 2 s at most). Synchronous:
 * called once at start, where a node states its description.
 */
export function probeWgPath(opts: { netns?: string } = {}): WgPath {
  const name = `shlwgp${process.pid % 100000}`;
  const ip = ['ip', ...(opts.netns ? ['-n', opts.netns] : [])];
  const r = spawnSync(ip[0], [...ip.slice(1), 'link', 'add', name, 'type', 'wireguard'], { timeout: 2000, stdio: 'ignore' });
  if (r.status !== 0) return 'wireguard-go';
  spawnSync(ip[0], [...ip.slice(1), 'link', 'del', name], { timeout: 2000, stdio: 'ignore' });
  return 'kernel';
}
