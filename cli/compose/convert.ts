/**
 * A merged compose document → everything `stack deploy` creates: networks, secrets,
 * configs and services, named and labelled as `docker stack deploy` names and labels
 * them (`STACK_key` unless the entry has its own `name:`; `com.docker.stack.namespace`).
 * External networks, secrets and configs are only referenced (the deployer checks they
 * exist). Pure: files are read through the `readFile` given.
 */
import { posix } from 'node:path';
import type { ServiceSpec } from '../../src/api/types/service.ts';
import type { IPAMConfig } from '../../src/api/types/network.ts';
import { ComposePathError } from './errors.ts';
import type { ComposeData } from './load.ts';
import { listOrDict } from './merge.ts';
import { LABEL_NAMESPACE, convertService } from './convert-service.ts';

type Obj = Record<string, unknown>;

/** A network of the stack: created (with `body`) unless external. */
export interface PlannedNetwork {
  key: string;
  name: string;
  external: boolean;
  /** Docker's NetworkCreateRequest (absent for external networks). */
  body?: {
    Name: string; CheckDuplicate: boolean; Driver: string; Internal: boolean; Attachable: boolean; Ingress: boolean;
    IPAM: { Driver: string; Config: IPAMConfig[]; Options: Record<string, string> }; EnableIPv6: boolean;
    Options: Record<string, string>; Labels: Record<string, string>;
  };
}

/** A secret or config of the stack: created from `data` unless external. */
export interface PlannedPayload {
  key: string;
  name: string;
  external: boolean;
  labels: Record<string, string>;
  /** The content (absent for external ones). */
  data?: Buffer;
  /** `golang` when the content is a template. */
  templateDriver?: string;
}

/** What `stack deploy` makes. */
export interface StackPlan {
  stack: string;
  networks: PlannedNetwork[];
  secrets: PlannedPayload[];
  configs: PlannedPayload[];
  /** By short name (compose key), sorted. */
  services: { key: string; spec: ServiceSpec }[];
  /** Keys Docker ignores too, reported as Docker reports them. */
  warnings: string[];
}

/** What conversion needs from outside. */
export interface ConvertOptions {
  /** Directory of the first compose file: relative paths resolve against it. */
  workingDir: string;
  env: (name: string) => string | undefined;
  readFile: (path: string) => Buffer;
}

/** Docker's rule for stack names (they become part of every object's name). */
export function checkStackName(stack: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(stack)) throw new ComposePathError([], `invalid stack name "${stack}": use letters, digits, "_", "." and "-", starting with a letter or digit`);
}

function external(def: Obj | null | undefined): { is: boolean; name?: string } {
  const e = def?.external;
  if (e && typeof e === 'object') return { is: true, name: (e as Obj).name as string | undefined };
  return { is: !!e };
}

function networks(doc: ComposeData, stack: string): PlannedNetwork[] {
  const used = new Set<string>();
  for (const svc of Object.values(doc.services ?? {})) {
    const n = svc.networks;
    if (n === undefined) used.add('default');
    else for (const k of Array.isArray(n) ? n.map(String) : Object.keys(n as Obj)) used.add(k);
  }
  const out: PlannedNetwork[] = [];
  for (const key of [...used].sort()) {
    const declared = doc.networks && key in doc.networks;
    const def = (doc.networks?.[key] ?? {}) as Obj;
    if (!declared && key !== 'default') continue; // reported by the service conversion, naming the service
    const path = ['networks', key];
    const ext = external(def);
    if (ext.is) {
      out.push({ key, name: String(def.name ?? ext.name ?? key), external: true });
      continue;
    }
    for (const k of Object.keys(def)) {
      if (!['driver', 'driver_opts', 'attachable', 'internal', 'ipam', 'labels', 'name', 'external', 'enable_ipv6'].includes(k) && !k.startsWith('x-')) {
        throw new ComposePathError([...path, k], `"networks.${key}.${k}" is not supported by shoal stack deploy`);
      }
    }
    const driver = String(def.driver ?? 'overlay');
    if (driver !== 'overlay') throw new ComposePathError([...path, 'driver'], `the "${driver}" driver is not supported by Shoal (overlay only)`);
    if (def.enable_ipv6) throw new ComposePathError([...path, 'enable_ipv6'], 'IPv6 networks are not supported by Shoal yet');
    const ipam = (def.ipam ?? {}) as Obj;
    for (const k of Object.keys(ipam)) if (k !== 'driver' && k !== 'config') throw new ComposePathError([...path, 'ipam', k], `"ipam.${k}" is not supported by shoal stack deploy`);
    const config = ((ipam.config ?? []) as Obj[]).map((c, i) => {
      for (const k of Object.keys(c)) {
        if (!['subnet', 'ip_range', 'gateway', 'aux_addresses'].includes(k)) throw new ComposePathError([...path, 'ipam', 'config', i, k], `"ipam.config.${k}" is not supported by shoal stack deploy`);
      }
      return {
        ...(c.subnet ? { Subnet: String(c.subnet) } : {}),
        ...(c.ip_range ? { IPRange: String(c.ip_range) } : {}),
        ...(c.gateway ? { Gateway: String(c.gateway) } : {}),
        ...(c.aux_addresses ? { AuxiliaryAddresses: c.aux_addresses as Record<string, string> } : {}),
      };
    });
    const name = String(def.name ?? `${stack}_${key}`);
    out.push({
      key, name, external: false,
      body: {
        Name: name, CheckDuplicate: true, Driver: driver, Internal: !!def.internal, Attachable: !!def.attachable, Ingress: false,
        IPAM: { Driver: String(ipam.driver ?? 'default'), Config: config, Options: {} }, EnableIPv6: false,
        Options: Object.fromEntries(Object.entries((def.driver_opts ?? {}) as Obj).map(([k, v]) => [k, String(v)])),
        Labels: { ...labelMap(def.labels), [LABEL_NAMESPACE]: stack },
      },
    });
  }
  return out;
}

function labelMap(v: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(listOrDict(v)).map(([k, x]) => [k, x ?? '']));
}

function payloads(kind: 'secrets' | 'configs', doc: ComposeData, stack: string, opts: ConvertOptions): PlannedPayload[] {
  const out: PlannedPayload[] = [];
  for (const [key, def] of Object.entries(doc[kind] ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const path = [kind, key];
    const ext = external(def);
    const labels = { ...labelMap(def.labels), [LABEL_NAMESPACE]: stack };
    if (ext.is) {
      out.push({ key, name: String(def.name ?? ext.name ?? key), external: true, labels });
      continue;
    }
    for (const k of Object.keys(def)) {
      if (!['file', 'environment', 'content', 'name', 'labels', 'template_driver', 'external', 'driver'].includes(k) && !k.startsWith('x-')) {
        throw new ComposePathError([...path, k], `"${kind}.${key}.${k}" is not supported by shoal stack deploy`);
      }
    }
    if (def.driver !== undefined) throw new ComposePathError([...path, 'driver'], 'secret drivers are not supported by Shoal yet');
    const td = def.template_driver === undefined ? undefined : String(def.template_driver);
    if (td !== undefined && td !== 'golang') throw new ComposePathError([...path, 'template_driver'], `unsupported template driver "${td}" (only golang)`);
    let data: Buffer;
    if (def.file !== undefined) {
      const file = posix.resolve(opts.workingDir, String(def.file));
      try { data = opts.readFile(file); } catch (err) { throw new ComposePathError([...path, 'file'], `cannot read ${file}: ${(err as Error).message}`); }
    } else if (def.environment !== undefined) {
      const v = opts.env(String(def.environment));
      if (v === undefined) throw new ComposePathError([...path, 'environment'], `environment variable ${String(def.environment)} is not set`);
      data = Buffer.from(v);
    } else if (def.content !== undefined && kind === 'configs') {
      data = Buffer.from(String(def.content));
    } else {
      throw new ComposePathError(path, `${kind.slice(0, -1)} "${key}" needs file${kind === 'configs' ? ', content' : ''} or environment, or external: true`);
    }
    out.push({ key, name: String(def.name ?? `${stack}_${key}`), external: false, labels, data, ...(td ? { templateDriver: td } : {}) });
  }
  return out;
}

function checkVolumes(doc: ComposeData): void {
  for (const [key, def] of Object.entries(doc.volumes ?? {})) {
    for (const [k, v] of Object.entries(def ?? {})) {
      const path = ['volumes', key, k];
      if (k === 'external' || k === 'name' || k.startsWith('x-')) continue;
      if (k === 'driver' && (v === 'local' || v === '' || v === null)) continue;
      if (k === 'driver') throw new ComposePathError(path, `the "${String(v)}" volume driver is not supported by Shoal (local only)`);
      if (k === 'driver_opts') throw new ComposePathError(path, 'volume driver options are not supported by Shoal yet');
      if (k === 'labels') throw new ComposePathError(path, 'volume labels are not supported by Shoal yet');
      throw new ComposePathError(path, `"volumes.${key}.${k}" is not supported by shoal stack deploy`);
    }
  }
}

/** Converts a merged compose document for the stack `stack`. Throws ComposePathError naming the key. */
export function convertStack(doc: ComposeData, stack: string, opts: ConvertOptions): StackPlan {
  checkStackName(stack);
  checkVolumes(doc);
  const nets = networks(doc, stack);
  const secrets = payloads('secrets', doc, stack, opts);
  const configs = payloads('configs', doc, stack, opts);
  const warnings: string[] = [];
  const services = Object.entries(doc.services ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([key, svc]) => ({
    key,
    spec: convertService(key, svc ?? {}, {
      stack, workingDir: opts.workingDir, env: opts.env, warnings,
      readFile: (p) => opts.readFile(p).toString('utf8'),
      networkName: (k) => nets.find((n) => n.key === k)?.name,
      volume: (k) => {
        if (!doc.volumes || !(k in doc.volumes)) return undefined;
        const def = (doc.volumes[k] ?? {}) as Obj;
        const ext = external(def);
        return { name: String(def.name ?? ext.name ?? (ext.is ? k : `${stack}_${k}`)), external: ext.is };
      },
      secretName: (k) => secrets.find((s) => s.key === k)?.name,
      configName: (k) => configs.find((s) => s.key === k)?.name,
    }),
  }));
  return { stack, networks: nets, secrets, configs, services, warnings: [...new Set(warnings)] };
}
