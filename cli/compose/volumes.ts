/**
 * Compose service `volumes` entries → Docker Mounts, as `docker stack deploy` converts
 * them: short syntax `SOURCE:TARGET[:MODE]` (a source starting with `/`, `.` or `~` is a
 * bind mount, anything else a named volume of the top-level `volumes:` section),
 * `TARGET` alone (an anonymous volume), and the long syntax. Named volumes become
 * `STACK_name` local volumes on the node, labelled with the stack. Pure.
 */
import { posix } from 'node:path';
import type { Mount } from '../../src/api/types/service.ts';
import { ComposePathError, type ComposePath } from './errors.ts';
import { parseBytes } from './units.ts';

type Obj = Record<string, unknown>;

/** What parsing a volume entry needs. */
export interface VolumeContext {
  path: ComposePath;
  workingDir: string;
  stack: string;
  volume: (key: string) => { name: string; external: boolean; driver?: string } | undefined;
}

const PROPAGATIONS = ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'];

function isPathLike(s: string): boolean {
  return s.startsWith('/') || s.startsWith('.') || s.startsWith('~');
}

function bindSource(src: string, ctx: VolumeContext): string {
  if (src.startsWith('~')) {
    const home = process.env.HOME ?? '/root';
    return posix.join(home, src.slice(1));
  }
  return posix.resolve(ctx.workingDir, src);
}

function named(source: string, ctx: VolumeContext, path: ComposePath): Pick<Mount, 'Source' | 'VolumeOptions'> {
  const v = ctx.volume(source);
  if (!v) throw new ComposePathError(path, `undefined volume "${source}"`);
  if (v.external) return { Source: v.name };
  return { Source: v.name, VolumeOptions: { Labels: { 'com.docker.stack.namespace': ctx.stack } } };
}

/** One entry of a service's `volumes`. */
export function parseVolume(entry: unknown, ctx: VolumeContext): Mount {
  const path = ctx.path;
  if (entry && typeof entry === 'object') return longVolume(entry as Obj, ctx);
  const s = String(entry);
  const parts = s.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw new ComposePathError(path, `invalid volume specification "${s}"`);
  if (parts.length === 1) {
    if (!parts[0].startsWith('/')) throw new ComposePathError(path, `invalid volume specification "${s}": the target must be absolute`);
    return { Type: 'volume', Target: parts[0] };
  }
  const [source, target, modeStr = ''] = parts;
  const modes = modeStr ? modeStr.split(',') : [];
  let readOnly = false;
  let propagation: string | undefined;
  let nocopy = false;
  for (const m of modes) {
    if (m === 'ro') readOnly = true;
    else if (m === 'rw') readOnly = false;
    else if (m === 'nocopy') nocopy = true;
    else if (PROPAGATIONS.includes(m)) propagation = m;
    else throw new ComposePathError(path, `volume mode "${m}" is not supported by shoal stack deploy`);
  }
  if (!target.startsWith('/')) throw new ComposePathError(path, `invalid volume specification "${s}": the target must be absolute`);
  if (isPathLike(source)) {
    if (nocopy) throw new ComposePathError(path, 'nocopy applies to volumes, not bind mounts');
    return { Type: 'bind', Source: bindSource(source, ctx), Target: target, ...(readOnly ? { ReadOnly: true } : {}), ...(propagation ? { BindOptions: { Propagation: propagation } } : {}) };
  }
  if (propagation) throw new ComposePathError(path, 'a propagation mode applies to bind mounts, not volumes');
  const n = named(source, ctx, path);
  return { Type: 'volume', Target: target, ...n, ...(readOnly ? { ReadOnly: true } : {}), ...(nocopy ? { VolumeOptions: { ...n.VolumeOptions, NoCopy: true } } : {}) };
}

function longVolume(o: Obj, ctx: VolumeContext): Mount {
  const path = ctx.path;
  for (const k of Object.keys(o)) {
    if (!['type', 'source', 'target', 'read_only', 'bind', 'volume', 'tmpfs', 'consistency'].includes(k) && !k.startsWith('x-')) {
      throw new ComposePathError([...path, k], `"volumes.${k}" is not supported by shoal stack deploy`);
    }
  }
  const type = String(o.type ?? 'volume');
  const target = String(o.target ?? '');
  if (!target.startsWith('/')) throw new ComposePathError([...path, 'target'], 'the target must be an absolute path');
  const ro = o.read_only ? { ReadOnly: true } : {};
  const source = o.source === undefined || o.source === null ? '' : String(o.source);
  switch (type) {
    case 'bind': {
      if (!source) throw new ComposePathError([...path, 'source'], 'a bind mount needs a source');
      const b = (o.bind ?? {}) as Obj;
      for (const k of Object.keys(b)) if (k !== 'propagation' && k !== 'create_host_path') throw new ComposePathError([...path, 'bind', k], `"bind.${k}" is not supported by shoal stack deploy`);
      if (b.propagation !== undefined && !PROPAGATIONS.includes(String(b.propagation))) throw new ComposePathError([...path, 'bind', 'propagation'], `unknown propagation "${String(b.propagation)}"`);
      return { Type: 'bind', Source: bindSource(source, ctx), Target: target, ...ro, ...(b.propagation ? { BindOptions: { Propagation: String(b.propagation) } } : {}) };
    }
    case 'volume': {
      const v = (o.volume ?? {}) as Obj;
      for (const k of Object.keys(v)) if (k !== 'nocopy') throw new ComposePathError([...path, 'volume', k], `"volume.${k}" is not supported by shoal stack deploy`);
      if (!source) return { Type: 'volume', Target: target, ...ro, ...(v.nocopy ? { VolumeOptions: { NoCopy: true } } : {}) };
      const n = named(source, ctx, [...path, 'source']);
      return { Type: 'volume', Target: target, ...n, ...ro, ...(v.nocopy ? { VolumeOptions: { ...n.VolumeOptions, NoCopy: true } } : {}) };
    }
    case 'tmpfs': {
      if (source) throw new ComposePathError([...path, 'source'], 'a tmpfs mount has no source');
      const t = (o.tmpfs ?? {}) as Obj;
      for (const k of Object.keys(t)) if (k !== 'size' && k !== 'mode') throw new ComposePathError([...path, 'tmpfs', k], `"tmpfs.${k}" is not supported by shoal stack deploy`);
      return { Type: 'tmpfs', Target: target, ...ro, ...(t.size !== undefined || t.mode !== undefined ? { TmpfsOptions: { ...(t.size !== undefined ? { SizeBytes: parseBytes(t.size as string | number) } : {}), ...(t.mode !== undefined ? { Mode: Number(t.mode) } : {}) } } : {}) };
    }
    default:
      throw new ComposePathError([...path, 'type'], `mount type "${type}" is not supported by shoal stack deploy (volume, bind or tmpfs)`);
  }
}
