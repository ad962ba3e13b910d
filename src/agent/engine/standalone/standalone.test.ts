import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Executor } from '../../exec/executor.ts';
import { FakeExecutor } from '../../exec/testing.ts';
import type { DefaultBridge } from '../../network/bridge/default-bridge.ts';
import { ContainerConflictError, NoSuchContainerError } from '../engine.ts';
import { StandaloneContainers } from './standalone.ts';

function setup(opts: { taskNames?: string[]; attachFails?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-sa-'));
  const ex = new FakeExecutor();
  const bridge = { attached: new Map<string, unknown>(), detached: [] as string[] };
  const fakeBridge = {
    async attach(cid: string, _netns: string, ports: unknown) {
      if (opts.attachFails) throw new Error('gateway: subnet full');
      bridge.attached.set(cid, ports);
      return '172.17.0.2';
    },
    async detach(cid: string) { bridge.attached.delete(cid); bridge.detached.push(cid); },
    async publishedPorts() { return new Set<string>(); },
    async gateway() { return '172.17.0.1'; },
    async restore() {},
    async close() {},
  };
  const removedVolumes: string[] = [];
  let n = 0;
  const sa = new StandaloneContainers({
    executor: async () => ex as unknown as Executor, recordsDir: dir, bridge: fakeBridge as unknown as DefaultBridge,
    volumes: { remove: async (name) => { removedVolumes.push(name); } },
    nameTaken: (name) => (opts.taskNames ?? []).includes(name),
    newId: () => `${String(++n).padStart(2, '0')}`.padEnd(64, 'a'),
  });
  return { sa, ex, dir, bridge, removedVolumes, done: () => rmSync(dir, { recursive: true, force: true }) };
}

const body = (x: Record<string, unknown> = {}, hc: Record<string, unknown> = {}) => ({ Image: 'bb', Cmd: ['true'], ...x, HostConfig: { ...hc } });
/** Asserts that `fn` rejects with an error matching `check` (a pattern or a predicate). */
async function rejects(fn: () => Promise<unknown>, check: RegExp | ((e: Error) => boolean)): Promise<void> {
  try { await fn(); } catch (e) {
    assert.ok(check instanceof RegExp ? check.test((e as Error).message) : check(e as Error), `unexpected error: ${(e as Error).message}`);
    return;
  }
  assert.unreachable('expected a rejection');
}

const flush = () => new Promise((r) => setImmediate(r));

test('a name is unique among standalone and task containers; IDs resolve by prefix', async () => {
  const { sa, done } = setup({ taskNames: ['web.1.abc'] });
  try {
    const { Id } = await sa.create(body(), 'web');
    assert.is(sa.name(Id), 'web');
    await rejects(() => sa.create(body(), 'web'), (e: Error) => e instanceof ContainerConflictError && /"\/web" is already in use/.test(e.message));
    await rejects(() => sa.create(body(), 'web.1.abc'), (e: Error) => e instanceof ContainerConflictError);
    const { Id: other } = await sa.create(body());
    assert.match(sa.name(other)!, /^[a-z]+_[a-z]+/);
    assert.is((await sa.find(Id.slice(0, 3))).id, Id);
    await rejects(() => sa.find('zz'), (e: Error) => e instanceof NoSuchContainerError);
  } finally { done(); }
});

test('two creates of one name at once: one container, one conflict', async () => {
  const { sa, ex, done } = setup();
  try {
    const results = await Promise.allSettled([sa.create(body(), 'twin'), sa.create(body(), 'twin')]);
    assert.equal(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.is(ex.controllers.size, 1);
  } finally { done(); }
});

test('start attaches to the bridge; the exit detaches and answers next-exit; rm answers removed', async () => {
  const { sa, ex, bridge, done } = setup();
  try {
    const { Id } = await sa.create(body({ ExposedPorts: { '80/tcp': {} } }, { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } }));
    const nextExit = sa.wait(Id, 'next-exit');
    const removed = sa.wait(Id, 'removed');
    assert.is(await sa.start(Id), true);
    assert.is(await sa.start(Id), false, 'a running container: 304');
    assert.equal(bridge.attached.get(Id), [{ protocol: 'tcp', published: 8080, target: 80 }]);
    const doc: Record<string, unknown> = { HostConfig: {}, Config: {}, NetworkSettings: {} };
    sa.decorate(Id, doc, 'inspect');
    assert.equal((doc.NetworkSettings as Record<string, unknown>).Ports, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
    assert.is((doc.NetworkSettings as Record<string, unknown>).IPAddress, '172.17.0.2');
    await rejects(() => sa.remove(Id, {}), (e: Error) => e instanceof ContainerConflictError && /cannot remove a running container/.test(e.message));
    ex.controllers.get(Id)!.exit(3);
    assert.equal(await nextExit, { exitCode: 3, oomKilled: false });
    await flush();
    assert.equal(bridge.detached, [Id]);
    assert.equal(await sa.wait(Id, 'not-running'), { exitCode: 3, oomKilled: false });
    await rejects(() => sa.start(Id), /again after it ran is not supported/);
    await sa.remove(Id, {});
    assert.equal(await removed, { exitCode: 3, oomKilled: false });
    assert.is(sa.name(Id), undefined);
  } finally { done(); }
});

test('--rm removes the container and its anonymous volumes after the exit', async () => {
  const { sa, ex, removedVolumes, done } = setup();
  try {
    const { Id } = await sa.create(body({ Volumes: { '/anon': {} } }, { AutoRemove: true, NetworkMode: 'none' }));
    const removed = sa.wait(Id, 'removed');
    await sa.start(Id);
    ex.controllers.get(Id)!.exit(0);
    assert.equal(await removed, { exitCode: 0, oomKilled: false });
    assert.is(removedVolumes.length, 1);
    assert.is(ex.controllers.size, 0);
  } finally { done(); }
});

test('a removal waits for attach streams to finish reading', async () => {
  const { sa, ex, done } = setup();
  try {
    const { Id } = await sa.create(body({}, { AutoRemove: true, NetworkMode: 'none' }));
    const release = sa.hold(Id);
    let removed = false;
    void sa.wait(Id, 'removed').then(() => { removed = true; });
    await sa.start(Id);
    ex.controllers.get(Id)!.exit(0);
    await flush(); await flush();
    assert.is(removed, false, 'held by the attach stream');
    release();
    // Event-loop turns until the removal lands (bounded), not a fixed sleep.
    for (let i = 0; i < 1000 && !removed; i++) await flush();
    assert.is(removed, true);
  } finally { done(); }
});

test('a failed bridge attach leaves the container created, not running', async () => {
  const { sa, ex, done } = setup({ attachFails: true });
  try {
    const { Id } = await sa.create(body());
    await rejects(() => sa.start(Id), /subnet full/);
    assert.is(ex.controllers.get(Id)!.state, 'prepared');
  } finally { done(); }
});

test('prune removes what is not running and keeps what the filter keeps', async () => {
  const { sa, ex, done } = setup();
  try {
    const a = (await sa.create(body({ Labels: { keep: '1' } }, { NetworkMode: 'none' }))).Id;
    const b = (await sa.create(body({}, { NetworkMode: 'none' }))).Id;
    const c = (await sa.create(body({}, { NetworkMode: 'none' }))).Id;
    await sa.start(c);
    const out = await sa.prune((r) => r.config.labels.keep === '1');
    assert.equal(out.ContainersDeleted, [b]);
    assert.equal([...ex.controllers.keys()].sort(), [a, c].sort());
  } finally { done(); }
});

test('a terminal attach made before the start has the relay before the process runs', async () => {
  const { sa, ex, dir, done } = setup();
  ex.paths = { task: (id: string) => join(dir, 'tasks', id) };
  const { Id } = await sa.create(body({ Tty: true, OpenStdin: true }, { NetworkMode: 'none' }));
  try {
    mkdirSync(ex.paths.task(Id), { recursive: true });
    const order: string[] = [];
    const attached = sa.terminal(Id).then((relay) => { order.push(relay ? 'attached' : 'no relay'); });
    // The process "runs" one event-loop turn after the controller's start is called.
    ex.beforeStart = () => new Promise<void>((r) => setImmediate(() => { order.push('process runs'); r(); }));
    await sa.start(Id);
    await attached;
    assert.equal(order, ['attached', 'process runs'], 'the attach reads the terminal from before the process runs');
  } finally {
    await sa.remove(Id, { force: true }); // ends the relay's helper process
    done();
  }
});

test.run();
