// Backends that leave a VIP: once out for `afterMs` (a drain had its chance) their
// established TCP connections are reset at the client's next packet instead of hanging,
// for `forMs`, or until they are backends again. A manual clock; no sleeping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VipTable } from './vip-table.ts';
import { GoneBackends } from './gone-backends.ts';
import { MemoryNft } from './nft.ts';
import { renderTable, renderUpdate, type VipService } from './ruleset.ts';

const web = (backends: string[], gone?: string[]): VipService => ({ name: 'web', vip: '10.0.0.2', backends, ...(gone ? { gone } : {}) });

test('a gone backend is reset through its VIP only, and a current backend never is', () => {
  const t = renderTable([web(['10.0.0.5'], ['10.0.0.6', '10.0.0.5', '10.0.0.6'])]);
  assert.match(t, /set vip_gone \{\n {4}type ipv4_addr \. ipv4_addr\n {4}elements = \{ 10\.0\.0\.2 \. 10\.0\.0\.6 \}\n {2}\}/);
  assert.match(t, /chain reject_output \{[^}]*ct original ip daddr \. ct reply ip saddr @vip_gone reject with tcp reset/);
});

test('a backend is gone after afterMs out, until forMs more or until it is back', () => {
  const g = new GoneBackends({ afterMs: 10, forMs: 100 });
  const m = (o: Record<string, string[]>) => new Map(Object.entries(o));
  g.note(m({ v: ['a', 'b', 'c'] }), m({ v: ['a'] }), 0);
  assert.equal([...g.active(9)], [], 'draining: not gone yet');
  assert.equal([...g.active(10)], [['v', ['b', 'c']]]);
  assert.is(g.nextChange(0), 10);
  g.note(m({ v: ['a'] }), m({ v: ['a', 'c'] }), 50);
  assert.equal([...g.active(50)], [['v', ['b']]], 'c is back');
  assert.equal([...g.active(110)], [], 'b forgotten');
  assert.is(g.nextChange(50), 110);
  g.note(m({ v: ['a', 'c'] }), m({}), 60);
  assert.equal([...g.active(80)], [], 'the VIP went away with its memory');
});

test('a VIP whose service drains longer than afterMs resets its backends only after that drain', () => {
  const g = new GoneBackends({ afterMs: 10, forMs: 100 });
  const m = (o: Record<string, string[]>) => new Map(Object.entries(o));
  g.note(m({ slow: ['a', 'b'], fast: ['c', 'd'] }), m({ slow: ['a'], fast: ['c'] }), 0, (vip) => (vip === 'slow' ? 40 : 5));
  assert.equal([...g.active(10)], [['fast', ['d']]], 'a drain shorter than afterMs: afterMs rules');
  assert.equal([...g.active(39)], [['fast', ['d']]], 'the slow service\'s backend is still draining');
  assert.equal([...g.active(40)], [['slow', ['b']], ['fast', ['d']]]);
  assert.is(g.nextChange(10), 40);
  assert.equal([...g.active(110)], [['slow', ['b']]], 'each backend is remembered for forMs after its own drain');
  assert.equal([...g.active(140)], []);
});

function manualTimers() {
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  let now = 0;
  return {
    now: () => now,
    setTimer: (ms: number, fn: () => void) => { const t = { at: now + ms, fn, live: true }; timers.push(t); return () => { t.live = false; }; },
    advance(to: number) { now = to; for (const t of timers) if (t.live && t.at <= now) { t.live = false; t.fn(); } },
  };
}

test('the table adds a gone backend by itself once afterMs passes', async () => {
  const clock = manualTimers();
  const nft = new MemoryNft();
  const t = new VipTable(nft, { now: clock.now, setTimer: clock.setTimer, gone: { afterMs: 30_000, forMs: 60_000 } });
  await t.sync([web(['10.0.0.5', '10.0.0.6'])]);
  await t.sync([web(['10.0.0.5'])]);
  assert.is(nft.applied.at(-1), renderUpdate([web(['10.0.0.5', '10.0.0.6'])], [web(['10.0.0.5'])]), 'a leaving backend may still drain');
  // No sync from here on: only the table's own timer can re-render (its flush is
  // promise work, done by the next turn of the event loop).
  const turn = () => new Promise((r) => setImmediate(r));
  clock.advance(30_000);
  await turn();
  assert.is(nft.applied.at(-1), renderUpdate([web(['10.0.0.5'])], [web(['10.0.0.5'], ['10.0.0.6'])]));
  assert.match(nft.applied.at(-1)!, 'add element ip shoal-lb vip_gone { 10.0.0.2 . 10.0.0.6 }');
  clock.advance(90_000);
  await turn();
  assert.is(nft.applied.at(-1), renderUpdate([web(['10.0.0.5'], ['10.0.0.6'])], [web(['10.0.0.5'])]), 'forgotten after forMs');
  assert.is(nft.applied.length, 4);
});

test.run();
