import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LogBroker, type LogSink } from './log-broker.ts';
import { LogPublisher, type LogEntryLike, type LogSource } from './log-publisher.ts';
import type { LogSessionFrame, SessionFrame } from '../wire/types.ts';

const e = (log: string, stream: 'stdout' | 'stderr' = 'stdout'): LogEntryLike => ({ time: '2026-01-01T00:00:00.000Z', stream, log: `${log}\n` });

/** A broker wired to publishers of fake nodes through in-memory "sessions". */
function cluster(logs: Record<string, Record<string, LogEntryLike[]>>) {
  const broker = new LogBroker();
  const sessions = new Map<string, AbortController>();
  const live = new Map<string, (e: LogEntryLike) => void>();
  for (const [nodeId, tasks] of Object.entries(logs)) {
    const ac = new AbortController();
    sessions.set(nodeId, ac);
    const source: LogSource = {
      logs: (taskId, opts) => {
        const stored = tasks[taskId];
        if (!stored) return undefined;
        return (async function* () {
          yield* opts.tail !== undefined ? stored.slice(-opts.tail) : stored;
          if (!opts.follow) return;
          const q: LogEntryLike[] = [];
          let wake: (() => void) | undefined;
          live.set(taskId, (x) => { q.push(x); wake?.(); });
          opts.signal.addEventListener('abort', () => wake?.());
          while (!opts.signal.aborted) {
            while (q.length) yield q.shift()!;
            await new Promise<void>((r) => { wake = r; });
          }
        })();
      },
    };
    const pub = new LogPublisher(async () => source);
    const toNode = (f: SessionFrame) => {
      if (ac.signal.aborted) return false;
      queueMicrotask(() => pub.handle(f, { send: (back) => { if (ac.signal.aborted) return false; queueMicrotask(() => broker.onNodeFrame(nodeId, back as LogSessionFrame)); return true; }, signal: ac.signal }));
      return true;
    };
    broker.addNode(nodeId, toNode);
  }
  return { broker, sessions, live };
}

function collect(): LogSink & { lines: string[]; ended: Map<string, string | undefined>; notices: Map<string, string>; done: Promise<void>; waitFor(n: number): Promise<void> } {
  const lines: string[] = [];
  const notices = new Map<string, string>();
  const ended = new Map<string, string | undefined>();
  let resolveDone!: () => void;
  const waiters: [number, () => void][] = [];
  return {
    lines, ended, notices,
    notice(taskId, m) { notices.set(taskId, m); },
    done: new Promise((r) => (resolveDone = r)),
    waitFor: (n) => new Promise((r) => { if (lines.length >= n) r(); else waiters.push([n, r]); }),
    entries(taskId, es) {
      for (const x of es) lines.push(`${taskId}:${x.log.trim()}`);
      for (const [n, r] of waiters) if (lines.length >= n) r();
    },
    end(taskId, error) { ended.set(taskId, error); if (ended.size === 2) resolveDone(); },
  };
}

test('lines of tasks on two nodes are gathered; tail applies per task; streams filter', async () => {
  const { broker } = cluster({ n1: { t1: [e('a'), e('b'), e('err', 'stderr')] }, n2: { t2: [e('c'), e('d')] } });
  const sink = collect();
  broker.subscribe({ tasks: [{ taskId: 't1', nodeId: 'n1' }, { taskId: 't2', nodeId: 'n2' }], follow: false, tail: 2, stdout: true, stderr: false }, sink);
  await sink.done;
  assert.equal(sink.lines.sort(), ['t1:b', 't2:c', 't2:d']);
  assert.ok(sink.ended.has('t1') && sink.ended.get('t1') === undefined, 't1 ended without error');
  assert.ok(sink.ended.has('t2') && sink.ended.get('t2') === undefined, 't2 ended without error');
  assert.is(broker.size, 0);
});

test('a task on a node without a session is reported unavailable, not left out', async () => {
  const { broker } = cluster({ n1: { t1: [e('a')] } });
  const sink = collect();
  broker.subscribe({ tasks: [{ taskId: 't1', nodeId: 'n1' }, { taskId: 't9', nodeId: 'gone' }], follow: false, stdout: true, stderr: true }, sink);
  await sink.done;
  assert.equal(sink.lines, ['t1:a']);
  assert.match(sink.ended.get('t9')!, /node gone is down or not connected/);
});

test('a node without the task\'s logs says so', async () => {
  const { broker } = cluster({ n1: { t1: [e('a')] } });
  const sink = collect();
  broker.subscribe({ tasks: [{ taskId: 't1', nodeId: 'n1' }, { taskId: 'tx', nodeId: 'n1' }], follow: false, stdout: true, stderr: true }, sink);
  await sink.done;
  assert.match(sink.ended.get('tx')!, /no logs of this task on its node/);
});

test('follow delivers new lines; a closed session makes its tasks wait, reported, and resume after their last line', async () => {
  const { broker, sessions, live } = cluster({ n1: { t1: [e('a')] }, n2: { t2: [] } });
  const sink = collect();
  const cancel = broker.subscribe({ tasks: [{ taskId: 't1', nodeId: 'n1' }, { taskId: 't2', nodeId: 'n2' }], follow: true, stdout: true, stderr: true }, sink);
  await sink.waitFor(1);
  while (!live.has('t1') || !live.has('t2')) await new Promise((r) => setImmediate(r));
  live.get('t1')!(e('later'));
  live.get('t2')!(e('other'));
  await sink.waitFor(3);
  assert.equal(sink.lines.sort(), ['t1:a', 't1:later', 't2:other']);
  sessions.get('n2')!.abort();
  broker.removeNode('n2');
  assert.match(sink.notices.get('t2')!, /session of node n2 closed/);
  assert.not.ok(sink.ended.has('t2'), 'a following task waits for its node');
  assert.not.ok(sink.ended.has('t1'), 't1 still follows');
  // The node back (a new session): the task resumes after its last entry, without tail.
  const sent: SessionFrame[] = [];
  broker.addNode('n2', (f) => { sent.push(f); return true; });
  assert.equal(sent.map((f) => f.type === 'logs.subscribe' && [f.tasks, f.since, f.tail]), [[['t2'], Date.parse('2026-01-01T00:00:00.000Z') + 1, undefined]]);
  cancel();
  assert.is(broker.size, 0);
});

test.run();
