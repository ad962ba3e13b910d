import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { capabilities, DEFAULT_CAPS, MASKED_PATHS, READONLY_PATHS, SandboxError, sandboxSpec, type SandboxHost } from './sandbox.ts';
import { boundingCaps, pickApparmorProfile } from './sandbox-host.ts';
import { CLONE_NAMESPACE_FLAGS } from './seccomp-default.ts';
import { buildSpec, type SpecContext } from './spec.ts';
import { ALL_CAPABILITIES } from '../../api/spec/privileges.ts';

const host: SandboxHost = { arch: 'amd64', kernelRelease: '6.1.0-18-amd64' };
type Rule = { names: string[]; action: string; errnoRet?: number; args?: { index: number; value: number; valueTwo?: number; op: string }[] };
const rules = (s: ReturnType<typeof sandboxSpec>): Rule[] => (s.seccomp!.syscalls as Rule[]);
const allowed = (s: ReturnType<typeof sandboxSpec>, name: string, unconditional = true): boolean =>
  rules(s).some((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(name) && (!unconditional || !r.args));

test('default: Docker 14 capabilities, inheritable and ambient empty, no_new_privs off', () => {
  const s = sandboxSpec({}, host);
  assert.equal(s.capabilities.bounding, DEFAULT_CAPS);
  assert.is(DEFAULT_CAPS.length, 14);
  assert.equal(s.capabilities.effective, DEFAULT_CAPS);
  assert.equal(s.capabilities.permitted, DEFAULT_CAPS);
  assert.equal(s.capabilities.inheritable, []);
  assert.equal(s.capabilities.ambient, []);
  assert.is(s.noNewPrivileges, false);
  assert.is(sandboxSpec({ noNewPrivileges: true }, host).noNewPrivileges, true);
});

test('default seccomp: EPERM by default, native arch and its sub-arches, the namespace and mount families refused', () => {
  const s = sandboxSpec({}, host);
  assert.is(s.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
  assert.is(s.seccomp!.defaultErrnoRet, 1);
  assert.equal(s.seccomp!.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  for (const name of ['unshare', 'setns', 'mount', 'umount2', 'bpf', 'keyctl', 'add_key', 'request_key', 'kexec_load', 'init_module', 'reboot', 'perf_event_open', 'open_by_handle_at', 'syslog', 'swapon', 'settimeofday']) {
    assert.not.ok(allowed(s, name, false), `${name} must not be allowed`);
  }
  for (const name of ['read', 'openat', 'execve', 'chroot', 'ptrace', 'arch_prctl', 'modify_ldt']) assert.ok(allowed(s, name), `${name} allowed`);
  assert.not.ok(allowed(s, 's390_runtime_instr', false));
  // clone only without namespace flags; clone3 answers ENOSYS so libcs fall back to clone.
  const clone = rules(s).filter((r) => r.names.includes('clone'));
  assert.equal(clone, [{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }]);
  assert.equal(rules(s).find((r) => r.names.includes('clone3')), { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  const pers = rules(s).filter((r) => r.names.includes('personality')).map((r) => r.args![0].value);
  assert.equal(pers, [0, 8, 131072, 131080, 4294967295]);
  assert.equal(rules(s).find((r) => r.names.includes('socket'))!.args, [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }]);
});

test('capability-conditional syscalls follow the capabilities the container has', () => {
  const admin = sandboxSpec({ capAdd: ['SYS_ADMIN'] }, host);
  for (const name of ['mount', 'unshare', 'setns', 'clone', 'clone3']) assert.ok(allowed(admin, name), name);
  assert.not.ok(rules(admin).some((r) => r.names.includes('clone3') && r.action !== 'SCMP_ACT_ALLOW'));
  const noChroot = sandboxSpec({ capDrop: ['sys_chroot'] }, host);
  assert.not.ok(allowed(noChroot, 'chroot'));
  assert.ok(allowed(sandboxSpec({ capAdd: ['CAP_SYS_TIME'] }, host), 'clock_settime'));
  assert.ok(allowed(sandboxSpec({ capAdd: ['DAC_READ_SEARCH'] }, host), 'open_by_handle_at'));
  // ptrace needs kernel 4.8 without CAP_SYS_PTRACE.
  assert.not.ok(allowed(sandboxSpec({}, { ...host, kernelRelease: '4.4.0' }), 'ptrace'));
});

test('masked and read-only paths are Docker\'s, including powercap', () => {
  const s = sandboxSpec({}, host);
  assert.equal(s.maskedPaths, MASKED_PATHS);
  for (const p of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware', '/sys/devices/virtual/powercap', '/proc/acpi', '/proc/scsi']) assert.ok(s.maskedPaths.includes(p), p);
  assert.equal(s.readonlyPaths, READONLY_PATHS);
  assert.ok(s.readonlyPaths.includes('/proc/sys') && s.readonlyPaths.includes('/proc/sysrq-trigger'));
});

test('unconfined drops seccomp only; privileged drops the whole sandbox and gets the host\'s capabilities', () => {
  const u = sandboxSpec({ seccompMode: 'unconfined' }, host);
  assert.is(u.seccomp, undefined);
  assert.equal(u.maskedPaths, MASKED_PATHS);
  const p = sandboxSpec({ privileged: true, capDrop: ['ALL'] }, { ...host, apparmorProfile: 'docker-default' });
  assert.is(p.seccomp, undefined);
  assert.is(p.apparmorProfile, undefined);
  assert.equal(p.maskedPaths, []);
  assert.equal(p.readonlyPaths, []);
  assert.equal(p.capabilities.bounding, ALL_CAPABILITIES);
  assert.equal(p.capabilities.inheritable, []);
  const limited = sandboxSpec({ privileged: true }, { ...host, caps: ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE') });
  assert.not.ok(limited.capabilities.bounding.includes('CAP_SYS_RESOURCE'));
  assert.ok(limited.capabilities.bounding.includes('CAP_SYS_ADMIN'));
});

test('a capability the daemon itself lacks is refused when named, left out of ALL', () => {
  const h = { ...host, caps: ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE') };
  assert.throws(() => sandboxSpec({ capAdd: ['SYS_RESOURCE'] }, h), (e: unknown) => e instanceof SandboxError && /CAP_SYS_RESOURCE/.test((e as Error).message));
  assert.not.ok(sandboxSpec({ capAdd: ['ALL'] }, h).capabilities.bounding.includes('CAP_SYS_RESOURCE'));
});

test('Docker capability rules: adds win over drops, drop ALL keeps only adds, add ALL minus drops', () => {
  assert.equal(capabilities(['NET_ADMIN'], ['ALL']), ['CAP_NET_ADMIN']);
  assert.ok(capabilities(['chown'], ['CAP_CHOWN']).includes('CAP_CHOWN'));
  const all = capabilities(['all'], ['sys_admin']);
  assert.is(all.length, ALL_CAPABILITIES.length - 1);
  assert.not.ok(all.includes('CAP_SYS_ADMIN'));
});

test('a custom profile (base64 or JSON text) is resolved like the default one', () => {
  const profile = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }, { name: 'chmod', action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_SYS_ADMIN'] } }] });
  for (const text of [profile, Buffer.from(profile).toString('base64')]) {
    const s = sandboxSpec({ seccompMode: 'custom', seccompProfile: text }, host);
    assert.equal(s.seccomp, { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] });
  }
  assert.throws(() => sandboxSpec({ seccompMode: 'custom', seccompProfile: '{"defaultAction":1}' }, host), /seccomp: defaultAction/);
});

test('AppArmor: the host\'s docker-default only when AppArmor is enforcing it; disabled on request', () => {
  assert.is(pickApparmorProfile('Y\n', 'docker-default (enforce)\nfoo (complain)\n'), 'docker-default');
  assert.is(pickApparmorProfile('Y\n', 'shoal-default (enforce)\ndocker-default (enforce)\n'), 'shoal-default');
  assert.is(pickApparmorProfile('Y\n', 'docker-default (complain)\n'), undefined);
  assert.is(pickApparmorProfile('N\n', 'docker-default (enforce)\n'), undefined);
  assert.is(pickApparmorProfile(undefined, undefined), undefined);
  const h = { ...host, apparmorProfile: 'docker-default' };
  assert.is(sandboxSpec({}, h).apparmorProfile, 'docker-default');
  assert.is(sandboxSpec({ apparmorMode: 'disabled' }, h).apparmorProfile, undefined);
  assert.is(sandboxSpec({}, host).apparmorProfile, undefined);
});

test('the bounding set is read from /proc status bits', () => {
  assert.equal(boundingCaps('Name:\tx\nCapBnd:\t00000000a80425fb\n'), ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_CHROOT', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP']);
  assert.is(boundingCaps('nothing'), undefined);
});

const ctx: SpecContext = {
  containerId: 'abcdef0123456789xyz', rootfs: '/d/rootfs', cgroupsPath: '/shoal-n1/abc', netnsPath: '/run/netns/t1',
  user: { uid: 0, gid: 0, additionalGids: [] }, volumePath: (n) => `/v/${n}`, files: [], host: { ...host, apparmorProfile: 'docker-default' },
};

test('buildSpec: the sandbox lands in config.json with a cgroup namespace; privileged gets rw /sys and all devices', () => {
  const s = buildSpec({ Cmd: ['sh'] }, { taskId: 't', image: 'bb' }, ctx);
  assert.ok(s.linux.namespaces.some((n: { type: string }) => n.type === 'cgroup'));
  assert.is(s.linux.seccomp.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.process.capabilities.inheritable, []);
  assert.is(s.process.apparmorProfile, 'docker-default');
  assert.is(s.process.noNewPrivileges, false);
  assert.ok(s.linux.maskedPaths.includes('/sys/devices/virtual/powercap'));
  assert.ok(s.mounts.find((m: { destination: string }) => m.destination === '/sys').options.includes('ro'));
  assert.equal(s.linux.resources.devices, [{ allow: false, access: 'rwm' }]);
  const p = buildSpec({ Cmd: ['sh'] }, { taskId: 't', image: 'bb', privileged: true }, ctx);
  assert.is(p.linux.seccomp, undefined);
  assert.is(p.process.apparmorProfile, undefined);
  assert.ok(p.mounts.find((m: { destination: string }) => m.destination === '/sys').options.includes('rw'));
  assert.equal(p.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
});

test.run();
