import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TarReader, type TarEvent } from './tar-reader.ts';
import { rawTar } from './testing-tar.ts';

function read(tar: Buffer, step = tar.length): TarEvent[] {
  const r = new TarReader();
  const out: TarEvent[] = [];
  for (let i = 0; i < tar.length; i += step) out.push(...r.push(tar.subarray(i, i + step)));
  r.end();
  return out;
}

const sample = () => rawTar([
  { path: 'etc', type: '5' },
  { path: 'etc/passwd', data: 'root:x:0:0::/root:/bin/sh\n' },
  { path: `deep/${'d'.repeat(120)}/file`, data: Buffer.alloc(700, 1) },
  { path: 'bin/sh', type: '2', linkname: 'busybox' },
  { path: 'bin/ping', data: 'x', pax: { 'SCHILY.xattr.security.capability': 'caps' } },
]);

test('events carry every byte, in order, however the stream is cut', () => {
  const tar = sample();
  for (const step of [1, 7, 512, 513, 100_000]) {
    const evs = read(tar, step);
    assert.equal(Buffer.concat(evs.map((e) => e.raw)), tar, `step ${step}`);
    const entries = evs.flatMap((e) => (e.kind === 'entry' ? [e.entry] : []));
    assert.equal(entries.map((e) => e.path), ['etc', 'etc/passwd', `deep/${'d'.repeat(120)}/file`, 'bin/sh', 'bin/ping']);
    assert.is(entries[2].size, 700);
    assert.is(entries[3].linkname, 'busybox');
    assert.is(entries[4].pax['SCHILY.xattr.security.capability'], 'caps');
  }
});

test('a header is refused when an extractor could read the stream differently', () => {
  const bad = sample();
  bad[0] ^= 1; // checksum no longer matches
  assert.throws(() => read(bad), /bad header checksum/);
  assert.throws(() => read(rawTar([{ path: 'l', type: '2', linkname: 'x', pax: { size: '512' } }])), /carries 512 bytes of data/);
  assert.throws(() => read(rawTar([{ path: 'v', type: 'V' }])), /unsupported entry type "V"/);
  assert.throws(() => read(rawTar([{ path: 's', data: 'x', pax: { 'GNU.sparse.major': '1' } }])), /sparse file/);
  assert.throws(() => read(sample().subarray(0, 1024)), /truncated/);
});

test.run();
