import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ObjectEvent } from '../../store/watch.ts';
import type { Service } from '../../api/types/service.ts';
import type { Node } from '../../api/types/node.ts';
import type { Task } from '../../api/types/task.ts';
import { deriveContainerEvent, deriveEvent, matchEvent, parseEventFilters, parseEventTime, type RetainedEvent } from './events-derive.ts';
import { EventRing } from './events-ring.ts';

const T = Date.parse('2026-01-02T03:04:05.678Z');

function svc(over: { image?: string; replicas?: number; state?: Service['UpdateStatus'] } = {}): Service {
  return {
    ID: 'svc1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '',
    Spec: { Name: 'web', Labels: { tier: 'front' }, TaskTemplate: { ContainerSpec: { Image: over.image ?? 'nginx:1' } }, Mode: { Replicated: { Replicas: over.replicas ?? 1 } } },
    ...(over.state ? { UpdateStatus: over.state } : {}),
  } as Service;
}

test('a created service gives a swarm create event with its name only', () => {
  const r = deriveEvent({ kind: 'service.created', object: svc() } as ObjectEvent, T)!;
  assert.equal(r.event, { Type: 'service', Action: 'create', Actor: { ID: 'svc1', Attributes: { name: 'web' } }, scope: 'swarm', time: Math.floor(T / 1000), timeNano: T * 1e6 });
});

test('a service update names image, replicas and update state changes, old and new', () => {
  const old = svc();
  const next = svc({ image: 'nginx:2', replicas: 3, state: { State: 'updating', Message: '' } });
  const r = deriveEvent({ kind: 'service.updated', object: next, old } as ObjectEvent, T)!;
  assert.is(r.event.Action, 'update');
  assert.equal(r.event.Actor.Attributes, {
    name: 'web', 'image.old': 'nginx:1', 'image.new': 'nginx:2', 'replicas.old': '1', 'replicas.new': '3', 'updatestate.new': 'updating',
  });
  const done = deriveEvent({ kind: 'service.updated', object: svc({ image: 'nginx:2', replicas: 3, state: { State: 'completed', Message: '' } }), old: next } as ObjectEvent, T)!;
  assert.equal(done.event.Actor.Attributes, { name: 'web', 'updatestate.old': 'updating', 'updatestate.new': 'completed' });
});

test('a secret event carries its name and never its data or labels', () => {
  const secret = { ID: 'sec1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Spec: { Name: 'db_pass', Data: 'c2VjcmV0', Labels: { a: 'b' } } };
  const r = deriveEvent({ kind: 'secret.deleted', object: secret } as ObjectEvent, T)!;
  assert.equal(r.event.Actor, { ID: 'sec1', Attributes: { name: 'db_pass' } });
  assert.is(r.event.Action, 'remove');
  assert.not.ok(JSON.stringify(r.event).includes('c2VjcmV0'));
});

test('a node update names state, availability and role changes', () => {
  const n = (state: string, avail: string) => ({ ID: 'n1', Spec: { Role: 'worker', Availability: avail }, Description: { Hostname: 'h1' }, Status: { State: state } }) as unknown as Node;
  const r = deriveEvent({ kind: 'node.updated', object: n('down', 'drain'), old: n('ready', 'active') } as ObjectEvent, T)!;
  assert.equal(r.event.Actor.Attributes, { name: 'h1', 'state.old': 'ready', 'state.new': 'down', 'availability.old': 'active', 'availability.new': 'drain' });
});

test('a task of this node that starts or dies gives a local container event; other nodes\' give none', () => {
  const task = (state: string, node = 'n1', exit = 0) => ({
    ID: 'task1', ServiceID: 'svc1', Slot: 2, NodeID: node, ServiceAnnotations: { Name: 'web' },
    Spec: { ContainerSpec: { Image: 'busybox:1', Labels: { app: 'x' } } },
    Status: { State: state, ContainerStatus: { ContainerID: 'c1', PID: 1, ExitCode: exit } },
  }) as unknown as Task;
  const start = deriveContainerEvent({ kind: 'task.updated', object: task('running'), old: task('starting') } as ObjectEvent, T, 'n1')!;
  assert.is(start.event.Type, 'container');
  assert.is(start.event.Action, 'start');
  assert.is(start.event.scope, 'local');
  assert.is(start.event.Actor.ID, 'c1');
  assert.is(start.event.Actor.Attributes.name, 'web.2.task1');
  assert.is(start.event.Actor.Attributes.image, 'busybox:1');
  assert.is(start.event.Actor.Attributes['com.docker.swarm.service.name'], 'web');
  assert.is(start.labels.app, 'x');
  const die = deriveContainerEvent({ kind: 'task.updated', object: task('failed', 'n1', 3), old: task('running') } as ObjectEvent, T, 'n1')!;
  assert.is(die.event.Action, 'die');
  assert.is(die.event.Actor.Attributes.exitCode, '3');
  assert.is(deriveContainerEvent({ kind: 'task.updated', object: task('running', 'n2'), old: task('starting', 'n2') } as ObjectEvent, T, 'n1'), undefined);
  assert.is(deriveContainerEvent({ kind: 'task.updated', object: task('running'), old: task('running') } as ObjectEvent, T, 'n1'), undefined);
  const f = parseEventFilters(new Map([['type', ['container']], ['container', ['web.2.task1']]]));
  assert.ok(matchEvent(start, f));
});

test('tasks and the cluster give no events', () => {
  assert.is(deriveEvent({ kind: 'task.created', object: { ID: 't' } } as unknown as ObjectEvent, T), undefined);
  assert.is(deriveEvent({ kind: 'cluster.updated', object: { ID: 'c' }, old: { ID: 'c' } } as unknown as ObjectEvent, T), undefined);
});

test('filters: type, event, label, scope and actor names; unknown keys are refused', () => {
  const r = deriveEvent({ kind: 'service.created', object: svc() } as ObjectEvent, T)!;
  const f = (o: Record<string, string[]>) => parseEventFilters(new Map(Object.entries(o)));
  assert.ok(matchEvent(r, f({ type: ['service', 'node'] })));
  assert.not.ok(matchEvent(r, f({ type: ['node'] })));
  assert.ok(matchEvent(r, f({ event: ['create'] })));
  assert.not.ok(matchEvent(r, f({ event: ['remove'] })));
  assert.ok(matchEvent(r, f({ label: ['tier=front'] })));
  assert.not.ok(matchEvent(r, f({ label: ['tier=back'] })));
  assert.ok(matchEvent(r, f({ scope: ['swarm'] })));
  assert.not.ok(matchEvent(r, f({ scope: ['local'] })));
  assert.ok(matchEvent(r, f({ service: ['web'] })));
  assert.ok(matchEvent(r, f({ service: ['svc1'], node: ['x'] })));
  assert.not.ok(matchEvent(r, f({ node: ['web'] })));
  assert.throws(() => f({ bogus: ['1'] }), /Invalid filter 'bogus'/);
  assert.throws(() => f({ type: ['plugin'] }), /unsupported type filter 'plugin'/);
  assert.throws(() => f({ image: ['x'] }), /filter 'image' is not supported/);
});

test('since and until accept docker\'s seconds.nanos and RFC 3339', () => {
  assert.is(parseEventTime('since', '1700000000'), 1_700_000_000_000);
  assert.is(parseEventTime('since', '1700000000.123456789'), 1_700_000_000_123);
  assert.is(parseEventTime('since', '1700000000.5'), 1_700_000_000_500);
  assert.is(parseEventTime('until', '2026-01-02T03:04:05.678Z'), T);
  assert.throws(() => parseEventTime('since', 'yesterday'), /invalid since value/);
});

test('the ring keeps the newest events, tells listeners, and times never go backwards', () => {
  let now = T;
  const subs: ((e: { kind: string }) => void)[] = [];
  const store = { subscribe: (fn: (e: never) => void) => { subs.push(fn as never); return () => {}; } };
  const ring = new EventRing({ size: 2, now: () => now });
  ring.attach(store as never);
  const seen: RetainedEvent[] = [];
  ring.listen((e) => seen.push(e));
  for (const name of ['a', 'b', 'c']) {
    subs[0]({ kind: 'secret.created', object: { ID: name, Spec: { Name: name } } } as never);
    now -= 1000; // a clock step back
  }
  subs[0]({ kind: 'commit', index: 3 } as never);
  assert.equal(ring.retained().map((r) => r.event.Actor.ID), ['b', 'c']);
  assert.is(seen.length, 3);
  assert.ok(seen.every((r) => r.event.timeNano === T * 1e6), 'a clock step back keeps the last time');
});

test.run();
