// VIPs on real nftables (root): a client netns and two backend netns on a bridge in a
// switch netns, all made here (10.99.0.0/24, only inside them). The client's VIP table
// spreads connections over both backends, a replaced backend set takes the removed one
// out of rotation at once, updates never leave a window without a backend, and a VIP
// without backends refuses; through `nft -i` sessions (NftSession) and `nft -f` (NetnsNft).
// Everything is removed in `finally`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { NetnsNft } from './nft.ts';
import { NftSession } from './nft-session.ts';
import { VipTable } from './vip-table.ts';
import { renderDelete, renderReplace, type VipService } from './ruleset.ts';

const tag = `shoal-vip${process.pid}`;
const NS = { sw: `${tag}-sw`, c: `${tag}-c`, b1: `${tag}-b1`, b2: `${tag}-b2`, inc: `${tag}-i`, whole: `${tag}-w` };
const ADDR = { c: '10.99.0.10', b1: '10.99.0.2', b2: '10.99.0.3' };
const VIP = '10.99.0.100';
const VIP_ANY = '10.99.0.101';
const TABLE = 'shoal-lb';

const t = suite('vip');
const procs: ChildProcess[] = [];
const conns = { b1: 0, b2: 0 };

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A TCP server in a backend netns answering its name, counting connections. */
function startBackend(name: 'b1' | 'b2'): Promise<void> {
  const code = `require('net').createServer((s) => { console.log('conn'); s.end(${JSON.stringify(name)}); })
    .listen(8080, ${JSON.stringify(ADDR[name])}, () => console.log('ready'));`;
  const p = spawn('ip', ['netns', 'exec', NS[name], process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  return new Promise((ok, fail) => {
    let buf = '';
    p.stdout!.on('data', (d: Buffer) => {
      buf += d;
      const lines = buf.split('\n'); buf = lines.pop()!;
      for (const l of lines) { if (l === 'ready') ok(); else if (l === 'conn') conns[name]++; }
    });
    p.on('exit', (c) => fail(new Error(`backend ${name} exited (${c})`)));
  });
}

/** Makes `n` sequential connections from the client netns; counts answers by name and errors by code. */
function connect(n: number, host: string, port: number): Promise<Record<string, number>> {
  const code = `const net = require('net'); const out = {}; const n = ${n};
    (async () => { for (let i = 0; i < n; i++) { const k = await new Promise((ok) => {
      const s = net.connect({ host: ${JSON.stringify(host)}, port: ${port} }); let d = '';
      s.setTimeout(3000, () => { s.destroy(); ok('ETIMEDOUT'); });
      s.on('data', (x) => d += x); s.on('end', () => ok(d)); s.on('error', (e) => ok(e.code)); });
      out[k] = (out[k] || 0) + 1; } console.log(JSON.stringify(out)); })();`;
  return new Promise((ok, fail) => {
    const p = spawn('ip', ['netns', 'exec', NS.c, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(p);
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.on('exit', (c) => (c === 0 ? ok(JSON.parse(out)) : fail(new Error(`client exited ${c}`))));
  });
}

// The client's table goes through a long-lived `nft -i` (the agent's way); the comparison
// of incremental and whole updates below applies one side each way.
const session = new NftSession({ netns: NS.c });
const incSession = new NftSession({ netns: NS.inc });
const table = new VipTable(session, { table: TABLE });
const services = (backends: string[]): VipService[] => [
  { name: 'web', vip: VIP, ports: [{ protocol: 'tcp', port: 80, targetPort: 8080 }], backends },
  { name: 'any', vip: VIP_ANY, backends },
];

t.before(async () => {
  for (const ns of Object.values(NS)) sh(['ip', 'netns', 'add', ns]);
  sh(['ip', '-n', NS.sw, 'link', 'add', 'br0', 'type', 'bridge']);
  sh(['ip', '-n', NS.sw, 'link', 'set', 'br0', 'up']);
  for (const k of ['c', 'b1', 'b2'] as const) {
    sh(['ip', '-n', NS.sw, 'link', 'add', `v${k}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS[k]]);
    sh(['ip', '-n', NS.sw, 'link', 'set', `v${k}`, 'master', 'br0', 'up']);
    sh(['ip', '-n', NS[k], 'addr', 'add', `${ADDR[k]}/24`, 'dev', 'eth0']);
    sh(['ip', '-n', NS[k], 'link', 'set', 'eth0', 'up']);
    sh(['ip', '-n', NS[k], 'link', 'set', 'lo', 'up']);
  }
  await Promise.all([startBackend('b1'), startBackend('b2')]);
});

t.after(async () => {
  const errors: string[] = [];
  await Promise.all([session.close(), incSession.close()]);
  for (const p of procs) if (p.exitCode === null && p.signalCode === null && p.pid) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((ok) => p.on('exit', ok)) : undefined)));
  if (sh(['ip', 'netns', 'list']).includes(NS.c)) {
    const r = spawnSync('ip', ['netns', 'exec', NS.c, 'nft', '-f', '-'], { input: renderDelete({ table: TABLE }), encoding: 'utf8' });
    if (r.status !== 0) errors.push(`nft delete: ${r.stderr}`);
  }
  for (const ns of Object.values(NS)) {
    if (!sh(['ip', 'netns', 'list']).split('\n').some((l) => l.split(' ')[0] === ns)) continue;
    const r = spawnSync('ip', ['netns', 'del', ns], { encoding: 'utf8' });
    if (r.status !== 0) errors.push(`netns del ${ns}: ${r.stderr}`);
  }
  const left = sh(['ip', 'netns', 'list']).split('\n').filter((l) => l.startsWith(tag));
  if (left.length || errors.length) throw new Error(`clean-up: left ${JSON.stringify(left)} ${errors.join('; ')}`);
});

t('the VIP spreads connections over both backends (statistical)', async () => {
  await table.sync(services([ADDR.b1, ADDR.b2]));
  const n = 200;
  const got = await connect(n, VIP, 80);
  console.log(`  vip ${VIP}:80 over 2 backends, ${n} connections: ${JSON.stringify(got)}`);
  assert.is((got.b1 ?? 0) + (got.b2 ?? 0), n, JSON.stringify(got));
  // Binomial(200, 0.5): sd ≈ 7; 50 is about 7 sd from the mean.
  assert.ok(got.b1 >= 50 && got.b2 >= 50, JSON.stringify(got));
  const any = await connect(40, VIP_ANY, 8080);
  assert.is((any.b1 ?? 0) + (any.b2 ?? 0), 40, `a VIP without ports forwards every port: ${JSON.stringify(any)}`);
  assert.ok(any.b1 > 0 && any.b2 > 0, JSON.stringify(any));
});

t('a replaced backend set takes the removed backend out of rotation at once', async () => {
  await table.sync(services([ADDR.b1]));
  const before = conns.b2;
  const got = await connect(60, VIP, 80);
  assert.equal(got, { b1: 60 });
  assert.is(conns.b2, before, 'the removed backend saw no new connection');
  await table.sync(services([ADDR.b1, ADDR.b2]));
  const back = await connect(60, VIP, 80);
  assert.ok((back.b2 ?? 0) > 0, `it comes back when re-added: ${JSON.stringify(back)}`);
});

t('updates never leave a window without a backend', async () => {
  const client = connect(300, VIP, 80);
  let updates = 0;
  let finished = false;
  void client.then(() => { finished = true; }, () => { finished = true; });
  while (!finished) {
    await table.sync(services(updates % 2 === 0 ? [ADDR.b1] : [ADDR.b2, ADDR.b1]));
    updates++;
  }
  const got = await client;
  console.log(`  ${updates} table updates during 300 connections: ${JSON.stringify(got)}`);
  assert.ok(updates >= 3, `the client overlapped several updates (${updates})`);
  assert.is((got.b1 ?? 0) + (got.b2 ?? 0), 300, `every connection was answered: ${JSON.stringify(got)}`);
});

/** `nft list table` of a netns, as a sorted list of trimmed lines (chains and elements may list in any order). */
function listed(ns: string): string[] {
  return sh(['ip', 'netns', 'exec', ns, 'nft', 'list', 'table', 'ip', TABLE]).split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

t('incremental updates leave the same kernel state as whole-table replacements', async () => {
  const inc = new VipTable(incSession, { table: TABLE });
  const whole = new NetnsNft({ netns: NS.whole });
  const api = (backends: string[], port = 80): VipService => ({ name: 'api', vip: '10.99.0.50', ports: [{ protocol: 'tcp', port }, { protocol: 'udp', port: 53 }], backends });
  const db = (backends: string[], weights?: Record<string, number>): VipService => ({ name: 'db', vip: '10.99.0.40', backends, ...(weights ? { weights } : {}) });
  const steps: VipService[][] = [
    [api(['10.99.0.5'])],
    [api(['10.99.0.5', '10.99.0.6']), db(['10.99.0.7'])],
    [db(['10.99.0.7', '10.99.0.8'], { '10.99.0.7': 3 }), api(['10.99.0.6'], 8080)],
    [db([]), { ...api(['10.99.0.6'], 8080), gone: ['10.99.0.5'] }],
    [db(['10.99.0.9'])],
    [],
    [api(['10.99.0.5']), db(['10.99.0.7'])],
  ];
  for (const [i, services] of steps.entries()) {
    await inc.sync(services);
    await whole.apply(renderReplace(services, { table: TABLE }));
    assert.equal(listed(NS.inc), listed(NS.whole), `step ${i}`);
  }
});

t('a VIP without backends refuses connections', async () => {
  await table.sync(services([]));
  const got = await connect(5, VIP, 80);
  assert.equal(got, { ECONNREFUSED: 5 });
});

t.run();
