// Heartbeat silence is timed on the monotonic clock: a wall clock that steps (NTP, a VM
// resumed) moves neither the leader's view of a node's last heartbeat nor the node's view of
// the leader's last answer. With `Date.now()` (before), a leader stepped back 60 s read every
// heartbeat as -60 s old and saw a dead node a minute late (found by the chaos harness's
// clock jumps); a node stepped forward read its leader as silent and dropped the session.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SwarmNode } from './swarm-node.ts';
import { freePort, loopbackContext } from './test-node.ts';

const realNow = Date.now;
let dir = '';
let node: SwarmNode | undefined;

async function waitFor(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = realNow() + ms;
  while (!cond()) {
    if (realNow() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-clockstep-'));
  const ctx = { ...loopbackContext(join(dir, 'h1'), await freePort(), 'h1'), heartbeatMs: 200 };
  node = await SwarmNode.init(ctx, { ListenAddr: ctx.listenAddr, AdvertiseAddr: ctx.advertiseAddr } as never);
});

test.after(async () => {
  Date.now = realNow;
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

const session = () => (node as unknown as { session: { connected: boolean } }).session;
const selfAge = () => node!.manager!.heartbeatAges().get(node!.nodeId);

test('a stepped wall clock moves neither heartbeat ages nor the session', async () => {
  await waitFor('the node heartbeating to its own manager', () => selfAge() !== undefined && session().connected);
  for (const stepMs of [-60_000, 60_000]) {
    Date.now = () => realNow() + stepMs;
    try {
      const age = selfAge()!;
      assert.ok(age >= 0 && age < 5_000, `step ${stepMs} ms: heartbeat age ${age} ms`);
      assert.ok(session().connected, `step ${stepMs} ms: the session still reads its leader as alive`);
    } finally {
      Date.now = realNow;
    }
  }
});

test.run();
