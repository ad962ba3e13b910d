/**
 * The manager side of log subscriptions (the leader's dispatcher holds the sessions):
 * a client's request for the logs of some tasks becomes one `logs.subscribe` per node
 * that ran them, sent on that node's session; the nodes' `logs` / `logs.end` frames
 * come back to the subscriber. A task whose node has no session (down, disconnected)
 * or whose session closes mid-stream ends with an error saying its logs are
 * unavailable — never silently missing.
 */
import type { LogRequest, LogSessionFrame, SessionFrame } from '../wire/types.ts';
import type { LogEntryLike } from './log-publisher.ts';

/** Where a subscription's results go. Called in arrival order per task. */
export interface LogSink {
  entries(taskId: string, entries: LogEntryLike[]): void;
  /** One task's stream is over; `error` when its logs could not be had. Called once per task. */
  end(taskId: string, error?: string): void;
  /**
   * A following task's node has no session (down, or not reconnected after a failover):
   * its logs are unavailable for now; the stream goes on when the node connects again.
   */
  notice?(taskId: string, message: string): void;
}

interface Sub {
  req: LogRequest;
  sink: LogSink;
  /** Task → node, for the tasks whose stream is open (sent to a connected node or waiting for it). */
  open: Map<string, string | undefined>;
  /** Following tasks waiting for their node's session, by node. */
  waiting: Map<string, Set<string>>;
  /** Time of the last entry per task, to resume after it when a node comes back. */
  lastTime: Map<string, string>;
}

/** The leader's log subscriptions, by ID; one per dispatcher. */
export class LogBroker {
  private readonly nodes = new Map<string, (f: SessionFrame) => boolean>();
  private readonly subs = new Map<string, Sub>();
  private seq = 0;

  constructor(private readonly newId: () => string = () => `l${Date.now().toString(36)}${(++this.seq).toString(36)}`) {}

  /** A node's session opened: frames for it go through `send`; following tasks that waited for it resume. */
  addNode(nodeId: string, send: (f: SessionFrame) => boolean): void {
    this.nodes.set(nodeId, send);
    for (const [id, sub] of this.subs) {
      const tasks = sub.waiting.get(nodeId);
      if (!tasks?.size) continue;
      sub.waiting.delete(nodeId);
      this.sendTo(id, sub, nodeId, [...tasks], true);
    }
  }

  /** A node's session closed: its tasks' streams end as unavailable (following ones wait for it). */
  removeNode(nodeId: string, send?: (f: SessionFrame) => boolean): void {
    if (send && this.nodes.get(nodeId) !== send) return;
    this.nodes.delete(nodeId);
    for (const [id, sub] of this.subs) {
      const lost = [...sub.open].filter(([t, n]) => n === nodeId && !sub.waiting.get(nodeId)?.has(t)).map(([t]) => t);
      this.unavailable(id, sub, nodeId, lost, `logs unavailable: the session of node ${nodeId} closed`);
    }
  }

  /** Whether a node has a session here. */
  connected(nodeId: string): boolean {
    return this.nodes.has(nodeId);
  }

  /** A frame from a node (`logs`, `logs.end`); frames of unknown subscriptions or other nodes' tasks are dropped. */
  onNodeFrame(nodeId: string, f: LogSessionFrame): void {
    if (f.type !== 'logs' && f.type !== 'logs.end') return;
    const sub = this.subs.get(f.id);
    if (!sub || sub.open.get(f.taskId) !== nodeId || sub.waiting.get(nodeId)?.has(f.taskId)) return;
    if (f.type === 'logs') {
      if (!Array.isArray(f.entries) || f.entries.length === 0) return;
      sub.lastTime.set(f.taskId, f.entries[f.entries.length - 1].time);
      sub.sink.entries(f.taskId, f.entries);
    } else {
      this.endTask(f.id, sub, f.taskId, typeof f.error === 'string' ? f.error : undefined);
    }
  }

  /** Starts a subscription; returns the function that cancels it (nodes are told). */
  subscribe(req: LogRequest, sink: LogSink): () => void {
    const id = this.newId();
    const sub: Sub = { req, sink, open: new Map(), waiting: new Map(), lastTime: new Map() };
    this.subs.set(id, sub);
    const byNode = new Map<string, string[]>();
    const never: string[] = [];
    for (const t of req.tasks) {
      if (!t.nodeId) never.push(t.taskId);
      else {
        sub.open.set(t.taskId, t.nodeId);
        (byNode.get(t.nodeId) ?? byNode.set(t.nodeId, []).get(t.nodeId)!).push(t.taskId);
      }
    }
    for (const [nodeId, tasks] of byNode) {
      if (this.nodes.has(nodeId)) this.sendTo(id, sub, nodeId, tasks, false);
      else this.unavailable(id, sub, nodeId, tasks, `logs unavailable: node ${nodeId} is down or not connected`);
    }
    if (sub.open.size === 0) this.subs.delete(id);
    for (const taskId of never) sink.end(taskId, 'logs unavailable: the task was never assigned to a node');
    return () => {
      if (!this.subs.delete(id)) return;
      const nodes = new Set(sub.open.values());
      sub.open.clear();
      for (const n of nodes) if (n) this.nodes.get(n)?.({ type: 'logs.cancel', id });
    };
  }

  /** Asks a node for some tasks of a subscription; `resume` starts after the last entry seen. */
  private sendTo(id: string, sub: Sub, nodeId: string, tasks: string[], resume: boolean): void {
    const { req } = sub;
    for (const taskId of tasks) {
      const last = resume ? sub.lastTime.get(taskId) : undefined;
      // Per task: a resumed one starts at its last entry (that instant may repeat), else as asked.
      const f: SessionFrame = {
        type: 'logs.subscribe', id, tasks: [taskId], follow: req.follow, stdout: req.stdout, stderr: req.stderr,
        since: last ? Math.max(Date.parse(last) + 1, req.since ?? 0) : req.since, until: req.until, tail: resume ? undefined : req.tail,
      };
      if (!this.nodes.get(nodeId)!(f)) this.unavailable(id, sub, nodeId, [taskId], `logs unavailable: the session of node ${nodeId} closed`);
    }
  }

  /** Tasks whose node has no session: a following subscription waits for it (and says so), others end. */
  private unavailable(id: string, sub: Sub, nodeId: string, tasks: string[], error: string): void {
    if (tasks.length === 0) return;
    if (!sub.req.follow) {
      for (const t of tasks) this.endTask(id, sub, t, error);
      return;
    }
    const w = sub.waiting.get(nodeId) ?? sub.waiting.set(nodeId, new Set()).get(nodeId)!;
    for (const t of tasks) {
      w.add(t);
      sub.sink.notice?.(t, error);
    }
  }

  private endTask(id: string, sub: Sub, taskId: string, error?: string): void {
    if (!sub.open.delete(taskId)) return;
    if (sub.open.size === 0) this.subs.delete(id);
    sub.sink.end(taskId, error);
  }

  /** Number of subscriptions with open streams. */
  get size(): number {
    return this.subs.size;
  }
}

const brokers = new WeakMap<object, LogBroker>();

/**
 * The broker of a manager (one per manager object, made on first use), so the dispatcher
 * that holds the sessions and the API route that serves clients meet without more wiring.
 */
export function logBrokerOf(manager: object): LogBroker {
  let b = brokers.get(manager);
  if (!b) brokers.set(manager, (b = new LogBroker()));
  return b;
}
