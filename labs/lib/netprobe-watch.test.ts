// netprobe's watch mode (the network bench's VIP watcher): a loopback HTTP server that
// answers "old" until a switch flips, then "new"; the watcher reports, per answer, when
// the earliest request it answered was sent and when its first answer came, and keeps at
// most `conc` connections open at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { watchMode } from './netprobe.ts';

async function server(answer: () => string): Promise<{ srv: Server; port: number; maxOpen: () => number }> {
  let open = 0;
  let max = 0;
  const srv = createServer((req, res) => {
    open++;
    max = Math.max(max, open);
    // Slow enough that several loops overlap.
    setTimeout(() => { res.end(`${answer()}\n`); open--; }, 15);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { srv, port: (srv.address() as AddressInfo).port, maxOpen: () => max };
}

test('each answer: its earliest request sent, then its first answer; the new answer sent after the switch', async () => {
  let flipped: number | undefined;
  const s = await server(() => (flipped === undefined ? 'old' : 'new'));
  setTimeout(() => { flipped = Date.now(); }, 150);
  try {
    const r = await watchMode('127.0.0.1', s.port, 2, 5000, 4);
    assert.equal(Object.keys(r.answered).sort(), ['new', 'old']);
    // The server holds each request 15 ms: a send time is at least that before its answer.
    for (const k of ['old', 'new']) assert.ok(r.answered[k] - r.first[k] >= 10, `${k}: sent ${r.answered[k] - r.first[k]} ms before its first answer`);
    assert.ok(r.answered.new >= flipped!, 'answered after the flip');
    assert.ok(s.maxOpen() <= 4 && s.maxOpen() >= 2, `loops at once: ${s.maxOpen()}`);
    assert.is(r.errors, 0);
  } finally {
    s.srv.close();
  }
});

test('one loop keeps one connection at a time', async () => {
  let n = 0;
  const s = await server(() => (++n > 3 ? 'b' : 'a'));
  try {
    const r = await watchMode('127.0.0.1', s.port, 2, 5000, 1);
    assert.equal(Object.keys(r.first).sort(), ['a', 'b']);
    assert.is(s.maxOpen(), 1);
  } finally {
    s.srv.close();
  }
});

test('a refused request is counted by code, with when it was sent', async () => {
  const s = await server(() => 'a');
  const port = s.port;
  s.srv.close();
  await new Promise((r) => setTimeout(r, 20));
  const t0 = Date.now();
  const r = await watchMode('127.0.0.1', port, 1, 200, 2);
  assert.ok(r.errorCodes.ECONNREFUSED >= 2, JSON.stringify(r.errorCodes));
  assert.ok(r.firstRefused !== undefined && r.firstRefused >= t0);
  assert.equal(r.first, {});
});

test.run();
