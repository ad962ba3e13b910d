// One chaos run: a lab of real daemons, a swarm of `managers` managers and the rest
// workers, the workload writing through the managers while the nemesis plays its seeded
// schedule; then everything healed and checked (see checks.ts), and after the lab is down,
// that it left nothing behind. The history (JSONL, seed first) is written to
// /tmp/<prefix>-chaos/ — not under the lab's base dir, which `down` removes.
import { copyFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DaemonStartError } from '../lib/daemon.ts';
import { withLab, type Lab } from '../lib/lab.ts';
import { executorCgroupName, labLeftovers, labNftTables, labProcesses, type ProcessId } from '../lib/teardown.ts';
import { formSwarm, waitFor } from '../lib/swarm-lab.ts';
import { checkHistory, checkSlots, type RuncContainer } from './checks.ts';
import { clockFile, fakeClockDaemonCommand, libfaketime, setClock } from './clock.ts';
import { History } from './history.ts';
import { digests, readTables, runcContainers, slots, storeObjects, type ManagerTables } from './inspect.ts';
import { checkLiveness, downBoundMs, leaderSettled, livenessTimings, livenessViolations, SAMPLE_MS, silenceWindows, type LivenessRecord, type SilenceWindow, type TimedFault } from './liveness.ts';
import { askManagers, heartbeatPeriodMs, LivenessWatch } from './liveness-watch.ts';
import { describeFault, impaired, inject, prng, restartDaemon, schedule, undo, type Fault, type NemesisContext, type Restart } from './nemesis.ts';
import { Workload } from './workload.ts';

/** Bound on the stores agreeing after heal. */
export const AGREE_MS = 60_000;
/** Bound on convergence (one running container per slot, per runc) after heal. */
export const CONVERGE_MS = 60_000;
/**
 * How long a (re)started daemon may take to answer /_ping. Restarts are CPU-bound (Node,
 * the sources through tsx while dist/ is stale, Raft and executor restore before the API
 * listens): at load average 40–100 on 2 cores one took over 30 s, the lab's default.
 */
export const DAEMON_READY_MS = 60_000;
/** Rounds start late on a loaded machine; past this multiple of the duration the rest are dropped. */
export const SLIP_LIMIT = 2;
/** Attempts to start a killed daemon again before the node is left down (until the next round). */
export const RESTART_ATTEMPTS = 3;

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  hosts: number;
  managers: number;
  /** Length of the fault phase, ms. */
  durationMs: number;
  seed: number;
  prefix: string;
  log?: (msg: string) => void;
  /** Keep every daemon's log next to the history, also when no check failed. */
  keepLogs?: boolean;
}

/** What a run found. */
export interface ChaosResult {
  seed: number;
  historyFile: string;
  calls: Record<string, number>;
  /** Rounds played (on a loaded machine the schedule slips and the last ones drop). */
  rounds: number;
  faults: string[];
  /** Unknown outcomes and how they resolved. */
  resolved: { present: number; absent: number };
  /** Failed attempts to start a killed daemon again ("h2 attempt 1: timeout"); each is retried. */
  restartFailures: string[];
  /**
   * How soon silenced nodes were marked down (liveness.ts): windows judged (silent at least
   * their bound) and late among them, the longest time to down seen, and clock jumps that
   * got a node marked down (recorded, not a violation).
   */
  liveness?: { windows: number; judged: number; late: number; maxDownMs?: number; falseDowns: number };
  /** Milliseconds from heal to identical stores, and to convergence per runc. */
  agreeMs?: number;
  convergeMs?: number;
  violations: string[];
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

/** Each host's executor cgroup parent (a daemon that never started has none). */
function executorCgroups(lab: Lab): string[] {
  return lab.hosts.flatMap((h) => {
    const name = executorCgroupName(lab.names.hostDir(h));
    return name ? [join('/sys/fs/cgroup', name)] : [];
  });
}

/** Runs the chaos harness once; never throws for a violation (they are in the result). */
export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => {});
  if (o.managers < 1 || o.managers > o.hosts) throw new Error(`chaos: --managers must be 1-${o.hosts}`);
  const historyFile = join(`/tmp/${o.prefix}-chaos`, `history-${o.seed}.jsonl`);
  const history = new History(historyFile, o.seed, { hosts: o.hosts, managers: o.managers, durationMs: o.durationMs, prefix: o.prefix });
  log(`chaos: seed ${o.seed}, history ${historyFile}`);
  const result: ChaosResult = { seed: o.seed, historyFile, calls: {}, rounds: 0, faults: [], resolved: { present: 0, absent: 0 }, restartFailures: [], violations: [] };
  let snap: ProcessId[] = [];
  let cgroups: string[] = [];
  let names: Lab['names'] | undefined;
  // Every daemon runs under libfaketime so the nemesis can step its wall clock (clock.ts).
  const daemons = { command: fakeClockDaemonCommand(libfaketime()), readyTimeoutMs: DAEMON_READY_MS };
  await withLab({ hosts: o.hosts, prefix: o.prefix, log, daemons }, async (lab) => {
    names = lab.names;
    const allManagers = lab.hosts.slice(0, o.managers);
    const workers = lab.hosts.slice(o.managers);
    const sw = await formSwarm(lab, { managers: allManagers, workers, readyTimeoutMs: 90_000 });
    log(`chaos: swarm of ${allManagers.length} managers, ${workers.length} workers`);
    const rounds = schedule({ seed: o.seed, managers: allManagers, workers, durationMs: o.durationMs });
    history.note('schedule', rounds.map((r) => ({ at: r.at, holdMs: r.holdMs, faults: r.faults.map(describeFault) })));
    const images: [string, string] = [lab.images.v1!.ref, lab.images.v2!.ref];
    const wl = new Workload({ lab, history, client: 0, managers: allManagers, rnd: prng(o.seed ^ 0x5bd1e995), images, nodes: sw.nodeIds });
    const running = wl.run();
    // A failed restart is retried and every failed attempt recorded (history and result).
    const restartFor = (fault: string) => (host: string) => restartDaemon(lab, host, {
      attempts: RESTART_ATTEMPTS,
      onFailure: (h, attempt, err) => {
        const failure = err instanceof DaemonStartError ? err.failure.reason : undefined;
        result.restartFailures.push(`${h} attempt ${attempt}: ${failure ?? err.message}`);
        history.add({ type: 'nemesis', action: 'restart-failed', fault, host: h, attempt, ...(failure ? { failure } : {}), start: history.now(), end: history.now(), error: err.message });
        log(`chaos: restart of ${h} failed (attempt ${attempt} of ${RESTART_ATTEMPTS}): ${err.message.split('\n')[0]}`);
      },
    });
    const ctx: NemesisContext = { leader: () => leaderHost(lab, allManagers), startUpdate: () => wl.updateForNemesis() };
    // Liveness: what the managers say of each node while the faults play (liveness.ts).
    const timings = livenessTimings(await heartbeatPeriodMs(lab, allManagers[0]));
    const watch = new LivenessWatch(lab, allManagers, () => history.now());
    const windows: SilenceWindow[] = [];
    const t0 = Date.now();
    try {
      for (const r of rounds) {
        // On a loaded machine a restart may outlast the gap: the schedule slips, but each
        // fault is still held for its full time, and every round is played (a seed's kinds
        // of fault are what a run is chosen for: restarts of 20 s at load 30–80 dropped
        // the short run's one-way partition); only past SLIP_LIMIT × the duration are the
        // remaining rounds dropped.
        if (Date.now() - t0 > SLIP_LIMIT * o.durationMs) break;
        await sleepUntil(t0 + r.at);
        // Every fault before was healed: a daemon down now failed every restart attempt.
        // Start it again so this round hits the cluster the schedule means.
        for (const h of lab.hosts) if (lab.daemonPid(h) === undefined) await restartFor('down')(h).catch(() => {});
        const injected: { start: number; end: number }[] = [];
        for (const f of r.faults) {
          injected.push(await step(lab, history, 'inject', f, log, ctx));
          watch.setAvoid(r.faults.flatMap(impaired));
        }
        result.faults.push(...r.faults.map(describeFault));
        result.rounds++;
        await sleepUntil(Date.now() + r.holdMs);
        const timed: TimedFault[] = [];
        for (const [i, f] of r.faults.entries()) {
          const healed = await step(lab, history, 'heal', f, log, undefined, restartFor(describeFault(f)));
          timed.push({ kind: f.kind, hosts: impaired(f), description: describeFault(f), injectEnd: injected[i].end, healStart: healed.start, healEnd: healed.end });
        }
        watch.setAvoid([]);
        windows.push(...silenceWindows(timed));
      }
      await sleepUntil(t0 + o.durationMs);
      // The schedule's holds (2–8 s) are mostly shorter than the liveness bound, so one
      // silence is made long enough to judge: the last worker paused for the bound (plus a
      // sample), as the last round.
      // A leader elected just before would still wait out its own grace (the bound then runs
      // from its election, too long for the hold): wait, bounded, until it has led long enough.
      const probe = workers.at(-1);
      const settleBy = Date.now() + timings.newLeaderGraceMs + timings.electionMs;
      while (Date.now() < settleBy && !leaderSettled(watch.samples, history.now(), timings)) await sleepUntil(Date.now() + SAMPLE_MS);
      if (probe) windows.push(...await livenessProbe(lab, history, probe, downBoundMs(timings, false) + SAMPLE_MS, log));
    } finally {
      wl.stop();
      await running;
      await watch.stop();
      // Heal everything, whatever a failed step left.
      await lab.heal();
      for (const h of lab.hosts) {
        setClock(clockFile(lab.names.hostDir(h)), 0);
        lab.resumeDaemon(h);
        // A daemon that cannot start again is a finding, not the end of the checks.
        await restartFor('final heal')(h).catch((err: Error) => { result.violations.push(`daemon of ${h} does not start again after ${RESTART_ATTEMPTS} attempts: ${err.message.split('\n').slice(0, 1).concat(err.message.split('\n').slice(-2)).join(' | ')}`); });
      }
    }
    const liveness = checkLiveness(windows, watch.samples, timings);
    history.note('liveness', { timings, samples: watch.samples.length, records: liveness });
    result.liveness = livenessSummary(liveness);
    result.violations.push(...livenessViolations(liveness));
    const up = new Set(lab.hosts.filter((h) => lab.daemonPid(h) !== undefined));
    const managers = allManagers.filter((m) => up.has(m));
    if (!managers.length) {
      snap = labProcesses(lab.names);
      cgroups = executorCgroups(lab);
      return;
    }
    const healed = Date.now();
    history.note('healed');
    log('chaos: healed; checking');
    for (const op of history.ops()) result.calls[`${op.op} ${op.outcome}`] = (result.calls[`${op.op} ${op.outcome}`] ?? 0) + 1;

    // Every node ready again, as every manager sees it.
    await waitFor('every node ready on every manager', async () => {
      for (const m of managers) {
        const t = await readTables(lab, m);
        if (t.rows.nodes.length !== lab.hosts.length || !t.rows.nodes.every((n) => (n as { Status?: { State?: string } }).Status?.State === 'ready')) return false;
      }
      return true;
    }, { timeoutMs: AGREE_MS, intervalMs: 500 }).catch((err: Error) => { result.violations.push(err.message); });

    // Identical stores: a digest per table on every manager.
    let tables: ManagerTables[] = [];
    let lastDiff = '';
    try {
      tables = await waitFor('identical stores on every manager', async () => {
        const ts = await Promise.all(managers.map((m) => readTables(lab, m)));
        const ds = ts.map(digests);
        const diff = Object.keys(ds[0]).filter((k) => ds.some((d) => d[k] !== ds[0][k]));
        lastDiff = diff.join(',');
        return diff.length === 0 && ts;
      }, { timeoutMs: AGREE_MS, intervalMs: 500 });
      result.agreeMs = Date.now() - healed;
    } catch (err) {
      result.violations.push(`${(err as Error).message}; tables differing: ${lastDiff}`);
      tables = [await readTables(lab, managers[0])];
    }
    history.note('digests', tables.map((t) => ({ host: t.host, ...digests(t) })));

    // The history against the store (kept in the history too, for checks offline).
    const objects = storeObjects(tables[0]);
    history.note('store', Object.fromEntries(Object.entries(objects).map(([k, m]) => [k, Object.fromEntries(m as Map<string, unknown>)])));
    const h = checkHistory(history.ops(), objects);
    result.violations.push(...h.violations);
    for (const r of h.resolved) result.resolved[r.present ? 'present' : 'absent']++;
    history.note('resolved', h.resolved);

    // Convergence, per runc on every host.
    const desired = new Map([...objects.service].filter(([, vs]) => !vs[0].global).map(([n, vs]) => [n, vs[0].replicas]));
    // Every node is ready and active after heal (the workload only sets node labels), so
    // every host is eligible for a global service.
    const global = { services: new Set([...objects.service].filter(([, vs]) => vs[0].global).map(([n]) => n)), hosts: lab.hosts };
    let lastSlots: string[] = [];
    try {
      await waitFor('one running container per slot (runc)', async () => {
        const cs: RuncContainer[] = (await Promise.all(lab.hosts.map((x) => runcContainers(lab, x)))).flat();
        lastSlots = checkSlots(desired, cs, await slots(lab, managers[0]), global);
        return lastSlots.length === 0;
      }, { timeoutMs: Math.max(1000, CONVERGE_MS - (Date.now() - healed)), intervalMs: 1000 });
      result.convergeMs = Date.now() - healed;
    } catch {
      result.violations.push(`not converged within ${CONVERGE_MS} ms of heal: ${lastSlots.join('; ')}`);
    }
    snap = labProcesses(lab.names);
    cgroups = executorCgroups(lab);
    // The daemons' logs go with the lab: keep them next to the history when a check failed.
    if (result.violations.length || o.keepLogs) {
      for (const x of lab.hosts) {
        try {
          copyFileSync(lab.daemonLog(x), join(dirname(historyFile), `daemon-${o.seed}-${x}.log`));
        } catch { /* no log */ }
      }
    }
  });

  // Nothing left behind on any host once the lab is down.
  if (names) {
    const left = labLeftovers(names, { processes: snap });
    if (left.netns.length) result.violations.push(`leaked namespaces: ${left.netns.join(' ')}`);
    if (left.mounts.length) result.violations.push(`leaked mounts: ${left.mounts.length}`);
    if (left.processes.length) result.violations.push(`leaked processes: ${left.processes.join(' ')}`);
    if (left.cgroup) result.violations.push(`leaked lab cgroup ${left.cgroup}`);
    const cgs = cgroups.filter((c) => existsSync(c));
    if (cgs.length) result.violations.push(`leaked executor cgroups: ${cgs.join(' ')}`);
    const nft = await labNftTables(names);
    if (nft.length) result.violations.push(`leaked nftables tables: ${nft.join(' ')}`);
  }
  history.note('result', result);
  return result;
}

/**
 * One silence of `host` held `holdMs` (SIGSTOP of its daemon, then SIGCONT), recorded in
 * the history as a nemesis step `liveness-probe pause <host>`; returns its window.
 */
async function livenessProbe(lab: Lab, history: History, host: string, holdMs: number, log: (m: string) => void): Promise<SilenceWindow[]> {
  const fault = `liveness-probe pause ${host}`;
  const start = history.now();
  try {
    lab.pauseDaemon(host);
  } catch (err) {
    // Its daemon is down (every restart failed): that is recorded already; no probe.
    history.add({ type: 'nemesis', action: 'inject', fault, start, end: history.now(), error: (err as Error).message });
    return [];
  }
  const injectEnd = history.now();
  history.add({ type: 'nemesis', action: 'inject', fault, start, end: injectEnd });
  log(`chaos: ${start} ms inject ${fault} (${holdMs} ms)`);
  await sleepUntil(Date.now() + holdMs);
  const healStart = history.now();
  lab.resumeDaemon(host);
  history.add({ type: 'nemesis', action: 'heal', fault, start: healStart, end: history.now() });
  return silenceWindows([{ kind: 'pause', hosts: [host], description: fault, injectEnd, healStart, healEnd: history.now() }]);
}


/** The result's summary of the liveness records. */
function livenessSummary(rs: readonly LivenessRecord[]): NonNullable<ChaosResult['liveness']> {
  const judged = rs.filter((r) => r.judged);
  const downs = judged.flatMap((r) => (r.downMs === undefined ? [] : [r.downMs]));
  return { windows: rs.length, judged: judged.length, late: judged.filter((r) => r.late).length, ...(downs.length ? { maxDownMs: Math.max(...downs) } : {}), falseDowns: rs.filter((r) => r.falseDown).length };
}

/** The host of the manager that leads, as the first manager that answers tells. */
async function leaderHost(lab: Lab, managers: string[]): Promise<string> {
  const host = await askManagers(lab, managers, 3000, (nodes) => {
    const name = nodes.find((n) => n.ManagerStatus?.Leader)?.Description?.Hostname;
    return name && managers.includes(name) ? name : undefined;
  });
  if (!host) throw new Error('chaos: no manager names a leader');
  return host;
}

/** Plays one nemesis step and records it; resolves with its start and end (ms since the run started). */
async function step(lab: Lab, history: History, action: 'inject' | 'heal', f: Fault, log: (m: string) => void, ctx?: NemesisContext, restart?: Restart): Promise<{ start: number; end: number }> {
  const start = history.now();
  let error: string | undefined;
  try {
    await (action === 'inject' ? inject(lab, f, ctx) : undo(lab, f, restart));
  } catch (err) {
    error = (err as Error).message;
  }
  const end = history.now();
  history.add({ type: 'nemesis', action, fault: describeFault(f), start, end, ...(error ? { error } : {}) });
  log(`chaos: ${start} ms ${action} ${describeFault(f)}${error ? ` (failed: ${error})` : ''}`);
  return { start, end };
}
