import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ContainerSpec } from '../../../src/api/types/service.ts';
import { applyPayloadCreateFlags, applyPayloadUpdateFlags, parsePayloadRef } from './secret-flags.ts';

test('a bare name or docker\'s long form; mode as go reads it (0400 octal, 256 decimal)', () => {
  assert.equal(parsePayloadRef('secret', 'pw'), { name: 'pw' });
  assert.equal(parsePayloadRef('secret', 'source=pw,target=db,uid=10,gid=20,mode=0400'), { name: 'pw', file: { Name: 'db', UID: '10', GID: '20', Mode: 0o400 } });
  assert.equal(parsePayloadRef('config', 'src=c,mode=256').file, { Mode: 256 });
  assert.throws(() => parsePayloadRef('secret', 'target=x'), /source is required/);
  assert.throws(() => parsePayloadRef('secret', 'source=x,bogus=1'), /invalid field/);
  assert.throws(() => parsePayloadRef('secret', 'source=x,mode=rw'), /invalid mode/);
});

test('create flags become references by name; update removes, then adds, replacing by name', () => {
  const c: ContainerSpec = { Image: 'bb' };
  applyPayloadCreateFlags(c, { secret: ['a', 'source=b,target=bb'], config: ['c'] });
  assert.equal(c.Secrets, [{ SecretID: '', SecretName: 'a' }, { SecretID: '', SecretName: 'b', File: { Name: 'bb' } }]);
  assert.equal(c.Configs, [{ ConfigID: '', ConfigName: 'c' }]);
  c.Secrets![0].SecretID = 'ida';
  applyPayloadUpdateFlags(c, { 'secret-rm': ['ida'], 'secret-add': ['source=b,target=new', 'd'], 'config-rm': ['c'] });
  assert.equal(c.Secrets!.map((s) => [s.SecretName, s.File?.Name]), [['b', 'new'], ['d', undefined]]);
  assert.equal(c.Configs, []);
});

test.run();
