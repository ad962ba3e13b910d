/**
 * Log subscriptions of a manager that is not the leader: only the leader holds the
 * nodes' sessions, so this manager asks it over its own session (`logs.request`) and
 * the leader's broker answers there with `logs` / `logs.end` frames. When that session
 * closes (the leader failed over) every open subscription fails, so the API stream
 * breaks and a following client reconnects — and is served by whoever leads then.
 */
import type { LogRequest, LogSessionFrame, SessionFrame } from '../wire/types.ts';
import type { LogSink } from './log-broker.ts';
import { publishLogs, type LogFrameContext } from './log-publisher.ts';

/** A sink that can also be told the whole subscription broke (the leader is gone). */
export interface RelaySink extends LogSink {
  fail(error: string): void;
}

/** How the relay reaches the leader: sends a frame on the current session and gives that connection's end, or undefined when none is open. */
export type RelaySend = (f: SessionFrame) => AbortSignal | undefined;

export class LogRelay {
  private readonly subs = new Map<string, RelaySink>();
  private seq = 0;

  constructor(private readonly send: RelaySend, private readonly newId: () => string = () => `r${Date.now().toString(36)}${(++this.seq).toString(36)}`) {}

  /** Asks the leader for `req`; returns the cancel function, or undefined when no session is open (retry later). */
  subscribe(req: LogRequest, sink: RelaySink): (() => void) | undefined {
    const id = this.newId();
    this.subs.set(id, sink);
    const signal = this.send({ type: 'logs.request', id, req });
    if (!signal) {
      this.subs.delete(id);
      return undefined;
    }
    const onClose = () => {
      if (this.subs.delete(id)) sink.fail('logs: the session to the leader closed');
    };
    if (signal.aborted) onClose();
    else signal.addEventListener('abort', onClose, { once: true });
    return () => {
      signal.removeEventListener('abort', onClose);
      if (this.subs.delete(id)) this.send({ type: 'logs.cancel', id });
    };
  }

  /** A `logs` / `logs.end` frame from the leader. */
  onFrame(f: LogSessionFrame): void {
    if (f.type !== 'logs' && f.type !== 'logs.end') return;
    const sink = this.subs.get(f.id);
    if (!sink) return;
    if (f.type === 'logs' && typeof f.notice === 'string') sink.notice?.(f.taskId, f.notice);
    else if (f.type === 'logs') sink.entries(f.taskId, Array.isArray(f.entries) ? f.entries : []);
    else sink.end(f.taskId, typeof f.error === 'string' ? f.error : undefined);
  }

  /** Number of open subscriptions. */
  get size(): number {
    return this.subs.size;
  }
}

const relays = new WeakMap<object, LogRelay>();

/** Records the relay of a manager (set where its session is made). */
export function setLogRelay(manager: object, relay: LogRelay): void {
  relays.set(manager, relay);
}

/** The relay of a manager, if its node has a session. */
export function logRelayOf(manager: object): LogRelay | undefined {
  return relays.get(manager);
}

/**
 * The leader's side of relayed subscriptions on one node session: runs each
 * `logs.request` on the broker and sends the results back on that session; all end
 * with the session.
 */
export class RelayedRequests {
  private readonly cancels = new Map<string, () => void>();

  constructor(private readonly broker: { subscribe(req: LogRequest, sink: LogSink): () => void }, private readonly send: (f: SessionFrame) => boolean) {}

  onFrame(f: SessionFrame): void {
    if (f.type === 'logs.cancel') {
      this.cancels.get(f.id)?.();
      this.cancels.delete(f.id);
      return;
    }
    if (f.type !== 'logs.request' || typeof f.id !== 'string' || !f.req || !Array.isArray(f.req.tasks)) return;
    const id = f.id;
    let open = f.req.tasks.length;
    const cancel = this.broker.subscribe(f.req, {
      entries: (taskId, entries) => { this.send({ type: 'logs', id, taskId, entries }); },
      notice: (taskId, notice) => { this.send({ type: 'logs', id, taskId, entries: [], notice }); },
      end: (taskId, error) => {
        this.send({ type: 'logs.end', id, taskId, ...(error ? { error } : {}) });
        if (--open === 0) this.cancels.delete(id);
      },
    });
    if (open > 0) this.cancels.set(id, cancel);
  }

  /** The session closed: every relayed subscription ends. */
  close(): void {
    for (const c of this.cancels.values()) c();
    this.cancels.clear();
  }
}

/**
 * A node session's `onLogFrame`: subscriptions from the leader are served from this
 * node's task logs (`log-publisher.ts`); answers to this manager's relayed requests go
 * to its relay, which is recorded for the manager so its API can use it.
 */
export function sessionLogFrames(opts: {
  executor: Parameters<typeof publishLogs>[0];
  /** This node's manager, if it is one. */
  manager?: object;
  /** Sends on the node's current session (`Session.sendLogFrame`). */
  send: RelaySend;
}): (f: SessionFrame, ctx: LogFrameContext) => void {
  const publish = publishLogs(opts.executor);
  const relay = new LogRelay(opts.send);
  if (opts.manager) setLogRelay(opts.manager, relay);
  return (f, ctx) => {
    if (f.type === 'logs' || f.type === 'logs.end') relay.onFrame(f);
    else publish(f, ctx);
  };
}
