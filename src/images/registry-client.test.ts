// The registry client against hostile registries on 127.0.0.1: oversize answers,
// stalls, lying sizes and digests, credentials sent where they must not go.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Readable } from 'node:stream';
import { RegistryClient } from './registry-client.ts';
import { parseReference } from './reference.ts';
import { startTestingRegistry, type TestingRegistry } from './testing-registry.ts';
import { sha256Of } from './testing-tar.ts';

async function drain(s: Readable): Promise<number> {
  let n = 0;
  for await (const c of s) n += (c as Buffer).length;
  return n;
}

function withRegs(fn: (a: TestingRegistry, b: TestingRegistry) => Promise<void>): () => Promise<void> {
  return async () => {
    const a = await startTestingRegistry();
    const b = await startTestingRegistry();
    try { await fn(a, b); } finally { await a.close(); await b.close(); }
  };
}

const errOf = (p: Promise<unknown>) => p.then(() => undefined, (e: Error) => e);
const blobData = Buffer.alloc(4096, 7);
const blobDigest = sha256Of(blobData);

test('a manifest over 4 MiB is refused while it streams', withRegs(async (reg) => {
  reg.handle = (req, res) => {
    if (!req.url!.includes('/manifests/')) return false;
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => { while (sent < 64 << 20) { sent += chunk.length; if (!res.write(chunk)) { res.once('drain', pump); return; } } res.end(); };
    res.on('error', () => {});
    pump();
    return true;
  };
  const c = new RegistryClient({ insecure: [reg.host] });
  const e = await errOf(c.manifest(parseReference(`${reg.host}/a/b:v1`), 'v1'));
  assert.match(e!.message, /manifest .* more than 4194304 bytes/);
}));

test('a blob longer than its descriptor stops at once; a wrong digest fails at its end', withRegs(async (reg) => {
  reg.blobs.set(blobDigest, blobData);
  const c = new RegistryClient({ insecure: [reg.host] });
  const ref = parseReference(`${reg.host}/a/b:v1`);
  let e = await errOf(c.blob(ref, blobDigest, { size: 100 }));
  assert.match(e!.message, /registry sends 4096 bytes, the descriptor says 100/);
  reg.handle = (req, res) => { res.writeHead(200); res.write(blobData); res.write(blobData); res.end(); return true; }; // chunked: no length
  e = await errOf(c.blob(ref, blobDigest, { size: 4096 }).then((b) => drain(b.stream)));
  assert.match(e!.message, /more than the 4096 bytes its descriptor says/);
  reg.handle = (req, res) => { res.writeHead(200); res.end(Buffer.alloc(4096, 8)); return true; };
  e = await errOf(c.blob(ref, blobDigest, { size: 4096, what: 'layer x' }).then((b) => drain(b.stream)));
  assert.is(e!.name, 'DigestMismatchError');
  assert.match(e!.message, /digest mismatch for layer x/);
}));

test('a blob that stalls, and a request never answered, fail instead of hanging', withRegs(async (reg) => {
  const held: import('node:http').ServerResponse[] = [];
  reg.handle = (req, res) => {
    if (req.url!.includes('/blobs/')) { res.writeHead(200, { 'content-length': '4096' }); res.write(blobData.subarray(0, 100)); held.push(res); return true; }
    held.push(res); // manifests: never answered
    return true;
  };
  const c = new RegistryClient({ insecure: [reg.host], stallMs: 200, timeoutMs: 300 });
  const ref = parseReference(`${reg.host}/a/b:v1`);
  const e = await errOf(c.blob(ref, blobDigest, { size: 4096 }).then((b) => drain(b.stream)));
  assert.is(e!.name, 'RegistryUnreachableError');
  assert.match(e!.message, /stalled: no data for 200 ms/);
  const m = await errOf(c.manifest(ref, 'v1'));
  assert.is(m!.name, 'RegistryUnreachableError');
  reg.handle = (req, res) => { held.push(res); return true; }; // blob headers never come
  const h = await errOf(c.blob(ref, blobDigest));
  assert.match(h!.message, /no answer for blob .* in 300 ms/);
  for (const r of held) r.destroy();
}));

test('basic credentials never go to a token realm on another host; the registry\'s own realm gets them', withRegs(async (reg, other) => {
  const basic = `Basic ${Buffer.from('alice:pw').toString('base64')}`;
  let realm = `http://${other.host}/token`;
  for (const r of [reg, other]) {
    r.blobs.set(blobDigest, blobData);
    r.handle = (req, res) => {
      if (req.url!.startsWith('/token')) { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 't' })); return true; }
      if (req.headers.authorization !== 'Bearer t') { res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="s"` }).end(); return true; }
      return false;
    };
  }
  const c = new RegistryClient({ insecure: [reg.host], credentials: () => ({ username: 'alice', password: 'pw' }) });
  await c.blob(parseReference(`${reg.host}/a/b:v1`), blobDigest).then((b) => drain(b.stream));
  const tokenReq = other.log.find((l) => l.startsWith('GET /token'));
  assert.ok(tokenReq, 'a token was asked for');
  assert.not.match(tokenReq!, /auth=Basic/, 'no credentials to another host');
  realm = `http://${reg.host}/token`;
  const c2 = new RegistryClient({ insecure: [reg.host], credentials: () => ({ username: 'alice', password: 'pw' }) });
  await c2.blob(parseReference(`${reg.host}/a/b:v2`), blobDigest).then((b) => drain(b.stream));
  assert.ok(reg.log.some((l) => l.startsWith('GET /token') && l.endsWith(`auth=${basic}`)), 'the registry\'s own (insecure) realm gets them');
}));

test('a token reply over 1 MiB is refused', withRegs(async (reg) => {
  reg.handle = (req, res) => {
    if (req.url!.startsWith('/token')) { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'x'.repeat(2 << 20) })); return true; }
    res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${reg.host}/token"` }).end();
    return true;
  };
  const e = await errOf(new RegistryClient({ insecure: [reg.host] }).manifest(parseReference(`${reg.host}/a/b:v1`), 'v1'));
  assert.match(e!.message, /token reply: .*1048576/);
}));

test('a redirect to another origin does not carry the token', withRegs(async (reg, other) => {
  other.blobs.set(blobDigest, blobData);
  reg.handle = (req, res) => {
    if (req.url!.startsWith('/token')) { res.writeHead(200).end('{"token":"secret-token"}'); return true; }
    if (req.headers.authorization !== 'Bearer secret-token') { res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${reg.host}/token"` }).end(); return true; }
    res.writeHead(307, { location: `http://${other.host}${req.url}` }).end();
    return true;
  };
  const c = new RegistryClient({ insecure: [reg.host] });
  const n = await c.blob(parseReference(`${reg.host}/a/b:v1`), blobDigest, { size: 4096 }).then((b) => drain(b.stream));
  assert.is(n, 4096);
  assert.ok(other.log.length > 0 && other.log.every((l) => l.endsWith('auth=')), other.log.join('\n'));
}));

test.run();
