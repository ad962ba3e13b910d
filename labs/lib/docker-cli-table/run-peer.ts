/**
 * The docker CLI table against a real Docker Engine, to prove its expectations (not part
 * of `npm test`; root; needs Debian's docker.io, see labs/bench/docker-swarm-lab.ts):
 *
 *   node --import tsx labs/lib/docker-cli-table/run-peer.ts [--peer docker|shoal]
 *
 * `--peer docker` (default) brings up a 2-host lab whose daemons are dockerds (20.10), with
 * the lab registry marked insecure, and runs every row with the peer's expectation (a row's
 * `peer` override where Shoal deliberately differs). `--peer shoal` runs the same table on
 * a Shoal lab outside uvu. Prints one line per row, the failures in full, and a JSON line.
 */
import { rmSync } from 'node:fs';
import { Lab } from '../lab.ts';
import { DOCKERD, upDockerLab } from '../../bench/docker-swarm-lab.ts';
import { IMG, IMG2 } from './files.ts';
import { runRow, tableContext, title } from './runner.ts';
import { TABLE } from './table.ts';

async function main(args: string[]): Promise<number> {
  const i = args.indexOf('--peer');
  const side = (i >= 0 ? args[i + 1] : 'docker') as 'docker' | 'shoal';
  if (side !== 'docker' && side !== 'shoal') throw new Error(`docker-cli-table: --peer must be docker or shoal, not ${side}`);
  const lab = side === 'docker'
    ? await upDockerLab({ hosts: 2, prefix: 'shoaltbd', registry: true })
    : await Lab.up({ hosts: 2, prefix: 'shoaltbs', replace: true });
  const ctx = tableContext(side, { h1: lab.dockerHost('h1'), h2: lab.dockerHost('h2') }, { IMG, IMG2 });
  const failures: string[] = [];
  let version = '';
  try {
    for (const [n, row] of TABLE.entries()) {
      const t0 = Date.now();
      const { failure } = await runRow(ctx, row).catch((err: unknown) => ({ failure: (err as Error).message }));
      console.log(`${failure ? 'FAIL' : 'ok  '} ${title(row, n)} (${Date.now() - t0} ms)`);
      if (failure) failures.push(`${title(row, n)}: ${failure}`);
      if (n === 1 && !failure) version = (await lab.request('h1', '/version')).body;
    }
  } finally {
    rmSync(ctx.dir, { recursive: true, force: true });
    await lab.down();
  }
  for (const f of failures) console.log(`\n${f}`);
  const v = (() => { try { return (JSON.parse(version) as { Version?: string }).Version; } catch { return undefined; } })();
  console.log(JSON.stringify({ peer: side, daemon: side === 'docker' ? `${DOCKERD} ${v ?? '?'}` : `shoal ${v ?? '?'}`, rows: TABLE.length, passed: TABLE.length - failures.length, failed: failures.length }));
  return failures.length ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err: unknown) => { console.error(err); process.exit(2); });
