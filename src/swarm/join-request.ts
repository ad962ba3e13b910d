/**
 * The checks a manager applies to a `POST /join` body before anything else (pure). A
 * joining node holds only a token; what it says about itself ends up in the replicated
 * store, in `node ls`, in the scheduler's view and in every manager's memory, so every
 * field is checked for type and size, and the description is rebuilt from the known
 * fields only (anything else the node sent is dropped, never stored).
 */
import { InvalidArgumentError } from '../api/errors.ts';
import { NAMED_UNITS_REFUSED } from '../api/spec/host-access.ts';
import type { NodeDescription } from '../api/types/node.ts';
import type { JoinNodeRequest } from '../wire/types.ts';
import { isUnicastIPv4Port } from './underlay-addr.ts';
import { isWgKey } from '../../net/wireguard/plan.ts';

/** Longest join token accepted (Docker's are about 85 characters). */
const MAX_TOKEN = 256;
/** Largest CSR accepted, bytes (an ECDSA P-256 CSR is under 1 KiB). */
const MAX_CSR = 16 * 1024;
const MAX_SHORT = 256;
const MAX_LABELS = 256;
const MAX_LABEL_VALUE = 4096;
const MAX_PLUGINS = 256;

function fail(what: string): never {
  throw new InvalidArgumentError(`invalid join request: ${what}`);
}

function shortString(v: unknown, what: string, opts: { min?: number; max?: number } = {}): string {
  if (typeof v !== 'string' || v.length < (opts.min ?? 0) || v.length > (opts.max ?? MAX_SHORT)) fail(`${what} must be a string of at most ${opts.max ?? MAX_SHORT} characters`);
  return v;
}

function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${what} must be a non-negative integer`);
  return v;
}

/** Throws `InvalidArgumentError` naming the first bad field of a join request. */
export function validateJoinRequest(req: JoinNodeRequest): void {
  if (!req || typeof req !== 'object' || Array.isArray(req)) fail('body must be an object');
  shortString(req.token, 'token', { min: 1, max: MAX_TOKEN });
  shortString(req.csrPem, 'csrPem', { min: 1, max: MAX_CSR });
  if (typeof req.advertiseAddr !== 'string' || !isUnicastIPv4Port(req.advertiseAddr)) fail(`advertiseAddr must be an IPv4 unicast address with a port, not ${JSON.stringify(String(req.advertiseAddr).slice(0, 64))}`);
  if (req.availability !== undefined && !['active', 'pause', 'drain'].includes(req.availability as string)) fail('availability must be active, pause or drain');
  validateDescription(req.description);
}

/**
 * Throws `InvalidArgumentError` naming the first bad field of a node's description of
 * itself (sent when it joins, and again on each session so that an upgraded node's
 * version reaches the managers).
 */
export function validateDescription(description: unknown): void {
  const d = description as Record<string, unknown>;
  if (!d || typeof d !== 'object' || Array.isArray(d)) fail('description must be an object');
  if (d.ShoalStoreSchema !== undefined && (!Number.isSafeInteger(d.ShoalStoreSchema) || (d.ShoalStoreSchema as number) < 1 || (d.ShoalStoreSchema as number) > 1000)) {
    fail('description.ShoalStoreSchema must be an integer from 1 to 1000');
  }
  if (d.ShoalWireGuard !== undefined) {
    const wg = d.ShoalWireGuard as Record<string, unknown> | null;
    if (!wg || typeof wg !== 'object' || !isWgKey(wg.PublicKey) || !Number.isInteger(wg.Port) || (wg.Port as number) < 1 || (wg.Port as number) > 65535
      || (wg.Path !== undefined && wg.Path !== 'kernel' && wg.Path !== 'wireguard-go')) {
      fail('description.ShoalWireGuard must hold a WireGuard PublicKey and a Port');
    }
  }
  const host = shortString(d.Hostname, 'description.Hostname', { min: 1, max: 253 });
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(host)) fail('description.Hostname must be a host name');
  const platform = (d.Platform ?? {}) as Record<string, unknown>;
  if (typeof platform !== 'object') fail('description.Platform must be an object');
  shortString(platform.Architecture ?? '', 'description.Platform.Architecture', { max: 64 });
  shortString(platform.OS ?? '', 'description.Platform.OS', { max: 64 });
  const res = d.Resources as Record<string, unknown> | undefined;
  if (!res || typeof res !== 'object') fail('description.Resources must be an object');
  count(res.NanoCPUs, 'description.Resources.NanoCPUs');
  count(res.MemoryBytes, 'description.Resources.MemoryBytes');
  const generic = res.GenericResources ?? [];
  if (!Array.isArray(generic) || generic.length > MAX_LABELS) fail(`description.Resources.GenericResources must be a list of at most ${MAX_LABELS}`);
  for (const g of generic as Record<string, Record<string, unknown> | undefined>[]) {
    if (g?.NamedResourceSpec) fail(`description.Resources.GenericResources: ${NAMED_UNITS_REFUSED}`);
    const spec = g?.DiscreteResourceSpec;
    if (!spec || typeof spec !== 'object') fail('description.Resources.GenericResources entries must hold a DiscreteResourceSpec');
    shortString(spec.Kind, 'description.Resources.GenericResources[].Kind', { min: 1, max: 64 });
    count(spec.Value, 'description.Resources.GenericResources[].Value');
  }
  const engine = (d.Engine ?? {}) as Record<string, unknown>;
  if (typeof engine !== 'object') fail('description.Engine must be an object');
  shortString(engine.EngineVersion ?? '', 'description.Engine.EngineVersion', { max: 64 });
  const labels = (engine.Labels ?? {}) as Record<string, unknown>;
  if (typeof labels !== 'object' || Array.isArray(labels)) fail('description.Engine.Labels must map names to strings');
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) fail(`description.Engine.Labels has more than ${MAX_LABELS} labels`);
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > MAX_SHORT) fail('description.Engine.Labels has a bad label name');
    shortString(v, `description.Engine.Labels[${JSON.stringify(k.slice(0, 32))}]`, { max: MAX_LABEL_VALUE });
  }
  const plugins = engine.Plugins ?? [];
  if (!Array.isArray(plugins) || plugins.length > MAX_PLUGINS) fail(`description.Engine.Plugins must be a list of at most ${MAX_PLUGINS}`);
  for (const p of plugins as Record<string, unknown>[]) {
    if (!p || typeof p !== 'object') fail('description.Engine.Plugins entries must be objects');
    shortString(p.Type, 'description.Engine.Plugins[].Type');
    shortString(p.Name, 'description.Engine.Plugins[].Name');
  }
}

/** The description with only the fields a node may state about itself (call after `validateJoinRequest`). */
export function cleanDescription(d: NodeDescription): NodeDescription {
  return {
    Hostname: d.Hostname,
    Platform: { Architecture: d.Platform?.Architecture ?? '', OS: d.Platform?.OS ?? '' },
    Resources: {
      NanoCPUs: d.Resources.NanoCPUs,
      MemoryBytes: d.Resources.MemoryBytes,
      // Amounts only (validateJoinRequest refuses named units), each with its kind and value: what the scheduler counts.
      ...(d.Resources.GenericResources?.length
        ? { GenericResources: d.Resources.GenericResources.map((g) => ({ DiscreteResourceSpec: { Kind: g.DiscreteResourceSpec!.Kind, Value: g.DiscreteResourceSpec!.Value } })) }
        : {}),
    },
    Engine: {
      EngineVersion: d.Engine?.EngineVersion ?? '',
      Labels: { ...(d.Engine?.Labels ?? {}) },
      Plugins: (d.Engine?.Plugins ?? []).map((p) => ({ Type: p.Type, Name: p.Name })),
    },
    ...(d.ShoalStoreSchema !== undefined ? { ShoalStoreSchema: d.ShoalStoreSchema } : {}),
    ...(d.ShoalWireGuard ? { ShoalWireGuard: { PublicKey: d.ShoalWireGuard.PublicKey, Port: d.ShoalWireGuard.Port, ...(d.ShoalWireGuard.Path ? { Path: d.ShoalWireGuard.Path } : {}) } } : {}),
  };
}
