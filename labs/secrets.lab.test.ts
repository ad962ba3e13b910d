// Secrets and configs on a 3-host lab (root, real runc containers; issue 16, item 8):
// a task sees its secret at its target with uid, gid and mode, a templated secret rendered
// for it, and its config; only the node running it holds them (read from each node's own
// agent, not from the manager); the plaintext is in no file under any node's data root,
// /run or logs, save the task's own tmpfs while it runs; a restarted worker gets them
// again; in-use removal is refused; once the task is gone so are its tmpfs and the node's
// copy, and the plaintext is nowhere.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import type { ServiceSpec } from '../src/api/types/service.ts';
import type { Task } from '../src/api/types/task.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { client, formSwarm, HOSTS, IMAGE, runningContainers, waitFor, waitRunning } from './lib/swarm-services.ts';

const PLAIN = `shoalsec-plain-${randomBytes(12).toString('hex')}`;
const UNUSED = `shoalsec-unused-${randomBytes(12).toString('hex')}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const TASKS_DIR = '/run/shoal/exec/tasks';

interface Held { Secrets: { ID: string; Name: string }[]; Configs: { ID: string; Name: string }[] }

/** What a node's own agent holds in memory (names only), from its control socket. */
async function held(lab: Lab, host: string): Promise<Held> {
  const r = await lab.request(host, '/shoal/debug/agent-payloads');
  assert.is(r.status, 200, r.body);
  assert.not.ok(r.body.includes(PLAIN) || r.body.includes(b64(PLAIN)), 'the debug endpoint shows no data');
  return JSON.parse(r.body) as Held;
}

/** runc exec in the task's container on its host. */
async function inTask(lab: Lab, host: string, t: Task, argv: string[]): Promise<string> {
  const r = await lab.exec(host, ['runc', '--root', '/run/shoal/exec/runtime', 'exec', t.Status.ContainerStatus!.ContainerID, ...argv]);
  assert.is(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** tmpfs mount points under the tasks dir, as the host's mount table has them. */
async function taskTmpfs(lab: Lab, host: string): Promise<string[]> {
  const r = await lab.exec(host, ['cat', '/proc/self/mountinfo']);
  return r.stdout.split('\n').map((l) => l.split(' ')).filter((f) => f[4]?.startsWith(TASKS_DIR) && f[f.indexOf('-') + 1] === 'tmpfs').map((f) => f[4]);
}

/**
 * Every file holding `needle` under the host's /run and its host dir (data root, socket,
 * daemon log): grep over every byte (binary too; FIFOs and devices skipped).
 */
async function filesWith(lab: Lab, host: string, needle: string): Promise<string[]> {
  const r = await lab.exec(host, ['grep', '-r', '-a', '-F', '-l', '-D', 'skip', '--', needle, '/run', lab.host(host).hostDir], { timeoutMs: 120_000 });
  // Exit 2 for files that vanish while grep walks (a task's FIFOs, temp files) or that
  // cannot be read as files at all (namespace handles); anything else fails the test.
  const unread = r.stderr.split('\n').filter((l) => l && !/No such file or directory|Invalid argument/.test(l));
  assert.ok((r.code === 0 || r.code === 1 || r.code === 2) && unread.length === 0, `grep on ${host} (exit ${r.code}): ${unread.join('; ')}`);
  return r.stdout.split('\n').filter(Boolean);
}

async function phase(lab: Lab, hostOf: Map<string, string>): Promise<void> {
  const h1 = client(lab, 'h1');
  await h1.post('/secrets/create', { Name: 'db_pass', Labels: {}, Data: b64(PLAIN) });
  await h1.post('/secrets/create', { Name: 'unused', Labels: {}, Data: b64(UNUSED) });
  await h1.post('/secrets/create', { Name: 'dsn', Labels: {}, Data: b64('pg://app:{{secret "db"}}@{{.Service.Name}}.{{.Task.Slot}} on {{.Node.Hostname}} env={{env "STAGE"}}'), Templating: { Name: 'golang' } });
  await h1.post('/configs/create', { Name: 'app.conf', Labels: {}, Data: b64('listen=8080\n') });
  const { ID } = await h1.post<{ ID: string }>('/services/create', {
    Name: 'sec', Labels: {}, Mode: { Replicated: { Replicas: 1 } },
    TaskTemplate: {
      ContainerSpec: {
        Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9, Env: ['STAGE=prod'],
        Secrets: [
          { SecretID: '', SecretName: 'db_pass', File: { Name: 'db', UID: '1000', GID: '1001', Mode: 0o400 } },
          { SecretID: '', SecretName: 'dsn' } as never,
        ],
        Configs: [{ ConfigID: '', ConfigName: 'app.conf', File: { Name: '/etc/app.conf', UID: '0', GID: '0', Mode: 0o440 } }],
      },
      Placement: { Constraints: ['node.hostname==h2'] },
    },
  } satisfies ServiceSpec);
  const [t] = await waitRunning(lab, 'sec', 1);
  assert.is(hostOf.get(t.NodeID!), 'h2');

  // The task's view.
  assert.is((await inTask(lab, 'h2', t, ['cat', '/run/secrets/db'])), PLAIN);
  assert.is((await inTask(lab, 'h2', t, ['stat', '-c', '%u %g %a', '/run/secrets/db'])).trim(), '1000 1001 400');
  assert.is((await inTask(lab, 'h2', t, ['stat', '-c', '%u %g %a', '/run/secrets/dsn'])).trim(), '0 0 444', 'defaults');
  assert.is(await inTask(lab, 'h2', t, ['cat', '/run/secrets/dsn']), `pg://app:${PLAIN}@sec.1 on h2 env=prod`);
  assert.is(await inTask(lab, 'h2', t, ['cat', '/etc/app.conf']), 'listen=8080\n');
  assert.is((await inTask(lab, 'h2', t, ['stat', '-c', '%a', '/etc/app.conf'])).trim(), '440');
  const w = await lab.exec('h2', ['runc', '--root', '/run/shoal/exec/runtime', 'exec', t.Status.ContainerStatus!.ContainerID, 'sh', '-c', 'echo x > /run/secrets/db']);
  assert.is.not(w.code, 0, 'secrets are read-only in the task');

  // Delivery: only the node that runs the task holds them, as that node's agent says.
  assert.equal((await held(lab, 'h2')).Secrets.map((s) => s.Name), ['db_pass', 'dsn']);
  assert.equal((await held(lab, 'h2')).Configs.map((s) => s.Name), ['app.conf']);
  for (const h of ['h1', 'h3']) assert.equal(await held(lab, h), { Secrets: [], Configs: [] }, `${h} holds nothing`);

  // Plaintext: only on the task's tmpfs (h2), nowhere else; the unused secret on no worker.
  const tmpfs = await taskTmpfs(lab, 'h2');
  assert.is(tmpfs.length, 1, `one task tmpfs on h2: ${tmpfs}`);
  for (const h of HOSTS) {
    const hits = await filesWith(lab, h, PLAIN);
    const outside = hits.filter((f) => !(h === 'h2' && f.startsWith(`${tmpfs[0]}/`)));
    assert.equal(outside, [], `${h}: plaintext outside the task's tmpfs`);
  }
  for (const h of ['h2', 'h3']) {
    assert.equal(await filesWith(lab, h, UNUSED), [], `${h}: the unused secret`);
    assert.equal(await filesWith(lab, h, b64(PLAIN)), [], `${h}: the base64 form on a worker`);
  }

  // A restarted worker gets them again from the manager; its task kept running.
  // SIGKILL of the daemon alone (lab.killDaemon would take the containers too).
  const pid = lab.daemonPid('h2');
  assert.ok(pid, 'h2 daemon runs');
  process.kill(pid!, 'SIGKILL');
  await waitFor('h2 daemon gone', async () => lab.daemonPid('h2') === undefined, 10_000);
  await lab.startDaemon('h2');
  await waitFor('h2 holds its task\'s secrets again', async () => (await held(lab, 'h2')).Secrets.length === 2);
  // The leader may have marked h2 down meanwhile and replaced the task there: either way
  // the task that runs on h2 now has its files, delivered to the restarted agent.
  const [again] = await waitRunning(lab, 'sec', 1);
  assert.is(hostOf.get(again.NodeID!), 'h2');
  assert.is(await inTask(lab, 'h2', again, ['cat', '/run/secrets/db']), PLAIN);

  // In use: refused, naming the service.
  const rm = await lab.request('h1', '/secrets/db_pass', { method: 'DELETE' });
  assert.is(rm.status, 400);
  assert.match(rm.body, /secret 'db_pass' is in use by the following service: sec/);

  // Gone with the task: its tmpfs, the node's copy, every plaintext byte.
  await h1.delete(`/services/${ID}`);
  await waitFor('no container on h2', async () => (await runningContainers(lab, 'h2')).length === 0);
  await waitFor('the task tmpfs unmounted', async () => (await taskTmpfs(lab, 'h2')).length === 0);
  await waitFor('h2 dropped the secrets', async () => (await held(lab, 'h2')).Secrets.length === 0 && (await held(lab, 'h2')).Configs.length === 0);
  for (const h of HOSTS) assert.equal(await filesWith(lab, h, PLAIN), [], `${h}: plaintext left after the task`);
  for (const name of ['db_pass', 'dsn', 'unused']) assert.is((await lab.request('h1', `/secrets/${name}`, { method: 'DELETE' })).status, 204);
  assert.is((await lab.request('h1', '/configs/app.conf', { method: 'DELETE' })).status, 204);
}

test('a task gets its secrets and config on a tmpfs; only its node holds them; no plaintext on disk', async () => {
  await withLab({ hosts: 3, prefix: 'shoalsec' }, async (lab) => {
    const hostOf = await formSwarm(lab);
    await phase(lab, hostOf);
  });
});

test.run();
