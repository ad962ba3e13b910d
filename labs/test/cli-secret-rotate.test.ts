// `shoal secret rotate` and `shoal config rotate` against one daemon (no task runs: the
// service is created with 0 replicas, so this checks the store side; the lab test
// `labs/secrets-lock.lab.test.ts` rolls real tasks).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { SHOAL_BIN, freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';

interface Run { code: number; out: string; err: string }

function shoal(d: DaemonProcess, input: string | undefined, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [SHOAL_BIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, SHOAL_HOST: d.host } }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut });
    });
    child.stdin!.end(input ?? '');
  });
}

async function ok(d: DaemonProcess, input: string | undefined, ...args: string[]): Promise<string> {
  const r = await shoal(d, input, ...args);
  assert.is(r.code, 0, `shoal ${args.join(' ')}: ${r.err}`);
  return r.out;
}

let d: DaemonProcess | undefined;

test.before(async () => {
  const addr = `127.0.0.1:${await freePort()}`;
  d = await startDaemonProcess(['--listen-addr', addr], { hostname: 'rot' });
  await ok(d, undefined, 'swarm', 'init', '--advertise-addr', addr, '--listen-addr', addr);
});
test.after(async () => {
  await d?.cleanup();
});

async function secretIdOf(service: string): Promise<string> {
  const s = JSON.parse(await ok(d!, undefined, 'service', 'inspect', service));
  return (Array.isArray(s) ? s[0] : s).Spec.TaskTemplate.ContainerSpec.Secrets[0].SecretID;
}

test('secret rotate: same name, a new version, the service points at it, ls shows one secret, inspect the versions', async () => {
  const v1 = (await ok(d!, 'pw-one', 'secret', 'create', 'db_pass', '-')).trim();
  await ok(d!, undefined, 'service', 'create', '--name', 'app', '--replicas', '0', '--secret', 'db_pass', 'busybox');
  assert.is(await secretIdOf('app'), v1);
  const r = await shoal(d!, 'pw-two', 'secret', 'rotate', 'db_pass', '-');
  assert.is(r.code, 0, r.err);
  const v2 = r.out.trim();
  assert.is.not(v2, v1);
  assert.match(r.err, /version 2; rolling app onto it/);
  assert.is(await secretIdOf('app'), v2);
  const ls = await ok(d!, undefined, 'secret', 'ls', '--format', 'json');
  assert.not.match(ls, /db_pass@v1/, 'a retired version is not listed');
  const pretty = await ok(d!, undefined, 'secret', 'inspect', '--pretty', 'db_pass');
  assert.match(pretty, new RegExp(`Versions:\\n - 1  ${v1} .*\\n - 2  ${v2} .*\\(current\\)`));
  assert.not.match(pretty + ls, /pw-one|pw-two|cHctb25l|cHctdHdv/, 'no data, clear or base64');
  // No task uses v1 (0 replicas) and the update has nothing to roll: v1 is collected.
  const deadline = Date.now() + 20_000;
  while ((await shoal(d!, undefined, 'secret', 'inspect', v1)).code === 0) {
    assert.ok(Date.now() < deadline, 'the retired version was not removed');
    await new Promise((res) => setTimeout(res, 250));
  }
});

test('rotate refuses bad data and unknown names, changing nothing', async () => {
  const before = await ok(d!, undefined, 'secret', 'inspect', 'db_pass');
  const missing = await shoal(d!, 'x', 'secret', 'rotate', 'nope', '-');
  assert.is.not(missing.code, 0);
  assert.match(missing.err, /not found|No such/);
  const empty = await shoal(d!, '', 'secret', 'rotate', 'db_pass', '-');
  assert.is.not(empty.code, 0);
  assert.is(await ok(d!, undefined, 'secret', 'inspect', 'db_pass'), before);
});

test('config rotate: a new version the service points at; inspect shows the new data', async () => {
  await ok(d!, 'a=1', 'config', 'create', 'app.conf', '-');
  await ok(d!, undefined, 'service', 'create', '--name', 'cfg', '--replicas', '0', '--config', 'app.conf', 'busybox');
  const id = (await ok(d!, 'a=2', 'config', 'rotate', 'app.conf', '-')).trim();
  const s = JSON.parse(await ok(d!, undefined, 'service', 'inspect', 'cfg'));
  assert.is((Array.isArray(s) ? s[0] : s).Spec.TaskTemplate.ContainerSpec.Configs[0].ConfigID, id);
  assert.match(await ok(d!, undefined, 'config', 'inspect', '--pretty', 'app.conf'), /a=2/);
});

test.run();
