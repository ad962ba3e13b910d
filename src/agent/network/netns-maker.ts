/**
 * Task network namespaces made and deleted by one long-lived helper (`netns-maker.pl`)
 * instead of `ip netns add` + `ip -n NS link set lo up` / `ip netns delete` per task:
 * those are three `ip` processes a task, ≈ 5 ms of CPU each attach on the lab's 2 cores,
 * where the helper spends ≈ 1 ms (labs/bench/dataplane.ts, `attach20_child_cpu_ms`).
 * The namespace is the same: a file under /run/netns bound to a new netns (the directory
 * a shared mount), `lo` up when asked.
 *
 *   const maker = new NetnsMaker({ fallback: (argv) => mustRunShell(sh, argv) });
 *   await maker.add('t-1234', { loUp: true });
 *   await maker.delete('t-1234');
 *   maker.close();
 *
 * When the helper cannot run (no perl, an unknown architecture) or dies, requests in
 * flight fail with its reason and later ones go through `fallback` (the `ip` commands),
 * so a node without the helper still works, only slower.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { lineSplitter } from '../../common/lines.ts';
import { NetlinkRequestError, type NlRequest } from '../../../net/netlink/index.ts';
import { ADDR_INDEX_AT, RTM, encodeRequest } from '../../../net/netlink/encode.ts';
import { NetworkAgentError } from './plan.ts';

const SCRIPT = fileURLToPath(new URL('./netns-maker.pl', import.meta.url));

/** A namespace name the helper and `ip` both take (no spaces, no slashes). */
const NAME = /^[A-Za-z0-9_.-]+$/;

export interface NetnsMakerOptions {
  /** Runs one `ip` command (argv) and throws unless it exits 0: the path when the helper cannot run. */
  fallback: (argv: string[]) => Promise<unknown>;
  /** The perl binary. Default `perl`. */
  perl?: string;
  /** The helper script (tests). Default netns-maker.pl beside this file. */
  script?: string;
}

interface Pending {
  resolve: () => void;
  /** Rejects with the error an `nlerr DONE ERRNO` answer stands for (nl requests). */
  refused?: (done: number, errno: number) => void;
  reject: (e: Error) => void;
  /** The same through `ip` (a helper that never started hands its requests over). */
  viaIp: () => Promise<void>;
}

/** Makes and deletes named netns through one helper process; falls back to `ip` when it cannot. */
export class NetnsMaker {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Why the helper is not used any more, once it failed. */
  private broken: string | undefined;
  private closed = false;
  private stderr = '';

  constructor(private readonly opts: NetnsMakerOptions) {}

  /** Whether requests still go to the helper (false once it failed: they go through `ip`). */
  get helper(): boolean {
    return this.broken === undefined;
  }

  /** Makes netns `name` (refused if `/run/netns/NAME` exists); `loUp`: its loopback up. */
  add(name: string, opts: { loUp?: boolean } = {}): Promise<void> {
    if (!NAME.test(name)) return Promise.reject(new NetworkAgentError(`invalid netns name "${name}"`));
    const viaIp = () => this.viaIp(['ip', 'netns', 'add', name], opts.loUp ? ['ip', '-n', name, 'link', 'set', 'lo', 'up'] : undefined);
    if (this.broken !== undefined || this.closed) return viaIp();
    return this.request(`add ${name}${opts.loUp ? ' lo' : ''}`, `cannot make netns ${name}`, viaIp);
  }

  /** Deletes netns `name` (its devices go with it, asynchronously); rejects when it is not there. */
  delete(name: string): Promise<void> {
    if (!NAME.test(name)) return Promise.reject(new NetworkAgentError(`invalid netns name "${name}"`));
    const viaIp = () => this.viaIp(['ip', 'netns', 'delete', name]);
    if (this.broken !== undefined || this.closed) return viaIp();
    return this.request(`del ${name}`, `cannot delete netns ${name}`, viaIp);
  }

  /**
   * Sends `reqs` (rtnetlink, net/netlink's requests) in netns `name`, each waiting for its
   * ACK: a task's side of its veths without an `ip` process. Rejects with
   * `NetlinkRequestError` naming the refused line (those before it stay applied). Only
   * requests naming links by name, or an address's device, are taken: anything else, or
   * a helper that cannot run, is refused with `NetworkAgentError` before anything is sent
   * (the caller then uses `ip`).
   */
  async rtnetlink(name: string, reqs: readonly NlRequest[]): Promise<void> {
    if (!NAME.test(name)) throw new NetworkAgentError(`invalid netns name "${name}"`);
    if (this.broken !== undefined || this.closed) throw new NetworkAgentError(`the netns helper is not running${this.broken ? `: ${this.broken}` : ''}`);
    const msgs: Buffer[] = [];
    const patches: string[] = [];
    let at = 0;
    for (const [i, req] of reqs.entries()) {
      const enc = encodeRequest(req, i + 1, () => {
        if (req.method !== 'newAddr') throw new NetworkAgentError(`netns helper: no interface lookups for "${req.line}"`);
        return 0; // written by the helper (PATCHES)
      });
      if (enc.fd) throw new NetworkAgentError(`netns helper: no netns fd for "${req.line}"`);
      if (enc.msg.readUInt16LE(4) === RTM.NEWADDR) patches.push(`${at + ADDR_INDEX_AT}:${req.dev}`);
      msgs.push(enc.msg);
      at += enc.msg.length;
    }
    if (msgs.length === 0) return;
    const line = `nl ${name} ${patches.join(',') || '-'} ${Buffer.concat(msgs).toString('hex')}`;
    return this.request(line, `cannot configure netns ${name}`, () => Promise.reject(new NetworkAgentError('the netns helper never ran')), (done, errno) => {
      const code = getSystemErrorName(-errno);
      return new NetlinkRequestError(`in netns ${name}: ${reqs[done]?.line ?? '?'}: ${code}`, done, code);
    });
  }

  /**
   * Sends one nf_tables batch (net/lb/vip-netlink.ts) in netns `name`: a task's VIP table
   * without an `nft` process. The kernel takes all of it or none; a refusal rejects with
   * `NetlinkRequestError` naming the refused message's sequence number and the errno. A
   * helper that cannot run rejects with `NetworkAgentError` before anything is sent (the
   * caller then uses `nft`).
   */
  async nftables(name: string, batch: { bytes: Buffer; lastSeq: number }): Promise<void> {
    if (!NAME.test(name)) throw new NetworkAgentError(`invalid netns name "${name}"`);
    if (this.broken !== undefined || this.closed) throw new NetworkAgentError(`the netns helper is not running${this.broken ? `: ${this.broken}` : ''}`);
    const line = `nf ${name} ${batch.lastSeq} ${batch.bytes.toString('hex')}`;
    return this.request(line, `cannot apply an nf_tables batch in netns ${name}`, () => Promise.reject(new NetworkAgentError('the netns helper never ran')), (seq, errno) => {
      const code = getSystemErrorName(-errno);
      return new NetlinkRequestError(`in netns ${name}: nf_tables refused message ${seq} of the batch: ${code} (nothing applied)`, seq, code);
    });
  }

  /** Ends the helper (our child, by its PID, through its stdin); later requests go through `ip`. */
  close(): void {
    this.closed = true;
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private async viaIp(argv: string[], then?: string[]): Promise<void> {
    await this.opts.fallback(argv);
    if (then) await this.opts.fallback(then);
  }

  private request(line: string, what: string, viaIp: () => Promise<void>, refused?: (done: number, errno: number) => Error): Promise<void> {
    const child = this.start();
    const id = this.nextId++;
    this.hold(child, true);
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, {
        resolve,
        reject: (e) => reject(new NetworkAgentError(`${what}: ${e.message}`, { cause: e })),
        viaIp: () => viaIp().then(resolve, reject),
        refused: refused && ((done, errno) => reject(refused(done, errno))),
      });
      child.stdin!.write(`${line.replace(' ', ` ${id} `)}\n`);
    });
  }

  /** A request in flight keeps the process alive (an idle helper never does). */
  private hold(child: ChildProcess, on: boolean): void {
    // All of them: 'close' (which fails what is in flight) waits for both pipes' ends.
    for (const s of [child, child.stdout, child.stderr] as unknown as { ref?: () => void; unref?: () => void }[]) (on ? s?.ref : s?.unref)?.call(s);
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    // Spawned once per agent: the only fork of the daemon for every netns it makes.
    const child = spawn(this.opts.perl ?? 'perl', [this.opts.script ?? SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.stderr = '';
    child.stdout!.setEncoding('utf8').on('data', lineSplitter((line) => {
      const m = /^(ok|err|nlerr) (\d+)(?: (.*))?$/.exec(line);
      const p = m ? this.pending.get(Number(m[2])) : undefined;
      if (!m || !p) {
        // Out of step with us (a line we cannot read, an id never asked): what is in
        // flight would wait for ever. End it: 'close' fails that, and `ip` takes over.
        this.stderr += `\nan answer out of protocol: ${JSON.stringify(line.slice(0, 200))}`;
        child.kill();
        return false;
      }
      this.pending.delete(Number(m[2]));
      if (this.pending.size === 0) this.hold(child, false);
      const nlerr = m[1] === 'nlerr' ? /^(\d+) (\d+)$/.exec(m[3] ?? '') : null;
      if (m[1] === 'ok') p.resolve();
      else if (nlerr && p.refused) p.refused(Number(nlerr[1]), Number(nlerr[2]));
      else p.reject(new Error(m[3] ?? 'refused'));
    }));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (this.stderr.length < 4096) this.stderr += d; });
    child.stdin!.on('error', () => { /* it ended: 'close' reports it */ });
    let started = false;
    child.on('spawn', () => { started = true; });
    child.on('error', (e) => { this.stderr += String(e); });
    child.on('close', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.closed && this.pending.size === 0) return;
      // Died unasked, or could not start: later requests go through `ip`. What is in flight
      // fails with the reason (it may be half done), unless the helper never ran at all.
      this.broken = `the netns helper ended (${signal ?? `exit ${code}`}): ${this.stderr.trim() || 'no message'}`;
      const err = new Error(this.broken);
      const inFlight = [...this.pending.values()];
      this.pending.clear();
      for (const p of inFlight) { if (started) p.reject(err); else void p.viaIp(); }
    });
    // The helper must never keep the daemon (or a test) alive by itself.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr] as unknown as { unref?: () => void }[]) s?.unref?.();
    return child;
  }
}
