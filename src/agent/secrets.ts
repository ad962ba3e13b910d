/**
 * The worker's secrets and configs: held in memory only, as the leader's assignment
 * frames deliver and withdraw them (`swarm/assignments.ts`), and turned into the files
 * of one task (`TaskFile`s the executor writes onto the task's tmpfs). Nothing here
 * writes to disk or logs data; errors name secrets, never their contents.
 *
 *   const store = new PayloadStore();
 *   store.apply(frame);                          // before the frame's tasks
 *   const files = taskFiles(task, node, store);  // { secrets, configs } | { missing }
 */
import type { Node } from '../api/types/node.ts';
import type { Config, Secret } from '../api/types/secret-config.ts';
import type { ConfigReference, SecretReference, Service } from '../api/types/service.ts';
import type { Task } from '../api/types/task.ts';
import type { AssignedPayloads } from '../wire/types.ts';
import { TEMPLATE_DRIVER } from '../api/spec/secret-spec.ts';
import { TemplateError, expandContainerSpec, expandTemplate, templateContext, type TemplateContext } from '../api/spec/template.ts';
import type { TaskFile } from './exec/types.ts';

/** A task's secret or config could not be made into a file (missing, bad template). */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
  readonly retryable = false;
  constructor(message: string) {
    super(`agent: ${message}`);
  }
}

/** The names and IDs held (never data): what the debug endpoint shows. */
export interface PayloadIndex {
  secrets: { ID: string; Name: string }[];
  configs: { ID: string; Name: string }[];
}

/**
 * The secrets and configs this node holds, by ID, in memory only. Owned by the agent;
 * a `full` frame replaces everything, other frames add and withdraw.
 */
export class PayloadStore {
  private readonly secrets = new Map<string, Secret>();
  private readonly configs = new Map<string, Config>();
  /** Whether a whole set has arrived since this process started (a restarted worker waits for it). */
  private synced = false;

  /** Applies the payload part of an assignments frame. */
  apply(frame: AssignedPayloads & { full: boolean }): void {
    if (frame.full) {
      this.secrets.clear();
      this.configs.clear();
      this.synced = true;
    }
    for (const id of frame.removedSecrets ?? []) this.secrets.delete(id);
    for (const id of frame.removedConfigs ?? []) this.configs.delete(id);
    for (const s of frame.secrets ?? []) this.secrets.set(s.ID, s);
    for (const c of frame.configs ?? []) this.configs.set(c.ID, c);
  }

  /** True once the leader sent the whole set in this process's life. */
  get hasSynced(): boolean {
    return this.synced;
  }

  secret(id: string): Secret | undefined {
    return this.secrets.get(id);
  }

  config(id: string): Config | undefined {
    return this.configs.get(id);
  }

  /** Names and IDs only. */
  index(): PayloadIndex {
    const list = (m: Map<string, Secret | Config>) => [...m.values()].map((o) => ({ ID: o.ID, Name: o.Spec.Name })).sort((a, b) => a.Name.localeCompare(b.Name));
    return { secrets: list(this.secrets), configs: list(this.configs) };
  }

  /** Forgets everything (leaving the swarm). */
  clear(): void {
    this.secrets.clear();
    this.configs.clear();
  }
}

/** Which references of a task are not held (IDs and names, for the wait-or-reject decision). */
export function missingPayloads(task: Task, store: PayloadStore): string[] {
  const c = task.Spec.ContainerSpec;
  return [
    ...(c?.Secrets ?? []).filter((r) => !store.secret(r.SecretID)).map((r) => `secret ${r.SecretName} (${r.SecretID})`),
    ...(c?.Configs ?? []).filter((r) => !store.config(r.ConfigID)).map((r) => `config ${r.ConfigName} (${r.ConfigID})`),
  ];
}

/**
 * The task's secret and config files, rendered for this task when templated (Templating
 * `golang`: `{{.Service.Name}}`, `{{.Task.Slot}}`, `{{.Node.Hostname}}`, `{{env "X"}}`,
 * `{{secret "TARGET"}}`, `{{config "TARGET"}}`). Throws `PayloadError` when one is not
 * held or its template fails; the message never quotes the template (it is the secret).
 */
export function taskFiles(task: Task, node: Pick<Node, 'ID' | 'Description'>, store: PayloadStore): { secrets: TaskFile[]; configs: TaskFile[] } {
  const c = task.Spec.ContainerSpec;
  const secretRefs = c?.Secrets ?? [];
  const configRefs = c?.Configs ?? [];
  if (!secretRefs.length && !configRefs.length) return { secrets: [], configs: [] };
  const missing = missingPayloads(task, store);
  if (missing.length) throw new PayloadError(`${missing.join(', ')} not delivered to this node`);
  const service = {
    ID: task.ServiceID,
    Spec: { Name: task.ServiceAnnotations?.Name ?? '', Labels: task.ServiceAnnotations?.Labels ?? {}, TaskTemplate: task.Spec },
  } as Pick<Service, 'ID' | 'Spec'>;
  const base = templateContext(service, task, node);
  // `env` sees the task's variables after their own templates were expanded, as SwarmKit's does.
  const env = expandContainerSpec(c, base).Env ?? [];
  const byTarget = <R extends SecretReference | ConfigReference>(refs: R[], target: string): R | undefined => refs.find((r) => (r.File?.Name ?? '') === target);
  const ctx: TemplateContext = {
    ...base,
    funcs: {
      env: (name) => {
        const kv = env.find((e) => e.startsWith(`${name}=`));
        return kv ? kv.slice(name.length + 1) : '';
      },
      secret: (target) => {
        const r = byTarget(secretRefs, target);
        const s = r && store.secret(r.SecretID);
        if (!s) throw new TemplateError(`template: secret target ${target} not found`);
        return Buffer.from(s.Spec.Data ?? '', 'base64').toString('utf8');
      },
      config: (target) => {
        const r = byTarget(configRefs, target);
        const o = r && store.config(r.ConfigID);
        if (!o) throw new TemplateError(`template: config target ${target} not found`);
        return Buffer.from(o.Spec.Data, 'base64').toString('utf8');
      },
    },
  };
  const render = (kind: 'secret' | 'config', name: string, o: Secret | Config): Buffer => {
    const data = Buffer.from(o.Spec.Data ?? '', 'base64');
    if (o.Spec.Templating?.Name !== TEMPLATE_DRIVER) return data;
    try {
      return Buffer.from(expandTemplate(data.toString('utf8'), ctx), 'utf8');
    } catch (err) {
      // The template is the payload: a secret's error must not quote it. A config's may.
      const why = kind === 'config' && err instanceof TemplateError ? `: ${err.message}` : '';
      throw new PayloadError(`${kind} ${name}: the template could not be rendered${why}`);
    }
  };
  const file = (kind: 'secret' | 'config', name: string, r: SecretReference | ConfigReference, o: Secret | Config): TaskFile => ({
    name,
    data: render(kind, name, o),
    target: r.File?.Name || name,
    uid: Number(r.File?.UID ?? 0) || 0,
    gid: Number(r.File?.GID ?? 0) || 0,
    mode: r.File?.Mode ?? 0o444,
  });
  return {
    secrets: secretRefs.map((r) => file('secret', r.SecretName, r, store.secret(r.SecretID)!)),
    configs: configRefs.map((r) => file('config', r.ConfigName, r, store.config(r.ConfigID)!)),
  };
}
