// scripts/install.sh and scripts/uninstall.sh on lab hosts (root). The hosts are namespaces
// without systemd, so the install is staged with DESTDIR into a temporary root and the
// daemon is run as shoal.service would run it: its ExecStart (paths under that root), its
// Type=notify readiness (READY=1 received on a NOTIFY_SOCKET this test listens on), and
// after a kill -9 started again because its Restart= rule says so. Two hosts run the
// installed Shoal (on the installed Node 24) and form a swarm with scripts/vagrant-swarm.sh
// (the Vagrantfile's provisioning) that survives the restart. Uninstalling a live worker
// running a published task leaves that host as it was before it joined; uninstall leaves
// the staged root exactly as it was found.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseDaemonJson } from '../src/daemon/daemon-json.ts';
import { Lab, downOnSignal } from './lib/lab.ts';
import { REPO_ROOT, type DaemonContext } from './lib/daemon.ts';
import { SWARM_PORT } from './lib/names.ts';
import { isAlive } from './lib/procs.ts';
import { api, waitFor } from './lib/swarm-lab.ts';
import { parseUnit, restartsAfter, unitValue, type Unit } from './lib/systemd-unit.ts';

const PREFIX = 'shoalins';

interface Ctx {
  root: string;
  tmp: string;
  before: string[];
}

/** What the tests start: kept here, since uvu hands each test a copy of the context. */
const live: {
  lab?: Lab;
  notify?: ChildProcess;
  /** What arrived on the notify socket: `pid=N READY=1 …` lines. */
  notified: string[];
  /** h2's state before it joined the swarm. */
  h2Before?: Record<string, string[]>;
} = { notified: [] };

/**
 * What a host holds that Shoal may leave behind: links, network namespaces, nftables
 * tables, /run entries and mounts, and process names in its network namespace (the
 * daemon's own and this listing's left out: it is compared across the daemon's life).
 */
async function hostState(lab: Lab, host: string): Promise<Record<string, string[]>> {
  const script = [
    'echo "#links"; ip -br link | cut -d" " -f1 | cut -d@ -f1',
    'echo "#netns"; ip netns list | cut -d" " -f1',
    'echo "#nft"; nft list tables',
    'echo "#run"; ls -A /run | grep -vx shoal',
    // A mount propagated into the host from the machine carries "master:N" in mountinfo's
    // optional fields; only the host's own mounts (the anchor's and whatever Shoal made)
    // can be left behind by Shoal, and only they are stable while other labs run beside.
    'echo "#mounts"; awk \'{ own = 1; for (i = 7; $i != "-"; i++) if ($i ~ /^master:/) own = 0; if (own && $5 ~ /^\\/run/) print $5 }\' /proc/self/mountinfo | grep -v "^/run/shoal"',
    'echo "#procs"; me=$(readlink /proc/self/ns/net); for p in /proc/[0-9]*; do [ "$(readlink $p/ns/net 2>/dev/null)" = "$me" ] && cat $p/comm 2>/dev/null; done',
  ].join('; ');
  const r = await lab.exec(host, ['sh', '-c', script]);
  const out: Record<string, string[]> = {};
  let key = '';
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('#')) out[key = line.slice(1)] = [];
    else if (line && key) out[key]!.push(line);
  }
  out.procs = out.procs!.filter((n) => !['sh', 'readlink', 'cat', 'node', 'MainThread', 'nsenter'].includes(n));
  for (const k of Object.keys(out)) out[k]!.sort();
  return out;
}

/** The staged shoal.service, parsed. */
function stagedUnit(ctx: Ctx): Unit {
  return parseUnit(readFileSync(join(ctx.root, 'etc/systemd/system/shoal.service'), 'utf8'));
}

const test = suite<Ctx>('install on a host');

/** Every path under `dir` with its type and mode, for a before/after comparison. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      out.push(`${relative(dir, p)} ${st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'f'} ${(st.mode & 0o7777).toString(8)}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

function script(name: string, args: string[], root: string) {
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts', name), ...args], { env: { ...process.env, DESTDIR: root }, encoding: 'utf8', timeout: 300_000 });
  assert.is(r.status, 0, `${name}: ${r.stderr}`);
  return r.stderr;
}

/** The unit's ExecStart as argv, its absolute paths moved under the staged root. */
function execStart(ctx: Ctx): string[] {
  const line = unitValue(stagedUnit(ctx), 'Service', 'ExecStart')!;
  return line.split(/\s+/).map((a) => (/^\/(opt|etc)\/shoal\b/.test(a) ? join(ctx.root, a) : a));
}

/** A host's daemon.json (the lab's addresses and dirs) and the unit's command pointed at it. */
function unitCommand(ctx: Ctx, d: DaemonContext): string[] {
  const config = join(d.hostDir, 'daemon.json');
  writeFileSync(config, JSON.stringify({
    'data-root': join(d.hostDir, 'data'), hosts: [`unix://${d.socket}`],
    'listen-addr': `${d.address}:${SWARM_PORT}`, 'advertise-addr': d.address, hostname: d.host,
    'insecure-registries': [d.registryAddress],
  }, null, 2));
  const argv = execStart(ctx);
  const i = argv.indexOf('--config-file');
  assert.ok(i > 0, 'ExecStart names --config-file');
  argv[i + 1] = config;
  return ['env', `NOTIFY_SOCKET=${join(ctx.tmp, 'notify.sock')}`, ...argv];
}

/** Listens on a unix datagram socket as systemd does (python3: Node has none) and records each message with its sender's PID. */
function listenNotify(ctx: Ctx): Promise<void> {
  const py = [
    'import socket,struct,sys',
    's=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)',
    's.setsockopt(socket.SOL_SOCKET,socket.SO_PASSCRED,1)',
    's.bind(sys.argv[1])',
    'print("bound",flush=True)',
    'while True:',
    ' m,a,_,_=s.recvmsg(4096,socket.CMSG_SPACE(12))',
    ' p=[struct.unpack("iII",d[:12])[0] for l,t,d in a if t==socket.SCM_CREDENTIALS]',
    ' print("pid=%s %s"%(p[0] if p else "?",m.decode().replace("\\n"," ")),flush=True)',
  ].join('\n');
  const child = spawn('python3', ['-c', py, join(ctx.tmp, 'notify.sock')], { stdio: ['ignore', 'pipe', 'inherit'] });
  live.notify = child;
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l === 'bound') resolve(); else live.notified.push(l);
    });
    child.once('exit', () => reject(new Error('notify listener exited')));
  });
}

let releaseSignals: (() => void) | undefined;

test.before(async (ctx) => {
  ctx.tmp = mkdtempSync('/tmp/shoalins-');
  ctx.root = join(ctx.tmp, 'root');
  spawnSync('mkdir', ['-p', ctx.root]);
  ctx.before = listing(ctx.root);
  releaseSignals = downOnSignal(() => live.lab?.down());
});

test.after(async (ctx) => {
  releaseSignals?.();
  try {
    await live.lab?.down();
  } finally {
    if (live.notify?.pid && isAlive(live.notify.pid)) live.notify.kill('SIGKILL');
    rmSync(ctx.tmp, { recursive: true, force: true });
  }
});

test('install.sh stages Node 24, Shoal, the command, the unit, daemon.json and a 0700 data root', (ctx) => {
  script('install.sh', [], ctx.root);
  const r = ctx.root;
  const node = spawnSync(join(r, 'opt/shoal/node/bin/node'), ['--version'], { encoding: 'utf8' });
  assert.match(node.stdout, /^v24\./);
  assert.is(readlinkSync(join(r, 'usr/local/bin/shoal')), '/opt/shoal/bin/shoal');
  const version = spawnSync(join(r, 'opt/shoal/bin/shoal'), ['version'], { encoding: 'utf8', timeout: 30_000 });
  // The client half answers without a daemon (none runs here): it runs on the installed Node.
  assert.match(version.stdout, /Node version:\s+24\./, version.stderr);
  assert.is(statSync(join(r, 'var/lib/shoal')).mode & 0o777, 0o700);
  // The default daemon.json is one the daemon accepts.
  const cfg = parseDaemonJson(readFileSync(join(r, 'etc/shoal/daemon.json'), 'utf8'), 'daemon.json');
  assert.is(cfg.dataRoot, '/var/lib/shoal');
  const unit = stagedUnit(ctx);
  assert.is(unitValue(unit, 'Service', 'Type'), 'notify');
  assert.is(unitValue(unit, 'Service', 'Restart'), 'on-failure');
  assert.is(unitValue(unit, 'Service', 'Delegate'), 'yes');
  assert.ok(Number(unitValue(unit, 'Service', 'LimitNOFILE')) >= 65536);
  assert.ok(unit.get('Unit')!.get('After')!.join(' ').includes('network-online.target'));
  assert.ok(unit.get('Unit')!.get('Wants')!.join(' ').includes('network-online.target'));
  assert.is(unitValue(unit, 'Service', 'RuntimeDirectoryMode'), '0700');
});

test('the unit passes systemd-analyze verify', (ctx) => {
  const has = spawnSync('systemd-analyze', ['--version']).status === 0;
  assert.ok(has, 'systemd-analyze is not installed: scripts/setup.sh installs systemd');
  // Verified with ExecStart pointing into the staged root, so its binary exists.
  const copy = join(ctx.tmp, 'shoal.service');
  const text = readFileSync(join(ctx.root, 'etc/systemd/system/shoal.service'), 'utf8');
  writeFileSync(copy, text.replace(/^ExecStart=\/opt\/shoal/m, `ExecStart=${join(ctx.root, 'opt/shoal')}`));
  const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr.trim(), '', `systemd-analyze warns: ${r.stderr}`);
});

test('a second install keeps the operator\'s daemon.json; the daemon refuses unknown keys', (ctx) => {
  const cfg = join(ctx.root, 'etc/shoal/daemon.json');
  const edited = JSON.stringify({ 'data-root': '/var/lib/shoal', labels: ['rack=r1'] });
  writeFileSync(cfg, edited);
  script('install.sh', [], ctx.root);
  assert.is(readFileSync(cfg, 'utf8'), edited);
  const bad = join(ctx.tmp, 'bad.json');
  writeFileSync(bad, '{"debug": true}');
  const argv = execStart(ctx);
  argv[argv.indexOf('--config-file') + 1] = bad;
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 1);
  assert.match(r.stderr, /unknown key "debug"/);
});

test('the installed daemon, run by the unit\'s rules, says READY=1, forms a swarm and comes back after kill -9', async (ctx) => {
  await listenNotify(ctx);
  live.lab = await Lab.up({ hosts: 2, prefix: PREFIX, replace: true, daemons: { command: (d) => unitCommand(ctx, d) } });
  const lab = live.lab;
  live.h2Before = await hostState(lab, 'h2');
  // Type=notify: each daemon reported READY=1 in its own name (the unit's main PID).
  for (const h of ['h1', 'h2']) {
    const pid = lab.daemonPid(h)!;
    await waitFor(`READY=1 from ${h}`, () => live.notified.some((l) => l.startsWith(`pid=${pid} `) && /READY=1/.test(l)), { timeoutMs: 10_000 });
  }
  // The swarm, formed as the Vagrantfile forms it: scripts/vagrant-swarm.sh on each host
  // (init on node 1; the tokens read there, as its trigger does; join on the others).
  const joinFile = join(ctx.tmp, 'join.env');
  const swarmScript = (h: string, k: number, role: string) => lab.exec(h, [
    'env', `PATH=${join(ctx.root, 'opt/shoal/bin')}:${process.env.PATH}`, `SHOAL_HOST=${lab.dockerHost(h)}`, `SHOAL_JOIN_FILE=${joinFile}`,
    'bash', join(REPO_ROOT, 'scripts/vagrant-swarm.sh'), String(k), lab.address(h), role, lab.address('h1'),
  ], { timeoutMs: 120_000 });
  const init = await swarmScript('h1', 1, 'manager');
  assert.is(init.code, 0, init.stderr);
  const token = async (role: string) => (await api(lab, 'h1').swarm()).JoinTokens[role === 'worker' ? 'Worker' : 'Manager'];
  writeFileSync(joinFile, `WORKER_TOKEN=${await token('worker')}\nMANAGER_TOKEN=${await token('manager')}\n`, { mode: 0o600 });
  const join2 = await swarmScript('h2', 2, 'worker');
  assert.is(join2.code, 0, join2.stderr);
  // Provisioning again changes nothing.
  const again = await swarmScript('h2', 2, 'worker');
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /already in the swarm/);
  const ids = { h1: (await api(lab, 'h1').swarmInfo()).NodeID };
  await waitFor('both nodes ready', async () => {
    const nodes = await api(lab, 'h1').nodes().catch(() => []);
    return nodes.length === 2 && nodes.every((n) => n.Status.State === 'ready');
  }, { timeoutMs: 30_000 });

  // A crash: kill -9. Restart=on-failure restarts after that (and not after a clean stop).
  const old = lab.daemonPid('h1')!;
  process.kill(old, 'SIGKILL');
  await waitFor('h1 daemon gone', () => !isAlive(old));
  const rule = unitValue(stagedUnit(ctx), 'Service', 'Restart')!;
  assert.ok(restartsAfter(rule, { signal: 'SIGKILL' }), `Restart=${rule} restarts after SIGKILL`);
  assert.not.ok(restartsAfter(rule, { code: 0 }), `Restart=${rule} leaves a clean stop alone`);
  const pid = await lab.startDaemon('h1');
  await waitFor('READY=1 from the restarted h1', () => live.notified.some((l) => l.startsWith(`pid=${pid} `) && /READY=1/.test(l)), { timeoutMs: 10_000 });
  // Still the manager of the same swarm, with its worker.
  const info = await api(lab, 'h1').swarmInfo();
  assert.is(info.NodeID, ids.h1);
  await waitFor('both nodes ready after the restart', async () => {
    const nodes = await api(lab, 'h1').nodes().catch(() => []);
    return nodes.length === 2 && nodes.every((n) => n.Status.State === 'ready');
  }, { timeoutMs: 30_000 });
});

test('uninstall on a live worker leaves the swarm and takes its tasks, tables and state away', async (ctx) => {
  const lab = live.lab!;
  const docker = (h: string, ...args: string[]) => lab.exec(h, ['env', `DOCKER_HOST=${lab.dockerHost(h)}`, 'docker', ...args], { timeoutMs: 60_000 });
  // A global service published through the mesh: a task, its netns and the mesh's tables on h2.
  const create = await docker('h1', 'service', 'create', '-d', '--name', 'web', '--mode', 'global', '-p', '8080:80', lab.images.v1!.ref, 'sleep', '3600');
  assert.is(create.code, 0, create.stderr);
  let taskPid = 0;
  await waitFor('the web task running on h2', async () => {
    const ps = await docker('h2', 'ps', '-q');
    const cid = ps.stdout.trim().split('\n')[0];
    if (!cid) return false;
    taskPid = Number((await docker('h2', 'inspect', '-f', '{{.State.Pid}}', cid)).stdout.trim());
    return taskPid > 0;
  }, { timeoutMs: 90_000 }).catch(async (err) => {
    const ps = await docker('h1', 'service', 'ps', '--no-trunc', 'web');
    const log = readFileSync(lab.daemonLog('h2'), 'utf8').split('\n').slice(-25).join('\n');
    throw new Error(`${(err as Error).message}\n${ps.stdout}${ps.stderr}\nh2 log:\n${log}`);
  });
  // The listing sees what Shoal mounts on h2 (the task's netns), so it can see a leftover.
  const during = await hostState(lab, 'h2');
  assert.ok(during.mounts!.some((m) => m.startsWith('/run/netns/') && !live.h2Before!.mounts!.includes(m)), `task netns mount listed: ${during.mounts}`);
  const daemon = lab.daemonPid('h2')!;
  const r = await lab.exec('h2', [
    'env', `DESTDIR=${ctx.root}`, 'SHOAL_UNINSTALL_LIVE=1', `SHOAL_DAEMON_PID=${daemon}`, `SHOAL_HOST=${lab.dockerHost('h2')}`,
    'bash', join(REPO_ROOT, 'scripts/uninstall.sh'), '--purge',
  ], { timeoutMs: 180_000 });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /leaving the swarm/);
  assert.not.ok(isAlive(daemon), 'the daemon was stopped');
  await waitFor('the task process gone', () => !isAlive(taskPid), { timeoutMs: 10_000 });
  // h2 as it was before it joined: the same links, namespaces, tables, /run and processes.
  assert.equal(await hostState(lab, 'h2'), live.h2Before);
  // The manager saw it leave.
  await waitFor('h2 down on the manager', async () => {
    const nodes = await api(lab, 'h1').nodes().catch(() => []);
    return nodes.some((n) => n.Description.Hostname === 'h2' && n.Status.State === 'down');
  }, { timeoutMs: 30_000 });
});

test('uninstall.sh --purge leaves the root as it was found', async (ctx) => {
  await live.lab?.down();
  live.lab = undefined;
  script('uninstall.sh', ['--purge'], ctx.root);
  assert.ok(existsSync(ctx.root));
  assert.equal(listing(ctx.root), ctx.before);
});

test.run();
