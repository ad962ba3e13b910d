import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRootfsFile, readUserFiles, refuseBlockingUserFiles, resolveUser } from './users.ts';

const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\nbad:x:notanumber:1::/:/bin/sh\n';
const group = 'root:x:0:\nwheel:x:10:app\nnogroup:x:65534:\n';

test('users and groups resolve as Docker does', () => {
  const f = { passwd, group };
  assert.equal(resolveUser('app', f), { uid: 1000, gid: 1000, additionalGids: [10] });
  assert.equal(resolveUser('1000:65534', f), { uid: 1000, gid: 65534, additionalGids: [10] });
  assert.equal(resolveUser('4242', f), { uid: 4242, gid: 0, additionalGids: [] });
  assert.equal(resolveUser('nobody:wheel', f), { uid: 65534, gid: 10, additionalGids: [] });
  assert.equal(resolveUser(undefined, f), { uid: 0, gid: 0, additionalGids: [] });
  assert.equal(resolveUser('app:', f), { uid: 1000, gid: 1000, additionalGids: [10] });
  assert.throws(() => resolveUser('ghost', f), /unable to find user ghost: no matching entries in passwd file$/);
  assert.throws(() => resolveUser('bad', f), /unable to find user bad/);
  assert.throws(() => resolveUser('app:staff', f), /unable to find group staff/);
  assert.throws(() => resolveUser('99999999999', f), /uid 99999999999 is out of range/);
});

test('without the files numeric IDs still work and names say why the file was ignored', () => {
  const f = { problems: ['/etc/passwd ignored: it is a FIFO'] };
  assert.equal(resolveUser('1000:1000', f), { uid: 1000, gid: 1000, additionalGids: [] });
  assert.equal(resolveUser('', f), { uid: 0, gid: 0, additionalGids: [] });
  assert.throws(() => resolveUser('app', f), /unable to find user app: no matching entries in passwd file \(\/etc\/passwd ignored: it is a FIFO\)/);
});

function withRootfs(fn: (rootfs: string, host: string) => void): () => void {
  return () => {
    const base = mkdtempSync(join(tmpdir(), 'shoal-users-'));
    const rootfs = join(base, 'rootfs');
    const host = join(base, 'host');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    mkdirSync(host);
    writeFileSync(join(host, 'passwd'), 'root:x:0:0:HOSTSECRET:/root:/bin/sh\nhostonly:x:7:7::/:/bin/sh\n');
    try { fn(rootfs, host); } finally { rmSync(base, { recursive: true, force: true }); }
  };
}

test('a regular passwd is read; a missing one is absent without a problem', withRootfs((rootfs) => {
  writeFileSync(join(rootfs, 'etc', 'passwd'), passwd);
  assert.equal(readRootfsFile(rootfs, 'etc/passwd'), { text: passwd });
  assert.equal(readRootfsFile(rootfs, 'etc/group'), {});
  assert.equal(resolveUser('app', readUserFiles(rootfs)).uid, 1000);
}));

test('a symlinked passwd (or etc) never reads the host file', withRootfs((rootfs, host) => {
  symlinkSync(join(host, 'passwd'), join(rootfs, 'etc', 'passwd'));
  const r = readRootfsFile(rootfs, 'etc/passwd');
  assert.is(r.text, undefined);
  assert.match(r.problem!, /\/etc\/passwd ignored: it is a symlink/);
  assert.throws(() => resolveUser('hostonly', readUserFiles(rootfs)), /unable to find user hostonly.*symlink/);
  rmSync(join(rootfs, 'etc'), { recursive: true });
  symlinkSync(host, join(rootfs, 'etc'));
  assert.match(readRootfsFile(rootfs, 'etc/passwd').problem!, /\/etc is a symlink or not a directory/);
}));

test('a FIFO, a directory, a device or an oversize passwd is ignored without blocking', withRootfs((rootfs) => {
  execFileSync('mkfifo', [join(rootfs, 'etc', 'passwd')]);
  assert.match(readRootfsFile(rootfs, 'etc/passwd').problem!, /it is a FIFO/);
  assert.equal(resolveUser('1000', readUserFiles(rootfs)), { uid: 1000, gid: 0, additionalGids: [] });
  assert.equal(readUserFiles(rootfs).blocking, ['/etc/passwd']);
  assert.throws(() => refuseBlockingUserFiles(readUserFiles(rootfs)), /\/etc\/passwd of the image is not a regular file \(a FIFO, device or socket\): the container runtime would block/);
  mkdirSync(join(rootfs, 'etc', 'group'));
  assert.match(readRootfsFile(rootfs, 'etc/group').problem!, /it is a directory/);
  writeFileSync(join(rootfs, 'big'), Buffer.alloc(2048, 0x61));
  assert.match(readRootfsFile(rootfs, 'big', { maxBytes: 1024 }).problem!, /2048 bytes, over 1024/);
  if (process.getuid?.() === 0) {
    execFileSync('mknod', [join(rootfs, 'dev0'), 'c', '1', '3']);
    assert.match(readRootfsFile(rootfs, 'dev0').problem!, /it is a device/);
  }
}));

test.run();
