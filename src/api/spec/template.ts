/**
 * Go-template placeholders in a task's Hostname, Env and Mounts, as Docker expands them
 * on the node that runs the task (SwarmKit `template/context.go`):
 * `{{.Service.ID}}`, `{{.Service.Name}}`, `{{index .Service.Labels "k"}}`,
 * `{{.Node.ID}}`, `{{.Node.Hostname}}`, `{{.Node.Platform.OS}}`,
 * `{{.Node.Platform.Architecture}}`, `{{.Task.ID}}`, `{{.Task.Name}}`, `{{.Task.Slot}}`.
 * Only these actions are understood; anything else is a {@link TemplateError}.
 * Templated secrets and configs also have `{{env "X"}}`, `{{secret "TARGET"}}` and
 * `{{config "TARGET"}}` (SwarmKit's payload context), given through `funcs`.
 */
import type { Node } from '../types/node.ts';
import type { ContainerSpec, Service } from '../types/service.ts';
import type { Task } from '../types/task.ts';

/** The values a template can name. `Task.Slot` is the slot, or the node ID for global tasks. */
export interface TemplateContext {
  Service: { ID: string; Name: string; Labels: Record<string, string> };
  Node: { ID: string; Hostname: string; Platform: { OS: string; Architecture: string } };
  Task: { ID: string; Name: string; Slot: string };
  /** Payload templates only: the task's env variable, a referenced secret's or config's data by target. */
  funcs?: Partial<Record<TemplateFunc, (arg: string) => string>>;
}

/** The functions of payload templates. */
export type TemplateFunc = 'env' | 'secret' | 'config';

/** A template that does not parse or names an unknown field. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

const ACTION = /\{\{(.*?)\}\}/gs;
const FIELD = /^\.(Service|Node|Task)((?:\.[A-Za-z]+)+)$/;
const INDEX = /^index\s+\.Service\.Labels\s+"((?:[^"\\]|\\.)*)"$/;
const FUNC = /^(env|secret|config)\s+"((?:[^"\\]|\\.)*)"$/;

function evalAction(body: string, ctx: TemplateContext | undefined): string {
  const expr = body.trim();
  const idx = INDEX.exec(expr);
  if (idx) return ctx ? (ctx.Service.Labels[JSON.parse(`"${idx[1]}"`) as string] ?? '') : '';
  const fn = FUNC.exec(expr);
  if (fn) {
    const f = ctx?.funcs?.[fn[1] as TemplateFunc];
    if (!f) throw new TemplateError(`template: function "${fn[1]}" not defined`);
    return f(JSON.parse(`"${fn[2]}"`) as string);
  }
  const m = FIELD.exec(expr);
  if (!m) throw new TemplateError(`template: unsupported action {{${body}}}`);
  let v: unknown = ctx ?? SHAPE;
  let path = m[1];
  v = (v as Record<string, unknown>)[m[1]];
  for (const part of m[2].slice(1).split('.')) {
    path += `.${part}`;
    if (v === null || typeof v !== 'object' || !(part in v)) {
      throw new TemplateError(`template: can't evaluate field ${part} in {{${body.trim()}}}`);
    }
    v = (v as Record<string, unknown>)[part];
  }
  if (typeof v !== 'string') throw new TemplateError(`template: .${path} is not a string`);
  return v;
}

/** A context with every field present, for checking templates without a task. */
const SHAPE: TemplateContext = {
  Service: { ID: '', Name: '', Labels: {} },
  Node: { ID: '', Hostname: '', Platform: { OS: '', Architecture: '' } },
  Task: { ID: '', Name: '', Slot: '' },
};

/**
 * Expands the placeholders of `text` from `ctx`. Throws {@link TemplateError} on an
 * unterminated `{{` or an unknown action. Text without `{{` is returned as is.
 */
export function expandTemplate(text: string, ctx: TemplateContext): string {
  if (!text.includes('{{')) return text;
  const out = text.replace(ACTION, (_m, body: string) => evalAction(body, ctx));
  if (out.includes('{{') && text.replace(ACTION, '').includes('{{')) throw new TemplateError(`template: unclosed action in "${text}"`);
  return out;
}

/** Checks that `text` is a valid template, without a context. Throws {@link TemplateError}. */
export function checkTemplate(text: string): void {
  expandTemplate(text, SHAPE);
}

/**
 * Returns a copy of `spec` with Hostname, Env and the Mounts' Source and Target (and
 * volume labels) expanded. The input is not modified.
 */
export function expandContainerSpec(spec: ContainerSpec, ctx: TemplateContext): ContainerSpec {
  const x = (s: string): string => expandTemplate(s, ctx);
  const out: ContainerSpec = { ...spec };
  if (spec.Hostname !== undefined) out.Hostname = x(spec.Hostname);
  if (spec.Env) out.Env = spec.Env.map(x);
  if (spec.Mounts) {
    out.Mounts = spec.Mounts.map((m) => {
      const mm = { ...m, Target: x(m.Target) };
      if (m.Source !== undefined) mm.Source = x(m.Source);
      if (m.VolumeOptions?.Labels) {
        mm.VolumeOptions = {
          ...m.VolumeOptions,
          Labels: Object.fromEntries(Object.entries(m.VolumeOptions.Labels).map(([k, v]) => [k, x(v)])),
        };
      }
      return mm;
    });
  }
  return out;
}

/**
 * The context Docker gives a task's templates: the service's ID, name and labels, the
 * task's ID, name (`<service>.<slot or node id>.<task id>`) and slot (the node ID for
 * global tasks), and the node's ID, hostname and platform.
 */
export function templateContext(service: Pick<Service, 'ID' | 'Spec'>, task: Pick<Task, 'ID' | 'Slot' | 'NodeID'>, node: Pick<Node, 'ID' | 'Description'>): TemplateContext {
  const slot = task.Slot ? String(task.Slot) : (task.NodeID ?? '');
  return {
    Service: { ID: service.ID, Name: service.Spec.Name, Labels: { ...(service.Spec.Labels ?? {}) } },
    Node: {
      ID: node.ID,
      Hostname: node.Description?.Hostname ?? '',
      Platform: { OS: node.Description?.Platform?.OS ?? '', Architecture: node.Description?.Platform?.Architecture ?? '' },
    },
    Task: { ID: task.ID, Name: `${service.Spec.Name}.${slot}.${task.ID}`, Slot: slot },
  };
}
