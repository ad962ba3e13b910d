/**
 * `POST /networks/create` bodies (Docker's NetworkCreateRequest) turned into the stored
 * NetworkSpec, with Docker's defaults and the checks that need no cluster state: the
 * driver (only `overlay`: every Shoal network is swarm-scoped), the IPAM driver, the
 * shape of IPAM.Config, labels and options. Subnet overlaps, gateways outside their
 * subnet and VNIs in use are the allocator's checks (`checkNetworkRequest`). Pure.
 *
 * Nothing is accepted that is not done (STYLE rule 16a): `NETWORK_CREATE_FIELDS` says,
 * for every field of Docker's NetworkCreateRequest, whether Shoal applies it or refuses
 * a non-default value; driver options are limited to `NETWORK_OPTIONS`.
 */
import { ApiError, InvalidArgumentError } from '../errors.ts';
import { MTU_OPTION, VXLAN_ID_OPTION, type IPAMConfig, type NetworkSpec } from '../types/network.ts';
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

/**
 * Every field of Docker's NetworkCreateRequest (API v1.41, dotted paths, `[]` for list
 * elements): `applied`, or `refused` when given a value other than its default (a 400
 * naming it). `network-spec.test.ts` walks Docker's specification against this table.
 * Turning a row to `applied` is part of the change that implements the field.
 */
export const NETWORK_CREATE_FIELDS: Readonly<Record<string, 'applied' | 'refused'>> = {
  Name: 'applied',
  // Names are always unique in a swarm (as in Docker's swarm mode), whatever this says.
  CheckDuplicate: 'applied',
  Driver: 'applied', // overlay only
  Scope: 'applied', // swarm only
  Internal: 'applied', // no way out of the swarm for tasks only on internal networks
  // A permission for standalone containers; Shoal runs none yet, so there is nothing to permit.
  Attachable: 'applied',
  Ingress: 'applied',
  ConfigOnly: 'refused',
  ConfigFrom: 'refused',
  'ConfigFrom.Network': 'refused',
  IPAM: 'applied',
  'IPAM.Driver': 'applied', // default only
  'IPAM.Config': 'applied', // one IPv4 subnet
  'IPAM.Config[].Subnet': 'applied',
  'IPAM.Config[].IPRange': 'applied',
  'IPAM.Config[].Gateway': 'applied',
  'IPAM.Config[].AuxiliaryAddresses': 'refused',
  'IPAM.Options': 'refused',
  EnableIPv6: 'refused',
  Options: 'applied', // the keys of NETWORK_OPTIONS only
  Labels: 'applied',
};

/**
 * Docker's option for an overlay whose traffic between nodes is encrypted (`--opt
 * encrypted`, any value): Shoal carries it in WireGuard between the nodes (kernel or
 * wireguard-go), see `net/wireguard/`.
 */
export const ENCRYPTED_OPTION = 'encrypted';
/** The driver options (`--opt`) Shoal applies; any other is refused by name. */
export const NETWORK_OPTIONS: readonly string[] = [MTU_OPTION, VXLAN_ID_OPTION, ENCRYPTED_OPTION];

/** Options without the ones Shoal does not apply; throws a 400 naming the first of those. */
function driverOptions(v: unknown): Record<string, string> {
  const opts = stringMap('Options', v);
  for (const k of Object.keys(opts)) {
    if (!NETWORK_OPTIONS.includes(k)) {
      throw new InvalidArgumentError(`network option "${k}" is not supported (Options.${k}); Shoal applies only ${NETWORK_OPTIONS.join(' and ')}`);
    }
  }
  return opts;
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
  if (req.ConfigFrom !== undefined && req.ConfigFrom !== null && typeof req.ConfigFrom !== 'object') throw new InvalidArgumentError('invalid network ConfigFrom: must be an object');
  if (req.ConfigFrom?.Network) throw new InvalidArgumentError('networks created from a config-only network (--config-from) are not supported');
  if (bool('EnableIPv6', req.EnableIPv6)) throw new InvalidArgumentError('IPv6 is not supported on Shoal overlay networks (EnableIPv6 must be false)');
  const options = driverOptions(req.Options);
  const ipam = req.IPAM ?? {};
  if (typeof ipam !== 'object') throw new InvalidArgumentError('invalid network IPAM: must be an object');
  const ipamDriver = ipam.Driver ?? '';
  if (ipamDriver !== '' && ipamDriver !== 'default') throw new InvalidArgumentError(`IPAM driver "${String(ipamDriver)}" is not supported (only default)`);
  const ingress = bool('Ingress', req.Ingress);
  const attachable = bool('Attachable', req.Attachable);
  if (ingress && attachable) throw new InvalidArgumentError('an ingress network cannot be attachable');
  const internal = bool('Internal', req.Internal);
  // The routing mesh enters the ingress network from outside: internal would forbid it.
  if (ingress && internal) throw new InvalidArgumentError('an ingress network cannot be internal');
  if (Object.keys(stringMap('IPAM.Options', ipam.Options)).length) {
    throw new InvalidArgumentError(`IPAM options are not supported (IPAM.Options: ${Object.keys(ipam.Options!).join(', ')}); the default IPAM driver takes none`);
  }
  return {
    Name: name,
    Labels: stringMap('Labels', req.Labels),
    Driver: OVERLAY_DRIVER,
    Options: options,
    IPAM: { Driver: 'default', Config: ipamConfig(ipam.Config) },
    Attachable: attachable,
    Ingress: ingress,
    Internal: internal,
    EnableIPv6: false,
    Scope: 'swarm',
  };
}
