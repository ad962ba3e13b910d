/**
 * Compose `ports` entries → Docker PortConfigs, as `docker stack deploy` reads them:
 * short syntax `[HOST_IP:]PUBLISHED[-END]:TARGET[-END][/PROTO]` or `TARGET[/PROTO]`, and
 * the long syntax (`target`, `published`, `protocol`, `mode`). Pure.
 */
import type { PortConfig } from '../../src/api/types/service.ts';
import { ComposePathError, type ComposePath } from './errors.ts';

type Obj = Record<string, unknown>;

function range(s: string, path: ComposePath, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new ComposePathError(path, `invalid ${what} port "${s}"`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || hi < lo) throw new ComposePathError(path, `invalid ${what} port range "${s}"`);
  return [lo, hi];
}

function protocol(p: unknown, path: ComposePath): 'tcp' | 'udp' | 'sctp' {
  const s = String(p ?? 'tcp').toLowerCase();
  if (s !== 'tcp' && s !== 'udp' && s !== 'sctp') throw new ComposePathError(path, `invalid protocol "${String(p)}" (tcp, udp or sctp)`);
  return s;
}

/** One entry of `ports` (a range expands to several PortConfigs). */
export function parsePorts(entry: unknown, path: ComposePath): PortConfig[] {
  if (entry && typeof entry === 'object') {
    const o = entry as Obj;
    for (const k of Object.keys(o)) {
      if (!['target', 'published', 'protocol', 'mode'].includes(k) && !k.startsWith('x-')) {
        throw new ComposePathError([...path, k], k === 'host_ip' ? 'a host IP for a published port is not supported in swarm mode' : `"ports.${k}" is not supported by shoal stack deploy`);
      }
    }
    const mode = String(o.mode ?? 'ingress');
    if (mode !== 'ingress' && mode !== 'host') throw new ComposePathError([...path, 'mode'], `must be ingress or host, not "${mode}"`);
    const target = Number(o.target);
    if (!Number.isInteger(target) || target < 1 || target > 65535) throw new ComposePathError([...path, 'target'], `invalid target port "${String(o.target)}"`);
    const out: PortConfig = { Protocol: protocol(o.protocol, [...path, 'protocol']), TargetPort: target, PublishMode: mode as 'ingress' | 'host' };
    if (o.published !== undefined && o.published !== null && o.published !== '') {
      const [lo, hi] = range(String(o.published), [...path, 'published'], 'published');
      if (lo !== hi) throw new ComposePathError([...path, 'published'], 'a published port range in the long syntax is not supported by shoal stack deploy');
      out.PublishedPort = lo;
    }
    return [out];
  }
  const s = String(entry);
  const slash = s.lastIndexOf('/');
  const proto = protocol(slash < 0 ? 'tcp' : s.slice(slash + 1), path);
  const parts = (slash < 0 ? s : s.slice(0, slash)).split(':');
  if (parts.length > 3 || parts.some((x, i) => x === '' && i === parts.length - 1)) throw new ComposePathError(path, `invalid port "${s}"`);
  if (parts.length === 3) throw new ComposePathError(path, `a host IP for a published port ("${parts[0]}") is not supported in swarm mode`);
  const [tlo, thi] = range(parts[parts.length - 1], path, 'target');
  if (parts.length === 1 || parts[0] === '') {
    const out: PortConfig[] = [];
    for (let t = tlo; t <= thi; t++) out.push({ Protocol: proto, TargetPort: t, PublishMode: 'ingress' });
    return out;
  }
  const [plo, phi] = range(parts[0], path, 'published');
  if (phi - plo !== thi - tlo) throw new ComposePathError(path, `port ranges do not match in "${s}"`);
  const out: PortConfig[] = [];
  for (let i = 0; i <= thi - tlo; i++) out.push({ Protocol: proto, TargetPort: tlo + i, PublishedPort: plo + i, PublishMode: 'ingress' });
  return out;
}
