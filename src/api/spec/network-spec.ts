/**
 * `POST /networks/create` bodies (Docker's NetworkCreateRequest) turned into the stored
 * NetworkSpec, with Docker's defaults and the checks that need no cluster state: the
 * driver (only `overlay`: every Shoal network is swarm-scoped), the IPAM driver, the
 * shape of IPAM.Config, labels and options. Subnet overlaps, gateways outside their
 * subnet and VNIs in use are the allocator's checks (`checkNetworkRequest`). Pure.
 */
import { ApiError, InvalidArgumentError } from '../errors.ts';
import type { IPAMConfig, NetworkSpec } from '../types/network.ts';
import { MAX_NAME_LENGTH, SERVICE_NAME } from './validate.ts';

/** Docker's NetworkCreateRequest (API v1.41); every field but Name may be left out. */
export interface NetworkCreateRequest {
  Name?: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Scope?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string } | null;
  IPAM?: { Driver?: string; Config?: IPAMConfig[] | null; Options?: Record<string, string> | null } | null;
  EnableIPv6?: boolean;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** The one driver Shoal networks use. */
export const OVERLAY_DRIVER = 'overlay';
/** Docker's names for the host's own networks; they cannot be created (Docker: 403). */
export const PREDEFINED_NETWORKS = ['bridge', 'host', 'none', 'default'];

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function isIpv4(text: string, cidr: boolean): boolean {
  const m = (cidr ? IPV4_CIDR : IPV4).exec(text);
  if (!m) return false;
  if (m.slice(1, 5).some((o) => Number(o) > 255)) return false;
  return !cidr || Number(m[5]) <= 32;
}

function stringMap(field: string, v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgumentError(`invalid network ${field}: must map names to strings`);
  for (const [k, x] of Object.entries(v)) {
    if (k === '') throw new InvalidArgumentError(`invalid network ${field}: names must not be empty`);
    if (typeof x !== 'string') throw new InvalidArgumentError(`invalid network ${field}: the value of "${k}" must be a string`);
  }
  return { ...(v as Record<string, string>) };
}

function bool(field: string, v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`invalid network ${field}: must be true or false`);
  return v;
}

function ipamConfig(list: unknown): IPAMConfig[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new InvalidArgumentError('invalid IPAM.Config: must be a list');
  if (list.length > 1) throw new InvalidArgumentError('invalid IPAM.Config: only one IPv4 subnet per network is supported');
  return list.map((c: IPAMConfig, i) => {
    const f = `IPAM.Config[${i}]`;
    if (!c || typeof c !== 'object') throw new InvalidArgumentError(`invalid ${f}: must be an object`);
    const out: IPAMConfig = {};
    for (const k of ['Subnet', 'IPRange', 'Gateway'] as const) {
      const v = c[k];
      if (v === undefined || v === null || v === '') continue;
      if (typeof v !== 'string') throw new InvalidArgumentError(`invalid ${f}.${k}: must be a string`);
      if (!isIpv4(v, k !== 'Gateway')) {
        throw new InvalidArgumentError(`invalid ${f}.${k} "${v}": ${k === 'Gateway' ? 'must be an IPv4 address' : 'must be an IPv4 CIDR such as 10.1.0.0/24'}`);
      }
      out[k] = v;
    }
    if (!out.Subnet && (out.Gateway || out.IPRange)) throw new InvalidArgumentError(`invalid ${f}: a gateway or ip-range needs a subnet (--subnet)`);
    if (c.AuxiliaryAddresses && Object.keys(c.AuxiliaryAddresses).length) throw new InvalidArgumentError(`invalid ${f}.AuxiliaryAddresses: auxiliary addresses are not supported`);
    return out;
  });
}

/**
 * The spec to store for a create request, or a clear error (400; 403 for a predefined
 * name) naming the first bad field. The request is not modified.
 */
export function networkSpecFromRequest(body: unknown): NetworkSpec {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new InvalidArgumentError('invalid network create request: body must be a NetworkCreateRequest object');
  const req = body as NetworkCreateRequest;
  const name = req.Name;
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('invalid network name: must not be empty');
  if (name.length > MAX_NAME_LENGTH) throw new InvalidArgumentError(`invalid network name "${name}": at most ${MAX_NAME_LENGTH} characters`);
  if (!SERVICE_NAME.test(name)) throw new InvalidArgumentError(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  if (PREDEFINED_NETWORKS.includes(name)) throw new ApiError(`${name} is a pre-defined network and cannot be created`, 403);
  const driver = req.Driver ?? '';
  if (typeof driver !== 'string') throw new InvalidArgumentError('invalid network Driver: must be a string');
  if (driver !== '' && driver !== OVERLAY_DRIVER) {
    throw new InvalidArgumentError(`network driver "${driver}" is not supported: Shoal networks are swarm-scoped and use the overlay driver (-d overlay)`);
  }
  if (req.Scope !== undefined && req.Scope !== '' && req.Scope !== 'swarm') throw new InvalidArgumentError(`invalid network scope "${String(req.Scope)}": only swarm is supported`);
  if (bool('ConfigOnly', req.ConfigOnly)) throw new InvalidArgumentError('config-only networks are not supported');
  if (req.ConfigFrom?.Network) throw new InvalidArgumentError('networks created from a config-only network (--config-from) are not supported');
  if (bool('EnableIPv6', req.EnableIPv6)) throw new InvalidArgumentError('IPv6 is not supported on Shoal overlay networks (EnableIPv6 must be false)');
  const ipam = req.IPAM ?? {};
  if (typeof ipam !== 'object') throw new InvalidArgumentError('invalid network IPAM: must be an object');
  const ipamDriver = ipam.Driver ?? '';
  if (ipamDriver !== '' && ipamDriver !== 'default') throw new InvalidArgumentError(`IPAM driver "${String(ipamDriver)}" is not supported (only default)`);
  const ingress = bool('Ingress', req.Ingress);
  const attachable = bool('Attachable', req.Attachable);
  if (ingress && attachable) throw new InvalidArgumentError('an ingress network cannot be attachable');
  const ipamOptions = stringMap('IPAM.Options', ipam.Options);
  return {
    Name: name,
    Labels: stringMap('Labels', req.Labels),
    Driver: OVERLAY_DRIVER,
    Options: stringMap('Options', req.Options),
    IPAM: { Driver: 'default', Config: ipamConfig(ipam.Config), ...(Object.keys(ipamOptions).length ? { Options: ipamOptions } : {}) },
    Attachable: attachable,
    Ingress: ingress,
    Internal: bool('Internal', req.Internal),
    EnableIPv6: false,
    Scope: 'swarm',
  };
}
