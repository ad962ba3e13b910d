// Service and task logs on a 3-host lab (root, real runc containers; issue 17, item 2):
// `shoal service logs` gathers the lines of tasks on every node with Docker's
// `name.slot.taskid@node |` prefix, stdout and stderr apart; `--tail` per task, `--since`,
// `-t`, a task by ID, `-f` following new lines, the stock `docker service logs`; and a
// follow through a manager that is not the leader survives the leader's failure; a task
// whose node is down is reported unavailable rather than left out; a task started while
// following joins the stream.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { withLab, type Lab } from './lib/lab.ts';
import { run } from './lib/procs.ts';
import { SHOAL_BIN } from './test/daemon-process.ts';
import { formSwarm, IMAGE, waitFor, waitRunning } from './lib/swarm-services.ts';

const PREFIX_RE = /^lg\.(\d)\.([a-z0-9]{12})@(h\d) \| (.*)$/;
/** Each task: one stderr line, then a numbered stdout line every 300 ms. */
const SCRIPT = 'echo "start on $(hostname)" >&2; i=0; while true; do echo "line $i"; i=$((i+1)); sleep 0.3; done';

async function phase(lab: Lab): Promise<void> {
  const ok = async (args: string[]) => {
    const r = await lab.cli('h1', args, { timeoutMs: 60_000 });
    assert.is(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const t0 = Date.now() - 1;
  await ok(['service', 'create', '--detach', '--replicas', '3', '--name', 'lg', '--stop-grace-period', '1s', IMAGE, 'sh', '-c', SCRIPT]);
  const tasks = await waitRunning(lab, 'lg', 3);
  // Lines from every task before reading.
  await waitFor('five lines from each task', async () => {
    const r = await lab.cli('h1', ['service', 'logs', 'lg']);
    const per = new Map<string, number>();
    for (const l of r.stdout.split('\n')) { const m = PREFIX_RE.exec(l); if (m) per.set(m[2], (per.get(m[2]) ?? 0) + 1); }
    return per.size === 3 && [...per.values()].every((n) => n >= 5);
  });

  // All of it: every node, the prefix Docker prints, stderr apart.
  const all = await ok(['service', 'logs', 'lg']);
  const rows = all.stdout.trim().split('\n').map((l) => PREFIX_RE.exec(l));
  assert.ok(rows.every(Boolean), `every line prefixed: ${all.stdout.slice(0, 500)}`);
  assert.equal(new Set(rows.map((m) => m![3])), new Set(['h1', 'h2', 'h3']), 'lines from tasks on every node');
  assert.equal(new Set(rows.map((m) => m![1])), new Set(['1', '2', '3']));
  for (const t of tasks) assert.ok(rows.some((m) => t.ID.startsWith(m![2])), `lines of task ${t.ID}`);
  assert.ok(rows.every((m) => /^line \d+$/.test(m![4])));
  const errRows = all.stderr.trim().split('\n').map((l) => PREFIX_RE.exec(l));
  assert.is(errRows.length, 3, all.stderr);
  assert.ok(errRows.every((m) => m && /^start on /.test(m[4])), all.stderr);

  // --tail N is per task; --no-task-ids, --raw.
  const tail = (await ok(['service', 'logs', '--tail', '2', 'lg'])).stdout.trim().split('\n');
  assert.is(tail.length, 6, tail.join('\n'));
  const noIds = (await ok(['service', 'logs', '--tail', '1', '--no-task-ids', 'lg'])).stdout.trim().split('\n');
  assert.ok(noIds.every((l) => /^lg\.\d@h\d \| line \d+$/.test(l)), noIds.join('\n'));
  const raw = (await ok(['service', 'logs', '--tail', '1', '--raw', 'lg'])).stdout.trim().split('\n');
  assert.ok(raw.every((l) => /^line \d+$/.test(l)), raw.join('\n'));

  // --since with -t: nothing older than the time asked.
  const since = new Date(Date.now() - 1500);
  const recent = (await ok(['service', 'logs', '-t', '--since', since.toISOString(), 'lg'])).stdout.trim().split('\n');
  // The tasks keep writing: compare with everything logged by now, not with the first read.
  const allNow = (await ok(['service', 'logs', 'lg'])).stdout.trim().split('\n').length;
  assert.ok(recent.length >= 3 && recent.length < allNow, `some lines, not all: ${recent.length} of ${allNow}`);
  for (const l of recent) {
    const m = /\| (\S+) line \d+$/.exec(l);
    assert.ok(m && Date.parse(m[1]) >= since.getTime(), l);
  }

  // One task by ID.
  const one = (await ok(['service', 'logs', tasks[0].ID])).stdout.trim().split('\n');
  assert.ok(one.length >= 5 && one.every((l) => PREFIX_RE.exec(l)?.[2] === tasks[0].ID.slice(0, 12)), one.join('\n'));

  // -f: lines written after it started, from every task.
  const child = spawn('env', [`SHOAL_HOST=${lab.dockerHost('h1')}`, process.execPath, SHOAL_BIN, 'service', 'logs', '-f', '--tail', '0', 'lg'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += String(d); });
    await waitFor('followed lines from the three tasks', async () => {
      const hosts = new Set(out.split('\n').map((l) => PREFIX_RE.exec(l)?.[3]).filter(Boolean));
      return hosts.size === 3;
    }, 30_000);
    assert.is(child.exitCode, null, 'still following');
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }

  // The stock docker client, following.
  const dk = spawn('env', [`DOCKER_HOST=${lab.dockerHost('h1')}`, 'docker', 'service', 'logs', '-f', '--tail', '0', 'lg'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    dk.stdout.on('data', (d: Buffer) => { out += String(d); });
    await waitFor('docker service logs -f shows new lines of the three nodes', async () => {
      const hosts = new Set(out.split('\n').map((l) => /^lg\.\d\.[a-z0-9]+@(h\d)\s*\| line \d+$/.exec(l)?.[1]).filter(Boolean));
      return hosts.size === 3;
    }, 30_000);
  } finally {
    if (dk.exitCode === null) dk.kill('SIGTERM');
  }

  // The stock docker client.
  const d = await run('env', [`DOCKER_HOST=${lab.dockerHost('h1')}`, 'docker', 'service', 'logs', '--tail', '1', 'lg'], { timeoutMs: 60_000 });
  assert.is(d.code, 0, d.stderr);
  const dl = d.stdout.trim().split('\n');
  assert.is(dl.length, 3, d.stdout);
  assert.ok(dl.every((l) => /^lg\.\d\.[a-z0-9]+@h\d\s*\| line \d+$/.test(l)), d.stdout);

  // This node's task containers in `docker events` (local scope): the task on h1 started.
  const ev = await run('env', [`DOCKER_HOST=${lab.dockerHost('h1')}`, 'docker', 'events', '--since', (t0 / 1000).toFixed(3), '--until', (Date.now() / 1000).toFixed(3), '--filter', 'type=container', '--format', '{{.Action}} {{.Actor.Attributes.name}} {{.Scope}}'], { timeoutMs: 60_000 });
  assert.is(ev.code, 0, ev.stderr);
  const started = ev.stdout.trim().split('\n');
  assert.equal(started.length, 1, ev.stdout);
  assert.match(started[0], /^start lg\.\d\.[a-z0-9]{25} local$/);

  // A follow on a manager that is not the leader (h2 relays to h1); the leader fails:
  // the stream breaks, the client reconnects and goes on with the tasks of h2 and h3,
  // and the task on h1, whose node is down, is reported unavailable, not left out.
  const onH1 = tasks.find((t) => rows.some((m) => m![3] === 'h1' && t.ID.startsWith(m![2])))!;
  const f2 = spawn('env', [`SHOAL_HOST=${lab.dockerHost('h2')}`, process.execPath, SHOAL_BIN, 'service', 'logs', '-f', '--tail', '1', 'lg'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    let err = '';
    f2.stdout.on('data', (d: Buffer) => { out += String(d); });
    f2.stderr.on('data', (d: Buffer) => { err += String(d); });
    const lastOf = (host: string) => Math.max(-1, ...out.split('\n').map((l) => PREFIX_RE.exec(l)).filter((m) => m?.[3] === host).map((m) => Number(/line (\d+)/.exec(m![4])?.[1] ?? -1)));
    await waitFor('the follow through h2 shows every node', async () => ['h1', 'h2', 'h3'].every((h) => lastOf(h) >= 0), 30_000);
    await lab.killDaemon('h1');
    const before = { h2: lastOf('h2'), h3: lastOf('h3') };
    await waitFor(() => `lines after the failover (stderr: ${err.slice(-300)})`, async () => lastOf('h2') > before.h2 + 10 && lastOf('h3') > before.h3 + 10, 90_000);
    assert.is(f2.exitCode, null, 'the follow survived the failover');
    await waitFor(() => `the task on h1 reported unavailable (stderr: ${err.slice(-300)})`, async () => err.includes(`lg.${onH1.Slot}.${onH1.ID.slice(0, 12)}@h1 | shoal: logs of task ${onH1.ID} unavailable`), 30_000);
    const numbers = out.split('\n').map((l) => PREFIX_RE.exec(l)).filter((m) => m?.[3] === 'h2').map((m) => m![4]);
    assert.is(new Set(numbers).size, numbers.length, 'no line shown twice across the reconnect');
    // A task that starts while following joins the stream.
    const sc = await lab.cli('h2', ['service', 'scale', '--detach', 'lg=4'], { timeoutMs: 60_000 });
    assert.is(sc.code, 0, sc.stderr);
    await waitFor(() => `lines of the new slot 4 (stderr: ${err.slice(-300)})`, async () => /^lg\.4\.[a-z0-9]{12}@h[23] \| line \d+$/m.test(out), 60_000);
  } finally {
    if (f2.exitCode === null) f2.kill('SIGTERM');
  }
}

test('service logs gather every node\'s lines; tail, since, follow, docker; a down node is reported', async () => {
  await withLab({ hosts: 3, prefix: 'shoallg' }, async (lab) => {
    // Three managers, so the swarm survives the leader's failure.
    await formSwarm(lab, { managers: true });
    await phase(lab);
  });
});

test.run();
