// `swarm ca` as a user runs it, with the shoal CLI and with the stock docker CLI, against
// two daemons on loopback (a manager and a worker): print the root; rotate (a generated
// root, then a given one) and follow docker's progress lines to the end; the join tokens
// change with the root; flags that need --rotate are refused as docker refuses them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Swarm } from '../../src/api/types/swarm.ts';
import { createRootCA, tokenMatchesCA } from '../../src/manager/ca/index.ts';
import { startCfsslTestServer } from '../../src/manager/ca/cfssl-test-server.ts';
import { SHOAL_BIN, freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { docker, ok as dockerOk } from './docker-cli.ts';

interface Run { code: number; out: string; err: string }

function shoal(d: DaemonProcess, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SHOAL_BIN, ...args, '-H', d.host], { encoding: 'utf8', timeout: 90_000 }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut });
    });
  });
}

async function ok(d: DaemonProcess, ...args: string[]): Promise<string> {
  const r = await shoal(d, ...args);
  assert.is(r.code, 0, `shoal ${args.join(' ')} failed: ${r.err}`);
  return r.out;
}

let m: DaemonProcess, w: DaemonProcess;
let dir = '';
let mAddr = '';
const swarm = () => m.client.get<Swarm>('/swarm');

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-cli-ca-'));
  mAddr = `127.0.0.1:${await freePort()}`;
  const wAddr = `127.0.0.1:${await freePort()}`;
  m = await startDaemonProcess(['--listen-addr', mAddr], { hostname: 'cam' });
  w = await startDaemonProcess(['--listen-addr', wAddr], { hostname: 'caw' });
  await ok(m, 'swarm', 'init', '--advertise-addr', mAddr);
  const token = (await ok(m, 'swarm', 'join-token', '-q', 'worker')).trim();
  await ok(w, 'swarm', 'join', '--token', token, '--advertise-addr', wAddr, mAddr);
});

test.after(async () => {
  await Promise.all([m?.cleanup(), w?.cleanup()]);
  await rm(dir, { recursive: true, force: true });
});

test('swarm ca prints the root the swarm trusts; its flags need --rotate', async () => {
  const root = (await swarm()).TLSInfo.TrustRoot;
  assert.match(root, /^-----BEGIN CERTIFICATE-----/);
  assert.is((await ok(m, 'swarm', 'ca')).trim(), root.trim());
  assert.is((await dockerOk(m, 'swarm', 'ca')).trim(), root.trim());
  const r = await shoal(m, 'swarm', 'ca', '--cert-expiry', '48h');
  assert.is(r.code, 1);
  assert.match(r.err, /`--cert-expiry` flag requires the `--rotate` flag/);
});

test('shoal swarm ca --rotate shows progress to the end and prints the new root; tokens follow it', async () => {
  const before = await swarm();
  const out = await ok(m, 'swarm', 'ca', '--rotate', '--cert-expiry', '48h');
  assert.match(out, /rotated TLS certificates: 2\/2 nodes/);
  assert.match(out, /rotated CA certificates: 2\/2 nodes/);
  const after = await swarm();
  assert.is.not(after.TLSInfo.TrustRoot, before.TLSInfo.TrustRoot);
  assert.ok(out.trim().endsWith(after.TLSInfo.TrustRoot.trim()), 'ends with the new root');
  assert.is(after.RootRotationInProgress, false);
  assert.is(after.Spec.CAConfig.NodeCertExpiry, 48 * 3600e9);
  assert.ok(tokenMatchesCA(after.JoinTokens.Worker, after.TLSInfo.TrustRoot));
});

test('swarm ca --rotate with --ca-cert and --ca-key rotates to that root; --ca-cert alone is refused', async () => {
  const given = await createRootCA({ now: Date.now() });
  await writeFile(join(dir, 'ca.pem'), given.certPem);
  await writeFile(join(dir, 'ca-key.pem'), given.keyPem);
  const alone = await shoal(m, 'swarm', 'ca', '--rotate', '--ca-cert', join(dir, 'ca.pem'));
  assert.is(alone.code, 1);
  assert.match(alone.err, /--ca-cert flag requires that a --ca-key flag/);
  await ok(m, 'swarm', 'ca', '--rotate', '-q', '--ca-cert', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca-key.pem'));
  assert.is((await swarm()).TLSInfo.TrustRoot, given.certPem);
});

test('the stock docker CLI rotates the root with swarm ca --rotate', async () => {
  const before = await swarm();
  const r = await docker(m, 'swarm', 'ca', '--rotate');
  assert.is(r.code, 0, r.err);
  const after = await swarm();
  assert.is.not(after.TLSInfo.TrustRoot, before.TLSInfo.TrustRoot);
  assert.is(after.RootRotationInProgress, false);
  assert.ok(r.out.includes(after.TLSInfo.TrustRoot.trim()), 'docker prints the new root');
  const d = await docker(m, 'swarm', 'ca', '--rotate', '--detach');
  assert.is(d.code, 0, d.err);
});

test('swarm ca --rotate to an external cfssl CA: every node renews through it, and so does a node that joins', async () => {
  const ext = await startCfsslTestServer();
  try {
    await writeFile(join(dir, 'ext.pem'), ext.root.certPem);
    const bad = await shoal(m, 'swarm', 'ca', '--rotate', '--external-ca', `protocol=cfssl,url=${ext.url}`);
    assert.is(bad.code, 1);
    assert.match(bad.err, /rotating to an external CA requires the `--ca-cert` flag/);
    const out = await ok(m, 'swarm', 'ca', '--rotate', '--ca-cert', join(dir, 'ext.pem'), '--external-ca', `protocol=cfssl,url=${ext.url}`);
    assert.match(out, /rotated CA certificates: 2\/2 nodes/);
    const after = await swarm();
    assert.is(after.TLSInfo.TrustRoot, ext.root.certPem);
    assert.equal(after.Spec.CAConfig.ExternalCAs?.map((c) => [c.Protocol, c.URL]), [['cfssl', ext.url]]);
    assert.ok(ext.signed >= 2, `the external CA signed both nodes' certificates (${ext.signed})`);
    // A node joining now gets its certificate from the external CA too.
    const jAddr = `127.0.0.1:${await freePort()}`;
    const j = await startDaemonProcess(['--listen-addr', jAddr], { hostname: 'caj' });
    try {
      const signed = ext.signed;
      await ok(j, 'swarm', 'join', '--token', after.JoinTokens.Worker, '--advertise-addr', jAddr, mAddr);
      assert.is(ext.signed, signed + 1);
      await ok(j, 'swarm', 'leave');
    } finally {
      await j.cleanup();
    }
    // Shoal holds no key for this root: a rotation away from it cannot be cross-signed.
    const refused = await shoal(m, 'swarm', 'ca', '--rotate', '-d');
    assert.is(refused.code, 1);
    assert.match(refused.err, /cannot cross-sign a new root without its key/);
  } finally {
    await ext.close();
  }
});

test.run();
