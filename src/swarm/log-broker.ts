/**
 * The manager side of log subscriptions (the leader's dispatcher holds the sessions):
 * a client's request for the logs of some tasks becomes one `logs.subscribe` per node
 * that ran them, sent on that node's session; the nodes' `logs` / `logs.end` frames
 * come back to the subscriber. A task whose node has no session (down, disconnected)
 * or whose session closes mid-stream ends with an error saying its logs are
 * unavailable — never silently missing.
 */
import type { LogSessionFrame, SessionFrame } from './types.ts';
import type { LogEntryLike } from './log-publisher.ts';

/** What the subscriber asks for (`since`/`until` in ms epoch, `tail` per task). */
export interface LogRequest {
  /** The tasks, with the node each ran on (undefined: never assigned). */
  tasks: { taskId: string; nodeId?: string }[];
  follow: boolean;
  since?: number;
  until?: number;
  tail?: number;
  stdout: boolean;
  stderr: boolean;
}

/** Where a subscription's results go. Called in arrival order per task. */
export interface LogSink {
  entries(taskId: string, entries: LogEntryLike[]): void;
  /** One task's stream is over; `error` when its logs could not be had. Called once per task. */
  end(taskId: string, error?: string): void;
}

interface Sub { sink: LogSink; open: Map<string, string | undefined> }

/** The leader's log subscriptions, by ID; one per dispatcher. */
export class LogBroker {
  private readonly nodes = new Map<string, (f: SessionFrame) => boolean>();
  private readonly subs = new Map<string, Sub>();
  private seq = 0;

  constructor(private readonly newId: () => string = () => `l${Date.now().toString(36)}${(++this.seq).toString(36)}`) {}

  /** A node's session opened: frames for it go through `send` (false when it could not be sent). */
  addNode(nodeId: string, send: (f: SessionFrame) => boolean): void {
    this.nodes.set(nodeId, send);
  }

  /** A node's session closed: its tasks' open streams end as unavailable. */
  removeNode(nodeId: string, send?: (f: SessionFrame) => boolean): void {
    if (send && this.nodes.get(nodeId) !== send) return;
    this.nodes.delete(nodeId);
    for (const [id, sub] of this.subs) {
      for (const [taskId, n] of [...sub.open]) if (n === nodeId) this.endTask(id, sub, taskId, `logs unavailable: the session of node ${nodeId} closed`);
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
    if (!sub || sub.open.get(f.taskId) !== nodeId) return;
    if (f.type === 'logs') {
      if (Array.isArray(f.entries)) sub.sink.entries(f.taskId, f.entries);
    } else {
      this.endTask(f.id, sub, f.taskId, typeof f.error === 'string' ? f.error : undefined);
    }
  }

  /** Starts a subscription; returns the function that cancels it (nodes are told). */
  subscribe(req: LogRequest, sink: LogSink): () => void {
    const id = this.newId();
    const sub: Sub = { sink, open: new Map() };
    this.subs.set(id, sub);
    const byNode = new Map<string, string[]>();
    const unavailable: [string, string][] = [];
    for (const t of req.tasks) {
      if (!t.nodeId) unavailable.push([t.taskId, 'logs unavailable: the task was never assigned to a node']);
      else if (!this.nodes.has(t.nodeId)) unavailable.push([t.taskId, `logs unavailable: node ${t.nodeId} is down or not connected`]);
      else {
        sub.open.set(t.taskId, t.nodeId);
        (byNode.get(t.nodeId) ?? byNode.set(t.nodeId, []).get(t.nodeId)!).push(t.taskId);
      }
    }
    for (const [nodeId, tasks] of byNode) {
      const f: SessionFrame = { type: 'logs.subscribe', id, tasks, follow: req.follow, stdout: req.stdout, stderr: req.stderr, since: req.since, until: req.until, tail: req.tail };
      if (!this.nodes.get(nodeId)!(f)) for (const t of tasks) this.endTask(id, sub, t, `logs unavailable: the session of node ${nodeId} closed`);
    }
    if (sub.open.size === 0) this.subs.delete(id);
    for (const [taskId, error] of unavailable) sink.end(taskId, error);
    return () => {
      if (!this.subs.delete(id)) return;
      const nodes = new Set(sub.open.values());
      sub.open.clear();
      for (const n of nodes) if (n) this.nodes.get(n)?.({ type: 'logs.cancel', id });
    };
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
