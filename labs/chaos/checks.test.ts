// The chaos checks on hand-made histories and stores: lost, doubled and resurrected
// writes are found, unknown outcomes resolve either way, service values follow the last
// acknowledged write, and runc's containers are matched to slots.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkHistory, checkSlots, tableDigest, type StoreObjects } from './checks.ts';
import type { OpEntry, ServiceValue } from './history.ts';

let t = 0;
function op(o: Partial<OpEntry> & Pick<OpEntry, 'op' | 'name' | 'outcome'>): OpEntry {
  t += 10;
  return { type: 'op', client: 0, kind: 'service', via: 'h1', start: t, end: t + 5, ...o };
}
const v = (replicas: number, env = '0'): ServiceValue => ({ replicas, image: 'bb:v1', env });
function store(services: Record<string, ServiceValue[]> = {}, secrets: Record<string, number> = {}, configs: Record<string, number> = {}): StoreObjects {
  return { service: new Map(Object.entries(services)), network: new Map(), secret: new Map(Object.entries(secrets)), config: new Map(Object.entries(configs)), node: new Map([['h1', [{ label: '2' }]]]) };
}

test('history: an acknowledged config missing from the store is a lost write; a doubled one is reported', () => {
  const ops = [op({ op: 'create', kind: 'config', name: 'cf', outcome: 'acknowledged' })];
  assert.match(checkHistory(ops, store()).violations.join('\n'), /config\/cf: acknowledged create lost/);
  assert.match(checkHistory(ops, store({}, {}, { cf: 2 })).violations.join('\n'), /config\/cf: 2 copies/);
  assert.equal(checkHistory(ops, store({}, {}, { cf: 1 })).violations, []);
});

test('history: acknowledged create present, removed one absent: no violation', () => {
  const ops = [op({ op: 'create', name: 'a', outcome: 'acknowledged', value: v(1) }), op({ op: 'create', name: 'b', outcome: 'acknowledged', value: v(2) }), op({ op: 'rm', name: 'b', outcome: 'acknowledged' })];
  const r = checkHistory(ops, store({ a: [v(1)] }));
  assert.equal(r.violations, []);
  assert.is(r.acknowledged, 3);
});

test('history: a lost acknowledged create, a doubled one, a refused one present', () => {
  const ops = [
    op({ op: 'create', name: 'lost', outcome: 'acknowledged', value: v(1) }),
    op({ op: 'create', name: 'twice', outcome: 'acknowledged', value: v(1) }),
    op({ op: 'create', name: 'no', outcome: 'refused', status: 400, value: v(1) }),
    op({ op: 'create', kind: 'secret', name: 'gone', outcome: 'acknowledged' }),
    op({ op: 'rm', kind: 'secret', name: 'gone', outcome: 'acknowledged' }),
  ];
  const r = checkHistory(ops, store({ twice: [v(1), v(1)], no: [v(1)] }, { gone: 1 }));
  assert.is(r.violations.length, 4, r.violations.join('\n'));
  assert.match(r.violations.join('\n'), /service\/lost: acknowledged create lost/);
  assert.match(r.violations.join('\n'), /service\/twice: 2 copies/);
  assert.match(r.violations.join('\n'), /service\/no: in the store though its create was refused/);
  assert.match(r.violations.join('\n'), /secret\/gone: in the store though an acknowledged rm removed it/);
});

test('history: unknown outcomes resolve either way and are reported', () => {
  const ops = [
    op({ op: 'create', name: 'u1', outcome: 'unknown', value: v(1) }),
    op({ op: 'create', name: 'u2', outcome: 'unknown', value: v(1) }),
    op({ op: 'create', name: 'r', outcome: 'acknowledged', value: v(1) }),
    op({ op: 'rm', name: 'r', outcome: 'unknown' }),
  ];
  const r = checkHistory(ops, store({ u1: [v(1)] }));
  assert.equal(r.violations, []);
  assert.equal(r.resolved.map((x) => `${x.name}:${x.present}`).sort(), ['r:false', 'u1:true', 'u2:false']);
});

test('history: a create of unknown outcome may land after a 404 (it was pending), not after an acknowledged rm', () => {
  const late = [op({ op: 'create', name: 'late', outcome: 'unknown', value: v(1) }), op({ op: 'rm', name: 'late', outcome: 'refused', status: 404 })];
  const r = checkHistory(late, store({ late: [v(1)] }));
  assert.equal(r.violations, []);
  assert.equal(r.resolved, [{ kind: 'service', name: 'late', present: true }]);
  const landed = [op({ op: 'create', name: 'x', outcome: 'unknown', value: v(1) }), op({ op: 'rm', name: 'x', outcome: 'acknowledged' })];
  assert.is(checkHistory(landed, store({ x: [v(1)] })).violations.length, 1, 'the acknowledged rm proved the create had landed');
});

test('history: an rm of unknown outcome may land after a later acknowledged update', () => {
  const ops = [
    op({ op: 'create', name: 's', outcome: 'acknowledged', value: v(1) }),
    op({ op: 'rm', name: 's', outcome: 'unknown' }),
    op({ op: 'update', name: 's', outcome: 'acknowledged', value: v(2) }),
    op({ op: 'rm', name: 's', outcome: 'refused', status: 404 }),
  ];
  assert.equal(checkHistory(ops, store()).violations, []);
  assert.equal(checkHistory(ops.slice(0, 3), store()).violations, [], 'gone at the end: the rm landed');
  assert.equal(checkHistory(ops.slice(0, 3), store({ s: [v(2)] })).violations, [], 'there at the end: it did not');
});

test('history: a 404 on an object acknowledged and never removed is a lost write', () => {
  const ops = [op({ op: 'create', name: 'a', outcome: 'acknowledged', value: v(1) }), op({ op: 'rm', name: 'a', outcome: 'refused', status: 404 })];
  const r = checkHistory(ops, store());
  assert.is(r.violations.length, 1);
  assert.match(r.violations[0], /refused 404 .*lost write/);
});

test('history: service value is the last acknowledged write or a later unknown one', () => {
  const ops = [
    op({ op: 'create', name: 's', outcome: 'acknowledged', value: v(1) }),
    op({ op: 'update', name: 's', outcome: 'acknowledged', value: v(3) }),
    op({ op: 'update', name: 's', outcome: 'refused', status: 409, value: v(0) }),
    op({ op: 'update', name: 's', outcome: 'unknown', value: v(2) }),
  ];
  assert.equal(checkHistory(ops, store({ s: [v(3)] })).violations, []);
  assert.equal(checkHistory(ops, store({ s: [v(2)] })).violations, []);
  const bad = checkHistory(ops, store({ s: [v(0)] })).violations;
  assert.is(bad.length, 1);
  assert.match(bad[0], /holds 0\|bb:v1\|0, but the history allows only 3\|bb:v1\|0 or 2\|bb:v1\|0/);
});

test('history: a node label is the last acknowledged one, or a later unknown one', () => {
  const node = (label: string, outcome: OpEntry['outcome']) => op({ op: 'update', kind: 'node', name: 'h1', outcome, value: { label } });
  assert.equal(checkHistory([node('1', 'unknown')], store()).violations.length, 1, 'label 2 was never written');
  assert.equal(checkHistory([node('2', 'unknown')], store()).violations, []);
  assert.equal(checkHistory([node('2', 'acknowledged'), node('3', 'refused')], store()).violations, []);
  const lost = checkHistory([node('2', 'acknowledged'), node('3', 'acknowledged')], store()).violations;
  assert.is(lost.length, 1);
  assert.match(lost[0], /node\/h1: store holds label=2, but the history allows only label=3/);
});

test('tableDigest: order of rows and keys does not matter; a version does', () => {
  const a = { ID: 'a', Spec: { x: 1, y: 2 }, Version: { Index: 3 } };
  const b = { ID: 'b', Spec: { y: 2, x: 1 }, Version: { Index: 4 } };
  assert.is(tableDigest([a, b]), tableDigest([{ ...b, Spec: { x: 1, y: 2 } }, a]));
  assert.is.not(tableDigest([a, b]), tableDigest([a, { ...b, Version: { Index: 5 } }]));
});

test('checkSlots: a global service wants one container on every eligible host, none elsewhere', () => {
  const global = { services: new Set(['g']), hosts: ['h1', 'h2'] };
  const c = (host: string, id: string) => ({ host, id, service: 'g', taskId: `t-${id}` });
  assert.equal(checkSlots(new Map(), [c('h1', 'a'), c('h2', 'b')], new Map(), global), []);
  const out = checkSlots(new Map(), [c('h1', 'a'), c('h1', 'b'), c('h3', 'c')], new Map(), global);
  assert.equal(out, [
    'g (global): 2 running containers on h1, want 1',
    'g (global): 0 running containers on h2, want 1',
    'g (global): a container runs on h3, which is not eligible',
  ]);
});

test('checkSlots: one container per slot passes; doubles, strays and missing slots are found', () => {
  const desired = new Map([['s', 2], ['z', 0]]);
  const slotOf = new Map([['t1', 1], ['t2', 2], ['t3', 2]]);
  assert.equal(checkSlots(desired, [{ host: 'h1', id: 'c1', service: 's', taskId: 't1' }, { host: 'h2', id: 'c2', service: 's', taskId: 't2' }], slotOf), []);
  const out = checkSlots(desired, [
    { host: 'h1', id: 'c1', service: 's', taskId: 't2' }, { host: 'h2', id: 'c2', service: 's', taskId: 't3' },
    { host: 'h3', id: 'c3', service: 'gone', taskId: 't9' }, { host: 'h3', id: 'c4', service: 'z', taskId: 't9' },
  ], slotOf);
  assert.is(out.length, 4, out.join('\n'));
  assert.match(out.join('\n'), /s: slot 2 has 2 running containers/);
  assert.match(out.join('\n'), /s: 1 slots running, want 2/);
  assert.match(out.join('\n'), /gone: .* not in the store/);
  assert.match(out.join('\n'), /z: .* task t9 the store does not know/);
});

test.run();
