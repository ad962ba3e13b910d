// The control API served remotely, as dockerd's `-H tcp://ADDR:2376 --tlsverify` (root):
// h1's daemon serves its API on tcp://192.168.100.11:2376 with client certificates
// required; the stock docker CLI on h2 (another machine) drives it with a certificate the
// CA signed, and is refused without one, with one of another CA, and over plain HTTP. A
// TCP host without TLS is refused at start unless --insecure-tcp-host, which serves it
// and says so loudly. Certificates are made with @peculiar/x509 (labs/lib/tls-certs.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, downOnSignal } from './lib/lab.ts';
import { defaultDaemonCommand, SHOAL_BIN } from './lib/daemon.ts';
import { LabNames } from './lib/names.ts';
import { isAlive, stopPid } from './lib/procs.ts';
import { waitFor } from './lib/swarm-lab.ts';
import { writeTlsFiles, type TlsFiles } from './lib/tls-certs.ts';

const PREFIX = 'shoalra';
const API_PORT = 2376;

interface Ctx {
  lab: Lab;
  tmp: string;
  tls: TlsFiles;
  /** tcp://h1:2376 */
  remote: string;
}

const test = suite<Ctx>('remote API over TLS');
let releaseSignals: (() => void) | undefined;

test.before(async (ctx) => {
  ctx.tmp = mkdtempSync('/tmp/shoalra-');
  const h1 = new LabNames(PREFIX).hostAddress('h1');
  ctx.tls = await writeTlsFiles(join(ctx.tmp, 'tls'), [h1]);
  ctx.remote = `tcp://${h1}:${API_PORT}`;
  const tlsArgs = ['--host', ctx.remote, '--tlsverify', '--tlscacert', ctx.tls.ca, '--tlscert', ctx.tls.serverCert, '--tlskey', ctx.tls.serverKey];
  ctx.lab = await Lab.up({
    hosts: 2, prefix: PREFIX, replace: true,
    daemons: { command: (d) => defaultDaemonCommand(d, d.host === 'h1' ? tlsArgs : []) },
  });
  releaseSignals = downOnSignal(() => ctx.lab.down());
});

test.after(async (ctx) => {
  releaseSignals?.();
  try {
    await ctx.lab?.down();
  } finally {
    if (ctx.tmp) rmSync(ctx.tmp, { recursive: true, force: true });
  }
});

/** The stock docker CLI run on h2 against h1's TCP host, with `auth` flags before the command. */
function dockerFromH2(ctx: Ctx, auth: string[], ...args: string[]) {
  return ctx.lab.exec('h2', ['env', '-u', 'DOCKER_HOST', '-u', 'DOCKER_TLS_VERIFY', '-u', 'DOCKER_CERT_PATH', 'docker', ...auth, '-H', ctx.remote, ...args], { timeoutMs: 60_000 });
}

const withCert = (t: TlsFiles) => ['--tlsverify', '--tlscacert', t.ca, '--tlscert', t.clientCert, '--tlskey', t.clientKey];

test('with a client certificate the CA signed, the docker CLI on another host drives the swarm', async (ctx) => {
  const auth = withCert(ctx.tls);
  const h1 = ctx.lab.address('h1');
  const init = await dockerFromH2(ctx, auth, 'swarm', 'init', '--advertise-addr', h1);
  assert.is(init.code, 0, `swarm init: ${init.stderr}`);
  const image = ctx.lab.images.v1!.ref;
  const create = await dockerFromH2(ctx, auth, 'service', 'create', '--detach', '--name', 'web', '--replicas', '1', image, 'sleep', '3600');
  assert.is(create.code, 0, `service create: ${create.stderr}`);
  const ls = await dockerFromH2(ctx, auth, 'service', 'ls', '--format', '{{.Name}} {{.Mode}}');
  assert.is(ls.code, 0, `service ls: ${ls.stderr}`);
  assert.match(ls.stdout, /^web replicated$/m);
  // The task runs: the remote API is the whole API, not a read-only view.
  await waitFor('web task running (seen through the TLS host)', async () => {
    const ps = await dockerFromH2(ctx, auth, 'service', 'ps', 'web', '--format', '{{.CurrentState}}');
    return ps.code === 0 && /^Running/m.test(ps.stdout);
  }, { timeoutMs: 60_000 });
  // A hijacked stream (docker exec's upgrade) works over TLS too, with docker half-closing it.
  const ps = await dockerFromH2(ctx, auth, 'ps', '-q', '--filter', 'name=web');
  const cid = ps.stdout.trim().split('\n')[0];
  assert.ok(cid, `docker ps: ${ps.stdout} ${ps.stderr}`);
  const exec = await dockerFromH2(ctx, auth, 'exec', cid!, 'echo', 'hello-over-tls');
  assert.is(exec.code, 0, exec.stderr);
  assert.match(exec.stdout, /hello-over-tls/);
});

test('the shoal CLI on another host speaks TLS with its client certificate too', async (ctx) => {
  const t = ctx.tls;
  const shoal = (...args: string[]) => ctx.lab.exec('h2', ['env', '-u', 'SHOAL_HOST', process.execPath, SHOAL_BIN, ...args, '-H', ctx.remote], { timeoutMs: 60_000 });
  const ls = await shoal('service', 'ls', '--tlsverify', '--tlscacert', t.ca, '--tlscert', t.clientCert, '--tlskey', t.clientKey);
  assert.is(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /\bweb\b/);
  // Docker's convention: ca.pem, cert.pem and key.pem in the cert dir ($SHOAL_CERT_PATH).
  const byDir = await ctx.lab.exec('h2', ['env', '-u', 'SHOAL_HOST', `SHOAL_CERT_PATH=${join(ctx.tmp, 'tls')}`, process.execPath, SHOAL_BIN, 'service', 'ls', '--tlsverify', '-H', ctx.remote]);
  assert.is(byDir.code, 0, byDir.stderr);
  const plain = await shoal('service', 'ls');
  assert.is.not(plain.code, 0);
  assert.not.match(plain.stdout, /\bweb\b/);
});

test('without a client certificate, with one of another CA, or over plain HTTP: refused', async (ctx) => {
  const t = ctx.tls;
  const noCert = await dockerFromH2(ctx, ['--tls', '--tlscacert', t.ca], 'service', 'ls');
  assert.is.not(noCert.code, 0, 'no client certificate must be refused');
  assert.not.match(noCert.stdout, /web/);
  const stranger = await dockerFromH2(ctx, ['--tlsverify', '--tlscacert', t.ca, '--tlscert', t.strangerCert, '--tlskey', t.strangerKey], 'service', 'ls');
  assert.is.not(stranger.code, 0, 'a certificate of another CA must be refused');
  assert.not.match(stranger.stdout, /web/);
  const plain = await dockerFromH2(ctx, [], 'service', 'ls');
  assert.is.not(plain.code, 0, 'plain HTTP must be refused');
  assert.not.match(plain.stdout, /web/);
  // The daemon logged the refused handshakes (and kept serving the good client).
  assert.match(readFileSync(ctx.lab.daemonLog('h1'), 'utf8'), /tls client refused/);
  const again = await dockerFromH2(ctx, withCert(t), 'service', 'ls', '-q');
  assert.is(again.code, 0, again.stderr);
});

/** Runs a second `shoal daemon` inside h2 (own data root, socket and swarm port); resolves with its PID. */
function spawnInH2(ctx: Ctx, name: string, extra: string[]) {
  const dir = join(ctx.tmp, name);
  const argv = [
    ...ctx.lab.enterCommand('h2'), process.execPath, SHOAL_BIN, 'daemon', '--data-root', join(dir, 'data'),
    '--host', `unix://${join(dir, 'shoal.sock')}`, '--listen-addr', `${ctx.lab.address('h2')}:2477`, '--hostname', name, ...extra,
  ];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { pid: child.pid!, output: () => out, exited };
}

test('a tcp host without TLS is refused at start; --insecure-tcp-host serves it, loudly', async (ctx) => {
  const h2 = ctx.lab.address('h2');
  const refused = spawnInH2(ctx, 'plain', ['--host', `tcp://${h2}:${API_PORT}`]);
  assert.is(await refused.exited, 1);
  assert.match(refused.output(), /needs --tlsverify .*--insecure-tcp-host/);

  const insecure = spawnInH2(ctx, 'insecure', ['--host', `tcp://${h2}:${API_PORT}`, '--insecure-tcp-host']);
  try {
    await waitFor('insecure daemon answers on plain tcp', async () => {
      const r = await ctx.lab.exec('h1', ['env', '-u', 'DOCKER_HOST', 'docker', '-H', `tcp://${h2}:${API_PORT}`, 'version', '--format', '{{.Server.APIVersion}}']);
      return r.code === 0 && r.stdout.trim() === '1.41';
    }, { timeoutMs: 30_000 });
    assert.match(insecure.output(), /WITHOUT TLS OR AUTHENTICATION/);
  } finally {
    await stopPid(insecure.pid, 5000);
  }
  assert.not.ok(isAlive(insecure.pid));
});

test.run();
