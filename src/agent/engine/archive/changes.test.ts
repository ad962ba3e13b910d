import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { overlayChanges, overlayLowers } from './changes.ts';

test('overlayLowers reads the lower dirs of the overlay mounted at a path', () => {
  const info = [
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
    '90 22 0:50 / /var/lib/shoal/c1/rootfs rw,relatime - overlay overlay rw,lowerdir=/l/b:/l/a\\:x,upperdir=/c1/upper,workdir=/c1/work',
    '91 22 0:51 / /with\\040space rw - overlay overlay rw,lowerdir=/l/c,upperdir=/u,workdir=/w',
  ].join('\n');
  assert.equal(overlayLowers(info, '/var/lib/shoal/c1/rootfs'), ['/l/b', '/l/a:x']);
  assert.equal(overlayLowers(info, '/with space'), ['/l/c']);
  assert.is(overlayLowers(info, '/'), undefined, 'not an overlay');
  assert.is(overlayLowers(info, '/nowhere'), undefined);
});

test('overlayChanges: adds, modifies, unchanged parent dirs skipped, links not followed', () => {
  const base = mkdtempSync(join(tmpdir(), 'shoal-changes-'));
  try {
    const lower = join(base, 'lower');
    const upper = join(base, 'upper');
    mkdirSync(join(lower, 'etc'), { recursive: true });
    mkdirSync(join(lower, 'usr', 'bin'), { recursive: true });
    writeFileSync(join(lower, 'etc', 'hosts'), 'a');
    mkdirSync(join(upper, 'etc'), { recursive: true });
    mkdirSync(join(upper, 'usr', 'bin'), { recursive: true });
    mkdirSync(join(upper, 'new', 'sub'), { recursive: true });
    writeFileSync(join(upper, 'etc', 'hosts'), 'b');
    writeFileSync(join(upper, 'usr', 'bin', 'tool'), 'c');
    writeFileSync(join(upper, 'new', 'sub', 'f'), 'd');
    symlinkSync('/', join(upper, 'root-link'));
    // /usr copied up for /usr/bin/tool but with the lower's mode and time: not a change itself.
    const t = new Date('2024-01-01T00:00:00Z');
    utimesSync(join(lower, 'usr'), t, t);
    utimesSync(join(upper, 'usr'), t, t);
    // /usr/bin got a new entry: its time differs from the lower's.
    utimesSync(join(lower, 'usr', 'bin'), t, t);
    utimesSync(join(lower, 'etc'), t, t);
    const got = overlayChanges(upper, [lower]).map((c) => `${c.Kind} ${c.Path}`);
    assert.equal(got, ['0 /etc', '0 /etc/hosts', '1 /new', '1 /new/sub', '1 /new/sub/f', '1 /root-link', '0 /usr/bin', '1 /usr/bin/tool']);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test.run();
