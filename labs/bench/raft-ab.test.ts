// raft-ab's sliced levels: a put that fails is counted beside the latencies (raft-load.ts's
// loop, against a loopback server refusing every other put), and the slice order gives
// every side every place, first included, equally often; a --slices count that cannot is
// refused.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkSlices, sliceOrder, slicedLevel, slicedLine, type Reading } from './raft-ab.ts';
import { benchValue } from './raft-load.ts';

/** A put endpoint answering 200 to odd requests and 500 to even ones, counting the requests it saw. */
async function flakyServer(): Promise<{ url: string; seen: () => number; close: () => Promise<void> }> {
  let seen = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen++;
      if (seen % 2 === 0) res.writeHead(500).end('no quorum');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen: () => seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

test('a sliced level counts every failed put beside n, and prints it', async () => {
  const servers = [await flakyServer(), await flakyServer()];
  const reads: string[] = [];
  const read = (name: string): Reading => (reads.push(name), { cpuMs: reads.length, switches: [reads.length, 0, 0, 0] });
  try {
    const sides = [{ name: 'a', url: servers[0].url }, { name: 'b', url: servers[1].url }];
    const got = await slicedLevel(sides, { conc: 2, slices: 2, seconds: 0.2, value: benchValue(16), read });
    for (const [i, { name }] of sides.entries()) {
      const t = got.get(name)!.tally;
      assert.ok(t.lat.length > 0 && t.errs > 0, `${name}: puts that passed and puts that failed`);
      assert.is(t.lat.length + t.errs, servers[i].seen(), `${name}: every put sent is a latency or a failure`);
      assert.ok(slicedLine(name, got.get(name)!).endsWith(`n ${t.lat.length} failed ${t.errs}`));
    }
    assert.equal(reads, ['a', 'a', 'b', 'b', 'b', 'b', 'a', 'a'], 'read around each slice, in slice order');
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('over a multiple of the side count, every side takes every place equally often', () => {
  for (const sides of [['a', 'b'], ['a', 'b', 'etcd']]) {
    const places = new Map<string, number[]>(sides.map((s) => [s, sides.map(() => 0)]));
    for (let k = 0; k < 3 * sides.length; k++) sliceOrder(k, sides).forEach((s, i) => places.get(s)![i]++);
    for (const s of sides) assert.equal(places.get(s), sides.map(() => 3), `${s} in ${sides.length} sides`);
  }
  assert.equal(sliceOrder(1, ['a', 'b', 'c']), ['b', 'c', 'a']);
});

test('a --slices count that would let a side go first more often is refused, naming the flag', () => {
  assert.throws(() => checkSlices(9, 2), /bench: --slices 9 would let some of the 2 sides go first more often; give a multiple of 2/);
  assert.throws(() => checkSlices(8, 3), /--slices 8/);
  assert.throws(() => checkSlices(-2, 2), /--slices must be a whole number/);
  for (const [n, sides] of [[0, 2], [8, 2], [9, 3]]) checkSlices(n, sides);
});

test.run();
