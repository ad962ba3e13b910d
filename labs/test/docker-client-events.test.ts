// The stock docker client reads a Shoal swarm's events: `docker events --since …
// --until …` with filters and `--format` (issue 17, item 3), against one daemon on
// loopback.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { SHOAL_BIN, freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { docker, eventually, ok } from './docker-cli.ts';

let m: DaemonProcess;
const PLAIN = 'shoal-events-secret-plaintext-91c2';

interface Ev { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> }; scope: string; time: number; timeNano: number }

function dockerIn(d: DaemonProcess, input: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = execFile('docker', args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, DOCKER_HOST: d.host } }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut });
    });
    c.stdin!.end(input);
  });
}

/** `docker events --since S --until U --format '{{json .}}' ARGS`, parsed. */
async function events(since: string, until: string, ...args: string[]): Promise<Ev[]> {
  const out = await ok(m, 'events', '--since', since, '--until', until, '--format', '{{json .}}', ...args);
  return out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev);
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

test.before(async () => {
  const addr = `127.0.0.1:${await freePort()}`;
  m = await startDaemonProcess(['--listen-addr', addr], { hostname: 'ev' });
  await ok(m, 'swarm', 'init', '--advertise-addr', addr, '--listen-addr', addr);
});
test.after(async () => {
  await m?.cleanup();
});

test('docker events --since --until replays swarm events with docker\'s shapes', async () => {
  // The ring follows the manager's store from when the daemon notices it; wait for that.
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now() - 1;
  const s = await dockerIn(m, PLAIN, 'secret', 'create', '--label', 'team=a', 'ev_pass', '-');
  assert.is(s.code, 0, s.err);
  const secretId = s.out.trim();
  const svcId = (await ok(m, 'service', 'create', '--detach', '--no-resolve-image', '--name', 'evweb', '--replicas', '1', 'busybox:1', 'sleep', '3600')).trim();
  await ok(m, 'service', 'update', '--detach', '--no-resolve-image', '--image', 'busybox:2', '--replicas', '2', 'evweb');
  await ok(m, 'service', 'rm', 'evweb');
  await ok(m, 'secret', 'rm', 'ev_pass');
  const t1 = Date.now() + 1;
  let all: Ev[] = [];
  await eventually('the service removal shows in events', async () => {
    all = await events(secs(t0), secs(t1));
    return all.some((e) => e.Type === 'service' && e.Action === 'remove');
  });
  const svc = all.filter((e) => e.Actor.ID === svcId);
  assert.equal(svc[0].Action, 'create');
  assert.equal(svc[0].Actor.Attributes, { name: 'evweb' });
  assert.is(svc[0].scope, 'swarm');
  assert.ok(svc[0].time * 1000 >= t0 - 1000 && svc[0].time * 1000 <= t1, 'time within the window');
  const upd = svc.find((e) => e.Action === 'update' && e.Actor.Attributes['image.new']);
  assert.ok(upd, 'an update event names the image change');
  assert.is(upd!.Actor.Attributes['image.old'], 'busybox:1');
  assert.is(upd!.Actor.Attributes['image.new'], 'busybox:2');
  assert.is(upd!.Actor.Attributes['replicas.old'], '1');
  assert.is(upd!.Actor.Attributes['replicas.new'], '2');
  assert.is(svc[svc.length - 1].Action, 'remove');
  const sec = all.filter((e) => e.Actor.ID === secretId);
  assert.equal(sec.map((e) => e.Action), ['create', 'remove']);
  assert.equal(sec[0].Actor.Attributes, { name: 'ev_pass' });
  const raw = JSON.stringify(all);
  assert.not.ok(raw.includes(PLAIN) || raw.includes(Buffer.from(PLAIN).toString('base64')), 'no secret data in events');
});

test('docker events filters by type, event, name and label; the default format is docker\'s', async () => {
  const t0 = Date.now() - 1;
  await dockerIn(m, 'x', 'config', 'create', '--label', 'k=v', 'ev_cfg', '-');
  await ok(m, 'network', 'create', '-d', 'overlay', 'ev_net');
  await ok(m, 'network', 'rm', 'ev_net');
  await ok(m, 'config', 'rm', 'ev_cfg');
  const t1 = Date.now() + 1;
  const types = await events(secs(t0), secs(t1), '--filter', 'type=network');
  assert.equal(types.map((e) => `${e.Type} ${e.Action} ${e.Actor.Attributes.name}`), ['network create ev_net', 'network remove ev_net']);
  const removes = await events(secs(t0), secs(t1), '--filter', 'event=remove');
  assert.equal(removes.map((e) => e.Type), ['network', 'config']);
  const byName = await events(secs(t0), secs(t1), '--filter', 'config=ev_cfg');
  assert.equal(byName.map((e) => e.Action), ['create', 'remove']);
  const byLabel = await events(secs(t0), secs(t1), '--filter', 'label=k=v');
  assert.equal(byLabel.map((e) => `${e.Type} ${e.Action}`), ['config create', 'config remove']);
  const local = await events(secs(t0), secs(t1), '--filter', 'scope=local');
  assert.equal(local, []);
  const plain = await ok(m, 'events', '--since', secs(t0), '--until', secs(t1), '--filter', 'type=config');
  assert.match(plain, /^\d{4}-\d\d-\d\dT[\d:.]+Z config create \w+ \(name=ev_cfg\)$/m);
  const bad = await docker(m, 'events', '--since', secs(t0), '--until', secs(t1), '--filter', 'type=plugin');
  assert.is.not(bad.code, 0);
  assert.match(bad.err, /unsupported type filter 'plugin'/);
});

test('shoal events prints docker\'s lines, templates and json', async () => {
  const t0 = Date.now() - 1;
  await dockerIn(m, 'z', 'config', 'create', 'ev_shoal', '-');
  const t1 = Date.now() + 1;
  const shoal = (...args: string[]) => new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [SHOAL_BIN, 'events', '--host', m.host, '--since', secs(t0), '--until', secs(t1), ...args], { encoding: 'utf8', timeout: 30_000 }, (err, out, e) => (err ? reject(new Error(e)) : resolve(out)));
  });
  assert.match(await shoal(), /^\d{4}-\d\d-\d\dT[\d:]+\.\d{9}Z config create \w+ \(name=ev_shoal\)$/m);
  assert.is((await shoal('--filter', 'type=config', '--format', '{{.Action}} {{.Actor.Attributes.name}}')).trim(), 'create ev_shoal');
  assert.is(JSON.parse((await shoal('--format', 'json')).trim()).Type, 'config');
  assert.is((await shoal('--filter', 'type=node')).trim(), '');
});

test('a following client sees an event made after it connected; until ends the stream', async () => {
  const until = Date.now() + 4000;
  const p = events(secs(Date.now()), secs(until), '--filter', 'type=config');
  await new Promise((r) => setTimeout(r, 500));
  await dockerIn(m, 'y', 'config', 'create', 'ev_live', '-');
  const got = await p;
  assert.equal(got.map((e) => `${e.Action} ${e.Actor.Attributes.name}`), ['create ev_live']);
  assert.ok(Date.now() >= until - 50, 'the stream ended at until');
});

test.run();
