// The live feed: one view per burst of commits, nothing followed while no one listens,
// a replaced manager (promotion, demotion) followed on the next recheck, and a leader
// change (which the store does not announce) redrawn.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../store/index.ts';
import { ManualWallClock, aNode, aService } from '../store/testing.ts';
import type { Manager } from '../manager/manager.ts';
import { LiveFeed } from './live-feed.ts';
import type { ClusterView } from './view.ts';

/** A clock whose timers run only when told. */
class ManualTimers {
  ms = 0;
  private timers: { at: number; fn: () => void }[] = [];
  now = () => this.ms;
  setTimer = (ms: number, fn: () => void) => {
    const t = { at: this.ms + ms, fn };
    this.timers.push(t);
    return () => { this.timers = this.timers.filter((x) => x !== t); };
  };
  get pending(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    this.ms += ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= this.ms).sort((a, b) => a.at - b.at)[0];
      if (!due) return;
      this.timers = this.timers.filter((t) => t !== due);
      due.fn();
    }
  }
}

let seq = 0;
function fakeManager(leaderId = 'n1'): Manager & { leaderId: string } {
  const store = new MemoryStore({ clock: new ManualWallClock(), rand: (n) => new Uint8Array(n).map(() => ++seq % 256) });
  return { store, isLeader: true, leaderId, reachability: () => 'reachable' } as unknown as Manager & { leaderId: string };
}

test('a burst of commits makes one view; no listener, no watch', async () => {
  const m = fakeManager();
  const clock = new ManualTimers();
  const feed = new LiveFeed({ manager: () => m, nodeId: () => 'n1' }, { clock, coalesceMs: 40, recheckMs: 1000 });
  const views: (ClusterView | undefined)[] = [];
  assert.is(m.store.watchCount, 0);
  const stop = feed.listen((v) => views.push(v));
  assert.is(views.length, 1, 'the view now, at once');
  for (let i = 0; i < 5; i++) await m.store.update((tx) => tx.create('service', aService(`s${i}`)));
  assert.is(views.length, 1, 'nothing before the burst is over');
  clock.advance(40);
  assert.is(views.length, 2);
  assert.is(views[1]!.services.length, 5);
  stop();
  assert.is(m.store.watchCount, 0, 'unsubscribed');
  assert.is(clock.pending, 0, 'no timer left');
});

test('a replaced manager and a new leader are picked up on the recheck', async () => {
  let m = fakeManager('n1');
  const clock = new ManualTimers();
  const feed = new LiveFeed({ manager: () => m, nodeId: () => 'n1' }, { clock, coalesceMs: 40, recheckMs: 1000 });
  const views: (ClusterView | undefined)[] = [];
  const stop = feed.listen((v) => views.push(v));
  const next = fakeManager('n1');
  await next.store.update((tx) => tx.create('node', aNode('h9')));
  m = next;
  clock.advance(1000);
  assert.is(views.length, 2);
  assert.equal(views[1]!.nodes.map((n) => n.hostname), ['h9']);
  await m.store.update((tx) => tx.create('service', aService('web')));
  clock.advance(40);
  assert.is(views.at(-1)!.services[0]?.name, 'web', 'the new store is followed');
  const count = views.length;
  m.leaderId = 'n2';
  clock.advance(1000);
  assert.is(views.length, count + 1, 'a leader change redraws');
  stop();
});

test('no manager: listeners get undefined', () => {
  const clock = new ManualTimers();
  const feed = new LiveFeed({ manager: () => undefined, nodeId: () => '' }, { clock });
  const views: (ClusterView | undefined)[] = [];
  feed.listen((v) => views.push(v));
  assert.equal(views, [undefined]);
  feed.close();
});

test.run();
