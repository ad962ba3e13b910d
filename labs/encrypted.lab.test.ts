// Encrypted overlay networks on a 3-host lab (root, real runc containers, real
// wireguard-go: this kernel has no WireGuard module and no IPsec ESP; issue 22, item 5).
// A global service sits on an encrypted network (`shoal network create --opt encrypted`)
// and on a plain one. While the lab switch captures every frame on the underlay, a task on
// h1 sends known markers to the task on h2: the marker sent over the encrypted network
// never crosses in plaintext (only WireGuard datagrams do), the one sent over the plain
// network does (so the capture can tell). The swarm key rotates every few seconds
// (SHOAL_NETWORK_KEY_ROTATE_MS) under an open TCP connection that keeps echoing data,
// and a killed wireguard-go is restarted under it; at the end h3 leaves and is removed:
// every peer list drops its key, the swarm key rotates, and h3's own device and key go.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from '../src/api/types/node.ts';
import type { ServiceSpec } from '../src/api/types/service.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { lineReader } from './lib/line-reader.ts';
import { client, formSwarm, IMAGE, waitFor } from './lib/swarm-services.ts';
import { BUSYBOX, createService, eventually, httpGet, inTask, intoTask, placedTasks, type PlacedTask } from './lib/swarm-net.ts';

const ROTATE_MS = 6000;

/** Counts, for `seconds`, the frames crossing the lab switch: WireGuard and VXLAN datagrams, and frames holding each marker. */
const CAPTURE = String.raw`
import socket, sys, time, json
markers = [m.encode() for m in sys.argv[2:]]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))
s.settimeout(0.2)
end = time.time() + float(sys.argv[1])
out = {'frames': 0, 'wireguard': 0, 'vxlan': 0, 'hits': {m.decode(): 0 for m in markers}}
print('ready', flush=True)
while time.time() < end:
    try:
        f = s.recv(65535)
    except socket.timeout:
        continue
    out['frames'] += 1
    if len(f) > 42 and f[12:14] == b'\x08\x00' and f[23] == 17:
        ihl = (f[14] & 15) * 4
        sport = int.from_bytes(f[14 + ihl:16 + ihl], 'big'); dport = int.from_bytes(f[16 + ihl:18 + ihl], 'big')
        if 51820 in (sport, dport): out['wireguard'] += 1
        if 4789 in (sport, dport): out['vxlan'] += 1
    for m in markers:
        if m in f: out['hits'][m.decode()] += 1
print(json.dumps(out), flush=True)
`;

/** A TCP client that sends a numbered line every 50 ms and checks each echo comes back in order; one JSON status line per second. */
const STREAM = String.raw`
const net = require('node:net');
const [addr, port] = process.argv.slice(1);
let sent = 0, echoed = 0, buf = '', bad = '';
const s = net.connect({ host: addr, port: Number(port) });
s.setEncoding('utf8');
s.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\n')) >= 0) { const l = buf.slice(0, i); buf = buf.slice(i + 1); if (l !== String(echoed + 1)) bad ||= 'got ' + l + ' after ' + echoed; echoed++; } });
s.on('error', (e) => { console.log(JSON.stringify({ error: e.code || String(e), sent, echoed })); process.exit(0); });
s.on('close', () => { console.log(JSON.stringify({ error: 'closed', sent, echoed })); process.exit(0); });
let stop = false;
process.stdin.on('data', () => { stop = true; });
s.on('connect', () => {
  setInterval(() => { if (!stop) s.write(String(++sent) + '\n'); }, 50);
  setInterval(() => console.log(JSON.stringify({ sent, echoed, stop, bad })), 1000);
});
`;

const webEcho = (name: string, nets: string[]): ServiceSpec => ({
  Name: name, Labels: {}, Mode: { Global: {} },
  TaskTemplate: {
    // httpd goes to the background; the echo server (port 7) stays in front.
    ContainerSpec: { Image: IMAGE, Command: ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && httpd -p 80 -h /www && exec nc -ll -p 7 -e cat'], StopGracePeriod: 1e9 },
    Networks: nets.map((Target) => ({ Target })),
  },
} as ServiceSpec);

interface Enc { Method: string; Nodes: { Name: string; Path: string }[]; Local?: { Interface: string; Path: string; Address: string; KeyGeneration: number; Peers: number } }
interface Inspected { Id: string; Options: Record<string, string>; ShoalEncryption?: Enc }

async function inspect(lab: Lab, host: string, name: string): Promise<Inspected> {
  const r = await lab.cli(host, ['network', 'inspect', name], { timeoutMs: 30_000 });
  assert.is(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Inspected[])[0];
}

/** `wg show IFACE KEY` lines inside a host, as [peer, value] pairs. */
async function wgShow(lab: Lab, host: string, iface: string, what: 'peers' | 'preshared-keys' | 'endpoints'): Promise<string[][]> {
  const r = await lab.exec(host, ['timeout', '5', 'wg', 'show', iface, what]);
  assert.is(r.code, 0, `wg show ${iface} ${what} on ${host}: ${r.stderr}`);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('\t'));
}

/** The WireGuard device a host made (inspect answers on managers only). */
async function deviceOn(lab: Lab, host: string): Promise<string | undefined> {
  return (await lab.exec(host, ['ip', '-o', 'link', 'show'])).stdout.match(/shlwg[0-9a-f]{8}/)?.[0];
}


/** Sends `GET /<marker>` from `from` to `ip` three times; true when an answer came back. */
async function sendMarker(lab: Lab, from: PlacedTask, ip: string, marker: string): Promise<boolean> {
  let ok = false;
  for (let i = 0; i < 3; i++) {
    const r = await inTask(lab, from, ['sh', '-c', `printf 'GET /${marker} HTTP/1.0\\r\\n\\r\\n' | ${BUSYBOX} nc -w 2 ${ip} 80`]);
    if (/HTTP\/1\.[01] /.test(r.stdout)) ok = true;
  }
  return ok;
}

/**
 * Where a stalled rotation stopped (a CI flake: "timed out waiting for two key rotations"):
 * the leader's rotations (manager log) and each node's applied generations (agent log),
 * with times, so the next failure names the controller or the delivery.
 */
async function rotationTrail(lab: Lab): Promise<string> {
  const out: string[] = [];
  for (const h of lab.hosts) {
    let log = '';
    try {
      log = readFileSync(lab.daemonLog(h), 'utf8');
    } catch { /* none */ }
    const lines = log.split('\n').filter((l) => /network key rotated|WireGuard key applied|raft role changed|leader controllers/.test(l));
    const gen = (await inspect(lab, h, 'sec').catch(() => undefined))?.ShoalEncryption?.Local?.KeyGeneration;
    out.push(`${h} (now at generation ${gen ?? '?'}, at ${new Date().toISOString()}):\n    ${lines.slice(-8).map((l) => l.slice(0, 200)).join('\n    ') || '(no rotation lines)'}`);
  }
  return `\n  ${out.join('\n  ')}`;
}

test('encrypted overlay: no plaintext on the underlay, rotation under an open connection, removed node drops out', async () => {
  const before = process.env.SHOAL_NETWORK_KEY_ROTATE_MS;
  process.env.SHOAL_NETWORK_KEY_ROTATE_MS = String(ROTATE_MS);
  try {
    await withLab({ hosts: 3, prefix: 'shoalenc' }, async (lab) => {
      const hostOf = await formSwarm(lab);
      const created = await lab.cli('h1', ['network', 'create', '--driver', 'overlay', '--opt', 'encrypted', 'sec'], { timeoutMs: 30_000 });
      assert.is(created.code, 0, `network create --opt encrypted: ${created.stderr}`);
      const plainR = await lab.cli('h1', ['network', 'create', '--driver', 'overlay', 'plain'], { timeoutMs: 30_000 });
      assert.is(plainR.code, 0, plainR.stderr);
      const secId = created.stdout.trim();
      const plainId = plainR.stdout.trim();
      await createService(lab, webEcho('web', [secId, plainId]));
      const tasks = await placedTasks(lab, 'web', hostOf, 3, secId);
      const on = Object.fromEntries(tasks.map((t) => [t.host, t])) as Record<string, PlacedTask>;
      const plainIp = (t: PlacedTask) => t.task.NetworksAttachments!.find((a) => a.Network.ID === plainId)!.Addresses![0].split('/')[0];

      // Inspect: the option, and wireguard-go on every node (no kernel module here).
      const sec = await inspect(lab, 'h1', 'sec');
      assert.ok(Object.hasOwn(sec.Options, 'encrypted'), `Options: ${JSON.stringify(sec.Options)}`);
      assert.equal(sec.ShoalEncryption?.Nodes.map((n) => n.Path), ['wireguard-go', 'wireguard-go', 'wireguard-go'], JSON.stringify(sec.ShoalEncryption));
      const local = await waitFor('h1 has its tunnel', async () => (await inspect(lab, 'h1', 'sec')).ShoalEncryption?.Local, 30_000);
      assert.is(local.Path, 'wireguard-go');
      assert.is((await inspect(lab, 'h1', 'plain')).ShoalEncryption, undefined, 'a plain network has no encryption field');

      // Traffic works across hosts on both networks, at the encrypted network's smaller MTU.
      await eventually('web@h1 reaches web@h2 over the encrypted network', async () => (await httpGet(lab, on.h1, on.h2.ip)) === on.h2.hostname, 30_000);
      assert.is(await httpGet(lab, on.h2, on.h3.ip), on.h3.hostname, 'h2 → h3 encrypted');
      assert.is(await httpGet(lab, on.h1, plainIp(on.h2)), on.h2.hostname, 'h1 → h2 plain');
      const mtu = await inTask(lab, on.h1, ['ip', '-o', 'link', 'show', 'eth0']);
      assert.match(mtu.stdout, / mtu 1370 /, `eth0 on the encrypted network: ${mtu.stdout}`);
      const big = await inTask(lab, on.h1, [BUSYBOX, 'ping', '-c', '1', '-W', '2', '-s', String(1370 - 28), on.h3.ip]);
      assert.is(big.code, 0, `full-MTU ping over WireGuard: ${big.stdout}${big.stderr}`);

      // The underlay capture: the encrypted marker never in plaintext, the plain one seen.
      const secret = `SHOALSECRET${randomBytes(6).toString('hex')}`;
      const clear = `SHOALCLEAR${randomBytes(6).toString('hex')}`;
      const cap = lineReader(['nsenter', `--net=/run/netns/${lab.names.switchNetns}`, 'python3', '-c', CAPTURE, '8', secret, clear]);
      try {
        assert.equal(await cap.next(10_000), { line: 'ready' });
        assert.ok(await sendMarker(lab, on.h1, on.h2.ip, secret), 'the encrypted request was answered');
        assert.ok(await sendMarker(lab, on.h1, plainIp(on.h2), clear), 'the plain request was answered');
        const seen = await cap.next(20_000) as { frames: number; wireguard: number; vxlan: number; hits: Record<string, number> };
        console.log(`  underlay capture: ${JSON.stringify(seen)}`);
        assert.is(seen.hits[secret], 0, 'the encrypted network\'s payload never crossed in plaintext');
        assert.ok(seen.hits[clear] > 0, 'the plain network\'s payload did (the capture sees payloads)');
        assert.ok(seen.wireguard > 0, 'WireGuard datagrams crossed');
      } finally {
        cap.kill();
      }

      // Rotation under an open connection (and a killed wireguard-go restarted under it).
      const stream = lineReader([...lab.enterCommand('h1'), ...intoTask(on.h1), process.execPath, '-e', STREAM, on.h2.ip, '7']);
      try {
        const first = await stream.next(10_000);
        assert.is(first.error, undefined, JSON.stringify(first));
        const psk0 = await wgShow(lab, 'h1', local.Interface, 'preshared-keys');
        const gen0 = (await inspect(lab, 'h1', 'sec')).ShoalEncryption!.Local!.KeyGeneration;
        await waitFor('two key rotations', async () => ((await inspect(lab, 'h1', 'sec')).ShoalEncryption?.Local?.KeyGeneration ?? 0) >= gen0 + 2, 6 * ROTATE_MS)
          .catch(async (err: Error) => { throw new Error(`${err.message} (from generation ${gen0}): ${await rotationTrail(lab)}`); });
        const psk1 = await wgShow(lab, 'h1', local.Interface, 'preshared-keys');
        assert.is.not(psk1[0][1], psk0[0][1], 'the preshared key changed on the device');
        // Every node holds the same key.
        const h2Iface = (await deviceOn(lab, 'h2'))!;
        assert.ok(h2Iface, 'h2 has its device');
        await eventually('h2 holds the key h1 holds', async () => {
          const [a, b] = [await wgShow(lab, 'h1', local.Interface, 'preshared-keys'), await wgShow(lab, 'h2', h2Iface, 'preshared-keys')];
          return a[0][1] !== '(none)' && [...a, ...b].every(([, k]) => k === a[0][1]);
        }, 10_000);
        // wireguard-go on h2 dies; its supervisor brings it back with the current key.
        const pidFile = join(lab.names.hostDir('h2'), 'data', 'swarm', 'wireguard', 'wireguard-go.pid');
        const pid = Number(readFileSync(pidFile, 'utf8'));
        assert.ok(pid > 1, 'wireguard-go PID recorded');
        process.kill(pid, 'SIGKILL');
        await waitFor('wireguard-go restarted on h2', async () => { const p = Number(readFileSync(pidFile, 'utf8')); return p !== pid && existsSync(`/proc/${p}`); }, 15_000);
        let last: Record<string, unknown> = {};
        await waitFor('the stream carries on after the restart', async () => { last = await stream.next(5000); return (last.echoed as number) > 0 && last.echoed === last.sent && last.error === undefined; }, 30_000);
        stream.write('stop\n');
        for (;;) {
          last = await stream.next(5000);
          if (last.error !== undefined || (last.stop && last.echoed === last.sent)) break;
        }
        console.log(`  stream across rotations and a restart: ${JSON.stringify(last)}`);
        assert.is(last.error, undefined, 'the connection never broke');
        assert.is(last.bad, '', 'every echo in order');
        assert.is(last.echoed, last.sent, 'nothing lost');
      } finally {
        stream.kill();
      }

      // h3 leaves and is removed: no peer lists its key, the key rotates, its own device and key go.
      const nodes = await client(lab, 'h1').get<Node[]>('/nodes');
      const h3 = nodes.find((n) => n.Description.Hostname === 'h3')!;
      const h3Key = h3.Description.ShoalWireGuard!.PublicKey;
      const h3Iface = await deviceOn(lab, 'h3');
      assert.ok(h3Iface, 'h3 has its device');
      assert.ok((await wgShow(lab, 'h1', local.Interface, 'peers')).some(([k]) => k === h3Key), 'h1 lists h3 before');
      const pskBefore = (await wgShow(lab, 'h1', local.Interface, 'preshared-keys'))[0][1];
      await client(lab, 'h3').post('/swarm/leave', undefined, { query: { force: true }, timeoutMs: 60_000 });
      await waitFor('h3 down', async () => (await client(lab, 'h1').get<Node[]>(`/nodes`)).find((n) => n.ID === h3.ID)?.Status.State === 'down', 60_000);
      await client(lab, 'h1').delete(`/nodes/${h3.ID}`, { query: { force: true } });
      for (const h of ['h1', 'h2']) {
        const iface = (await deviceOn(lab, h))!;
        await waitFor(`${h} drops h3's key`, async () => !(await wgShow(lab, h, iface, 'peers')).some(([k]) => k === h3Key), 20_000);
      }
      await waitFor('the key rotated after the removal', async () => (await wgShow(lab, 'h1', local.Interface, 'preshared-keys'))[0]?.[1] !== pskBefore, 20_000);
      assert.is((await lab.exec('h3', ['ip', 'link', 'show', h3Iface!])).code === 0, false, 'h3\'s device is gone');
      assert.not.ok(existsSync(`/var/run/wireguard/${h3Iface}.sock`), 'h3\'s control socket is gone');
      assert.not.ok(existsSync(join(lab.names.hostDir('h3'), 'data', 'swarm', 'wireguard', 'private.key')), 'h3\'s private key is gone');
      assert.not.ok(existsSync(join(lab.names.hostDir('h3'), 'data', 'swarm', 'wireguard', 'wireguard-go.pid')), 'h3\'s wireguard-go is gone');
      // h1 and h2 still talk over the encrypted network with the new key.
      assert.is(await httpGet(lab, on.h1, on.h2.ip), on.h2.hostname, 'h1 → h2 after the removal');
    });
  } finally {
    if (before === undefined) delete process.env.SHOAL_NETWORK_KEY_ROTATE_MS;
    else process.env.SHOAL_NETWORK_KEY_ROTATE_MS = before;
  }
});

test.run();
