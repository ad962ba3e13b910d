// `docker exec` through the container's exec helper (src/agent/engine/exec-helper.*,
// issue 23 item 2): the exec'd process is a child of the helper, not of a runc process,
// and its sandbox is the task's: /proc/self/status capability sets, NoNewPrivs, Seccomp
// mode and filter count, every cgroup and every namespace equal those of the task's
// PID 1. The helper goes away with its container. (Streams, TTY, user, env and exit
// codes through the same path: labs/engine.lab.test.ts.) With the helper switched off
// (`SHOAL_EXEC_HELPER=off`, as where it cannot serve) the runc exec fallback gives the
// same sandbox, streams, exit codes and an interactive terminal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { defaultDaemonCommand } from './lib/daemon.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { client, IMAGE, waitFor, waitRunning } from './lib/swarm-services.ts';
import { checkTerminalShell } from './lib/tmux.ts';

function docker(lab: Lab, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('docker', args, { env: { ...process.env, DOCKER_HOST: lab.dockerHost('h1') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = ''; let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d; });
    child.stderr.on('data', (d: Buffer) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}

async function ok(lab: Lab, args: string[]): Promise<string> {
  const r = await docker(lab, args);
  assert.is(r.code, 0, `docker ${args.join(' ')}: ${r.err}`);
  return r.out;
}

function cmdline(pid: string): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { return ''; }
}

/** Host PIDs whose command line contains every one of `parts`. */
function pidsWith(...parts: string[]): string[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p) && parts.every((x) => cmdline(p).includes(x)));
}

/** The sandbox of process `dir` (`/proc/self` or `/proc/1`) as the task sees it, one fact a line. */
const SANDBOX = (dir: string) => `grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters):' ${dir}/status; cat ${dir}/cgroup; ` +
  `for n in cgroup ipc mnt net pid uts user; do echo $n $(readlink ${dir}/ns/$n); done`;

test('an exec runs in the helper with exactly the sandbox of the task\'s PID 1', async () => {
  await withLab({ hosts: 1, prefix: 'shoalxt' }, async (lab) => {
    await client(lab, 'h1').post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
    // Non-default sets, so a copy of the defaults would not pass.
    await ok(lab, ['service', 'create', '--detach', '--name', 'xt', '--cap-add', 'NET_ADMIN', '--cap-drop', 'CHOWN', '--stop-grace-period', '1s', IMAGE,
      'sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait']);
    const [task] = await waitRunning(lab, 'xt', 1);
    const name = `xt.1.${task.ID}`;
    const cid = (await ok(lab, ['inspect', '--format', '{{.Id}}', name])).trim();

    const mine = await ok(lab, ['exec', name, 'sh', '-c', SANDBOX('/proc/self')]);
    const init = await ok(lab, ['exec', name, 'sh', '-c', SANDBOX('/proc/1')]);
    assert.match(mine, /^Seccomp:\s+2$/m, 'seccomp filter mode');
    assert.match(mine, /^NoNewPrivs:\s+0$/m);
    assert.match(mine, /^mnt mnt:\[\d+\]$/m);
    assert.equal(mine.split('\n'), init.split('\n'), 'the exec\'s sandbox is PID 1\'s');
    assert.ok((BigInt(`0x${/^CapBnd:\s+(\w+)/m.exec(mine)![1]}`) & (1n << 12n)) !== 0n, 'NET_ADMIN added');
    assert.ok((BigInt(`0x${/^CapBnd:\s+(\w+)/m.exec(mine)![1]}`) & 1n) === 0n, 'CHOWN dropped');

    // A second user's exec: its uid, groups and (empty after execve) effective set.
    const user = await ok(lab, ['exec', '-u', '1000:1000', name, 'sh', '-c', 'id -u; id -g; grep CapEff /proc/self/status']);
    assert.equal(user.split('\n').slice(0, 3), ['1000', '1000', 'CapEff:\t0000000000000000']);

    // Served by the helper: the exec'd process's parent on the host is the helper's session.
    // (The helper and its spare session, forked ahead of the next connection.)
    assert.ok(pidsWith('exec-helper.py', cid).length >= 1, `a helper for ${cid}`);
    await ok(lab, ['exec', '-d', name, 'sleep', '4321']);
    const sleeper = await waitFor('the detached exec on the host', async () => pidsWith('sleep 4321')[0], 20_000, 50);
    const ppid = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${sleeper}/status`, 'utf8'))![1];
    assert.match(cmdline(ppid), new RegExp(`exec-helper\\.py .*${cid}`), 'parent is the helper\'s session');
    assert.not.match(cmdline(ppid), /runc/);

    // The helper holds the container's namespaces: it leaves with the container.
    await ok(lab, ['kill', name]);
    await waitFor('the helper gone with its container', async () => pidsWith('exec-helper.py', cid).length === 0, 30_000, 100);
  });
});

test('with the helper off, runc exec gives the same sandbox, streams, exit codes and terminal', async () => {
  const daemons = { command: (ctx: Parameters<typeof defaultDaemonCommand>[0]) => ['env', 'SHOAL_EXEC_HELPER=off', ...defaultDaemonCommand(ctx)] };
  await withLab({ hosts: 1, prefix: 'shoalxf', daemons }, async (lab) => {
    await client(lab, 'h1').post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
    await ok(lab, ['service', 'create', '--detach', '--name', 'xf', '--stop-grace-period', '1s', IMAGE, 'sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait']);
    const [task] = await waitRunning(lab, 'xf', 1);
    const name = `xf.1.${task.ID}`;
    const cid = (await ok(lab, ['inspect', '--format', '{{.Id}}', name])).trim();
    assert.equal((await ok(lab, ['exec', name, 'sh', '-c', SANDBOX('/proc/self')])).split('\n'), (await ok(lab, ['exec', name, 'sh', '-c', SANDBOX('/proc/1')])).split('\n'));
    const failed = await docker(lab, ['exec', name, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal([failed.code, failed.out, failed.err], [3, 'out\n', 'err\n']);
    await checkTerminalShell(`shoalxf-${process.pid}`, `env DOCKER_HOST=${lab.dockerHost('h1')} docker exec -it ${name} sh`);
    assert.equal(pidsWith('exec-helper.py', cid), [], 'no helper');
  });
});

test.run();
