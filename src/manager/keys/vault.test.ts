import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newNodeKeyAndCSR } from '../ca/index.ts';
import { MemoryStore } from '../../store/index.ts';
import { NodeKeyVault } from './vault.ts';
import { generateUnlockKey, parseUnlockKey } from './unlock-key.ts';
import { InvalidUnlockKeyError, NotLockedError, SwarmLockedError } from './errors.ts';
import { isEncryptedKeyPem } from './node-key.ts';

async function withRoot(fn: (root: string, keyPem: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'shoal-keys-'));
  try {
    await mkdir(join(root, 'swarm', 'certificates'), { recursive: true });
    const { keyPem } = await newNodeKeyAndCSR();
    await writeFile(join(root, 'swarm', 'certificates', 'swarm-node.key'), keyPem, { mode: 0o600 });
    await fn(root, keyPem);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const tlsKey = (root: string) => readFile(join(root, 'swarm', 'certificates', 'swarm-node.key'), 'utf8');
const bytes = (s: string) => new Uint8Array(Buffer.from(s));

test('a manager\'s key file is made on first start, 0600, and seals Raft payloads across restarts', () =>
  withRoot(async (root) => {
    const v = new NodeKeyVault({ dataRoot: root });
    const c = await v.raftCipher(join(root, 'swarm', 'raft'));
    const sealed = c.seal(bytes('{"secret":"x"}'));
    assert.is((await stat(v.keyFilePath)).mode & 0o777, 0o600);
    const again = await new NodeKeyVault({ dataRoot: root }).raftCipher(join(root, 'swarm', 'raft'));
    assert.is(Buffer.from(again.open(sealed)).toString(), '{"secret":"x"}');
  }));

test('autolock: KEK and TLS key sealed; a restarted node is locked; a wrong key changes nothing; the right one unlocks', () =>
  withRoot(async (root, keyPem) => {
    const v = new NodeKeyVault({ dataRoot: root });
    const c = await v.raftCipher(join(root, 'swarm', 'raft'));
    const sealed = c.seal(bytes('state'));
    const key = generateUnlockKey();
    await v.setUnlockKey(parseUnlockKey(key));
    assert.ok(isEncryptedKeyPem(await tlsKey(root)));
    assert.not.ok((await readFile(v.keyFilePath, 'utf8')).includes('"kek"'));
    const after = c.seal(bytes('after'));

    const restarted = new NodeKeyVault({ dataRoot: root });
    assert.ok(await restarted.locked());
    assert.throws(() => restarted.openNodeKey(isEncryptedKeyPem(keyPem) ? keyPem : '-----BEGIN ENCRYPTED PRIVATE KEY-----'), (e: unknown) => e instanceof SwarmLockedError);
    const fileBefore = await readFile(restarted.keyFilePath, 'utf8');
    try {
      await restarted.unlock(generateUnlockKey());
      assert.unreachable('a wrong key unlocked');
    } catch (e) {
      assert.instance(e, InvalidUnlockKeyError);
      assert.is((e as InvalidUnlockKeyError).status, 401);
    }
    assert.ok(await restarted.locked());
    assert.is(await readFile(restarted.keyFilePath, 'utf8'), fileBefore);
    await restarted.unlock(key);
    assert.not.ok(await restarted.locked());
    assert.is(restarted.openNodeKey(await tlsKey(root)).replace(/\s/g, ''), keyPem.replace(/\s/g, ''));
    const rc = await restarted.raftCipher(join(root, 'swarm', 'raft'));
    assert.is(Buffer.from(rc.open(sealed)).toString(), 'state', 'data from before the re-seal opens');
    assert.is(Buffer.from(rc.open(after)).toString(), 'after');
    try {
      await restarted.unlock(key);
      assert.unreachable('unlocked twice');
    } catch (e) {
      assert.instance(e, NotLockedError);
    }
  }));

test('a node down during a key rotation unlocks with the old key, then follows the cluster to the new one', () =>
  withRoot(async (root, keyPem) => {
    const oldKey = generateUnlockKey();
    const v = new NodeKeyVault({ dataRoot: root });
    await v.raftCipher(join(root, 'swarm', 'raft'));
    await v.setUnlockKey(parseUnlockKey(oldKey));
    // Down while the cluster rotated: restarted, it holds only files sealed by the old key.
    const back = new NodeKeyVault({ dataRoot: root });
    const newKey = generateUnlockKey();
    try {
      await back.unlock(newKey);
      assert.unreachable('the new key opened files it never sealed');
    } catch (e) {
      assert.instance(e, InvalidUnlockKeyError);
    }
    await back.unlock(oldKey);
    const cipher = await back.raftCipher(join(root, 'swarm', 'raft'));
    const firstDek = (cipher as unknown as { currentId: string }).currentId;
    // It catches up: the replicated cluster asks for the new key.
    const store = new MemoryStore();
    let snapshots = 0;
    const stop = back.follow({ store, raft: { snapshotNow: async () => ++snapshots } });
    await store.update((tx) => {
      tx.create('cluster', { ID: 'c1', Spec: { Name: 'default', EncryptionConfig: { AutoLockManagers: true } }, UnlockKey: newKey } as never);
    });
    for (let i = 0; i < 500 && snapshots === 0; i++) await new Promise((r) => setTimeout(r, 10));
    stop();
    assert.is(snapshots, 1, 're-sealed the Raft state by a snapshot');
    assert.is.not((cipher as unknown as { currentId: string }).currentId, firstDek, 'a new DEK is current');
    const fresh = new NodeKeyVault({ dataRoot: root });
    try {
      await fresh.unlock(oldKey);
      assert.unreachable('the old key still opens the files');
    } catch (e) {
      assert.instance(e, InvalidUnlockKeyError);
    }
    await fresh.unlock(newKey);
    assert.is(fresh.openNodeKey(await tlsKey(root)).replace(/\s/g, ''), keyPem.replace(/\s/g, ''));
  }));

test('autolock off again: files back in clear, the node starts unlocked', () =>
  withRoot(async (root) => {
    const v = new NodeKeyVault({ dataRoot: root });
    await v.raftCipher(join(root, 'swarm', 'raft'));
    await v.setUnlockKey(parseUnlockKey(generateUnlockKey()));
    await v.setUnlockKey(undefined);
    assert.not.ok(isEncryptedKeyPem(await tlsKey(root)));
    assert.not.ok(await new NodeKeyVault({ dataRoot: root }).locked());
  }));

test('a demoted manager drops its KEK and writes its TLS key in clear: it starts unlocked', () =>
  withRoot(async (root, keyPem) => {
    const v = new NodeKeyVault({ dataRoot: root });
    await v.raftCipher(join(root, 'swarm', 'raft'));
    await v.setUnlockKey(parseUnlockKey(generateUnlockKey()));
    const clear = v.openNodeKey(await tlsKey(root));
    await v.demote();
    assert.is(v.sealNodeKey(clear), clear, 'saved in clear from now on');
    await writeFile(join(root, 'swarm', 'certificates', 'swarm-node.key'), v.sealNodeKey(clear));
    assert.not.ok(await new NodeKeyVault({ dataRoot: root }).locked());
    assert.is(clear.replace(/\s/g, ''), keyPem.replace(/\s/g, ''));
  }));

test.run();
