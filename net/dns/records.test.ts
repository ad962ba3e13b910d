import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolve, tableIndex, type DnsTable } from './records.ts';

const table: DnsTable = {
  front: [
    { name: 'web', endpointMode: 'vip', vip: '10.0.0.2', aliases: ['www'], tasks: [{ name: 'web.1.aaa', ip: '10.0.0.5' }, { name: 'web.2.bbb', ip: '10.0.0.6' }] },
    { name: 'cache', endpointMode: 'dnsrr', tasks: [{ name: 'cache.1.ccc', ip: '10.0.0.7' }, { name: 'cache.2.ddd', ip: '10.0.0.8' }] },
    { name: 'idle', endpointMode: 'vip', vip: '10.0.0.9', tasks: [] },
  ],
  back: [
    { name: 'db', endpointMode: 'vip', vip: '10.0.1.2', aliases: ['db.internal'], tasks: [{ name: 'db.1.eee', ip: '10.0.1.5' }] },
    { name: 'web', endpointMode: 'vip', vip: '10.0.1.3', tasks: [{ name: 'web.1.aaa', ip: '10.0.1.6' }] },
  ],
};

const ips = (...a: string[]) => ({ kind: 'answer', ips: a });

test('a service name answers its VIP', () => {
  assert.equal(resolve(table, 'web', ['front']), ips('10.0.0.2'));
  assert.equal(resolve(table, 'WEB.', ['front']), ips('10.0.0.2'), 'case and trailing dot do not matter');
});

test('tasks.SERVICE answers the task addresses', () => {
  assert.equal(resolve(table, 'tasks.web', ['front']), ips('10.0.0.5', '10.0.0.6'));
  assert.equal(resolve(table, 'tasks.www', ['front']), ips('10.0.0.5', '10.0.0.6'), 'also through an alias');
});

test('a dnsrr service name answers its task addresses', () => {
  assert.equal(resolve(table, 'cache', ['front']), ips('10.0.0.7', '10.0.0.8'));
});

test('aliases and task names answer', () => {
  assert.equal(resolve(table, 'www', ['front']), ips('10.0.0.2'));
  assert.equal(resolve(table, 'db.internal', ['back']), ips('10.0.1.2'));
  assert.equal(resolve(table, 'web.2.bbb', ['front']), ips('10.0.0.6'));
});

test('answers are scoped to the asking task\'s networks', () => {
  assert.equal(resolve(table, 'db', ['front']), { kind: 'nxdomain' });
  assert.equal(resolve(table, 'db', ['front', 'back']), ips('10.0.1.2'));
  assert.equal(resolve(table, 'web', ['back', 'front']), ips('10.0.1.3'), 'the first network that knows the name answers');
  assert.equal(resolve(table, 'web', []), { kind: 'nxdomain' });
});

test('a known service without tasks answers its VIP; tasks.NAME answers nothing', () => {
  assert.equal(resolve(table, 'idle', ['front']), ips('10.0.0.9'));
  assert.equal(resolve(table, 'tasks.idle', ['front']), ips());
});

test('unknown swarm names are NXDOMAIN, other names are forwarded', () => {
  assert.equal(resolve(table, 'nope', ['front']), { kind: 'nxdomain' });
  assert.equal(resolve(table, 'tasks.nope', ['front']), { kind: 'nxdomain' });
  assert.equal(resolve(table, 'example.com', ['front']), { kind: 'forward' });
  assert.equal(resolve(table, 'db.internal', ['front']), { kind: 'forward' }, 'a dotted alias of another network is not ours');
  assert.equal(resolve(table, '.', ['front']), { kind: 'forward' }, 'the root goes upstream');
});

test('a service name goes before another service\'s task of the same name, and upper case in the table matches', () => {
  const t: DnsTable = { n: [
    { name: 'api', endpointMode: 'vip', vip: '10.1.0.2', tasks: [{ name: 'Worker', ip: '10.1.0.5' }] },
    { name: 'WORKER', endpointMode: 'vip', vip: '10.1.0.3', tasks: [] },
  ] };
  assert.equal(resolve(t, 'worker', ['n']), ips('10.1.0.3'));
  assert.equal(resolve(t, 'tasks.api', ['n']), ips('10.1.0.5'));
});

test('a new table object answers at once; the same object keeps its index', () => {
  const a: DnsTable = { n: [{ name: 'web', endpointMode: 'vip', vip: '10.2.0.2', tasks: [] }] };
  const b: DnsTable = { n: [{ name: 'web', endpointMode: 'vip', vip: '10.2.0.9', tasks: [] }] };
  assert.equal(resolve(a, 'web', ['n']), ips('10.2.0.2'));
  assert.equal(resolve(b, 'web', ['n']), ips('10.2.0.9'));
  assert.is(tableIndex(a), tableIndex(a));
});

test.run();
