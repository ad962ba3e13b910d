import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { apiTime, parseTimeArg } from '../../time-arg.ts';
import { openStream } from '../../../src/api/stream.ts';
import { FrameDecoder, STDERR, parseLine } from '../../../src/api/log-stream.ts';
import { ApiError } from '../../../src/api/errors.ts';
import type { ApiClient } from '../../../src/api/client.ts';

/** How long a follow keeps trying to reconnect after its stream broke (a manager failing over). */
const RECONNECT_MS = 60_000;

interface Ctx { service: string; slot: number; taskId: string; node: string }

/** Names of tasks, services and nodes, each asked once. */
class Names {
  private readonly cache = new Map<string, Promise<string | number>>();
  constructor(private readonly api: ApiClient, private readonly resolve: boolean) {}

  private once<T extends string | number>(key: string, fn: () => Promise<T>, fallback: T): Promise<T> {
    let p = this.cache.get(key);
    if (!p) this.cache.set(key, (p = fn().catch(() => fallback)));
    return p as Promise<T>;
  }

  async context(d: Record<string, string>): Promise<Ctx> {
    const taskId = d['com.docker.swarm.task.id'] ?? '';
    const serviceId = d['com.docker.swarm.service.id'] ?? '';
    const nodeId = d['com.docker.swarm.node.id'] ?? '';
    const slot = await this.once(`t:${taskId}`, async () => (await this.api.get<{ Slot?: number }>(`/tasks/${taskId}`)).Slot ?? 0, 0);
    if (!this.resolve) return { service: serviceId, slot, taskId, node: nodeId };
    const service = await this.once(`s:${serviceId}`, async () => (await this.api.get<{ Spec: { Name: string } }>(`/services/${serviceId}`)).Spec.Name, serviceId);
    const node = await this.once(`n:${nodeId}`, async () => (await this.api.get<{ Description: { Hostname: string } }>(`/nodes/${nodeId}`)).Description.Hostname, nodeId);
    return { service, slot, taskId, node };
  }
}

/** Docker's prefix: `name.slot.taskid@node` (a global task's slot is its node). */
export function logPrefix(c: Ctx, opts: { noTaskIds: boolean; noTrunc: boolean }, nodeId = c.node): string {
  const slot = c.slot ? String(c.slot) : nodeId;
  const id = opts.noTrunc ? c.taskId : c.taskId.slice(0, 12);
  return `${c.service}.${slot}${opts.noTaskIds ? '' : `.${id}`}@${c.node}`;
}

export default class ServiceLogs extends ApiCommand {
  static override summary = 'Fetch the logs of a service or task';
  static override description = 'Gathers the lines of every task of the service from the nodes that ran them. A task whose node is down is reported as unavailable. With --follow, new lines are shown as they come, and a broken stream (a manager failing over) is picked up again from the last line seen.';
  static override examples = [
    '<%= config.bin %> service logs web',
    '<%= config.bin %> service logs -f --tail 10 web',
    '<%= config.bin %> service logs --since 10m -t TASK_ID',
  ];
  static override args = { ref: Args.string({ required: true, description: 'Service or task (ID, name or ID prefix)' }) };
  static override flags = {
    follow: Flags.boolean({ char: 'f', summary: 'Follow log output.' }),
    tail: Flags.string({ char: 'n', summary: 'Number of lines to show from the end of the logs of each task ("all" for all).', default: 'all' }),
    since: Flags.string({ summary: 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes).' }),
    timestamps: Flags.boolean({ char: 't', summary: 'Show timestamps.' }),
    'no-task-ids': Flags.boolean({ summary: 'Do not include task IDs in output.' }),
    'no-trunc': Flags.boolean({ summary: 'Do not truncate output.' }),
    'no-resolve': Flags.boolean({ summary: 'Do not map IDs to names in output.' }),
    raw: Flags.boolean({ summary: 'Do not neatly format logs.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ServiceLogs);
    const api = await this.client();
    if (flags.tail !== 'all' && !/^\d+$/.test(flags.tail)) this.error(`invalid value for --tail: ${JSON.stringify(flags.tail)} (a number of lines or "all")`, { exit: 1 });
    let since: number | undefined;
    try {
      if (flags.since) since = parseTimeArg('since', flags.since, Date.now());
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
    const path = await this.logsPath(api, args.ref);
    const names = new Names(api, !flags['no-resolve']);
    // A follow that breaks starts again from the oldest of the tasks' last times; per task,
    // lines older than its last one, or of that instant and already shown, are skipped
    // (tasks' lines arrive interleaved, not in one time order).
    const last = new Map<string, { time: string; seen: Set<string> }>();
    const resumeFrom = () => [...last.values()].map((l) => l.time).sort()[0];
    let tail: string | undefined = flags.tail;
    let deadline = 0;
    for (;;) {
      try {
        const res = await openStream(api, path, {
          query: {
            stdout: 1, stderr: 1, details: 1, timestamps: 1, follow: flags.follow ? 1 : undefined, tail,
            since: resumeFrom() ? apiTime(Date.parse(resumeFrom()!)) : since !== undefined ? apiTime(since) : undefined,
          },
        });
        deadline = 0;
        const dec = new FrameDecoder();
        for await (const chunk of res) {
          for (const f of dec.push(chunk as Buffer)) {
            const line = parseLine(f.payload.toString('utf8'), { timestamps: true, details: true });
            const taskId = line.details?.['com.docker.swarm.task.id'] ?? '';
            const time = line.time ?? '';
            const l = last.get(taskId);
            if (l && (time < l.time || (time === l.time && l.seen.has(line.message)))) continue;
            if (!l || time !== l.time) last.set(taskId, { time, seen: new Set([line.message]) });
            else l.seen.add(line.message);
            const out = f.stream === STDERR ? process.stderr : process.stdout;
            const ts = flags.timestamps ? `${line.time} ` : '';
            if (flags.raw) out.write(`${ts}${line.message}`);
            else {
              const c = await names.context(line.details ?? {});
              out.write(`${logPrefix(c, { noTaskIds: flags['no-task-ids'], noTrunc: flags['no-trunc'] }, line.details?.['com.docker.swarm.node.id'])} | ${ts}${line.message}`);
            }
          }
        }
        return;
      } catch (err) {
        if (!flags.follow || err instanceof ApiError && err.status < 500) throw err;
        deadline ||= Date.now() + RECONNECT_MS;
        if (Date.now() > deadline) throw err;
        // After a break, what was already shown is not asked for again.
        tail = undefined;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** `/services/ID/logs` when `ref` names a service, else `/tasks/ID/logs` when it names a task. */
  private async logsPath(api: ApiClient, ref: string): Promise<string> {
    try {
      const s = await api.get<{ ID: string }>(`/services/${encodeURIComponent(ref)}`);
      return `/services/${s.ID}/logs`;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
    }
    try {
      const t = await api.get<{ ID: string }>(`/tasks/${encodeURIComponent(ref)}`);
      return `/tasks/${t.ID}/logs`;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) throw new Error(`no such task or service: ${ref}`);
      throw err;
    }
  }
}
