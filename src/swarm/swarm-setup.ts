/**
 * How a node enters a swarm, before any of its parts runs: the checks of an `init` or
 * `join` request, the addresses it listens and advertises on, the credentials of a new
 * cluster, the join handshake with a manager, and the node object the store records.
 *
 * The join handshake (SwarmKit's): the joining node fetches the root CA over anonymous
 * TLS, checks it against the digest in the token, then — trusting only that root — sends
 * the token and a CSR; the manager checks the token before anything else and answers
 * with a certificate whose OU is the role the token grants.
 */
import os from 'node:os';
import net from 'node:net';
import { InvalidArgumentError, UnavailableError } from '../api/errors.ts';
import type { Node, NodeDescription, NodeRole } from '../api/types/node.ts';
import type { JoinRequest, NodeAvailability, SwarmSpec } from '../api/types/swarm.ts';
import {
  CASigner, NodeTLS, bootstrapClientTlsOptions, createRootCA, issuerInfoOf, newNodeKeyAndCSR, parseJoinToken, tokenMatchesCA,
} from '../manager/ca/index.ts';
import type { JoinNodeRequest, JoinNodeResponse } from '../wire/types.ts';
import { httpsJson, splitHostPort } from './https-json.ts';
import type { SwarmState } from './swarm-state.ts';

/** Docker's answer on a worker to a request only a manager serves. */
export const NOT_A_MANAGER =
  'This node is not a swarm manager. Worker nodes can\'t be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.';
/** Docker's answer to `init` or `join` on a node already in a swarm. */
export const ALREADY_IN_SWARM = 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';
const LEAVE_PREFIX = 'You are attempting to leave the swarm on a node that is participating as a manager. ';

/** Docker's refusal of `swarm leave` on a manager, worded after what leaving would do to the quorum. */
export function leaveManagerRefusal(managers: number, reachable: number): string {
  if (managers <= 1) return `${LEAVE_PREFIX}Removing the last manager erases all current state of the swarm. Use \`--force\` to ignore this message.`;
  if (reachable - 1 <= managers / 2) {
    return `${LEAVE_PREFIX}Removing this node leaves ${reachable - 1} managers out of ${managers}. Without a Raft quorum your swarm will be inaccessible. ` +
      'The only way to restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. Use `--force` to suppress this message.';
  }
  return `${LEAVE_PREFIX}The only way to restore a swarm that has lost consensus is to reinitialize it with \`--force-new-cluster\`. Use \`--force\` to suppress this message.`;
}

/** The record of a new node in the store: its role, availability, description and address. */
export function newNodeObject(id: string, role: NodeRole, availability: NodeAvailability, description: NodeDescription, addr: string, state: 'ready' | 'unknown'): Omit<Node, 'Version' | 'CreatedAt' | 'UpdatedAt'> {
  const node: Omit<Node, 'Version' | 'CreatedAt' | 'UpdatedAt'> = {
    ID: id,
    Spec: { Labels: {}, Role: role, Availability: availability },
    Description: description,
    Status: { State: state, Addr: splitHostPort(addr)[0] },
  };
  if (role === 'manager') node.ManagerStatus = { Reachability: 'reachable', Addr: addr };
  return node;
}

/** The cluster's `TLSInfo` for a new root (its issuer too, as `docker info` shows it). */
export function tlsInfo(rootPem: string): { TrustRoot: string; CertIssuerSubject: string; CertIssuerPublicKey: string } {
  const issuer = issuerInfoOf(rootPem);
  return { TrustRoot: rootPem, CertIssuerSubject: issuer.subject, CertIssuerPublicKey: issuer.publicKey };
}

function withPort(addr: string): string {
  return /:\d+$/.test(addr) && !/^[0-9a-f:]+$/i.test(addr) ? addr : `${addr}:2377`;
}

/**
 * The address other nodes reach this one at: the one given (a port added from the
 * listen address), else the listen IP when it is specific, else the host's only
 * non-loopback IPv4 address — as Docker, which refuses to guess among several.
 */
export function resolveAdvertiseAddr(given: string | undefined, listen: string): string {
  const [listenIp, listenPort] = splitHostPort(listen);
  if (given) {
    if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(given)) return given;
    if (/^\d+\.\d+\.\d+\.\d+$/.test(given)) return `${given}:${listenPort}`;
    throw new InvalidArgumentError(`advertise address must be a non-zero IP address or network interface (with optional port number): "${given}"`);
  }
  if (listenIp !== '0.0.0.0') return `${listenIp}:${listenPort}`;
  const candidates = Object.values(os.networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal).map((a) => a!.address);
  if (candidates.length === 1) return `${candidates[0]}:${listenPort}`;
  if (candidates.length === 0) throw new InvalidArgumentError('could not find an IP address to advertise: use --advertise-addr');
  throw new InvalidArgumentError(`could not choose an IP address to advertise since this system has multiple addresses (${candidates.join(', ')}): use --advertise-addr`);
}

/** Checks `init`'s address pool, subnet size and availability; throws a 400 naming the bad field. */
export function validateInit(pool: string[], subnetSize: number, availability?: string): void {
  for (const cidr of pool) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) throw new InvalidArgumentError(`invalid default address pool "${cidr}": expected an IPv4 CIDR`);
    if (Number(m[5]) > subnetSize) throw new InvalidArgumentError(`invalid default address pool "${cidr}": its mask is longer than the subnet size ${subnetSize}`);
  }
  if (!Number.isInteger(subnetSize) || subnetSize < 1 || subnetSize > 29) throw new InvalidArgumentError(`invalid subnet size ${subnetSize}: must be 1-29`);
  if (availability && !['active', 'pause', 'drain'].includes(availability)) throw new InvalidArgumentError(`invalid availability "${availability}": must be active, pause or drain`);
}

/** Overlays the parts of a spec a request gives on the defaults (one level deep, as Docker's merge). */
export function mergeSpec(base: SwarmSpec, given?: Partial<SwarmSpec>): SwarmSpec {
  const out = structuredClone(base) as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(given ?? {})) {
    if (v === undefined || v === null) continue;
    const cur = out[k];
    out[k] = cur && typeof cur === 'object' && !Array.isArray(cur) && typeof v === 'object' && !Array.isArray(v)
      ? { ...(cur as object), ...Object.fromEntries(Object.entries(v as object).filter(([, x]) => x !== undefined && x !== null && x !== 0)) }
      : v;
  }
  return out as unknown as SwarmSpec;
}

/** Fails with a clear error when the swarm port cannot be bound (taken, or not an address of this host). */
export async function assertCanListen(listen: string): Promise<void> {
  const [host, port] = splitHostPort(listen);
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(new InvalidArgumentError(`cannot listen on ${listen}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`)));
    probe.listen(Number(port), host, () => probe.close(() => resolve()));
  });
}

/** Resolves once `cond` holds; throws a 503 with `message` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new UnavailableError(message);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A new cluster's root CA (or `opts.root`, a restored one) and this node's first
 * certificate, signed by it as a manager.
 */
export async function newClusterCredentials(opts: { clusterId: string; nodeId: string; expiry: number; now: number; root?: { certPem: string; keyPem: string } }): Promise<{
  root: { certPem: string; keyPem: string }; certPem: string; keyPem: string; tls: NodeTLS;
}> {
  const { clusterId, nodeId, expiry, now } = opts;
  const root = opts.root ?? (await createRootCA({ clusterId, now }));
  const signer = await CASigner.load(root);
  const { keyPem, csrPem } = await newNodeKeyAndCSR();
  const certPem = await signer.issue({ csrPem, nodeId, role: 'manager', clusterId, expiry, now });
  return { root, certPem, keyPem, tls: NodeTLS.create({ certPem, keyPem, rootPem: root.certPem }) };
}

/**
 * The join handshake with the manager at `req.RemoteAddrs[0]` (listen and advertise
 * addresses default to the daemon's): its root CA checked against the token, then token and CSR. Returns the membership to save and the TLS
 * identity to use; the managers have recorded the node when it returns.
 */
export async function requestJoin(req: JoinRequest, opts: { listenAddr: string; advertiseAddr?: string; description: NodeDescription }): Promise<{
  state: SwarmState; certs: { certPem: string; keyPem: string; rootCertPem: string }; tls: NodeTLS; remote: string;
}> {
  if (!req.RemoteAddrs?.length) throw new InvalidArgumentError('invalid join request: RemoteAddrs must name at least one manager');
  parseJoinToken(req.JoinToken ?? '');
  const remote = withPort(req.RemoteAddrs[0]);
  const listen = req.ListenAddr || opts.listenAddr;
  const advertise = resolveAdvertiseAddr(req.AdvertiseAddr || opts.advertiseAddr, listen);
  // Local problems first: a join the managers accepted but this node cannot serve
  // would leave a node (and, for a manager, a Raft member) that never shows up.
  await assertCanListen(listen);
  // 1. The root CA, over anonymous TLS, checked against the digest in the token.
  const { rootPem } = await httpsJson<{ rootPem: string }>(remote, 'GET', '/ca', { tls: { rejectUnauthorized: false } });
  if (!tokenMatchesCA(req.JoinToken, rootPem)) {
    throw new InvalidArgumentError(`remote CA does not match fingerprint of the join token (manager ${remote})`);
  }
  // 2. Token and CSR, trusting only that root.
  const { keyPem, csrPem } = await newNodeKeyAndCSR();
  const body: JoinNodeRequest = { token: req.JoinToken, csrPem, advertiseAddr: advertise, availability: req.Availability || 'active', description: opts.description };
  const res = await httpsJson<JoinNodeResponse>(remote, 'POST', '/join', { tls: bootstrapClientTlsOptions(rootPem), body, timeoutMs: 30_000 });
  const tls = NodeTLS.create({ certPem: res.certPem, keyPem, rootPem: res.rootPem });
  const state: SwarmState = {
    clusterId: res.clusterId, nodeId: res.nodeId, role: res.role,
    managers: Object.entries(res.managers).map(([nodeId, addr]) => ({ nodeId, addr })),
    listenAddr: listen, advertiseAddr: advertise,
  };
  return { state, certs: { certPem: res.certPem, keyPem, rootCertPem: res.rootPem }, tls, remote };
}
