import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task } from '../../api/types/task.ts';
import { deriveEvent } from './events-derive.ts';
import { MOVED_FROM_LABEL, MOVED_FROM_NODE_LABEL, MOVE_REASON_LABEL } from '../../manager/orchestrator/rebalance.ts';

const task = (labels: Record<string, string>): Task => ({
  ID: 'r1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: labels, Spec: { ContainerSpec: { Image: 'x' } },
  ServiceID: 's1', Slot: 2, NodeID: 'n3', Status: { Timestamp: '', State: 'new', Message: '' }, DesiredState: 'running',
  ServiceAnnotations: { Name: 'web', Labels: { tier: 'front' } },
});

test('a replacement made by the rebalancer is a rebalance event of its service, with the reason', () => {
  const t = task({ [MOVED_FROM_LABEL]: 't9', [MOVED_FROM_NODE_LABEL]: 'n1', [MOVE_REASON_LABEL]: 'h3 joined; h1 has 3 tasks of web, h3 has 0' });
  const r = deriveEvent({ kind: 'task.created', object: t } as never, 5_000)!;
  assert.equal(r.event.Type, 'service');
  assert.equal(r.event.Action, 'rebalance');
  assert.equal(r.event.Actor, { ID: 's1', Attributes: { name: 'web', 'task.from': 't9', 'task.to': 'r1', 'node.from': 'n1', 'node.to': 'n3', reason: 'h3 joined; h1 has 3 tasks of web, h3 has 0' } });
  assert.equal(r.labels, { tier: 'front' });
  assert.is(deriveEvent({ kind: 'task.created', object: task({}) } as never, 5_000), undefined, 'other tasks make no event');
});

test.run();
