/**
 * Runs `ip`/`bridge` batch lines with one spawn (`ip [-n NS] -batch -`): the narrow
 * interface the overlay code owns (`BatchRunner`), the real adapter and an in-memory one.
 */
import { spawn } from 'node:child_process';
import type { Commands } from './plan.ts';
import { BatchError } from './errors.ts';

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
