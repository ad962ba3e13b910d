// The docker CLI table (issue 17, item 5): over 200 stock `docker` invocations a Swarm
// user types — swarm init/join/join-token/update/unlock-key/ca/leave, node ls/inspect/
// update/promote/demote/ps/rm, image pull/ls/inspect, secret, config, network and volume
// create/ls/inspect/rm, service create/ls/ps (filters, formats)/inspect/scale/update/
// rollback/logs/rm, ps/exec/logs/inspect on a node, stack deploy/ls/services/ps/rm,
// system info/version/events — against one 2-host Shoal lab (h1 manager, h2 worker, formed
// by the table itself), each row's exit code and output checked, in order. The rows are
// data (labs/lib/docker-cli-table/); `run-peer.ts` there runs the same table against
// Docker Engine to prove the expectations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { Lab } from './lib/lab.ts';
import { IMG, IMG2 } from './lib/docker-cli-table/files.ts';
import { runRow, tableContext, title, type TableContext } from './lib/docker-cli-table/runner.ts';
import { TABLE } from './lib/docker-cli-table/table.ts';

let lab: Lab;
let ctx: TableContext;

test.before(async () => {
  lab = await Lab.up({ hosts: 2, prefix: 'shoaltbl', replace: true });
  ctx = tableContext('shoal', { h1: lab.dockerHost('h1'), h2: lab.dockerHost('h2') }, { IMG, IMG2 });
});

test.after(async () => {
  if (ctx) rmSync(ctx.dir, { recursive: true, force: true });
  await lab?.down();
});

test('the table has at least 100 rows, each with an expectation', () => {
  assert.ok(TABLE.length >= 100, `${TABLE.length} rows`);
  for (const [i, row] of TABLE.entries()) assert.ok(row.out !== undefined || row.err !== undefined || row.exit !== undefined, `${title(row, i)} checks something`);
});

for (const [i, row] of TABLE.entries()) {
  test(title(row, i), async () => {
    const { failure } = await runRow(ctx, row);
    if (failure) assert.unreachable(`${title(row, i)}: ${failure}`);
  });
}

test.run();
