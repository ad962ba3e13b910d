// Veth deletes in waves (veth-wave.ts): the deletes asked together for one sandbox go in
// one batch (each veth into the group, then the group deleted); other sandboxes get their
// own; asks while a wave runs make the next one; a failed wave falls back to one delete a
// veth and still resolves every ask.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VethWaves, waveLines } from './veth-wave.ts';

/** A runner that records each batch and lets the test end it. */
function runner(fail: (lines: readonly string[]) => boolean = () => false) {
  const calls: { netns: string; lines: readonly string[] }[] = [];
  const open: (() => void)[] = [];
  let hold = false;
  const run = (netns: string, lines: readonly string[]) => {
    calls.push({ netns, lines });
    const end = (ok: () => void, no: (e: Error) => void) => (fail(lines) ? no(new Error(`refused: ${lines.join('; ')}`)) : ok());
    return new Promise<void>((ok, no) => (hold ? open.push(() => end(ok, no)) : end(ok, no)));
  };
  return { calls, run, hold: (on: boolean) => { hold = on; }, release: () => { for (const f of open.splice(0)) f(); } };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

test('a wave puts every veth in one group and deletes the group; one veth is a plain delete', () => {
  assert.equal(waveLines(['va', 'vb', 'vc'], 7), ['link set va group 7', 'link set vb group 7', 'link set vc group 7', 'link del group 7']);
  assert.equal(waveLines(['va'], 7), ['link del va']);
  assert.throws(() => waveLines(['va', 'vb'], 0), /bad interface group 0/);
});

test('deletes asked together go in one batch per sandbox', async () => {
  const r = runner();
  const sizes: number[] = [];
  const w = new VethWaves(r.run, { onWave: (_, n) => sizes.push(n) });
  await Promise.all([w.delete('sb1', 'va'), w.delete('sb1', 'vb'), w.delete('sb2', 'vc'), w.delete('sb1', 'vd')]);
  assert.is(r.calls.length, 2);
  const sb1 = r.calls.find((c) => c.netns === 'sb1')!;
  assert.is(sb1.lines.length, 4);
  const group = /^link del group (\d+)$/.exec(sb1.lines[3])![1];
  assert.equal(sb1.lines.slice(0, 3), ['va', 'vb', 'vd'].map((v) => `link set ${v} group ${group}`));
  assert.equal(r.calls.find((c) => c.netns === 'sb2')!.lines, ['link del vc']);
  assert.equal(sizes.sort(), [1, 3]);
});

test('asks while a wave runs make the next wave, after it; each ask resolves with its own wave', async () => {
  const r = runner();
  const w = new VethWaves(r.run);
  r.hold(true);
  let firstDone = false;
  const first = w.delete('sb1', 'va').then(() => { firstDone = true; });
  await turn();
  assert.is(r.calls.length, 1);
  const second = [w.delete('sb1', 'vb'), w.delete('sb1', 'vc')];
  await turn();
  assert.is(r.calls.length, 1, 'no second batch in the sandbox while one runs');
  r.hold(false);
  r.release();
  await first;
  assert.ok(firstDone);
  await Promise.all(second);
  assert.is(r.calls.length, 2);
  assert.is(r.calls[1].lines.length, 3);
  assert.match(r.calls[1].lines[0], /^link set vb group \d+$/);
  // A new group per wave: one left behind by a failed wave is never deleted with another.
  const g = (c: { lines: readonly string[] }) => c.lines.at(-1);
  await Promise.all([w.delete('sb1', 'vx'), w.delete('sb1', 'vy')]);
  assert.is.not(g(r.calls[2]), g(r.calls[1]));
});

test('a failed wave falls back to one delete a veth; failures there are ignored; every ask resolves', async () => {
  // The group's lines stop at vb (gone already); its own delete fails too.
  const r = runner((lines) => lines.some((l) => l.includes('vb')));
  const w = new VethWaves(r.run);
  await Promise.all([w.delete('sb1', 'va'), w.delete('sb1', 'vb'), w.delete('sb1', 'vc')]);
  assert.is(r.calls.length, 4);
  assert.equal(r.calls.slice(1).map((c) => c.lines).sort(), [['link del va'], ['link del vb'], ['link del vc']]);
});

test.run();
