import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Node } from '../types/node.ts';
import { ConstraintSyntaxError, nodeMatches, parseConstraints } from './constraint.ts';

const node: Node = {
  ID: 'n1',
  Version: { Index: 1 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { Labels: { zone: 'East', ssd: 'true' }, Role: 'worker', Availability: 'active' },
  Description: {
    Hostname: 'host-a',
    Platform: { OS: 'linux', Architecture: 'x86_64' },
    Resources: { NanoCPUs: 2e9, MemoryBytes: 2 ** 31 },
    Engine: { EngineVersion: '1', Labels: { kernel: '6.1' }, Plugins: [] },
  },
  Status: { State: 'ready', Addr: '192.168.100.2' },
};
const m = (...c: string[]) => nodeMatches(parseConstraints(c), node);

test('parses == and != with spaces around', () => {
  assert.equal(parseConstraints([' node.role == manager ', 'node.labels.zone!=west']), [
    { key: 'node.role', op: '==', value: 'manager' },
    { key: 'node.labels.zone', op: '!=', value: 'west' },
  ]);
});

test('rejects what Docker rejects, with Docker’s messages', () => {
  assert.throws(() => parseConstraints(['node.role>manager']), (e: Error) => e instanceof ConstraintSyntaxError && e.message === 'constraint expected one operator from ==, !=');
  assert.throws(() => parseConstraints(['==x']), (e: Error) => e.message === "key '' is invalid");
  assert.throws(() => parseConstraints(['node.role==']), (e: Error) => e.message === "value '' is invalid");
});

test('matches node attributes, labels case-insensitively by value', () => {
  assert.ok(m('node.id==n1', 'node.hostname==HOST-A', 'node.role==worker', 'node.platform.os==linux'));
  assert.ok(m('node.platform.arch==amd64'));
  assert.ok(m('node.labels.zone==east', 'node.labels.ssd!=false', 'engine.labels.kernel==6.1'));
  assert.not.ok(m('node.role==manager'));
  assert.not.ok(m('node.labels.zone!=east'));
  assert.not.ok(m('node.labels.ZONE==east'), 'label names are case-sensitive');
});

test('a missing label compares as empty: == fails, != passes', () => {
  assert.not.ok(m('node.labels.rack==r1'));
  assert.ok(m('node.labels.rack!=r1'));
});

test('an unknown key never matches', () => {
  assert.not.ok(m('node.color==blue'));
});

test.run();
