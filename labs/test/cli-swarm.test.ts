// `shoal swarm …` and `shoal node …` as a user runs them: three daemons on loopback
// (h1 inits, h2 joins as a worker, h3 as a manager), driven through the real CLI.
// The tests run in order and share the swarm they build.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { ApiError } from '../../src/api/errors.ts';
import type { Node } from '../../src/api/types/node.ts';
import type { Swarm } from '../../src/api/types/swarm.ts';
import type { InfoResponse } from '../../src/api/types/system.ts';
import { nodeRow } from '../../cli/swarm-format.ts';
import { SHOAL_BIN, freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';

interface Run { code: number; out: string; err: string }

function shoal(d: DaemonProcess | undefined, ...args: string[]): Promise<Run> {
  const argv = d ? [...args, '-H', d.host] : args;
  return new Promise((resolve) => {
    execFile(process.execPath, [SHOAL_BIN, ...argv], { encoding: 'utf8', timeout: 30_000 }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut });
    });
  });
}

/** Runs a command that must succeed; returns its stdout. */
async function ok(d: DaemonProcess, ...args: string[]): Promise<string> {
  const r = await shoal(d, ...args);
  assert.is(r.code, 0, `shoal ${args.join(' ')} failed: ${r.err}`);
  return r.out;
}

/** Polls `fn` until it returns true (20 s at most); the last value it saw goes in the failure. */
async function eventually(what: string, fn: () => Promise<boolean | string>): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last: boolean | string = false;
  while (Date.now() < deadline) {
    last = await fn();
    if (last === true) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.unreachable(`${what} (last seen: ${last})`);
}

/** What the checks below need of `/info` and `/nodes`, read with the API client (cheaper than a CLI process per poll). */
const swarmInfo = async (d: DaemonProcess) => (await d.client.get<InfoResponse>('/info')).Swarm;
/** `HOSTNAME STATUS MANAGER-STATUS` per node, sorted, in the CLI's words (checked against `node ls` itself below). */
const nodeRows = async (d: DaemonProcess) =>
  (await d.client.get<Node[]>('/nodes')).map((n) => { const r = nodeRow(n, undefined); return `${r.Hostname} ${r.Status} ${r.ManagerStatus}`; }).sort();

let h1: DaemonProcess, h2: DaemonProcess, h3: DaemonProcess;
const port: Record<string, number> = {};
let workerToken = '';
let managerToken = '';

test.before(async () => {
  for (const name of ['h1', 'h2', 'h3']) port[name] = await freePort();
  [h1, h2, h3] = await Promise.all(['h1', 'h2', 'h3'].map((name) =>
    startDaemonProcess(['--listen-addr', `127.0.0.1:${port[name]}`], { hostname: name })));
});

test.after(async () => {
  await Promise.all([h1, h2, h3].map((d) => d?.cleanup()));
});

test('swarm init prints the join command with the worker token and the manager address', async () => {
  const out = await ok(h1, 'swarm', 'init', '--advertise-addr', `127.0.0.1:${port.h1}`, '--listen-addr', `127.0.0.1:${port.h1}`, '--task-history-limit', '7');
  const id = /^Swarm initialized: current node \(([a-z0-9]{25})\) is now a manager\.\n\n/.exec(out)?.[1];
  assert.ok(id, out);
  const join = /To add a worker to this swarm, run the following command:\n\n {4}shoal swarm join --token (SWMTKN-1-\S+) (\S+)\n\n/.exec(out);
  assert.ok(join, out);
  assert.is(join[2], `127.0.0.1:${port.h1}`);
  workerToken = join[1];
  assert.match(out, "To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.");
  assert.is(String((await swarmInfo(h1)).NodeID), id);
});

test('swarm inspect --format reads the spec init was given', async () => {
  const [limit, json] = await Promise.all([ok(h1, 'swarm', 'inspect', '--format', '{{.Spec.Orchestration.TaskHistoryRetentionLimit}}'), ok(h1, 'swarm', 'inspect')]);
  assert.is(limit, '7\n');
  const [sw] = JSON.parse(json);
  assert.is(sw.JoinTokens.Worker, workerToken);
});

test('join-token -q prints the bare tokens; without -q the join command', async () => {
  const [w, m, full] = await Promise.all([ok(h1, 'swarm', 'join-token', '-q', 'worker'), ok(h1, 'swarm', 'join-token', '-q', 'manager'), ok(h1, 'swarm', 'join-token', 'manager')]);
  assert.is(w.trim(), workerToken);
  managerToken = m.trim();
  assert.match(managerToken, /^SWMTKN-1-\S+$/);
  assert.is.not(managerToken, workerToken);
  assert.is(full, `To add a manager to this swarm, run the following command:\n\n    shoal swarm join --token ${managerToken} 127.0.0.1:${port.h1}\n\n`);
});

const joinArgs = (name: string, token: string) =>
  ['swarm', 'join', '--token', token, '--advertise-addr', `127.0.0.1:${port[name]}`, '--listen-addr', `127.0.0.1:${port[name]}`, `127.0.0.1:${port.h1}`];

test('join with a wrong token is refused and leaves the joiner out of the swarm', async () => {
  const forged = workerToken.replace(/-[a-z0-9]+$/, '-' + 'a'.repeat(25));
  const r = await shoal(h2, ...joinArgs('h2', forged));
  assert.is(r.code, 1);
  assert.match(r.err, 'Error response from daemon: A valid join token is necessary to join this cluster');
  assert.is(String((await swarmInfo(h2)).LocalNodeState), 'inactive');
});

test('join-token --rotate replaces the token, and the old one is refused', async () => {
  const out = await ok(h1, 'swarm', 'join-token', '--rotate', 'worker');
  assert.match(out, /^Successfully rotated worker join token\.\n\nTo add a worker to this swarm/);
  const rotated = (await h1.client.get<Swarm>('/swarm')).JoinTokens.Worker;
  assert.is.not(rotated, workerToken);
  assert.ok(out.includes(rotated));
  const r = await shoal(h2, ...joinArgs('h2', workerToken));
  assert.is(r.code, 1);
  assert.match(r.err, 'A valid join token is necessary to join this cluster');
  workerToken = rotated;
});

test('a worker and a manager join with their tokens', async () => {
  assert.is(await ok(h2, ...joinArgs('h2', workerToken)), 'This node joined a swarm as a worker.\n');
  assert.is(await ok(h3, ...joinArgs('h3', managerToken)), 'This node joined a swarm as a manager.\n');
});

test('node ls shows the three nodes as docker does: this one starred, one leader', async () => {
  await eventually('all three nodes ready, h3 reachable', async () => {
    const rows = await nodeRows(h1);
    return rows.join(',') === 'h1 Ready Leader,h2 Ready ,h3 Ready Reachable' || rows.join(',');
  });
  // The API said so; the CLI must too (polled again: a manager's reachability can flicker under load).
  let out = '';
  await eventually('node ls shows h3 reachable', async () => /\sh3\s+Ready\s+Active\s+Reachable\s/.test(out = await ok(h1, 'node', 'ls')) || out);
  const lines = out.trimEnd().split('\n');
  assert.match(lines[0], /^ID\s+HOSTNAME\s+STATUS\s+AVAILABILITY\s+MANAGER STATUS\s+ENGINE VERSION$/);
  assert.is(lines.length, 4);
  const self = String((await swarmInfo(h1)).NodeID);
  assert.ok(lines.some((l) => new RegExp(`^${self} \\*\\s+h1\\s+Ready\\s+Active\\s+Leader\\s+\\d+\\.\\d+\\.\\d+$`).test(l)), out);
  assert.is(lines.filter((l) => l.includes('*')).length, 1);
  // a manager that is not the leader lists the same nodes, starring itself
  assert.match(await ok(h3, 'node', 'ls'), /\*\s+h3\s+Ready/);
});

test('node ls -q, --filter and --format', async () => {
  const [quiet, managers, worker, jsonOut] = await Promise.all([
    ok(h1, 'node', 'ls', '-q'),
    ok(h1, 'node', 'ls', '--filter', 'role=manager', '--format', '{{.Hostname}}'),
    ok(h1, 'node', 'ls', '-f', 'name=h2', '-f', 'role=worker', '--format', '{{.Hostname}} {{.Availability}}'),
    ok(h1, 'node', 'ls', '--format', 'json'),
  ]);
  const ids = quiet.trim().split('\n');
  assert.is(ids.length, 3);
  assert.ok(ids.every((id) => /^[a-z0-9]{25}$/.test(id)));
  assert.is(managers.trim().split('\n').sort().join(','), 'h1,h3');
  assert.is(worker.trim(), 'h2 Active');
  const json = JSON.parse(jsonOut);
  assert.is(json.length, 3);
  assert.equal(Object.keys(json[0]).sort(), ['Availability', 'EngineVersion', 'Hostname', 'ID', 'ManagerStatus', 'Self', 'Status', 'TLSStatus']);
});

let staleH2: Node;

test('node update --label-add shows in node inspect; --label-rm takes it away', async () => {
  staleH2 = await h1.client.get<Node>('/nodes/h2');
  assert.is(await ok(h1, 'node', 'update', '--label-add', 'zone=a', '--label-add', 'ssd', 'h2'), 'h2\n');
  const [inspected, labelled] = await Promise.all([
    ok(h1, 'node', 'inspect', '--format', '{{.Spec.Labels.zone}}|{{.Spec.Labels.ssd}}|{{.Spec.Role}}', 'h2'),
    ok(h1, 'node', 'ls', '--filter', 'node.label=zone=a', '--format', '{{.Hostname}}'),
  ]);
  assert.is(inspected, 'a||worker\n');
  assert.is(labelled.trim(), 'h2');
  assert.is(await ok(h1, 'node', 'update', '--label-rm', 'ssd', '--availability', 'drain', 'h2'), 'h2\n');
  const n = await h1.client.get<Node>('/nodes/h2');
  assert.equal(n.Spec.Labels, { zone: 'a' });
  assert.is(n.Spec.Availability, 'drain');
  const [r] = await Promise.all([shoal(h1, 'node', 'update', '--label-rm', 'nope', 'h2'), ok(h1, 'node', 'update', '--availability', 'active', 'h2')]);
  assert.is(r.code, 1);
  assert.match(r.err, "key nope doesn't exist in node's labels");
});

test('an update quoting a stale version is refused with "update out of sequence"', async () => {
  try {
    await h1.client.post(`/nodes/${staleH2.ID}/update`, { ...staleH2.Spec, Labels: { lost: 'update' } }, { query: { version: staleH2.Version.Index } });
    assert.unreachable('the stale update was accepted');
  } catch (err) {
    assert.instance(err, ApiError);
    assert.is((err as ApiError).status, 409);
    assert.match((err as Error).message, 'update out of sequence');
  }
  assert.is(await ok(h1, 'node', 'inspect', '--format', '{{.Spec.Labels.lost}}', 'h2'), '<no value>\n');
});

test('node inspect: self, --pretty, several nodes, and a missing one', async () => {
  const [pretty, two, r] = await Promise.all([
    ok(h1, 'node', 'inspect', '--pretty', 'self'),
    ok(h1, 'node', 'inspect', 'h1', 'h3'),
    shoal(h1, 'node', 'inspect', 'h2', 'nosuch'),
  ]);
  assert.match(pretty, /^ID:\t\t\t[a-z0-9]{25}\n/);
  assert.match(pretty, /\nHostname:\s+h1\n/);
  assert.match(pretty, /\nManager Status:\n Address:\t\t127\.0\.0\.1:\d+\n Raft Status:\t\tReachable\n Leader:\t\tYes\n/);
  assert.match(pretty, /\n State:\t\t\tReady\n/);
  assert.equal((JSON.parse(two) as Node[]).map((n) => n.Description.Hostname), ['h1', 'h3']);
  assert.is(r.code, 1);
  assert.is(r.err, 'Error: No such node: nosuch\n');
  assert.equal((JSON.parse(r.out) as Node[]).map((n) => n.Description.Hostname), ['h2']);
});

test('a worker cannot list nodes', async () => {
  const r = await shoal(h2, 'node', 'ls');
  assert.is(r.code, 1);
  assert.match(r.err, /^Error response from daemon: This node is not a swarm manager\./);
});

test('node promote and demote change MANAGER STATUS', async () => {
  assert.is(await ok(h1, 'node', 'promote', 'h2'), 'Node h2 promoted to a manager in the swarm.\n');
  await eventually('h2 a reachable manager that knows it', async () => {
    const rows = await nodeRows(h1);
    const knows = String((await swarmInfo(h2)).ControlAvailable);
    return (rows[1] === 'h2 Ready Reachable' && knows === 'true') || `${rows.join(',')} h2 manager: ${knows}`;
  });
  await eventually('node ls shows h2 reachable', async () => {
    const out = await ok(h1, 'node', 'ls');
    return /\n[a-z0-9]{25}\s+h2\s+Ready\s+Active\s+Reachable\s+\d/.test(out) || out;
  });
  assert.match(await ok(h1, 'node', 'promote', 'h2'), /^Node [a-z0-9]{25} is already a manager\.\n$/);
  assert.is(await ok(h1, 'node', 'demote', 'h2'), 'Manager h2 demoted in the swarm.\n');
  await eventually('h2 a worker again, and knows it', async () => {
    const rows = await nodeRows(h1);
    const knows = String((await swarmInfo(h2)).ControlAvailable);
    return (rows[1] === 'h2 Ready ' && knows === 'false') || `${rows.join(',')} h2 manager: ${knows}`;
  });
  assert.match(await ok(h1, 'node', 'ls'), /\n[a-z0-9]{25}\s+h2\s+Ready\s+Active\s+\d/);
});

test('swarm leave on a manager without -f is refused with docker\'s message', async () => {
  const r = await shoal(h3, 'swarm', 'leave');
  assert.is(r.code, 1);
  assert.match(r.err, /^Error response from daemon: You are attempting to leave the swarm on a node that is participating as a manager\. .*Use `--force` to (ignore|suppress) this message\.\n$/);
  assert.is(String((await swarmInfo(h3)).LocalNodeState), 'active');
});

test('node rm refuses a ready node without -f and a manager at all; a worker that left is removed', async () => {
  const [ready, manager] = await Promise.all([shoal(h1, 'node', 'rm', 'h2'), shoal(h1, 'node', 'rm', '--force', 'h3')]);
  assert.is(ready.code, 1);
  assert.match(ready.err, /^Error response from daemon: rpc error: code = FailedPrecondition desc = node [a-z0-9]{25} is not down and can't be removed\n$/);
  assert.is(manager.code, 1);
  assert.match(manager.err, 'must be demoted to worker before removal');
  assert.is(await ok(h2, 'swarm', 'leave'), 'Node left the swarm.\n');
  assert.is(String((await swarmInfo(h2)).LocalNodeState), 'inactive');
  assert.is(await ok(h1, 'node', 'rm', '-f', 'h2'), 'h2\n');
  await eventually('node ls shows h1 and h3 only', async () => {
    const rows = (await ok(h1, 'node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}}')).trim().split('\n').sort().join(',');
    return rows === 'h1 Leader,h3 Reachable' || rows;
  });
});

test('swarm update changes the spec it read and says so', async () => {
  assert.is(await ok(h1, 'swarm', 'update', '--task-history-limit', '3', '--cert-expiry', '48h', '--dispatcher-heartbeat', '1s'), 'Swarm updated.\n');
  assert.is(
    await ok(h1, 'swarm', 'inspect', '--format', '{{.Spec.Orchestration.TaskHistoryRetentionLimit}} {{.Spec.CAConfig.NodeCertExpiry}} {{.Spec.Dispatcher.HeartbeatPeriod}}'),
    `3 ${48 * 3600 * 1e9} ${1e9}\n`,
  );
});

test('bad flags, arguments and names give clear errors', async () => {
  const cases: [string[], DaemonProcess | undefined, RegExp][] = [
    [['swarm', 'update', '--cert-expiry', '5x'], h1, /time: unknown unit "x" in duration "5x"/],
    [['swarm', 'update'], h1, /nothing to update: give at least one of --cert-expiry/],
    [['swarm', 'join-token', 'admin'], h1, /unknown role admin/],
    [['swarm', 'join', `127.0.0.1:${port.h1}`], h2, /Missing required flag token/],
    [['swarm', 'init', '--availability', 'sideways'], h2, /invalid availability "sideways", only active, pause and drain are supported/],
    [['node', 'ls', '--filter', 'role'], h1, /bad format of filter \(expected name=value\)/],
    [['node', 'ls', '--filter', 'colour=red'], h1, /invalid filter 'colour'/],
    [['node', 'update', '--availability', 'sideways', 'h1'], h1, /Expected --availability=sideways to be one of: active, pause, drain/],
    [['node', 'update', '--label-add', 'zone=b', 'nosuch'], h1, /Error: No such node: nosuch/],
    [['node', 'ls'], h2, /Error response from daemon: This node is not a swarm manager\. Use "docker swarm init"/],
  ];
  const results = await Promise.all(cases.map(([args, d]) => shoal(d, ...args)));
  results.forEach((r, i) => {
    const [args, , want] = cases[i];
    assert.is.not(r.code, 0, `shoal ${args.join(' ')} succeeded`);
    assert.match(r.err, want, `shoal ${args.join(' ')}: ${r.err}`);
    assert.not.match(r.err, /at .*\.ts:\d+/, 'no stack trace');
  });
});

test('reads without a quorum of managers still answer, with the Warning on stderr', async () => {
  await h3.stop();
  const r = await shoal(h1, 'node', 'ls', '-q');
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /^WARNING: .*may be stale\n$/);
  assert.is(r.out.trim().split('\n').length, 2);
});

test.run();
