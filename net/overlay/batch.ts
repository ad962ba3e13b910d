/**
 * Runs `ip`/`bridge` batch lines with one spawn (`ip [-n NS] -batch -`): the narrow
 * interface the overlay code owns (`BatchRunner`), the real adapter and an in-memory one.
 */
import { spawn } from 'node:child_process';
import type { Commands } from './plan.ts';
import { BatchError } from './errors.ts';
import { NetlinkTranslateError, ipLine, sandboxRequests, vethFromLines, type NlRequest, type VethSpec } from '../netlink/messages.ts';
import { NetnsNetlink } from '../netlink/netns-netlink.ts';

/** Applies `Commands`: host lines in the caller's netns, `ip` and `bridge` lines in the sandbox. */
export interface BatchRunner {
  /** Resolves when every line ran; rejects with `BatchError` at the first refused line (earlier lines stay applied). */
  run(sandbox: string, cmds: Commands): Promise<void>;
}

/** Spawns `ip -batch -`, `ip -n SB -batch -`, `bridge -n SB -batch -` for the non-empty parts, in that order. */
export class IprouteBatch implements BatchRunner {
  /** `hostNetns`: run the host lines in that named netns instead of the caller's (for labs whose hosts are namespaces). */
  constructor(private readonly opts: { ip?: string; bridge?: string; hostNetns?: string } = {}) {}

  async run(sandbox: string, cmds: Commands): Promise<void> {
    const ip = this.opts.ip ?? 'ip';
    const host = this.opts.hostNetns === undefined ? [] : ['-n', this.opts.hostNetns];
    if (cmds.host.length) await batch([ip, ...host, '-batch', '-'], cmds.host);
    if (cmds.ip.length) await batch([ip, '-n', sandbox, '-batch', '-'], cmds.ip);
    if (cmds.bridge.length) await batch([this.opts.bridge ?? 'bridge', '-n', sandbox, '-batch', '-'], cmds.bridge);
  }

  /** Runs `ip -n NETNS -batch -` with `lines` (e.g. `attachTask`'s parts); rejects with `BatchError`. */
  async runIn(netns: string, lines: readonly string[]): Promise<void> {
    if (lines.length) await batch([this.opts.ip ?? 'ip', '-n', netns, '-batch', '-'], lines);
  }
}

/** Records what it was given, for tests. */
export class MemoryBatch implements BatchRunner {
  readonly runs: { sandbox: string; cmds: Commands }[] = [];
  async run(sandbox: string, cmds: Commands): Promise<void> { this.runs.push({ sandbox, cmds }); }
}

function batch(argv: string[], lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { if (stderr.length < 8192) stderr += d; });
    child.on('error', (err) => reject(new BatchError(`cannot run ${argv[0]}`, '', { cause: err })));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new BatchError(`${argv.join(' ')} failed (exit ${code})`, stderr))));
    child.stdin.end(lines.join('\n') + '\n');
  });
}

/** A `BatchRunner` that can also run plain `ip` lines in any named netns (`IprouteBatch`, the agent's `ShellIproute`). */
export interface IpBatchRunner extends BatchRunner {
  runIn(netns: string, lines: readonly string[]): Promise<void>;
}

/**
 * The sandbox's peers (FDB + neighbour entries) and its task veths over rtnetlink, through
 * one long-lived helper per sandbox netns (`NetnsNetlink`); everything else through
 * `fallback` (`ip -batch`). Kept, over `ip`, because it is the faster path in the parts
 * that differ (2 vCPUs at load 35–40, alternating, medians): one peer update's 34 lines
 * 5.0 ms against 27.8 ms (30 each); the sandbox side of 20 task veths made at once 39 ms
 * against 231 ms through the shell pool, 221 ms through the sandbox's helper (6 each).
 * `npm run bench -- dataplane` measures both paths, alone and through the whole agent
 * (whose figures move with the node's load more than with the path); at load 23–30,
 * 3 rounds: veth20_ms 21 against 67, peer_batch_ms 4.2 against 9.5, attach20_ms (whole
 * attach, 20 tasks at once) 305 against 320.
 *
 * A batch goes to netlink only when every line has an rtnetlink form (`net/netlink/messages.ts`)
 * and `useNetlink(netns)` says so (sandboxes only: a task netns is short-lived, and a helper
 * per task would cost a process per task); else the whole batch goes to `ip`, so a line
 * the translation does not know is never dropped. Errors are `BatchError`s, as `ip`'s.
 */
export class NetlinkBatch implements IpBatchRunner {
  constructor(
    private readonly fallback: IpBatchRunner,
    private readonly nl: NetnsNetlink,
    private readonly opts: {
      useNetlink: (netns: string) => boolean;
      /** Task veths made in-process from the daemon's netns (`nl.own`, own-netns.ts; the default, the faster), or false: through the sandbox's helper. */
      ownVeths?: boolean;
    },
  ) {}

  /** Sandbox netns → the index of its bridge, for the namespace instance `ino`. */
  private readonly masters = new Map<string, { ino: number; index: number }>();

  async run(sandbox: string, cmds: Commands): Promise<void> {
    const reqs = cmds.host.length === 0 && this.opts.useNetlink(sandbox) ? translate(() => sandboxRequests(cmds)) : undefined;
    if (reqs) return this.send(sandbox, reqs);
    return this.fallback.run(sandbox, cmds);
  }

  async runIn(netns: string, lines: readonly string[]): Promise<void> {
    const veth = this.opts.ownVeths !== false && this.opts.useNetlink(netns) ? vethFromLines(lines) : undefined;
    if (veth) return this.ownVeth(netns, veth);
    const reqs = this.opts.useNetlink(netns) ? translate(() => lines.map(ipLine)) : undefined;
    if (reqs) return this.send(netns, reqs);
    return this.fallback.runIn(netns, lines);
  }

  /** A task veth in one in-process RTM_NEWLINK; the bridge's index asked of the sandbox's helper once per namespace. */
  private async ownVeth(netns: string, v: VethSpec): Promise<void> {
    try {
      const ino = NetnsNetlink.inode(netns);
      let m = this.masters.get(netns);
      if (m?.ino !== ino) {
        m = { ino, index: await this.nl.linkIndex(netns, v.master) };
        this.masters.set(netns, m);
      }
      await this.nl.own.newVeth(v, netns, m.index);
    } catch (err) {
      this.masters.delete(netns); // learnt again next time
      throw new BatchError(`rtnetlink: cannot make veth ${v.name} in netns ${netns}`, (err as Error).message, { cause: err });
    }
  }

  private async send(netns: string, reqs: NlRequest[]): Promise<void> {
    try {
      await this.nl.run(netns, reqs);
    } catch (err) {
      throw new BatchError(`rtnetlink batch in netns ${netns} failed`, (err as Error).message, { cause: err });
    }
  }
}

/** The requests, or undefined when a line has no rtnetlink form. */
function translate(fn: () => NlRequest[]): NlRequest[] | undefined {
  try { return fn(); } catch (err) { if (err instanceof NetlinkTranslateError) return undefined; throw err; }
}
