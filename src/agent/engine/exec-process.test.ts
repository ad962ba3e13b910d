import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkExecConfig, execEnv, execProcess, ExecConfigError } from './exec-process.ts';
import type { BundleProcess } from './view.ts';

const TASK: BundleProcess = {
  args: ['sleep', '1000'], env: ['PATH=/bin', 'HOSTNAME=abc', 'A=1'], cwd: '/srv', user: { uid: 0, gid: 0 },
  capabilities: { bounding: ['CAP_CHOWN'], effective: ['CAP_CHOWN'], permitted: ['CAP_CHOWN'], inheritable: [], ambient: [] },
  apparmorProfile: 'docker-default', noNewPrivileges: true, rlimits: [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 10 }],
};

test('an exec runs with the task\'s capabilities, profile, no_new_privs and rlimits', () => {
  const p = execProcess(TASK, { Cmd: ['sh'] }, { allCaps: ['CAP_CHOWN', 'CAP_NET_ADMIN'] }) as any;
  assert.equal(p.args, ['sh']);
  assert.equal(p.capabilities, TASK.capabilities);
  assert.is(p.apparmorProfile, 'docker-default');
  assert.is(p.noNewPrivileges, true);
  assert.equal(p.rlimits, TASK.rlimits);
  assert.is(p.cwd, '/srv');
  assert.equal(p.user, { uid: 0, gid: 0 });
  assert.is(p.terminal, false);
});

test('exec fields override: env, working dir, user, tty with its size; privileged gets every capability', () => {
  const p = execProcess(TASK, { Cmd: ['sh'], Env: ['A=2', 'B=3'], WorkingDir: '/tmp', Tty: true, Privileged: true }, {
    user: { uid: 1000, gid: 1000 }, allCaps: ['CAP_CHOWN', 'CAP_NET_ADMIN'], consoleSize: { height: 30, width: 100 },
  }) as any;
  assert.equal(p.env, ['PATH=/bin', 'HOSTNAME=abc', 'A=2', 'B=3']);
  assert.is(p.cwd, '/tmp');
  assert.equal(p.user, { uid: 1000, gid: 1000 });
  assert.is(p.terminal, true);
  assert.equal(p.consoleSize, { height: 30, width: 100 });
  assert.equal(p.capabilities.bounding, ['CAP_CHOWN', 'CAP_NET_ADMIN']);
  assert.is(p.apparmorProfile, undefined);
  assert.equal(execEnv(['A=1'], null), ['A=1']);
});

test('exec configs without a command, with detach keys or unknown fields are refused by name', () => {
  assert.throws(() => checkExecConfig({ Cmd: [] }), (e: Error) => e instanceof ExecConfigError && /No exec command/.test(e.message));
  assert.throws(() => checkExecConfig({ Cmd: ['sh'], DetachKeys: 'ctrl-x' }), /DetachKeys/);
  assert.throws(() => checkExecConfig({ Cmd: ['sh'], Frobnicate: 1 }), /Frobnicate/);
  assert.throws(() => checkExecConfig({ Cmd: ['sh'], WorkingDir: 'rel' }), /absolute/);
  assert.equal(checkExecConfig({ Cmd: ['sh'], Frobnicate: null, AttachStdout: true }).Cmd, ['sh']);
});

test.run();
