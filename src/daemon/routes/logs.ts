/**
 * `GET /services/{id}/logs` and `GET /tasks/{id}/logs` of the control API (Docker Engine
 * API v1.41): the lines of a service's tasks (or one task) gathered from the nodes that
 * ran them (the leader's log broker asks each node over its session), in Docker's
 * multiplexed stream with `follow`, `stdout`, `stderr`, `since`, `until`, `timestamps`,
 * `tail` (per task) and `details` (`com.docker.swarm.node.id`, `…service.id`,
 * `…task.id`, as `docker service logs` reads them). A task whose node is down, or
 * whose logs are gone, gets one stderr line saying so instead of being left out. A
 * manager that is not the leader relays the request to the leader (`log-relay.ts`).
 */
import type { Router, RequestContext } from '../../common/router.ts';
import { ConflictError, InvalidArgumentError, NotFoundError, UnavailableError } from '../../api/errors.ts';
import type { Task } from '../../api/types/task.ts';
import type { Manager } from '../../manager/manager.ts';
import { STDERR, STDOUT, encodeFrame, formatLine } from '../../api/log-stream.ts';
import { logBrokerOf } from '../../swarm/log-broker.ts';
import type { LogRequest } from '../../wire/types.ts';
import { logRelayOf, type RelaySink } from '../../swarm/log-relay.ts';
import { readBarrier, requireManager, resolveService, type SwarmRef } from './lookup.ts';
import { parseEventTime } from './events-derive.ts';

/** States of a task that never had a container: there is nothing to ask its node for. */
const NEVER_RAN = new Set(['new', 'pending', 'assigned', 'accepted', 'rejected']);

/** The log query, checked. */
export interface LogQuery { follow: boolean; stdout: boolean; stderr: boolean; since?: number; until?: number; timestamps: boolean; details: boolean; tail?: number }

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v !== null && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** Parses and checks the query as Docker does (at least one stream; `tail` a count or `all`). */
export function parseLogQuery(q: URLSearchParams): LogQuery {
  const out: LogQuery = { follow: flag(q, 'follow'), stdout: flag(q, 'stdout'), stderr: flag(q, 'stderr'), timestamps: flag(q, 'timestamps'), details: flag(q, 'details') };
  if (!out.stdout && !out.stderr) throw new InvalidArgumentError('Bad parameters: you must choose at least one stream');
  const since = q.get('since');
  if (since && since !== '0') out.since = parseEventTime('since', since);
  const until = q.get('until');
  if (until && until !== '0') out.until = parseEventTime('until', until);
  const tail = q.get('tail');
  if (tail && tail !== 'all') {
    if (!/^-?\d+$/.test(tail)) throw new InvalidArgumentError(`invalid tail value ${JSON.stringify(tail)}: want a number of lines or "all"`);
    if (Number(tail) >= 0) out.tail = Number(tail);
  }
  return out;
}

function resolveTask(manager: Manager, ref: string): Task {
  return manager.store.view((tx) => {
    const t = tx.get('task', ref);
    if (t) return t;
    const byPrefix = ref ? tx.list('task', (x) => x.ID.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1) throw new ConflictError(`task ${ref} is ambiguous (${byPrefix.length} matches found)`);
    throw new NotFoundError(`task ${ref} not found`);
  });
}

/**
 * Where a subscription runs: the leader's broker, or (on another manager) the relay to
 * the leader, which may have no session yet (undefined: 503, the client retries) and
 * fails the whole stream when the leader goes away.
 */
type Subscribe = (req: LogRequest, sink: RelaySink) => (() => void) | undefined;

function subscriberFor(manager: Manager): Subscribe {
  if (manager.isLeader) return (req, sink) => logBrokerOf(manager).subscribe(req, sink);
  const relay = logRelayOf(manager);
  if (!relay) throw new UnavailableError('logs: this manager is not the leader and has no session to it yet; retry');
  return (req, sink) => relay.subscribe(req, sink);
}

/**
 * Streams the logs of `tasks` to the client per `q`; resolves when the stream is over.
 * With `follow` and `newTasks` (a service), tasks that start later join the stream and it
 * stays open until the client leaves, as Docker's does.
 */
function streamLogs(ctx: RequestContext, manager: Manager, tasks: Task[], q: LogQuery, newTasks?: (add: (t: Task) => void) => () => void): Promise<undefined> {
  const { res } = ctx;
  const subscribe = subscriberFor(manager);
  const byId = new Map(tasks.map((t) => [t.ID, t]));
  const details = (t: Task) => ({ 'com.docker.swarm.node.id': t.NodeID ?? '', 'com.docker.swarm.service.id': t.ServiceID, 'com.docker.swarm.task.id': t.ID });
  const line = (t: Task, time: string, message: string) => formatLine({ time: q.timestamps ? time : undefined, details: q.details ? details(t) : undefined, message });
  const req: LogRequest = {
    tasks: tasks.map((t) => ({ taskId: t.ID, nodeId: t.NodeID })),
    follow: q.follow, since: q.since, until: q.until, tail: q.tail, stdout: q.stdout, stderr: q.stderr,
  };
  const head = () => {
    if (res.headersSent) return;
    // Docker names the stream type by API version: raw-stream through 1.41.
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
    res.flushHeaders();
  };
  /** One stderr line for a task whose logs cannot be had (now or at all). */
  const unavailable = (taskId: string, error: string) => {
    const t = byId.get(taskId);
    head();
    if (t && q.stderr && !res.writableEnded) res.write(encodeFrame(STDERR, line(t, new Date().toISOString(), `shoal: logs of task ${taskId} unavailable: ${error.replace(/^logs unavailable: /, '')}`)));
  };
  return new Promise((resolve, reject) => {
    let open = tasks.length;
    // The broker may end tasks (down nodes) before subscribe returns.
    const sub: { cancel?: () => void; more: (() => void)[]; unwatch?: () => void } = { more: [] };
    const stayOpen = q.follow && newTasks !== undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      sub.cancel?.();
      sub.unwatch?.();
      for (const c of sub.more) c();
      head();
      if (!res.writableEnded) res.end();
      resolve(undefined);
    };
    res.once('close', finish);
    if (open === 0 && !stayOpen) return finish();
    const sink: RelaySink = {
      entries: (taskId, entries) => {
        const t = byId.get(taskId);
        if (!t || done) return;
        head();
        const frames = entries.map((e) => encodeFrame(e.stream === 'stderr' ? STDERR : STDOUT, line(t, e.time, e.log)));
        res.write(Buffer.concat(frames));
      },
      end: (taskId, error) => {
        if (error) unavailable(taskId, error);
        if (--open === 0 && !stayOpen) finish();
      },
      notice: (taskId, message) => unavailable(taskId, message),
      // The leader went away: break the stream (not a clean end) so a following client reconnects.
      fail: () => {
        if (done) return;
        done = true;
        res.destroy();
        sub.unwatch?.();
        for (const c of sub.more) c();
        resolve(undefined);
      },
    };
    const cancel = subscribe(req, sink);
    if (!cancel && !done) {
      done = true;
      reject(new UnavailableError('logs: no session to the leader at the moment (a failover?); retry'));
      return;
    }
    sub.cancel = cancel;
    if (done) cancel?.();
    head();
    if (stayOpen && !done) {
      sub.unwatch = newTasks!((t) => {
        if (done || byId.has(t.ID)) return;
        byId.set(t.ID, t);
        open++;
        const c = subscribe({ ...req, tasks: [{ taskId: t.ID, nodeId: t.NodeID }], since: undefined, tail: undefined }, sink);
        if (c) sub.more.push(c);
        else unavailable(t.ID, 'no session to the leader at the moment');
      });
    }
  });
}

export function addLogRoutes(router: Router, swarm: SwarmRef): void {
  router.get('/services/:id/logs', async (ctx) => {
    const q = parseLogQuery(ctx.query);
    const manager = requireManager(swarm);
    await readBarrier(manager, ctx.res);
    const svc = resolveService(manager, ctx.params.id);
    const tasks = manager.store.view((tx) => tx.find('task', { serviceId: svc.ID }))
      .filter((t) => t.NodeID && !NEVER_RAN.has(t.Status.State))
      .sort((a, b) => (a.Slot ?? 0) - (b.Slot ?? 0) || a.CreatedAt.localeCompare(b.CreatedAt));
    // Tasks that start while following (a restart, a scale-up) join the stream.
    const newTasks = (add: (t: Task) => void) => manager.store.subscribe((e) => {
      if (e.kind !== 'task.created' && e.kind !== 'task.updated') return;
      const t = e.object as Task;
      // Once running: its node has its log by then (a task still preparing has none to follow yet).
      if (t.ServiceID === svc.ID && t.NodeID && !NEVER_RAN.has(t.Status.State) && t.Status.State !== 'preparing' && t.Status.State !== 'starting') add(t);
    }, { kinds: ['task'], commits: false });
    return streamLogs(ctx, manager, tasks, q, newTasks);
  });

  router.get('/tasks/:id/logs', async (ctx) => {
    const q = parseLogQuery(ctx.query);
    const manager = requireManager(swarm);
    await readBarrier(manager, ctx.res);
    const task = resolveTask(manager, ctx.params.id);
    return streamLogs(ctx, manager, [task], q);
  });
}
