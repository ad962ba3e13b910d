import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildSpec } from './create.ts';
import { parseSecurityOpts } from './sandbox-flags.ts';

const profile = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
const files: Record<string, string> = { '/p.json': profile, '/bad.json': '{"defaultAction": 3}' };
const read = (p: string) => { if (!(p in files)) throw new Error('ENOENT'); return files[p]; };

test('--cap-add, --cap-drop and --privileged set the container spec', () => {
  const s = buildSpec('bb', [], { mode: 'replicated', 'cap-add': ['NET_ADMIN'], 'cap-drop': ['ALL'], privileged: true } as never);
  const c = s.TaskTemplate.ContainerSpec;
  assert.equal(c.CapabilityAdd, ['NET_ADMIN']);
  assert.equal(c.CapabilityDrop, ['ALL']);
  assert.equal(c.Privileges, { Privileged: true });
  assert.is(buildSpec('bb', [], { mode: 'replicated' } as never).TaskTemplate.ContainerSpec.Privileges, undefined);
});

test('--security-opt: seccomp unconfined/default/profile file, no-new-privileges, apparmor=unconfined', () => {
  assert.equal(parseSecurityOpts(['seccomp=unconfined', 'no-new-privileges'], read), { Seccomp: { Mode: 'unconfined' }, NoNewPrivileges: true });
  assert.equal(parseSecurityOpts(['seccomp=default', 'no-new-privileges=false', 'apparmor=unconfined'], read), { Seccomp: { Mode: 'default' }, NoNewPrivileges: false, AppArmor: { Mode: 'disabled' } });
  const custom = parseSecurityOpts(['seccomp=/p.json'], read).Seccomp!;
  assert.is(custom.Mode, 'custom');
  assert.is(Buffer.from(custom.Profile!, 'base64').toString(), profile);
});

test('bad --security-opt values are errors naming the option or file', () => {
  assert.throws(() => parseSecurityOpts(['seccomp=/missing.json'], read), /opening seccomp profile \(\/missing.json\) failed/);
  assert.throws(() => parseSecurityOpts(['seccomp=/bad.json'], read), /seccomp profile \/bad.json: seccomp: defaultAction/);
  assert.throws(() => parseSecurityOpts(['label=type:svirt_t'], read), /invalid --security-opt "label=type:svirt_t"/);
  assert.throws(() => parseSecurityOpts(['no-new-privileges=maybe'], read), /expected true or false/);
  assert.throws(() => parseSecurityOpts(['apparmor=docker-default'], read), /only apparmor=unconfined/);
});

test.run();
