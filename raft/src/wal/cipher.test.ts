/** The PayloadCipher hooks: data is sealed on disk, metadata stays clear, reads return plaintext. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PayloadCipher } from '../storage.ts';
import { emptyConfState } from '../types.ts';
import { DiskStorage } from './disk-storage.ts';
import { WalCorruptError } from './errors.ts';
import { bytes, dump, ent, rejects, withTempDir } from './test-helpers.ts';

/** AES-256-GCM: 12-byte random IV, ciphertext, 16-byte tag. */
function aesGcm(key: Buffer): PayloadCipher {
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain), c.final()]);
      return new Uint8Array(Buffer.concat([iv, body, c.getAuthTag()]));
    },
    open(sealed) {
      const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
      const d = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
      d.setAuthTag(buf.subarray(buf.length - 16));
      return new Uint8Array(Buffer.concat([d.update(buf.subarray(12, buf.length - 16)), d.final()]));
    },
  };
}

/** XOR with a repeating key: enough to show the hooks are called on every path. */
function xor(key: number): PayloadCipher {
  const apply = (x: Uint8Array) => x.map((b) => b ^ key);
  return { seal: apply, open: apply };
}

async function allFileBytes(dir: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const sub of ['wal', 'snap']) {
    for (const name of await readdir(join(dir, sub))) parts.push(await readFile(join(dir, sub, name)));
  }
  return Buffer.concat(parts);
}

const SECRET = 'top-secret-plaintext-payload';

for (const [name, make] of [['aes-256-gcm', () => aesGcm(randomBytes(32))], ['xor', () => xor(0x5a)]] as const) {
  test(`${name}: entry and snapshot data are sealed on disk and open to plaintext after a restart`, () =>
    withTempDir(async (dir) => {
      const cipher = make();
      const o = { fsync: false, cipher };
      const s = await DiskStorage.open(dir, o);
      await s.save({ entries: [ent(1, 1, `${SECRET} one`), ent(2, 1, ''), ent(3, 1, `${SECRET} three`)], hardState: { term: 1, vote: 'voter-node', commit: 3 }, sync: true });
      await s.createSnapshot(2, { ...emptyConfState(), voters: ['voter-node'] }, bytes(`${SECRET} snapshot`));
      await s.save({ snapshot: { metadata: { index: 9, term: 2, confState: emptyConfState() }, data: bytes(`${SECRET} received`) }, entries: [ent(10, 2, `${SECRET} ten`)], sync: true });
      const before = dump(s);
      await s.close();

      const disk = await allFileBytes(dir);
      assert.is(disk.indexOf(Buffer.from('top-secret')), -1, 'no plaintext on disk');
      assert.ok(disk.indexOf(Buffer.from('voter-node')) >= 0, 'metadata stays clear');

      const r = await DiskStorage.open(dir, o);
      assert.equal(dump(r), before);
      assert.equal(Buffer.from(r.entries(10, 11, Infinity)[0].data).toString(), `${SECRET} ten`);
      assert.equal(Buffer.from(r.snapshot().data).toString(), `${SECRET} received`);
      await r.close();
    }));
}

test('aes-256-gcm: opening with the wrong key fails loudly instead of returning garbage', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, { fsync: false, cipher: aesGcm(randomBytes(32)) });
    await s.save({ entries: [ent(1, 1, SECRET)], sync: true });
    await s.close();
    const err = await rejects(() => DiskStorage.open(dir, { fsync: false, cipher: aesGcm(randomBytes(32)) }), WalCorruptError);
    assert.match(err.message, /cannot open sealed data of entry 1/);
  }));

test.run();
