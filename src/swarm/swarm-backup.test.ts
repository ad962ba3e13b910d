import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Node } from '../api/types/node.ts';
import { generateUnlockKey } from '../manager/keys/index.ts';
import type { Cluster } from '../store/index.ts';
import { BackupError, readBackupFile, restoredNodes, writeBackup, type BackupContents } from './swarm-backup.ts';

const cluster = { ID: 'c1', RootCA: { CACert: 'CERT', CAKey: 'KEY' }, JoinTokens: { Worker: 'w', Manager: 'm' } } as unknown as Cluster;
const contents: BackupContents = {
  index: 42, createdAt: '2026-12-06T00:00:00.000Z', cluster, nodes: [], services: [], networks: [], secrets: [], configs: [],
};

test('a clear backup reads back as it was written', () => {
  const file = writeBackup(contents);
  assert.is(file.sealed, undefined);
  assert.equal(readBackupFile(JSON.stringify(file)), contents);
  assert.throws(() => readBackupFile(JSON.stringify(file), generateUnlockKey()), (e: Error) => e instanceof BackupError && /not encrypted/.test(e.message), 'an unlock key for a clear backup is refused, not ignored');
});

test('a sealed backup hides its contents and opens only with its unlock key', () => {
  const key = generateUnlockKey();
  const text = JSON.stringify(writeBackup(contents, key));
  assert.not.ok(text.includes('KEY') || text.includes('CERT'));
  assert.equal(readBackupFile(text, key), contents);
  assert.throws(() => readBackupFile(text), (e: Error) => e instanceof BackupError && /encrypted/.test(e.message));
  assert.throws(() => readBackupFile(text, generateUnlockKey()), (e: Error) => /does not open/.test(e.message));
});

test('a sealed backup moved to another cluster ID or index does not open', () => {
  const key = generateUnlockKey();
  const file = writeBackup(contents, key);
  assert.throws(() => readBackupFile(JSON.stringify({ ...file, index: 43 }), key), /does not open/);
});

test('what is not a backup, or has no root CA, is refused', () => {
  assert.throws(() => readBackupFile('nope'), /not JSON/);
  assert.throws(() => readBackupFile('{"format":"x"}'), /not a Shoal swarm backup/);
  const noCa = { ...contents, cluster: { ...cluster, RootCA: undefined } } as unknown as BackupContents;
  assert.throws(() => readBackupFile(JSON.stringify(writeBackup(noCa))), /no root CA/);
});

test('restored nodes are down workers without manager status', () => {
  const n = { ID: 'n1', Spec: { Role: 'manager', Availability: 'active', Labels: {} }, Status: { State: 'ready', Addr: '10.0.0.1' }, ManagerStatus: { Reachability: 'reachable', Addr: '10.0.0.1:2377' } } as unknown as Node;
  const [r] = restoredNodes([n]);
  assert.is(r.Spec.Role, 'worker');
  assert.is(r.Status.State, 'down');
  assert.is(r.ManagerStatus, undefined);
  assert.is(n.Spec.Role, 'manager', 'the input is not changed');
});

test.run();
