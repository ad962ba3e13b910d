// rtnetlink in a sandbox netns through its helper (root): the overlay's own batch lines
// (createSandbox by `ip`, then syncPeers and attachTask over netlink) leave the same FDB
// and neighbour entries and veths `ip`/`bridge` would; a link removed behind our back is
// reported; a namespace made again under its name gets a new helper.
// Namespaces are this test's own (prefix `shoalnl`) and removed in `finally`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachTask, createSandbox, detachTask, macFromIp, syncPeers, IprouteBatch, NetlinkBatch, type Peer } from '../overlay/index.ts';
import { deleteNetns } from '../overlay/lab-netns.ts';
import { NetnsNetlink, NetlinkRequestError } from './netns-netlink.ts';
import type { NlRequest } from './messages.ts';

const tag = `shoalnl${process.pid % 100000}`;
const ns = (n: string) => `${tag}-${n}`;
const HOST = ns('h');
const SB = ns('sb');
const TASK = ns('t');
const ALL = [HOST, SB, TASK];
const LOCAL = '192.168.100.1';
const t = suite('netlink');

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Waits (no fixed sleep) until `fn` is true, at most `ms`. */
async function until(fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const peer = (ip: string, vtep: string): Peer => ({ ip, mac: macFromIp(ip), vtep });

function fdb(): string[] {
  const rows = JSON.parse(sh(['bridge', '-n', SB, '-json', 'fdb', 'show', 'dev', 'vxlan0'])) as { mac: string; dst?: string; state?: string }[];
  return rows.filter((r) => r.dst).map((r) => `${r.mac} ${r.dst} ${r.state ?? ''}`).sort();
}

function neigh(): string[] {
  const rows = JSON.parse(sh(['ip', '-n', SB, '-json', 'neigh', 'show', 'dev', 'vxlan0'])) as { dst: string; lladdr: string; state: string[] }[];
  return rows.map((r) => `${r.dst} ${r.lladdr} ${r.state.join(',')}`).sort();
}

const removed: string[] = [];
const nl = new NetnsNetlink({ onLinkRemoved: (n, dev) => removed.push(`${n}/${dev}`), sweepMs: 100, restartMs: 50 });
/** Processes this file started outside `nl` (killed in `after` if still there). */
const started: number[] = [];
/** Whether `pid` runs (a zombie has ended). */
function alive(pid: number): boolean {
  try { return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')); } catch { return false; }
}
const runner = new NetlinkBatch(new IprouteBatch({ hostNetns: HOST }), nl, { useNetlink: (n) => n === SB, ownVeths: false });
const ownRunner = new NetlinkBatch(new IprouteBatch({ hostNetns: HOST }), nl, { useNetlink: (n) => n === SB, ownVeths: true });

t.before(async () => {
  for (const n of ALL) sh(['ip', 'netns', 'add', n]);
  await runner.run(SB, createSandbox({ vni: 4242, subnet: '10.98.0.0/24', gateway: '10.98.0.1', localVtep: LOCAL, mtu: 1450, sandbox: SB }));
});

t.after(() => {
  nl.closeAll();
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  deleteNetns(ALL, tag);
});

t('peers programmed over netlink are the entries ip and bridge would make, and go again', async () => {
  const a = [peer('10.98.0.5', '192.168.100.2'), peer('10.98.0.6', '192.168.100.3'), peer('10.98.0.7', LOCAL)];
  await runner.run(SB, syncPeers(LOCAL, [], a));
  assert.equal(nl.namespaces(), [SB]);
  assert.equal(fdb(), [
    '00:00:00:00:00:00 192.168.100.2 permanent', '00:00:00:00:00:00 192.168.100.3 permanent',
    '02:42:0a:62:00:05 192.168.100.2 permanent', '02:42:0a:62:00:06 192.168.100.3 permanent',
  ]);
  assert.equal(neigh(), ['10.98.0.5 02:42:0a:62:00:05 PERMANENT', '10.98.0.6 02:42:0a:62:00:06 PERMANENT']);
  // One moves to another node, one goes.
  const b = [peer('10.98.0.5', '192.168.100.4')];
  await runner.run(SB, syncPeers(LOCAL, a, b));
  assert.equal(fdb(), ['00:00:00:00:00:00 192.168.100.4 permanent', '02:42:0a:62:00:05 192.168.100.4 permanent']);
  assert.equal(neigh(), ['10.98.0.5 02:42:0a:62:00:05 PERMANENT']);
});

t('a first sync too big for one frame goes in several, all applied', async () => {
  const many = Array.from({ length: 2500 }, (_, i) => peer(`10.98.${1 + (i >> 8)}.${i & 255}`, `192.168.100.${2 + (i % 3)}`));
  const cmds = syncPeers(LOCAL, [], many);
  assert.ok(cmds.ip.length + cmds.bridge.length > 5000);
  const before = neigh().length; // the last test's peer stays
  await runner.run(SB, cmds);
  assert.is(neigh().length, before + 2500);
  await runner.run(SB, syncPeers(LOCAL, many, []));
  assert.is(neigh().length, before);
});

t('a refused line fails the batch with the kernel\'s reason, as ip -batch', async () => {
  const err = await runner.run(SB, { host: [], ip: ['neigh del 10.98.0.99 dev vxlan0'], bridge: [] }).then(() => undefined, (e: Error) => e);
  assert.ok(err, 'deleting an absent neighbour must fail');
  assert.match(err!.message, /ENOENT/);
});

t('a task veth is made over netlink into the task netns and removed again', async () => {
  const a = attachTask({ taskNetns: TASK, index: 0, ip: '10.98.0.9', prefixBits: 24, mtu: 1450 });
  await runner.runIn(SB, a.sandbox);
  await runner.runIn(TASK, a.task); // not a sandbox: through ip
  const host = JSON.parse(sh(['ip', '-n', SB, '-json', 'link', 'show', 'v0a620009'])) as { master: string; mtu: number; flags: string[] }[];
  assert.is(host[0].master, 'br0');
  assert.is(host[0].mtu, 1450);
  assert.ok(host[0].flags.includes('UP'));
  const eth = JSON.parse(sh(['ip', '-n', TASK, '-json', 'addr', 'show', 'eth0'])) as { mtu: number; address: string; operstate: string }[];
  assert.is(eth[0].mtu, 1450);
  assert.is(eth[0].address, '02:42:0a:62:00:09');
  assert.is(eth[0].operstate, 'UP');
  await runner.runIn(SB, detachTask('10.98.0.9'));
  assert.is(spawnSync('ip', ['-n', TASK, 'link', 'show', 'eth0']).status, 1);
});

t('a task veth made in-process from our own netns lands in the sandbox (on br0, up) and the task netns', async () => {
  const a = attachTask({ taskNetns: TASK, index: 1, ip: '10.98.0.10', prefixBits: 24, mtu: 1400 });
  await ownRunner.runIn(SB, a.sandbox);
  await ownRunner.runIn(TASK, a.task);
  assert.is(spawnSync('ip', ['link', 'show', 'v0a62000a']).status, 1, 'nothing in our own netns');
  const near = JSON.parse(sh(['ip', '-n', SB, '-json', 'link', 'show', 'v0a62000a'])) as { master: string; mtu: number; flags: string[] }[];
  assert.equal([near[0].master, near[0].mtu, near[0].flags.includes('UP')], ['br0', 1400, true]);
  const eth = JSON.parse(sh(['ip', '-n', TASK, '-json', 'addr', 'show', 'eth1'])) as { mtu: number; address: string; addr_info: { local: string }[] }[];
  assert.equal([eth[0].mtu, eth[0].address, eth[0].addr_info[0].local], [1400, '02:42:0a:62:00:0a', '10.98.0.10']);
  // The same name again is refused (EEXIST), as ip's would be.
  const err = await ownRunner.runIn(SB, a.sandbox).then(() => undefined, (e: Error) => e);
  assert.match(String(err?.message), /EEXIST/);
  await ownRunner.runIn(SB, detachTask('10.98.0.10'));
});

t('a link removed behind our back is reported', async () => {
  sh(['ip', '-n', SB, 'link', 'add', 'dummy9', 'type', 'bridge']);
  await runner.run(SB, { host: [], ip: ['link set dummy9 up'], bridge: [] }); // the helper is there
  sh(['ip', '-n', SB, 'link', 'del', 'dummy9']);
  await until(() => removed.includes(`${SB}/dummy9`));
});

t('a namespace made again under its name gets a new helper, and a gone one ends its helper', async () => {
  const before = nl.namespaces();
  const pid = nl.pid(SB)!;
  sh(['ip', 'netns', 'del', SB]);
  await until(() => nl.namespaces().length === 0); // swept: the deleted namespace is not kept alive
  await until(() => !alive(pid)); // and its relay process is gone
  sh(['ip', 'netns', 'add', SB]);
  sh(['ip', '-n', SB, 'link', 'add', 'dummy8', 'type', 'bridge']);
  await runner.run(SB, { host: [], ip: ['link set dummy8 up'], bridge: [] });
  assert.equal(before, [SB]);
  assert.match(sh(['ip', '-n', SB, 'link', 'show', 'dummy8']), /UP/);
  // The old namespace's VXLAN device (made in HOST, so it holds VNI 4242 there) went with
  // it: no helper kept the deleted namespace alive, so the VNI can be taken again.
  const vx = ['ip', '-n', HOST, 'link', 'add', 'vxt', 'type', 'vxlan', 'id', '4242', 'local', LOCAL, 'dstport', '4789', 'nolearning'];
  await until(() => spawnSync(vx[0], vx.slice(1)).status === 0);
});

t('a relay that dies is started again, and hears link removals again', async () => {
  const old = nl.pid(SB)!;
  process.kill(old, 'SIGKILL');
  await until(() => nl.pid(SB) !== undefined && nl.pid(SB) !== old);
  sh(['ip', '-n', SB, 'link', 'add', 'dummy7', 'type', 'bridge']);
  await runner.run(SB, { host: [], ip: ['link set dummy7 up'], bridge: [] });
  sh(['ip', '-n', SB, 'link', 'del', 'dummy7']);
  await until(() => removed.includes(`${SB}/dummy7`));
});

t('a relay is ended when closed, and when its daemon dies (stdin EOF)', async () => {
  await runner.run(SB, { host: [], ip: ['link set dummy8 up'], bridge: [] });
  const pid = nl.pid(SB)!;
  assert.ok(alive(pid));
  nl.close(SB);
  assert.is(nl.pid(SB), undefined);
  await until(() => !alive(pid));
  // A daemon killed outright: its relay sees its stdin close and exits by itself.
  const src = `import { NetnsNetlink } from ${JSON.stringify(new URL('./netns-netlink.ts', import.meta.url).href)};
    const nl = new NetnsNetlink(); await nl.linkIndex(${JSON.stringify(SB)}, 'lo'); console.log(nl.pid(${JSON.stringify(SB)})); setInterval(() => {}, 1000);`;
  const daemon = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(daemon.pid!);
  const relay = await new Promise<number>((resolve, reject) => {
    daemon.stdout.setEncoding('utf8').on('data', (d: string) => resolve(Number(d.trim())));
    daemon.on('exit', (code) => reject(new Error(`the daemon exited (${code})`)));
  });
  started.push(relay);
  assert.ok(alive(relay));
  daemon.kill('SIGKILL');
  await until(() => !alive(relay));
});

t('a relay out of protocol fails its batch with a clear error and is ended; the daemon goes on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoalnl-'));
  const fake = join(dir, 'fake-perl');
  // No restart within the test: each case starts its own relay with its next batch.
  const bad = new NetnsNetlink({ perl: fake, restartMs: 60_000 });
  const up: NlRequest = { method: 'setLink', data: { flags: { up: true }, change: { up: true } }, attrs: {}, flags: 0, dev: 'lo', line: 'link set lo up' };
  /** Runs `up` through a relay that prints `out` (printf format) and then `then`; its error and the relay's pid. */
  const attempt = async (out: string, then: string) => {
    writeFileSync(fake, `#!/bin/sh\nprintf '${out}'\n${then}\n`, { mode: 0o755 });
    const p = bad.run(SB, [up]);
    const pid = bad.pid(SB)!;
    started.push(pid);
    return { err: await p.then(() => undefined, (e: unknown) => e), pid };
  };
  try {
    // A frame promising 5 bytes, 3 given, then the output ends: a truncated reply.
    const cut = await attempt('\\005\\000\\000\\000Rab', 'exit 0');
    assert.ok(cut.err instanceof NetlinkRequestError, String(cut.err));
    assert.match((cut.err as Error).message, /netlink relay: output ended inside a frame/);
    // A kind no relay sends, from one that stays: it is killed.
    const garbage = await attempt('\\001\\000\\000\\000Z', 'exec cat >/dev/null');
    assert.match(String((garbage.err as Error)?.message), /netlink relay: unknown frame kind 0x5a/);
    await until(() => !alive(garbage.pid));
    assert.is(bad.pid(SB), undefined);
    // A reply whose ACK names another sequence number.
    const ack = '\\044\\000\\000\\000\\002\\000\\000\\000\\001\\000\\000\\000\\000\\000\\000\\000' + '\\000'.repeat(20);
    const stranger = await attempt(`\\045\\000\\000\\000R${ack}`, 'exec cat >/dev/null');
    assert.match(String((stranger.err as Error)?.message), /netlink relay: a reply with seq 1 where \d+ was due/);
    await until(() => !alive(stranger.pid));
  } finally {
    bad.closeAll();
    rmSync(dir, { recursive: true, force: true });
  }
  // The real relay still answers.
  assert.ok(await nl.linkIndex(SB, 'lo') > 0);
});

t.run();
