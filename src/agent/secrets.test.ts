// The worker's memory-only secret store and the files it makes for a task; and the agent
// using them over a fake executor (no kernel): delivery before the task, nothing on disk,
// a restarted agent waiting for the leader's set.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config, Secret } from '../api/types/secret-config.ts';
import type { Task } from '../api/types/task.ts';
import { nullLogger } from '../common/logger.ts';
import { Agent } from './agent.ts';
import { PayloadStore, missingPayloads, taskFiles } from './secrets.ts';
import { checkTemplate } from '../api/spec/template.ts';
import { FakeExecutor } from './exec/testing.ts';

const PLAIN = 'hunter2-secret-in-memory';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const meta = { Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '' };
const secret = (id: string, name: string, data: string, templated = false): Secret =>
  ({ ID: id, ...meta, Spec: { Name: name, Labels: {}, Data: b64(data), ...(templated ? { Templating: { Name: 'golang' } } : {}) } });
const config = (id: string, name: string, data: string, templated = false): Config =>
  ({ ID: id, ...meta, Spec: { Name: name, Labels: {}, Data: b64(data), ...(templated ? { Templating: { Name: 'golang' } } : {}) } });

function task(id: string, over: Partial<Task['Spec']['ContainerSpec']> = {}, state: Task['Status']['State'] = 'assigned'): Task {
  return {
    ID: id, Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, ServiceID: 'svc1', Slot: 2, NodeID: 'n1',
    Spec: { ContainerSpec: { Image: 'bb', Env: ['MODE=prod-{{.Task.Slot}}'], ...over } },
    Status: { Timestamp: '', State: state, Message: '' }, DesiredState: 'running', ServiceAnnotations: { Name: 'web', Labels: {} },
  };
}
const refs = {
  Secrets: [{ SecretID: 's1', SecretName: 'pw', File: { Name: 'pw', UID: '10', GID: '20', Mode: 0o400 } }, { SecretID: 's2', SecretName: 'dsn', File: { Name: 'dsn', UID: '0', GID: '0', Mode: 0o444 } }],
  Configs: [{ ConfigID: 'c1', ConfigName: 'app', File: { Name: '/etc/app.conf', UID: '0', GID: '0', Mode: 0o444 } }],
};
const node = { ID: 'n1', Description: { Hostname: 'h1' } } as never;

test('the store follows frames: a full set replaces, others add and withdraw; the index has no data', () => {
  const st = new PayloadStore();
  assert.not.ok(st.hasSynced);
  st.apply({ full: true, secrets: [secret('s1', 'pw', PLAIN)] });
  st.apply({ full: false, secrets: [secret('s2', 'dsn', 'x')], removedSecrets: ['s1'], configs: [config('c1', 'app', 'y')] });
  assert.ok(st.hasSynced);
  assert.equal(st.index(), { secrets: [{ ID: 's2', Name: 'dsn' }], configs: [{ ID: 'c1', Name: 'app' }] });
  assert.not.ok(JSON.stringify(st.index()).includes(b64('x')));
  st.apply({ full: true });
  assert.equal(st.index(), { secrets: [], configs: [] });
});

test('task files carry target, uid, gid and mode; templates see the task, env and other payloads', () => {
  const st = new PayloadStore();
  st.apply({
    full: true,
    secrets: [secret('s1', 'pw', PLAIN), secret('s2', 'dsn', 'db://u:{{secret "pw"}}@{{.Service.Name}}.{{.Task.Slot}}/{{env "MODE"}} on {{.Node.Hostname}}', true)],
    configs: [config('c1', 'app', 'pw={{secret "pw"}} conf={{config "/etc/app.conf"}}', false)],
  });
  const f = taskFiles(task('t1', refs), node, st);
  assert.equal(f.secrets.map((x) => [x.name, x.target, x.uid, x.gid, x.mode]), [['pw', 'pw', 10, 20, 0o400], ['dsn', 'dsn', 0, 0, 0o444]]);
  assert.is(f.secrets[0].data.toString(), PLAIN);
  assert.is(f.secrets[1].data.toString(), `db://u:${PLAIN}@web.2/prod-2 on h1`);
  assert.is(f.configs[0].target, '/etc/app.conf');
  assert.is(f.configs[0].data.toString(), 'pw={{secret "pw"}} conf={{config "/etc/app.conf"}}', 'not templated: as is');
});

test('env, secret and config are payload-template functions only (not in Env or Hostname)', () => {
  assert.throws(() => checkTemplate('{{secret "pw"}}'), /function "secret" not defined/);
  assert.throws(() => checkTemplate('{{env "HOME"}}'), /function "env" not defined/);
});

test('a missing payload or a broken secret template fails without quoting the secret', () => {
  const st = new PayloadStore();
  st.apply({ full: true, secrets: [secret('s1', 'pw', PLAIN)] });
  assert.equal(missingPayloads(task('t', refs), st), ['secret dsn (s2)', 'config app (c1)']);
  assert.throws(() => taskFiles(task('t', refs), node, st), /secret dsn \(s2\), config app \(c1\) not delivered/);
  st.apply({ full: false, secrets: [secret('s2', 'dsn', `${PLAIN} {{.Bogus.Field}}`, true)], configs: [config('c1', 'app', 'x')] });
  try {
    taskFiles(task('t', refs), node, st);
    assert.unreachable('should throw');
  } catch (err) {
    assert.match((err as Error).message, /secret dsn: the template could not be rendered$/);
    assert.not.ok((err as Error).message.includes(PLAIN));
  }
});


async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 0));
  assert.ok(cond(), 'condition reached');
}

async function openAgent(dataRoot: string, ex: FakeExecutor): Promise<Agent> {
  const images = { resolveForRun: async () => {}, pull: async () => {} };
  return Agent.open({ nodeId: 'n1', dataRoot, executor: async () => ex as never, images, description: () => ({ Hostname: 'h1' }) as never, logger: nullLogger, reportDelayMs: 0 });
}

test('the agent prepares a task with the payloads of its frame and never saves them', async () => {
  const dataRoot = mkdtempSync(join(tmpdir(), 'shoal-sec-'));
  const ex = new FakeExecutor();
  const agent = await openAgent(dataRoot, ex);
  try {
    agent.assign({ type: 'assignments', full: true, tasks: [task('t1', refs)], removed: [], secrets: [secret('s1', 'pw', PLAIN), secret('s2', 'dsn', 'x')], configs: [config('c1', 'app', 'y')] });
    await until(() => ex.controllers.get('t1')?.spec.secrets?.length === 2);
    assert.is(ex.controllers.get('t1')!.spec.secrets![0].data.toString(), PLAIN);
    assert.equal(agent.payloadIndex().secrets.map((s) => s.Name), ['dsn', 'pw']);
    await until(() => { try { return readFileSync(join(dataRoot, 'swarm/agent/tasks.json'), 'utf8').includes('t1'); } catch { return false; } });
    const saved = readFileSync(join(dataRoot, 'swarm/agent/tasks.json'), 'utf8');
    assert.not.ok(saved.includes(PLAIN) || saved.includes(b64(PLAIN)), 'tasks.json holds references only');
  } finally {
    agent.close();
    rmSync(dataRoot, { recursive: true, force: true });
  }
});

test('a restarted agent prepares nothing until the leader sent the payloads again', async () => {
  const dataRoot = mkdtempSync(join(tmpdir(), 'shoal-sec-'));
  mkdirSync(join(dataRoot, 'swarm/agent'), { recursive: true });
  const t = task('t2', refs, 'preparing');
  writeFileSync(join(dataRoot, 'swarm/agent/tasks.json'), JSON.stringify([{ task: t, status: t.Status }]));
  const ex = new FakeExecutor();
  const agent = await openAgent(dataRoot, ex);
  try {
    for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 0));
    assert.is(ex.controllers.size, 0, 'waits for the session');
    agent.assign({ type: 'assignments', full: true, tasks: [t], removed: [], secrets: [secret('s1', 'pw', PLAIN), secret('s2', 'dsn', 'x')], configs: [config('c1', 'app', 'y')] });
    await until(() => ex.controllers.get('t2')?.spec.configs?.length === 1);
  } finally {
    agent.close();
    rmSync(dataRoot, { recursive: true, force: true });
  }
});

test.run();
