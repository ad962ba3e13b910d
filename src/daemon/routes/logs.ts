/**
 * `GET /services/{id}/logs` and `GET /tasks/{id}/logs` of the control API (Docker Engine
 * API v1.41): the lines of a service's tasks (or one task) gathered from the nodes that
 * ran them (the leader's log broker asks each node over its session), in Docker's
 * multiplexed stream with `follow`, `stdout`, `stderr`, `since`, `until`, `timestamps`,
 * `tail` (per task) and `details` (`com.docker.swarm.node.id`, `…service.id`,
 * `…task.id`, as `docker service logs` reads them). A task whose node is down, or
 * whose logs are gone, gets one stderr line saying so instead of being left out.
 */
import type { Router, RequestContext } from '../http/router.ts';
import { ConflictError, InvalidArgumentError, NotFoundError, UnavailableError } from '../../api/errors.ts';
import type { Task } from '../../api/types/task.ts';
import type { Manager } from '../../manager/manager.ts';
import { STDERR, STDOUT, encodeFrame, formatLine } from '../../api/log-stream.ts';
import { logBrokerOf, type LogRequest } from '../../swarm/log-broker.ts';
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

/** Streams the logs of `tasks` to the client per `q`; resolves when the stream is over. */
function streamLogs(ctx: RequestContext, manager: Manager, tasks: Task[], q: LogQuery): Promise<undefined> {
  const { res } = ctx;
  const byId = new Map(tasks.map((t) => [t.ID, t]));
  const details = (t: Task) => ({ 'com.docker.swarm.node.id': t.NodeID ?? '', 'com.docker.swarm.service.id': t.ServiceID, 'com.docker.swarm.task.id': t.ID });
  const line = (t: Task, time: string, message: string) => formatLine({ time: q.timestamps ? time : undefined, details: q.details ? details(t) : undefined, message });
  // Docker names the stream type by API version: raw-stream through 1.41.
  res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
  res.flushHeaders();
  const req: LogRequest = {
    tasks: tasks.map((t) => ({ taskId: t.ID, nodeId: t.NodeID })),
    follow: q.follow, since: q.since, until: q.until, tail: q.tail, stdout: q.stdout, stderr: q.stderr,
  };
  return new Promise((resolve) => {
    let open = tasks.length;
    // The broker may end tasks (down nodes) before subscribe returns.
    const sub: { cancel?: () => void } = {};
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      sub.cancel?.();
      if (!res.writableEnded) res.end();
      resolve(undefined);
    };
    res.once('close', finish);
    if (open === 0) return finish();
    sub.cancel = logBrokerOf(manager).subscribe(req, {
      entries: (taskId, entries) => {
        const t = byId.get(taskId);
        if (!t || done) return;
        const frames = entries.map((e) => encodeFrame(e.stream === 'stderr' ? STDERR : STDOUT, line(t, e.time, e.log)));
        res.write(Buffer.concat(frames));
      },
      end: (taskId, error) => {
        const t = byId.get(taskId);
        if (t && error && q.stderr && !done) res.write(encodeFrame(STDERR, line(t, new Date().toISOString(), `shoal: logs of task ${taskId} unavailable: ${error.replace(/^logs unavailable: /, '')}`)));
        if (--open === 0) finish();
      },
    });
  });
}

/** The leader's broker holds the nodes' sessions; another manager cannot reach them (yet). */
function requireLeader(manager: Manager): void {
  if (!manager.isLeader) throw new UnavailableError(`logs: this manager is not the leader; ask the leader${manager.leaderAddr() ? ` (${manager.leaderAddr()})` : ''}, which gathers logs from the nodes`);
}

export function addLogRoutes(router: Router, swarm: SwarmRef): void {
  router.get('/services/:id/logs', async (ctx) => {
    const q = parseLogQuery(ctx.query);
    const manager = requireManager(swarm);
    await readBarrier(manager, ctx.res);
    requireLeader(manager);
    const svc = resolveService(manager, ctx.params.id);
    const tasks = manager.store.view((tx) => tx.find('task', { serviceId: svc.ID }))
      .filter((t) => t.NodeID && !NEVER_RAN.has(t.Status.State))
      .sort((a, b) => (a.Slot ?? 0) - (b.Slot ?? 0) || a.CreatedAt.localeCompare(b.CreatedAt));
    return streamLogs(ctx, manager, tasks, q);
  });

  router.get('/tasks/:id/logs', async (ctx) => {
    const q = parseLogQuery(ctx.query);
    const manager = requireManager(swarm);
    await readBarrier(manager, ctx.res);
    requireLeader(manager);
    const task = resolveTask(manager, ctx.params.id);
    return streamLogs(ctx, manager, [task], q);
  });
}
