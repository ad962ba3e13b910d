// Samples, while the nemesis plays, what the managers say of every node's state and who
// leads (GET /nodes), for the liveness check (liveness.ts). Asks a manager the current round
// does not impair (a cut-off manager's store lags), the first that answers.
import { ApiClient } from '../../src/api/client.ts';
import type { Node } from '../../src/api/types/node.ts';
import type { Lab } from '../lib/lab.ts';
import { sleep } from '../lib/procs.ts';
import { SAMPLE_MS, type LivenessSample } from './liveness.ts';

/** A running sampler; {@link stop} ends it and resolves once its last request is done. */
export class LivenessWatch {
  readonly samples: LivenessSample[] = [];
  private avoid = new Set<string>();
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly lab: Lab,
    private readonly managers: readonly string[],
    /** ms since the run started (the history's clock). */
    private readonly now: () => number,
  ) {
    this.done = this.loop();
  }

  /** Hosts not to ask (those the current round impairs); empty between rounds. */
  setAvoid(hosts: readonly string[]): void {
    this.avoid = new Set(hosts);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      const s = await this.sample();
      if (s) this.samples.push(s);
      await sleep(Math.max(0, SAMPLE_MS - (Date.now() - started)));
    }
  }

  private async sample(): Promise<LivenessSample | undefined> {
    const ask = this.managers.filter((m) => !this.avoid.has(m));
    return askManagers(this.lab, ask.length ? ask : this.managers, 1000, (nodes) => {
      const states: Record<string, string> = {};
      for (const n of nodes) if (n.Description?.Hostname) states[n.Description.Hostname] = n.Status.State;
      const leader = nodes.find((n) => n.ManagerStatus?.Leader)?.Description?.Hostname;
      return { at: this.now(), states, ...(leader ? { leader } : {}) };
    });
  }
}

/**
 * Asks each manager in turn for `/nodes` and returns the first answer `pick` makes
 * something of (undefined: ask the next); undefined when no manager gives one.
 */
export async function askManagers<T>(lab: Lab, managers: readonly string[], timeoutMs: number, pick: (nodes: Node[]) => T | undefined): Promise<T | undefined> {
  for (const m of managers) {
    try {
      const got = pick(await new ApiClient(lab.dockerHost(m)).get<Node[]>('/nodes', { timeoutMs }));
      if (got !== undefined) return got;
    } catch {
      // this manager does not answer: ask the next
    }
  }
  return undefined;
}

/** The cluster's heartbeat period, ms, as a manager's /swarm says (Docker's default 1 s when unset). */
export async function heartbeatPeriodMs(lab: Lab, manager: string): Promise<number> {
  const sw = await new ApiClient(lab.dockerHost(manager)).get<{ Spec?: { Dispatcher?: { HeartbeatPeriod?: number } } }>('/swarm', { timeoutMs: 5000 });
  const ns = sw.Spec?.Dispatcher?.HeartbeatPeriod;
  return ns ? Math.max(100, Math.round(ns / 1e6)) : 1000;
}
