/**
 * What the node keeps of each standalone container beside the executor's own record:
 * its Docker name, the validated create config, the network it got, the anonymous
 * volumes made for it. One owner-only JSON file per container under the daemon's data
 * root, written by atomic rename; a record whose container the executor no longer has
 * (after a reboot) is dropped when the daemon restores them.
 */
import { readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { privateDir, writePrivateFile } from '../../exec/private-fs.ts';
import type { StandaloneConfig } from './create-config.ts';
import type { PortBinding } from './ports.ts';

/** A standalone container's endpoint on a swarm network (a network attachment task). */
export interface OverlayEndpoint {
  /** The attachment task that holds it. */
  taskId: string;
  networkId: string;
  /** `A.B.C.D` and its prefix length on the network. */
  address: string;
  prefixLen: number;
  gateway: string;
  /** The netns the network agent made for it, and the swarm's resolv.conf (127.0.0.11). */
  netnsPath: string;
  resolvConf: string;
}

/** One standalone container. */
export interface StandaloneRecord {
  /** The container ID (64 hex digits); also the executor's task ID and container ID. */
  id: string;
  /** Docker name, without the leading `/`; unique on the node. */
  name: string;
  config: StandaloneConfig;
  /** Names of the anonymous volumes made for `config.anonymousVolumes` (same order). */
  anonymousVolumes: string[];
  /** Set while attached to the default bridge: address and the host ports it got. */
  bridge?: { address: string; gateway: string; ports: PortBinding[] };
  /** Set while on a swarm network (from create to removal): its attachment task's endpoint. */
  overlay?: OverlayEndpoint;
  /** Times it was started (0 before the first start). */
  starts: number;
}

/** The records of one node, by ID. */
export class StandaloneRecords {
  private readonly byId = new Map<string, StandaloneRecord>();

  constructor(private readonly dir: string) {
    privateDir(dir);
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.json')) continue;
      try {
        const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as StandaloneRecord;
        this.byId.set(r.id, r);
      } catch { rmSync(join(dir, f), { force: true }); }
    }
  }

  get(id: string): StandaloneRecord | undefined { return this.byId.get(id); }
  all(): StandaloneRecord[] { return [...this.byId.values()]; }
  byName(name: string): StandaloneRecord | undefined { return this.all().find((r) => r.name === name); }

  /** Writes `r` (new or changed). */
  save(r: StandaloneRecord): void {
    this.byId.set(r.id, r);
    const file = join(this.dir, `${r.id}.json`);
    writePrivateFile(`${file}.tmp`, JSON.stringify(r));
    renameSync(`${file}.tmp`, file);
  }

  /** Forgets `id` (no error when unknown). */
  delete(id: string): void {
    this.byId.delete(id);
    rmSync(join(this.dir, `${id}.json`), { force: true });
  }
}
