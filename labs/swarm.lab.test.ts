// Swarm membership and highly available managers on a 5-host lab (root): 3 managers and 2
// workers formed through join tokens; wrong, malformed and rotated tokens refused without a
// trace; a worker certificate kept off Raft; kill -9 of the leader; a restarted manager
// catching up; a restart of every manager; promote / demote under a write load; and
// `--force-new-cluster`. The tests run in order on one lab and build on each other.
// Everything waits by polling with deadlines; no sleep is an assertion.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../src/api/errors.ts';
import { Lab, downOnSignal } from './lib/lab.ts';
import { sleep } from './lib/procs.ts';
import { probeUpgrade } from './lib/swarm-probe.ts';
import {
  SWARM_PORT, addLabel, addLabelRetrying, api, leaderOf, waitFor, waitForLeader,
} from './lib/swarm-lab.ts';

const PREFIX = 'shoalsw';

interface Ctx {
  lab: Lab;
  /** Node ID per host. */
  ids: Record<string, string>;
  clusterId: string;
  tokens: { worker: string; manager: string };
  managers: string[];
  workers: string[];
  /** Acknowledged label writes (`host/key` → value) on h5's and h1's nodes, to be found at the end. */
  acked: Record<string, string>;
}

const test = suite<Ctx>('swarm HA lab');

/** Ends the SIGTERM/SIGINT teardown hook (a runner's timeout must not leave the lab up). */
let releaseSignals: (() => void) | undefined;

test.before(async (ctx) => {
  ctx.lab = await Lab.up({ hosts: 5, prefix: PREFIX, registry: false, replace: true });
  releaseSignals = downOnSignal(() => ctx.lab?.down());
  ctx.ids = {};
  ctx.managers = ['h1', 'h2', 'h3'];
  ctx.workers = ['h4', 'h5'];
  ctx.acked = {};
});

test.after(async (ctx) => {
  releaseSignals?.();
  await ctx.lab?.down();
});

// ---- helpers ---------------------------------------------------------------------------

function certDir(lab: Lab, host: string): string {
  return join(lab.host(host).hostDir, 'data', 'swarm', 'certificates');
}

/** Raft membership changes the leaders logged, as `kind nodeId` strings. */
function membershipLog(lab: Lab): string[] {
  const out: string[] = [];
  for (const h of lab.hosts) {
    let text = '';
    try {
      text = readFileSync(lab.daemonLog(h), 'utf8');
    } catch { continue; }
    for (const m of text.matchAll(/raft membership change kind=(\S+) nodeId=(\S+)/g)) out.push(`${m[1]} ${m[2]}`);
  }
  return out;
}

/** Waits until the Raft configuration has made `nodeId` a voter (it was promoted from learner). */
async function waitVoter(lab: Lab, nodeId: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(`${nodeId} a Raft voter`, () => membershipLog(lab).includes(`promote ${nodeId}`), { timeoutMs, intervalMs: 100 });
}

/** Asserts that every manager lists `n` nodes, all ready, one leader, `managers` managers. */
async function waitListedEverywhere(c: Ctx, n: number, timeoutMs = 20_000): Promise<void> {
  for (const h of c.managers) {
    await waitFor(`${h} lists ${n} nodes ready with one leader and ${c.managers.length} managers`, async () => {
      const nodes = await api(c.lab, h).nodes();
      return nodes.length === n && nodes.every((x) => x.Status.State === 'ready')
        && nodes.filter((x) => x.ManagerStatus?.Leader).length === 1
        && nodes.filter((x) => x.Spec.Role === 'manager').length === c.managers.length;
    }, { timeoutMs });
  }
}

async function joinError(c: Ctx, host: string, token: string): Promise<ApiError> {
  try {
    await api(c.lab, host).join({ advertise: c.lab.address(host), remote: `${c.lab.address('h1')}:${SWARM_PORT}`, token });
  } catch (err) {
    assert.instance(err, ApiError, String(err));
    return err as ApiError;
  }
  assert.unreachable(`join of ${host} with ${token} was accepted`);
  throw new Error('unreachable');
}

async function assertNoTrace(c: Ctx, host: string, nodesBefore: number): Promise<void> {
  for (const m of c.managers) {
    const nodes = await api(c.lab, m).nodes();
    assert.is(nodes.length, nodesBefore, `${m}: no node left behind by a refused join`);
  }
  const info = await api(c.lab, host).swarmInfo();
  assert.is(info.LocalNodeState, 'inactive', `${host} is not in a swarm after a refused join`);
  assert.not.ok(existsSync(join(c.lab.host(host).hostDir, 'data', 'swarm')), `${host} kept no swarm state`);
}

// ---- tests -----------------------------------------------------------------------------

test('init and joins through tokens: 3 managers, 1 worker', async (c) => {
  const { lab } = c;
  c.ids.h1 = await api(lab, 'h1').init(lab.address('h1'));
  const s = await api(lab, 'h1').swarm();
  c.clusterId = s.ID;
  c.tokens = { worker: s.JoinTokens.Worker, manager: s.JoinTokens.Manager };
  assert.match(c.tokens.worker, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
  assert.match(c.tokens.manager, /^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
  assert.is(c.tokens.worker.split('-')[2], c.tokens.manager.split('-')[2], 'both tokens carry the root CA digest');
  const remote = `${lab.address('h1')}:${SWARM_PORT}`;
  for (const [h, token] of [['h2', c.tokens.manager], ['h3', c.tokens.manager], ['h4', c.tokens.worker]]) {
    await api(lab, h).join({ advertise: lab.address(h), remote, token });
    const info = await api(lab, h).swarmInfo();
    assert.is(info.LocalNodeState, 'active');
    assert.is(info.ControlAvailable, h !== 'h4', `${h} control`);
    assert.is(info.Cluster?.ID ?? c.clusterId, c.clusterId);
    c.ids[h] = info.NodeID;
  }
  await waitVoter(lab, c.ids.h2);
  await waitVoter(lab, c.ids.h3);
});

test('a wrong, a malformed and a rotated token are refused and leave no trace', async (c) => {
  const { lab } = c;
  const before = (await api(lab, 'h1').nodes()).length;
  const [, , digest, secret] = c.tokens.worker.split('-');
  // Well-formed (25 base-36 digits below 2^128) but not the cluster's.
  const wrongSecret = BigInt(`0x${randomBytes(16).toString('hex')}`).toString(36).padStart(25, '0');
  assert.is.not(wrongSecret, secret);
  let err = await joinError(c, 'h5', `SWMTKN-1-${digest}-${wrongSecret}`);
  assert.is(err.status, 400, err.message);
  assert.match(err.message, 'A valid join token is necessary to join this cluster');
  await assertNoTrace(c, 'h5', before);

  err = await joinError(c, 'h5', 'SWMTKN-1-nonsense');
  assert.is(err.status, 400, err.message);
  assert.match(err.message, /invalid join token/i);
  await assertNoTrace(c, 'h5', before);

  // A token for another CA: the joiner refuses the manager's CA before sending anything.
  const otherDigest = digest.replace(/.$/, (ch) => (ch === '0' ? '1' : '0'));
  err = await joinError(c, 'h5', `SWMTKN-1-${otherDigest}-${secret}`);
  assert.match(err.message, /fingerprint/i);
  await assertNoTrace(c, 'h5', before);

  const old = c.tokens.worker;
  await api(lab, 'h2').rotateTokens({ worker: true });
  const s = await api(lab, 'h1').swarm();
  assert.is.not(s.JoinTokens.Worker, old, 'the worker token changed');
  assert.is(s.JoinTokens.Manager, c.tokens.manager, 'the manager token did not');
  c.tokens.worker = s.JoinTokens.Worker;
  err = await joinError(c, 'h5', old);
  assert.is(err.status, 400, err.message);
  assert.match(err.message, 'A valid join token is necessary to join this cluster');
  await assertNoTrace(c, 'h5', before);
});

test('the current worker token joins h5: every manager lists 5 nodes ready, one leader, 3 managers', async (c) => {
  const { lab } = c;
  await api(lab, 'h5').join({ advertise: lab.address('h5'), remote: `${lab.address('h3')}:${SWARM_PORT}`, token: c.tokens.worker });
  c.ids.h5 = (await api(lab, 'h5').swarmInfo()).NodeID;
  await waitListedEverywhere(c, 5);
  for (const h of c.managers) {
    const nodes = await api(lab, h).nodes();
    assert.equal(nodes.map((n) => n.Description.Hostname).sort(), ['h1', 'h2', 'h3', 'h4', 'h5']);
    assert.equal(nodes.filter((n) => n.Spec.Role === 'manager').map((n) => n.Description.Hostname).sort(), c.managers);
  }
  const err = await api(lab, 'h4').nodes().then(() => undefined, (e: unknown) => e as ApiError);
  assert.ok(err && err.status === 503 && /not a swarm manager/.test(err.message), 'a worker serves no cluster state');
});

test('a worker certificate cannot reach /raft; a manager certificate can', async (c) => {
  const { lab } = c;
  const url = `wss://${lab.address('h1')}:${SWARM_PORT}/raft`;
  const worker = await probeUpgrade(lab, 'h4', { url, certDir: certDir(lab, 'h4') });
  assert.is(worker.upgraded, undefined, `worker cert upgraded: ${JSON.stringify(worker)}`);
  assert.is(worker.status, 403, JSON.stringify(worker));
  const anonymous = await probeUpgrade(lab, 'h4', { url });
  assert.is(anonymous.upgraded, undefined, `anonymous upgraded: ${JSON.stringify(anonymous)}`);
  const manager = await probeUpgrade(lab, 'h4', { url, certDir: certDir(lab, 'h2') });
  assert.equal(manager, { upgraded: true });
  // Every node may hold a dispatcher session.
  const session = await probeUpgrade(lab, 'h4', { url: `wss://${lab.address('h1')}:${SWARM_PORT}/dispatcher`, certDir: certDir(lab, 'h4') });
  assert.equal(session, { upgraded: true });
});

test('kill -9 of the leader: a new leader within seconds, writes through both other managers', async (c) => {
  const { lab } = c;
  const leader = await waitForLeader(lab, c.managers, c.ids);
  const others = c.managers.filter((h) => h !== leader);
  await lab.killDaemon(leader);
  const t0 = Date.now();
  const next = await waitForLeader(lab, others, c.ids, { candidates: others, timeoutMs: 5000 });
  const electedMs = Date.now() - t0;
  assert.ok(others.includes(next));
  for (const h of others) {
    await addLabelRetrying(lab, h, c.ids.h4, [`via-${h}`, 'after-leader-kill'], { timeoutMs: 5000 });
  }
  for (const h of others) {
    const n = await api(lab, h).node(c.ids.h4);
    for (const o of others) assert.is(n.Spec.Labels[`via-${o}`], 'after-leader-kill', `${h} sees the write through ${o}`);
  }
  console.log(`  new leader ${next} seen ${electedMs} ms after kill -9 of ${leader}`);
  (c as Ctx & { killed?: string }).killed = leader;
});

test('the killed manager restarts and catches up with the writes it missed', async (c) => {
  const { lab } = c;
  const killed = (c as Ctx & { killed?: string }).killed!;
  await lab.startDaemon(killed);
  await waitFor(`${killed} sees the writes made while it was down`, async () => {
    const n = await api(lab, killed, 2000).node(c.ids.h4);
    return c.managers.filter((h) => h !== killed).every((o) => n.Spec.Labels[`via-${o}`] === 'after-leader-kill');
  }, { timeoutMs: 15_000 });
  // Its own copy, not just a forwarded read: it serves a write, then lists it, too.
  await addLabelRetrying(lab, killed, c.ids.h4, ['via-restarted', killed], { timeoutMs: 10_000 });
  await waitListedEverywhere(c, 5);
});

test('a restart of every manager keeps nodes, labels, cluster ID and tokens; workers stay ready', async (c) => {
  const { lab } = c;
  const before = await api(lab, 'h1').node(c.ids.h4);
  const swarmBefore = await api(lab, 'h1').swarm();
  await Promise.all(c.managers.map((h) => lab.killDaemon(h)));
  await Promise.all(c.managers.map((h) => lab.startDaemon(h)));
  await waitForLeader(lab, c.managers, c.ids, { timeoutMs: 15_000 });
  await waitListedEverywhere(c, 5, 20_000);
  for (const h of c.managers) {
    const s = await api(lab, h).swarm();
    assert.is(s.ID, c.clusterId, `${h}: cluster ID`);
    assert.equal(s.JoinTokens, swarmBefore.JoinTokens, `${h}: tokens`);
    assert.equal((await api(lab, h).node(c.ids.h4)).Spec.Labels, before.Spec.Labels, `${h}: labels`);
    assert.equal((await api(lab, h).nodes()).map((n) => n.ID).sort(), Object.values(c.ids).sort(), `${h}: the same nodes`);
    const info = await api(lab, h).swarmInfo();
    assert.is(info.NodeID, c.ids[h], `${h}: node ID`);
  }
  // The workers' sessions found the restarted managers: they stay ready over more than the
  // 3 s a node may stay silent before it is marked down.
  const until = Date.now() + 4000;
  while (Date.now() < until) {
    for (const h of c.managers) {
      const nodes = await api(lab, h).nodes();
      for (const w of c.workers) assert.is(nodes.find((n) => n.ID === c.ids[w])?.Status.State, 'ready', `${w} on ${h}`);
    }
    await sleep(200);
  }
  // And a worker restarted meanwhile is still a member of the same swarm.
  for (const w of c.workers) assert.is((await api(lab, w).swarmInfo()).LocalNodeState, 'active');
});

test('promote and demote under a write load: no acknowledged write lost, roles and Raft follow', async (c) => {
  const { lab } = c;
  // Two writers, each on its own node, so they do not conflict with each other.
  const writers: [string, string][] = [['h1', 'h5'], ['h2', 'h1']];
  let stop = false;
  let seq = 0;
  const failures: string[] = [];
  const loop = async ([through, target]: [string, string]) => {
    while (!stop) {
      const key = `load-${seq++}`;
      try {
        await addLabel(lab, through, c.ids[target], key, through, 3000);
        c.acked[`${target}/${key}`] = through;
      } catch (err) {
        // Not acknowledged: may or may not have happened; only acknowledged writes must survive.
        failures.push(`${key} via ${through}: ${(err as Error).message}`);
      }
    }
  };
  const loops = writers.map((h) => loop(h));
  try {
    await waitFor('some writes acknowledged', () => Object.keys(c.acked).length >= 10, { timeoutMs: 10_000 });
    // promote h4, demote h3 (as `docker node promote h4; docker node demote h3` do).
    for (const [h, role] of [['h4', 'manager'], ['h3', 'worker']] as const) {
      await waitFor(`node update ${h} role=${role}`, async () => {
        const n = await api(lab, 'h1').node(c.ids[h]);
        await api(lab, 'h1').updateNode(n, { ...n.Spec, Role: role });
        return true;
      }, { timeoutMs: 10_000 });
    }
    c.managers = ['h1', 'h2', 'h4'];
    c.workers = ['h3', 'h5'];
    await waitVoter(lab, c.ids.h4);
    await waitFor('h3 removed from Raft', () => membershipLog(lab).includes(`remove ${c.ids.h3}`), { timeoutMs: 20_000 });
    await waitFor('h4 serves cluster state', async () => (await api(lab, 'h4').swarmInfo()).ControlAvailable && (await api(lab, 'h4').nodes()).length === 5, { timeoutMs: 20_000 });
    await waitFor('h3 serves no cluster state', async () => !(await api(lab, 'h3').swarmInfo()).ControlAvailable, { timeoutMs: 20_000 });
    const n0 = Object.keys(c.acked).length;
    await waitFor('writes continue after the role changes', () => Object.keys(c.acked).length >= n0 + 10, { timeoutMs: 10_000 });
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  assert.ok(Object.keys(c.acked).length >= 20, `acknowledged ${Object.keys(c.acked).length} writes (${failures.length} failed: ${failures.slice(0, 3).join('; ')})`);
  await waitListedEverywhere(c, 5);
  for (const h of c.managers) {
    const labels = { h1: (await api(lab, h).node(c.ids.h1)).Spec.Labels, h5: (await api(lab, h).node(c.ids.h5)).Spec.Labels };
    const lost = Object.keys(c.acked).filter((k) => {
      const [target, key] = k.split('/') as ['h1' | 'h5', string];
      return labels[target][key] !== c.acked[k];
    });
    assert.equal(lost, [], `${h}: acknowledged writes lost`);
    const nodes = await api(lab, h).nodes();
    assert.is(nodes.find((n) => n.ID === c.ids.h4)?.Spec.Role, 'manager');
    assert.is(nodes.find((n) => n.ID === c.ids.h3)?.Spec.Role, 'worker');
    assert.is(nodes.find((n) => n.ID === c.ids.h3)?.ManagerStatus, undefined);
  }
  // With h3 out of Raft, two of {h1, h2, h4} are a quorum: losing h3 entirely changes nothing.
  await lab.killDaemon('h3');
  await addLabelRetrying(lab, 'h4', c.ids.h5, ['after-demote', 'ok'], { timeoutMs: 5000 });
  await lab.startDaemon('h3');
  const kinds = new Map<string, number>();
  for (const f of failures) {
    const k = f.replace(/^load-\d+ /, '');
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  console.log(`  ${Object.keys(c.acked).length} writes acknowledged, ${failures.length} refused during the role changes:`, Object.fromEntries(kinds));
});

test('--force-new-cluster on the last manager standing: it serves writes alone', async (c) => {
  const { lab } = c;
  const [survivor, ...gone] = c.managers;
  await Promise.all(gone.map((h) => lab.killDaemon(h)));
  // Without quorum, a write is refused with a clear error.
  const refused = await addLabel(lab, survivor, c.ids.h5, 'no-quorum', 'x', 8000).then(() => undefined, (e: unknown) => e as ApiError);
  assert.ok(refused, 'a write without quorum is refused');
  assert.is(refused!.status, 503, refused!.message);
  await api(lab, survivor).init(lab.address(survivor), { ForceNewCluster: true });
  await addLabelRetrying(lab, survivor, c.ids.h5, ['forced', 'yes'], { timeoutMs: 10_000 });
  const nodes = await api(lab, survivor).nodes();
  assert.equal(nodes.filter((n) => n.Spec.Role === 'manager').map((n) => n.ID), [c.ids[survivor]]);
  assert.is(leaderOf(nodes, c.ids), survivor);
  const s = await api(lab, survivor).swarm();
  assert.is(s.ID, c.clusterId, 'same cluster');
  const labels = (await api(lab, survivor).node(c.ids.h5)).Spec.Labels;
  const own = (await api(lab, survivor).node(c.ids.h1)).Spec.Labels;
  const lost = Object.keys(c.acked).filter((k) => {
    const [target, key] = k.split('/');
    return (target === 'h5' ? labels : own)[key] !== c.acked[k];
  });
  assert.equal(lost, [], 'acknowledged writes kept');
  assert.is(labels.forced, 'yes');
  // Workers reach the forced manager and stay in the swarm.
  await waitFor('workers ready on the forced manager', async () => {
    const ns = await api(lab, survivor).nodes();
    return c.workers.every((w) => ns.find((n) => n.ID === c.ids[w])?.Status.State === 'ready');
  }, { timeoutMs: 15_000 });
});

// The managers --force-new-cluster removed keep their old Raft configuration; if two of
// them came back unchecked they would be a quorum of it — a second cluster with the same ID
// and CA. A returning manager asks the others for their Raft epoch first, and the forced
// manager tells removed ones, so they carry on as workers of the forced cluster.
test('managers removed by --force-new-cluster do not form a second cluster when they come back', async (c) => {
  const { lab } = c;
  const [survivor, ...gone] = c.managers;
  await Promise.all(gone.map((h) => lab.startDaemon(h)));
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline) {
    for (const h of gone) {
      const nodes = await api(lab, h, 3000).nodes().catch(() => undefined);
      // Either it is no manager any more, or it is one of the survivor's cluster.
      if (nodes) assert.is(leaderOf(nodes, c.ids), survivor, `${h} follows another leader: ${JSON.stringify(nodes.map((n) => [n.Description.Hostname, n.ManagerStatus]))}`);
    }
    await sleep(500);
  }
  // And they carry on as workers of the forced cluster.
  await waitFor('removed managers ready as workers of the forced cluster', async () => {
    const ns = await api(lab, survivor).nodes();
    return gone.every((h) => {
      const n = ns.find((x) => x.ID === c.ids[h]);
      return n?.Spec.Role === 'worker' && n.Status.State === 'ready';
    });
  }, { timeoutMs: 15_000 });
});

test.run();
