import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgumentError } from '../errors.ts';
import type { ContainerSpec, ServiceSpec } from '../types/service.ts';
import { validateServiceSpec } from './service-spec.ts';
import { normalizeCapability } from './privileges.ts';
import { decodeProfileField, parseSeccompProfile, SeccompProfileError } from './seccomp-format.ts';

const spec = (c: Partial<ContainerSpec>): ServiceSpec => ({ Name: 'web', Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'bb', ...c } } });

function refusal(c: Partial<ContainerSpec>): string {
  try {
    validateServiceSpec(spec(c));
  } catch (e) {
    assert.instance(e, InvalidArgumentError);
    assert.is((e as InvalidArgumentError).status, 400);
    return (e as Error).message;
  }
  return '';
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64');
const profile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] };

test('capability names are accepted with or without CAP_, any case, and ALL; unknown names are refused', () => {
  assert.is(refusal({ CapabilityAdd: ['net_admin', 'CAP_SYS_TIME', 'ALL'], CapabilityDrop: ['all', 'chown'] }), '');
  assert.match(refusal({ CapabilityAdd: ['NET_MAGIC'] }), 'TaskTemplate.ContainerSpec.CapabilityAdd[0]: unknown capability: "NET_MAGIC"');
  assert.match(refusal({ CapabilityDrop: ['CHOWN', ''] }), 'CapabilityDrop[1]');
  assert.is(normalizeCapability(' sys_admin '), 'CAP_SYS_ADMIN');
});

test('seccomp default, unconfined and a valid custom profile pass; Docker clients\' empty structs pass', () => {
  assert.is(refusal({ Privileges: { Seccomp: { Mode: 'unconfined' } } }), '');
  assert.is(refusal({ Privileges: { Seccomp: { Mode: 'default' }, AppArmor: { Mode: 'disabled' }, NoNewPrivileges: true } }), '');
  assert.is(refusal({ Privileges: { Seccomp: { Mode: 'custom', Profile: b64(profile) } } }), '');
  assert.is(refusal({ Privileges: { Seccomp: { Mode: 'custom', Profile: JSON.stringify(profile) } } }), '');
  assert.is(refusal({ Privileges: { CredentialSpec: null, SELinuxContext: { Disable: false, User: '', Role: '', Type: '', Level: '' } } }), '');
  assert.is(refusal({ Privileges: { Privileged: true } }), '');
});

test('bad privileges are 400s naming the field', () => {
  assert.match(refusal({ Privileges: { Seccomp: { Mode: 'custom', Profile: Buffer.from('{not json').toString('base64') } } }), /Privileges\.Seccomp\.Profile: seccomp: profile is not valid JSON/);
  assert.match(refusal({ Privileges: { Seccomp: { Mode: 'custom' } } }), /Seccomp\.Profile: must hold the profile/);
  assert.match(refusal({ Privileges: { Seccomp: { Mode: 'strict' as never } } }), /Seccomp\.Mode: unknown mode "strict"/);
  assert.match(refusal({ Privileges: { Seccomp: { Mode: 'unconfined', Profile: b64(profile) } } }), /only allowed when Mode is custom/);
  assert.match(refusal({ Privileges: { AppArmor: { Mode: 'complain' as never } } }), /AppArmor\.Mode/);
  assert.match(refusal({ Privileges: { CredentialSpec: { File: 'spec.json' } } }), /Privileges\.CredentialSpec: is not supported/);
  assert.match(refusal({ Privileges: { SELinuxContext: { Type: 'svirt_t' } } }), /Privileges\.SELinuxContext: is not supported/);
  assert.match(refusal({ Privileges: { NoNewPrivileges: 'yes' as never } }), /NoNewPrivileges: must be a boolean/);
  assert.match(refusal({ Privileges: { Privileged: 1 as never } }), /Privileged: must be a boolean/);
  assert.match(refusal({ Privileges: 'x' as never }), /Privileges: must be an object/);
});

test('profile checks name the first bad field', () => {
  const bad = (p: unknown) => { try { parseSeccompProfile(JSON.stringify(p)); return ''; } catch (e) { assert.instance(e, SeccompProfileError); return (e as Error).message; } };
  assert.match(bad([]), 'must be a JSON object');
  assert.match(bad({ defaultAction: 'SCMP_ACT_NOTIFY' }), 'defaultAction: unknown action');
  assert.match(bad({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW' }] }), 'syscalls[0]: names must not be empty');
  assert.match(bad({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 7, value: 0, op: 'SCMP_CMP_EQ' }] }] }), 'args[0].index');
  assert.match(bad({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'LIKE' }] }] }), 'args[0].op');
  assert.match(bad({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], archMap: [{ architecture: 'SCMP_ARCH_X86_64' }] }), "either 'architectures' or 'archMap'");
  assert.match(bad({ defaultAction: 'SCMP_ACT_ERRNO', listenerPath: '/run/x.sock' }), 'listenerPath');
  assert.match(bad({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: 'new' } }] }), 'minKernel');
  assert.throws(() => decodeProfileField('not base64!'), /must be base64/);
  assert.throws(() => parseSeccompProfile(' '.repeat(1024 * 1024 + 1)), /larger than/);
});

test.run();
