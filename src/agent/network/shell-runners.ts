/**
 * The network agent's kernel adapters over one {@link ShellBatch}: the overlay's `ip`/`bridge`
 * batches (`net/overlay`'s `BatchRunner`, plus `runIn`), `nft -f` in a netns (`net/lb`'s
 * `NftRunner`), and plain commands. Same commands, same errors as `IprouteBatch`, `NetnsNft`
 * and `runCommand`; only the spawning is shared (see shell-batch.ts for why).
 */
import { BatchError, type BatchRunner, type Commands } from '../../../net/overlay/index.ts';
import { NftError, type NftRunner } from '../../../net/lb/index.ts';
import type { ShellBatch, ShellResult } from './shell-batch.ts';
import { NetworkAgentError } from './plan.ts';

/** `nft` runs are killed after this long, ms (as `NetnsNft`'s default). */
const NFT_TIMEOUT_MS = 10_000;

/** `ip [-n NS] -batch -`, `bridge -n NS -batch -` through the shell batch (as `IprouteBatch`). */
export class ShellIproute implements BatchRunner {
  /** `hostNetns`: the host lines run in that named netns instead of the daemon's (labs). */
  constructor(private readonly sh: ShellBatch, private readonly opts: { hostNetns?: string } = {}) {}

  /** Host lines, then the sandbox's `ip` lines, then its `bridge` lines; rejects with `BatchError` at the first refused part. */
  async run(sandbox: string, cmds: Commands): Promise<void> {
    const host = this.opts.hostNetns === undefined ? [] : ['-n', this.opts.hostNetns];
    if (cmds.host.length) await this.batch(['ip', ...host, '-batch', '-'], cmds.host);
    if (cmds.ip.length) await this.batch(['ip', '-n', sandbox, '-batch', '-'], cmds.ip);
    if (cmds.bridge.length) await this.batch(['bridge', '-n', sandbox, '-batch', '-'], cmds.bridge);
  }

  /** `ip -n NETNS -batch -` with `lines`; rejects with `BatchError`. */
  async runIn(netns: string, lines: readonly string[]): Promise<void> {
    if (lines.length) await this.batch(['ip', '-n', netns, '-batch', '-'], lines);
  }

  private async batch(argv: string[], lines: readonly string[]): Promise<void> {
    const r = await this.sh.run(argv, { input: lines.join('\n') + '\n' });
    if (r.code !== 0) throw new BatchError(`${argv.join(' ')} failed (exit ${r.code})`, r.stderr);
  }
}

/** `nsenter --net=/run/netns/NS nft -f -` (or plain `nft -f -`) through the shell batch (as `NetnsNft`). */
export class ShellNft implements NftRunner {
  constructor(private readonly sh: ShellBatch, private readonly netns?: string) {
    if (netns !== undefined && !/^[A-Za-z0-9_.-]+$/.test(netns)) throw new NftError(`invalid netns name "${netns}"`, '');
  }

  async apply(text: string): Promise<void> {
    const argv = this.netns === undefined ? ['nft', '-f', '-'] : ['nsenter', `--net=/run/netns/${this.netns}`, 'nft', '-f', '-'];
    const r = await this.sh.run(argv, { input: text, timeoutMs: NFT_TIMEOUT_MS });
    const where = this.netns === undefined ? '' : ` in netns ${this.netns}`;
    if (r.code !== 0) throw new NftError(`nft -f failed${where} (exit ${r.code})`, r.stderr);
  }
}

/** Runs `argv` through the shell batch; throws unless it exits 0 (the error names the command and its stderr). */
export async function mustRunShell(sh: ShellBatch, argv: string[]): Promise<ShellResult> {
  const r = await sh.run(argv);
  if (r.code !== 0) throw new NetworkAgentError(`${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r;
}
