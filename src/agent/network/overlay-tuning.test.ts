// OverlayTuning's node table with a fake shell (no root): writes never overlap, and the
// one written last lists every VTEP address seen, however the sandboxes interleave.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nullLogger } from '../../common/logger.ts';
import { OverlayTuning } from './overlay-tuning.ts';
import type { ShellBatch, ShellResult } from './shell-batch.ts';

/** A shell whose `nft -f` runs wait for the test to release them; anything else succeeds at once. */
function heldNft() {
  const nft: { input: string; done: () => void }[] = [];
  let running = 0, most = 0;
  const sh = {
    run(argv: string[], opts: { input?: string } = {}): Promise<ShellResult> {
      if (!argv.includes('nft')) return Promise.resolve({ code: 0, stdout: '', stderr: '' });
      running++; most = Math.max(most, running);
      return new Promise((resolve) => nft.push({ input: opts.input ?? '', done: () => { running--; resolve({ code: 0, stdout: '', stderr: '' }); } }));
    },
  };
  return { sh: sh as unknown as ShellBatch, nft, most: () => most };
}
const tick = () => new Promise((r) => setImmediate(r));

/** Releases held writes one by one until none comes for a while; their inputs in order. */
async function drain(f: ReturnType<typeof heldNft>): Promise<string[]> {
  const inputs: string[] = [];
  for (let quiet = 0; quiet < 5; quiet++) {
    await tick();
    const w = f.nft.shift();
    if (w) { inputs.push(w.input); w.done(); quiet = 0; }
  }
  return inputs;
}

test('a new VTEP while the node table is written: one write at a time, the last lists every address', async () => {
  const f = heldNft();
  const tuning = new OverlayTuning(f.sh, { logger: nullLogger });
  const a = tuning.apply('sb-1', '192.168.1.5');
  await tick(); // its write is held
  const b = tuning.apply('sb-2', '10.9.0.2'); // the WireGuard address: the table is written again
  const c = tuning.apply('sb-3', '192.168.1.5'); // nothing new: shares the write b asked for
  const inputs = await drain(f);
  assert.equal(await Promise.all([a, b, c]), [true, true, true]);
  assert.is(f.most(), 1, 'node-table writes never overlap');
  assert.is(inputs.length, 2);
  assert.match(inputs[0], 'ip daddr 192.168.1.5 udp dport 4789 notrack');
  assert.match(inputs[1], 'ip daddr { 10.9.0.2, 192.168.1.5 } udp dport 4789 notrack');
  // Both known: no further write.
  const d = tuning.apply('sb-4', '10.9.0.2');
  assert.equal(await drain(f), []);
  assert.is(await d, true);
});

test('after a restart the surviving sandboxes\' VTEPs are listed in the next write, not written at once', async () => {
  const f = heldNft();
  const tuning = new OverlayTuning(f.sh, { logger: nullLogger });
  tuning.seed(['10.9.0.2', '192.168.1.5', 'not-an-address']);
  assert.equal(await drain(f), [], 'no write of its own');
  const a = tuning.apply('sb-new', '192.168.1.5'); // a plain sandbox made after the restart
  const inputs = await drain(f);
  assert.is(await a, true);
  assert.is(inputs.length, 1);
  assert.match(inputs[0], 'ip daddr { 10.9.0.2, 192.168.1.5 } udp dport 4789 notrack', 'the encrypted sandbox\'s tunnel address kept');
});

test.run();
