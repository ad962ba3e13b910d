/**
 * The node side of log subscriptions: answers a manager's `logs.subscribe` on the
 * session from this node's task logs (the executor's `container.log` files and live
 * output), in batches of `logs` frames, and a `logs.end` per task — with `error` when
 * the task has no logs here. A subscription ends when the manager cancels it or the
 * session it came on closes (the manager gone: a client reconnecting starts anew).
 */
import type { LogSessionFrame, SessionFrame } from '../wire/types.ts';

/** One captured line (the executor's json-file entry). */
export interface LogEntryLike { time: string; stream: 'stdout' | 'stderr'; log: string }

/** Where a node's task logs come from (the executor, or a fake in tests). */
export interface LogSource {
  /** The task's lines, or undefined when this node has no logs of it. */
  logs(taskId: string, opts: { tail?: number; since?: number; until?: number; follow?: boolean; signal: AbortSignal }): AsyncIterable<LogEntryLike> | undefined;
}

/** Entries per frame at most, and bytes (a frame must stay well under the dispatcher's 4 MiB). */
const BATCH_ENTRIES = 512;
const BATCH_BYTES = 1024 * 1024;

/** What a frame handler is given with each frame: the way back, and the end of the session it came on. */
export interface LogFrameContext {
  /** Sends a frame on the session the request came on; false once that session is gone. */
  send(f: SessionFrame): boolean;
  /** Aborted when that session closes. */
  signal: AbortSignal;
}

export class LogPublisher {
  private readonly subs = new Map<string, AbortController>();

  constructor(private readonly source: () => Promise<LogSource | undefined>) {}

  /** Number of subscriptions being served. */
  get active(): number {
    return this.subs.size;
  }

  /** Handles `logs.subscribe` and `logs.cancel`; other frames are not its business. */
  handle(f: SessionFrame, ctx: LogFrameContext): void {
    if (f.type === 'logs.cancel') {
      for (const [key, ac] of this.subs) if (key.startsWith(`${f.id}\0`)) ac.abort();
      return;
    }
    if (f.type !== 'logs.subscribe' || typeof f.id !== 'string' || !Array.isArray(f.tasks)) return;
    // One stream per (subscription, task): the manager may add tasks to a subscription later (a node back after a failover).
    const streams = f.tasks.map((taskId) => {
      const key = `${f.id}\0${taskId}`;
      this.subs.get(key)?.abort();
      const ac = new AbortController();
      this.subs.set(key, ac);
      return { key, taskId, ac };
    });
    void this.source().then(
      (source) => streams.map(({ key, taskId, ac }) => this.serveOne(f, taskId, source, ctx, ac, key)),
      (err: Error) => { for (const t of f.tasks) ctx.send({ type: 'logs.end', id: f.id, taskId: t, error: `node cannot read logs: ${err.message}` }); },
    );
  }

  private serveOne(f: Extract<LogSessionFrame, { type: 'logs.subscribe' }>, taskId: string, source: LogSource | undefined, ctx: LogFrameContext, ac: AbortController, key: string): Promise<void> {
    const onClose = () => ac.abort();
    ctx.signal.addEventListener('abort', onClose, { once: true });
    return this.serveTask(f, taskId, source, ctx, ac.signal).finally(() => {
      ctx.signal.removeEventListener('abort', onClose);
      if (this.subs.get(key) === ac) this.subs.delete(key);
    });
  }

  private async serveTask(f: Extract<LogSessionFrame, { type: 'logs.subscribe' }>, taskId: string, source: LogSource | undefined, ctx: LogFrameContext, signal: AbortSignal): Promise<void> {
    const lines = source?.logs(taskId, { tail: f.tail, since: f.since, until: f.until, follow: f.follow, signal });
    if (!lines) {
      ctx.send({ type: 'logs.end', id: f.id, taskId, error: 'no logs of this task on its node (its container was removed or never started)' });
      return;
    }
    let batch: LogEntryLike[] = [];
    let bytes = 0;
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      if (batch.length === 0) return;
      const entries = batch;
      batch = [];
      bytes = 0;
      // A failed send means the session closed: ctx.signal ends the reading.
      ctx.send({ type: 'logs', id: f.id, taskId, entries });
    };
    let error: string | undefined;
    try {
      for await (const e of lines) {
        if (signal.aborted) break;
        if ((e.stream === 'stdout' && !f.stdout) || (e.stream === 'stderr' && !f.stderr)) continue;
        batch.push(e);
        bytes += e.log.length + 64;
        if (batch.length >= BATCH_ENTRIES || bytes >= BATCH_BYTES) flush();
        else if (!scheduled) {
          // Lines that arrive together go together: flush once the reader would wait.
          scheduled = true;
          setImmediate(flush);
        }
      }
    } catch (err) {
      error = `reading logs failed: ${(err as Error).message}`;
    }
    flush();
    if (!signal.aborted) ctx.send({ type: 'logs.end', id: f.id, taskId, ...(error ? { error } : {}) });
  }

  /** Ends every subscription (the node is leaving or stopping). */
  close(): void {
    for (const ac of this.subs.values()) ac.abort();
    this.subs.clear();
  }
}

/** The task logs the executor holds, by task ID. */
export function executorLogSource(ex: { list(): { spec: { taskId: string }; logs(opts: { tail?: number; since?: number; until?: number; follow?: boolean; signal?: AbortSignal }): AsyncIterable<LogEntryLike> }[] }): LogSource {
  return { logs: (taskId, opts) => ex.list().find((c) => c.spec.taskId === taskId)?.logs(opts) };
}

/**
 * A session's `onLogFrame` for a node whose tasks run on `executor` (made on first use;
 * a node without one answers that it has no logs of the task).
 */
export function publishLogs(executor: (() => Promise<Parameters<typeof executorLogSource>[0]>) | undefined): (f: SessionFrame, ctx: LogFrameContext) => void {
  const p = new LogPublisher(async () => (executor ? executorLogSource(await executor()) : undefined));
  return (f, ctx) => p.handle(f, ctx);
}
