// The container sandbox on real runc containers: what a default task cannot do,
// what privileged, capability and seccomp options give back.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { withExecLab, type ExecLab } from '../../../labs/lib/executor-fixture.ts';
import type { TaskContainerSpec } from './types.ts';

const t = suite('sandbox');
let n = 0;

/** Runs `script` in a task with `extra` settings; resolves with its exit code and output lines. */
async function run(lab: ExecLab, script: string, extra: Partial<TaskContainerSpec> = {}): Promise<{ code: number; out: string }> {
  const c = lab.ex.controller({ taskId: `${lab.name}-sbx${n++}`, image: lab.image, command: ['sh', '-c', script], ...extra });
  try {
    await c.prepare();
    await c.start();
    const { exitCode } = await c.wait();
    let out = '';
    for await (const e of c.logs()) out += `${e.log.replace(/\n$/, '')}\n`;
    return { code: exitCode, out };
  } finally {
    await c.remove();
  }
}

/** The value printed as `key=value` by a script. */
function field(out: string, key: string): string | undefined {
  return new RegExp(`^${key}[=:]\\s*(\\S*)`, 'm').exec(out)?.[1];
}

const PROBE = [
  'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status',
  'unshare -U true 2>/dev/null; echo unshareU=$?',
  'unshare -m true 2>/dev/null; echo unshareM=$?',
  'mkdir -p /mnt/t; mount -t tmpfs none /mnt/t 2>/dev/null; echo mount=$?',
  'echo timer_list=$(wc -c < /proc/timer_list)',
  'echo kcore=$( (wc -c < /proc/kcore) 2>/dev/null || echo absent)',
  'echo firmware=$(ls /sys/firmware | wc -l)',
  '(echo 1 > /proc/sys/kernel/shm_rmid_forced) 2>/dev/null; echo procsys=$?',
  'echo cgroup=$(sed -n "1s/^[^:]*:[^:]*://p" /proc/self/cgroup)',
].join('; ');

t('a default task has Docker\'s sandbox: no user or mount namespaces, no mount, masked and read-only /proc, empty inheritable caps', async () => {
  await withExecLab(async (lab) => {
    const { code, out } = await run(lab, PROBE);
    assert.is(code, 0, out);
    assert.is(field(out, 'CapInh'), '0000000000000000', out);
    assert.is(field(out, 'CapAmb'), '0000000000000000');
    assert.is(field(out, 'CapBnd'), '00000000a80425fb', 'Docker\'s 14 default capabilities');
    assert.is(field(out, 'CapEff'), '00000000a80425fb');
    assert.is(field(out, 'Seccomp'), '2', 'a seccomp filter is installed');
    assert.is(field(out, 'NoNewPrivs'), '0', 'as Docker: no_new_privs is off unless asked');
    assert.is(field(out, 'unshareU'), '1', 'unshare -U is refused');
    assert.is(field(out, 'unshareM'), '1', 'unshare -m is refused');
    assert.is(field(out, 'mount'), '1', 'mount is refused');
    assert.is(field(out, 'timer_list'), '0', '/proc/timer_list is masked');
    assert.ok(['0', 'absent'].includes(field(out, 'kcore')!), '/proc/kcore is masked (or absent on this kernel)');
    assert.is(field(out, 'firmware'), '0', '/sys/firmware is masked');
    assert.is(field(out, 'procsys'), '1', '/proc/sys is read-only');
    assert.is(field(out, 'cgroup'), '/', 'a cgroup namespace rooted at the container\'s cgroup');
  });
});

t('a privileged task can mount, unshare and write /proc/sys; it still has no inheritable caps', async () => {
  await withExecLab(async (lab) => {
    const { code, out } = await run(lab, `${PROBE}; umount /mnt/t`, { privileged: true });
    assert.is(code, 0, out);
    assert.is(field(out, 'mount'), '0', out);
    assert.is(field(out, 'unshareM'), '0');
    assert.is(field(out, 'unshareU'), '0');
    assert.is(field(out, 'Seccomp'), '0');
    assert.is(field(out, 'CapInh'), '0000000000000000');
    assert.is(field(out, 'cgroup'), '/');
    assert.ok(Number(field(out, 'timer_list')) > 0, '/proc/timer_list is not masked');
  });
});

t('--cap-drop ALL --cap-add NET_ADMIN: only NET_ADMIN, which works', async () => {
  await withExecLab(async (lab) => {
    const { code, out } = await run(lab, 'grep -E "^Cap(Eff|Bnd):" /proc/self/status; ip addr add 10.99.0.1/32 dev lo; echo addr=$?; chown 1 /tmp 2>/dev/null; echo chown=$?', { capDrop: ['ALL'], capAdd: ['NET_ADMIN'] });
    assert.is(code, 0, out);
    assert.is(field(out, 'CapEff'), '0000000000001000', out);
    assert.is(field(out, 'CapBnd'), '0000000000001000');
    assert.is(field(out, 'addr'), '0', 'NET_ADMIN works');
    assert.is(field(out, 'chown'), '1', 'CAP_CHOWN was dropped');
  });
});

t('seccomp unconfined allows what the default profile blocks; a custom profile and no-new-privileges apply', async () => {
  await withExecLab(async (lab) => {
    const unconfined = await run(lab, 'grep ^Seccomp: /proc/self/status; unshare -U true; echo unshareU=$?', { seccompMode: 'unconfined' });
    assert.is(field(unconfined.out, 'Seccomp'), '0', unconfined.out);
    assert.is(field(unconfined.out, 'unshareU'), '0', 'unshare -U works without the default profile');
    const profile = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] });
    const custom = await run(lab, 'mkdir /tmp/x 2>/dev/null; echo mkdir=$?; unshare -U true; echo unshareU=$?; grep ^NoNewPrivs: /proc/self/status', {
      seccompMode: 'custom', seccompProfile: Buffer.from(profile).toString('base64'), noNewPrivileges: true,
    });
    assert.is(field(custom.out, 'mkdir'), '1', custom.out);
    assert.is(field(custom.out, 'unshareU'), '0', 'the custom profile replaces the default one');
    assert.is(field(custom.out, 'NoNewPrivs'), '1');
  });
});

t.run();
