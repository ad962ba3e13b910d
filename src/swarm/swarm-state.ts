/**
 * What a node remembers of its swarm across restarts: its identity, its role and how
 * to reach the managers. Kept in `<data-root>/swarm/state.json`, written atomically
 * (temp file, fsync, rename) so a crash leaves the old or the new state, never half.
 * Certificates live beside it in `<data-root>/swarm/certificates/` under Docker's names.
 */
import { open, readFile, rename, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeRole } from './node-server.ts';
import { KeyedLock } from '../common/serial.ts';

export interface SwarmState {
  clusterId: string;
  nodeId: string;
  role: NodeRole;
  /** Addresses (IP:PORT) of the managers last known, for reconnecting after a restart. */
  managers: { nodeId: string; addr: string }[];
  listenAddr: string;
  advertiseAddr: string;
  /**
   * The Raft cluster this manager's log belongs to: a new random epoch at every
   * `--force-new-cluster`, with the epochs it replaced. Undefined for the original one.
   */
  raftEpoch?: string;
  previousEpochs?: string[];
  /** Managers a `--force-new-cluster` removed and that have not yet been told (IP:PORT). */
  removedManagers?: { nodeId: string; addr: string }[];
}

export interface NodeCertificates {
  rootCertPem: string;
  certPem: string;
  keyPem: string;
}

const CERT_FILES = { rootCertPem: 'swarm-root-ca.crt', certPem: 'swarm-node.crt', keyPem: 'swarm-node.key' } as const;

/**
 * How the TLS key is kept at rest (`src/manager/keys`' vault): opened after reading, sealed
 * before writing (encrypted by the unlock key while autolock is on). Default: as is.
 */
export interface NodeKeyCodec {
  openNodeKey(pem: string): string;
  sealNodeKey(pem: string): string;
}

export function swarmDir(dataRoot: string): string {
  return join(dataRoot, 'swarm');
}

/**
 * The save in progress per swarm directory. Two saves at once (a session learning the
 * managers while `--force-new-cluster` saves its new epoch) shared one temp file: the
 * second rename found it gone (ENOENT) and failed the command. Whole saves now run one
 * after another, in call order, so the last save made is the one kept: ordered per file
 * instead, a save that writes certificates first queued its state.json behind a later
 * save's. Keyed by directory: the files are the process's, whoever writes them.
 */
const saving = new KeyedLock();

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** The saved state, or undefined when this node is in no swarm. */
export async function loadSwarmState(dataRoot: string, keys?: NodeKeyCodec): Promise<{ state: SwarmState; certs: NodeCertificates } | undefined> {
  const dir = swarmDir(dataRoot);
  let text: string;
  try {
    text = await readFile(join(dir, 'state.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = JSON.parse(text) as SwarmState;
  const certs = {} as NodeCertificates;
  for (const [key, file] of Object.entries(CERT_FILES)) {
    certs[key as keyof NodeCertificates] = await readFile(join(dir, 'certificates', file), 'utf8');
  }
  if (keys) certs.keyPem = keys.openNodeKey(certs.keyPem);
  return { state, certs };
}

/** Saves certificates first, then the state that refers to them. */
export function saveSwarmState(dataRoot: string, state: SwarmState, certs?: NodeCertificates, keys?: NodeKeyCodec): Promise<void> {
  const dir = swarmDir(dataRoot);
  return saving.run(dir, () => save(dir, state, certs, keys));
}

async function save(dir: string, state: SwarmState, certs?: NodeCertificates, keys?: NodeKeyCodec): Promise<void> {
  await mkdir(join(dir, 'certificates'), { recursive: true, mode: 0o700 });
  if (certs) {
    for (const [key, file] of Object.entries(CERT_FILES)) {
      const text = key === 'keyPem' && keys ? keys.sealNodeKey(certs.keyPem) : certs[key as keyof NodeCertificates];
      await writeAtomic(join(dir, 'certificates', file), text, key === 'keyPem' ? 0o600 : 0o644);
    }
  }
  await writeAtomic(join(dir, 'state.json'), JSON.stringify(state, null, 2) + '\n', 0o600);
}

/** Forgets the swarm (leave): state, certificates and the manager's Raft data. */
export function removeSwarmState(dataRoot: string): Promise<void> {
  // In turn with the saves: one still in flight (the managers a closing session learned)
  // would otherwise write the state back after it was removed, and the node would rejoin
  // at its next start the swarm it left.
  const dir = swarmDir(dataRoot);
  return saving.run(dir, () => rm(dir, { recursive: true, force: true }));
}
