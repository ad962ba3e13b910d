/**
 * `docker ps --filter` over task containers. Pure. Filters not implemented here are
 * refused by name ({@link FilterError}), never ignored.
 */
import { containerLabels, containerName, dockerState, type ContainerView } from './view.ts';

/** A filter that is unknown, not implemented, or has a bad value (the API answers 400). */
export class FilterError extends Error {
  override readonly name = 'FilterError';
  readonly retryable = false;
  constructor(message: string) { super(message); }
}

const STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const KNOWN = ['id', 'name', 'label', 'status', 'ancestor', 'network', 'volume', 'exited', 'health', 'is-task'];
/** Docker filters Shoal does not do yet on this endpoint. */
const NOT_YET = ['before', 'since', 'publish', 'expose', 'isolation'];

/** Checks the filter names and values; throws FilterError for any it cannot honour. */
export function checkFilters(f: Map<string, string[]>): void {
  for (const k of f.keys()) {
    if (NOT_YET.includes(k)) throw new FilterError(`filter '${k}' is not supported by shoal for containers yet`);
    if (!KNOWN.includes(k)) throw new FilterError(`invalid filter '${k}'`);
  }
  for (const s of f.get('status') ?? []) {
    if (!STATES.includes(s)) throw new FilterError(`invalid filter 'status=${s}'`);
  }
  for (const h of f.get('health') ?? []) {
    if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h)) throw new FilterError(`unrecognised filter value for health: ${h}`);
  }
  for (const e of f.get('exited') ?? []) if (!/^-?\d+$/.test(e)) throw new FilterError(`invalid filter 'exited=${e}'`);
  for (const t of f.get('is-task') ?? []) if (t !== 'true' && t !== 'false') throw new FilterError(`invalid filter 'is-task=${t}'`);
}

/** `image`, `image:latest` and `docker.io/library/image:latest` name one image. */
function refForms(ref: string): string[] {
  const noDigest = ref.split('@')[0];
  const lastSlash = noDigest.lastIndexOf('/');
  const hasTag = noDigest.lastIndexOf(':') > lastSlash;
  const tagged = hasTag ? noDigest : `${noDigest}:latest`;
  const out = [ref, noDigest, tagged];
  for (const p of ['docker.io/library/', 'docker.io/']) if (tagged.startsWith(p)) out.push(tagged.slice(p.length), tagged.slice(p.length).replace(/:latest$/, ''));
  if (!hasTag) out.push(noDigest);
  return out;
}

function matchesAncestor(v: ContainerView, want: string): boolean {
  const id = (v.record?.imageId ?? '').replace(/^sha256:/, '');
  const w = want.replace(/^sha256:/, '');
  if (id && w.length >= 4 && id.startsWith(w)) return true;
  const have = refForms(v.spec.image);
  return refForms(want).some((x) => have.includes(x));
}

function matchLabel(labels: Record<string, string>, want: string): boolean {
  const i = want.indexOf('=');
  if (i < 0) return want in labels;
  return labels[want.slice(0, i)] === want.slice(i + 1);
}

/** True when `v` passes every filter (values of one filter are alternatives; labels must all match). */
export function matchesFilters(v: ContainerView, f: Map<string, string[]>): boolean {
  const any = (k: string, pred: (x: string) => boolean) => { const vals = f.get(k); return !vals || vals.some(pred); };
  const name = containerName(v);
  if (!any('id', (x) => v.cid.startsWith(x))) return false;
  // Docker matches names as a regular expression against `/NAME`.
  if (!any('name', (x) => { try { return new RegExp(x).test(`/${name}`); } catch { return `/${name}`.includes(x); } })) return false;
  const labels = containerLabels(v);
  if (!(f.get('label') ?? []).every((x) => matchLabel(labels, x))) return false;
  if (!any('status', (x) => dockerState(v.state) === x)) return false;
  if (!any('ancestor', (x) => matchesAncestor(v, x))) return false;
  const nets = v.task?.NetworksAttachments ?? [];
  if (!any('network', (x) => nets.some((a) => a.Network.Spec.Name === x || a.Network.ID === x || (x.length >= 4 && a.Network.ID.startsWith(x))) || !!v.standaloneNetworks?.includes(x))) return false;
  if (!any('volume', (x) => (v.spec.mounts ?? []).some((m) => (m.type === 'volume' && m.source === x) || m.target === x))) return false;
  if (!any('exited', (x) => v.state === 'exited' && v.record?.exit?.exitCode === Number(x))) return false;
  if (!any('health', (x) => (v.health?.status ?? 'none') === x)) return false;
  // Standalone containers (`docker run`) have a name of their own and are no tasks.
  if (!any('is-task', (x) => (x === 'true') === !v.name)) return false;
  return true;
}

/**
 * `docker ps` selection: running only unless `all`; filtered; newest first; at most
 * `limit` (a positive limit implies `all`, as Docker does).
 */
export function selectContainers(views: ContainerView[], opts: { all?: boolean; limit?: number; filters: Map<string, string[]> }): ContainerView[] {
  checkFilters(opts.filters);
  const all = opts.all || (opts.limit !== undefined && opts.limit > 0) || opts.filters.has('status') || opts.filters.has('exited');
  let out = views.filter((v) => v.state !== 'removed' && (all || v.state === 'running') && matchesFilters(v, opts.filters));
  out = out.sort((a, b) => (b.record?.createdAt ?? '').localeCompare(a.record?.createdAt ?? ''));
  if (opts.limit !== undefined && opts.limit > 0) out = out.slice(0, opts.limit);
  return out;
}
