import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimNetwork } from './network.ts';
import { Prng } from './prng.ts';

interface Msg {
  from: string;
  to: string;
  n: number;
  body?: { data: Uint8Array };
}

function drain(net: SimNetwork<Msg>, until: number) {
  const out: { at: number; msg: Msg; dropped: false | 'lost' | 'cut' }[] = [];
  for (let t = 0; t <= until; t++) for (const d of net.due(t)) out.push({ at: t, ...d });
  return out;
}

test('delivers every message once, after a delay within the configured range', () => {
  const net = new SimNetwork<Msg>(new Prng(1));
  net.faults = { ...net.faults, minDelay: 2, maxDelay: 5 };
  for (let n = 0; n < 100; n++) net.send({ from: 'a', to: 'b', n }, 0);
  const got = drain(net, 10);
  assert.is(got.length, 100);
  assert.equal(got.map((d) => d.msg.n).sort((x, y) => x - y), [...Array(100).keys()]);
  assert.ok(got.every((d) => d.at >= 2 && d.at <= 5 && !d.dropped));
});

test('random delays reorder messages', () => {
  const net = new SimNetwork<Msg>(new Prng(2));
  for (let n = 0; n < 50; n++) net.send({ from: 'a', to: 'b', n }, 0);
  const order = drain(net, 10).map((d) => d.msg.n);
  assert.not.equal(order, [...order].sort((x, y) => x - y));
});

test('the same seed gives the same schedule', () => {
  const run = () => {
    const net = new SimNetwork<Msg>(new Prng(3));
    net.faults = { loss: 0.2, duplicate: 0.2, minDelay: 1, maxDelay: 9, longDelayChance: 0.1, longDelay: 40 };
    for (let n = 0; n < 100; n++) net.send({ from: 'a', to: 'b', n }, n % 7);
    return drain(net, 100).map((d) => `${d.at}:${d.msg.n}`);
  };
  assert.equal(run(), run());
});

test('loss and duplication happen at about their rates', () => {
  const net = new SimNetwork<Msg>(new Prng(4));
  net.faults = { ...net.faults, loss: 0.25, duplicate: 0.1 };
  for (let n = 0; n < 4000; n++) net.send({ from: 'a', to: 'b', n }, 0);
  assert.ok(net.stats.lost > 850 && net.stats.lost < 1150, `lost ${net.stats.lost}`);
  assert.ok(net.stats.duplicated > 220 && net.stats.duplicated < 380, `dup ${net.stats.duplicated}`);
  const out = drain(net, 10);
  assert.is(out.filter((d) => !d.dropped).length, 4000 - net.stats.lost + net.stats.duplicated);
  assert.is(out.filter((d) => d.dropped === 'lost').length, net.stats.lost);
});

test('a partition drops messages between groups, including those already in flight', () => {
  const net = new SimNetwork<Msg>(new Prng(5));
  net.send({ from: 'a', to: 'c', n: 1 }, 0);
  net.send({ from: 'a', to: 'b', n: 2 }, 0);
  net.partition([['a', 'b'], ['c']]);
  const got = drain(net, 10);
  assert.equal(got.filter((d) => !d.dropped).map((d) => d.msg.n), [2]);
  assert.equal(got.filter((d) => d.dropped === 'cut').map((d) => d.msg.n), [1]);
  assert.not.ok(net.linkUp('c', 'a'));
  net.heal();
  assert.ok(net.linkUp('c', 'a') && net.linkUp('a', 'c'));
});

test('a one-way cut blocks only its direction; isolate cuts both ways', () => {
  const net = new SimNetwork<Msg>(new Prng(6));
  net.cut('a', 'b');
  assert.not.ok(net.linkUp('a', 'b'));
  assert.ok(net.linkUp('b', 'a'));
  net.heal();
  net.isolate('c', ['a', 'b', 'c']);
  assert.not.ok(net.linkUp('c', 'a') || net.linkUp('b', 'c'));
  assert.ok(net.linkUp('a', 'b'));
});

test('messages are copied on send: the receiver shares no bytes with the sender', () => {
  const net = new SimNetwork<Msg>(new Prng(7));
  const data = new Uint8Array([1, 2, 3]);
  net.send({ from: 'a', to: 'b', n: 0, body: { data } }, 0);
  data[0] = 9;
  const [d] = drain(net, 5);
  assert.equal([...d.msg.body!.data], [1, 2, 3]);
});

test.run();
