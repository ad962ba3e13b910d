import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { interfaceName, isWgKey, renderConfig, tunnelAddresses, tunnelMtu } from './plan.ts';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, loadOrCreateKeyPair, publicKeyOf, removeKeyPair } from './keys.ts';
import { parseAddress, parsePrefix } from '../ipam/cidr.ts';

const node = fc.record({ id: fc.stringMatching(/^[a-z0-9]{1,25}$/), createdAt: fc.integer({ min: 0, max: 1e6 }).map((n) => String(n).padStart(8, '0')) });

test('tunnel addresses are unique, inside the pool, never its first or last address', () => {
  fc.assert(fc.property(fc.uniqueArray(node, { selector: (n) => n.id, maxLength: 60 }), (nodes) => {
    const m = tunnelAddresses(nodes, '10.9.0.0/24');
    const all = [...m.values()];
    assert.is(new Set(all).size, nodes.length);
    const p = parsePrefix('10.9.0.0/24');
    for (const a of all) {
      const off = parseAddress(a) - p.base;
      assert.ok(off >= 1 && off <= 254, a);
    }
  }));
});

test('a node keeps its tunnel address when younger nodes join or leave', () => {
  fc.assert(fc.property(fc.uniqueArray(node, { selector: (n) => n.id, minLength: 1, maxLength: 40 }), fc.nat(), (nodes, k) => {
    const sorted = [...nodes].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
    const cut = k % (sorted.length + 1);
    const older = sorted.slice(0, cut);
    const before = tunnelAddresses(older, '10.9.0.0/24');
    const after = tunnelAddresses(sorted, '10.9.0.0/24');
    for (const n of older) assert.is(after.get(n.id), before.get(n.id));
  }));
});

test('the pool must hold every node', () => {
  assert.throws(() => tunnelAddresses([{ id: 'a', createdAt: '1' }, { id: 'b', createdAt: '2' }, { id: 'c', createdAt: '3' }], '10.0.0.0/30'), /cannot hold 3 nodes/);
});

test('interface names are per node and fit IFNAMSIZ', () => {
  assert.is.not(interfaceName('node-a'), interfaceName('node-b'));
  assert.ok(interfaceName('x'.repeat(64)).length <= 15);
});

test('config text: peers sorted, each with the network key and its tunnel /32', () => {
  const me = generateKeyPair();
  const [a, b] = [generateKeyPair(), generateKeyPair()];
  const psk = Buffer.alloc(32, 7).toString('base64');
  const text = renderConfig({ privateKey: me.privateKey, listenPort: 51820, presharedKey: psk, peers: [
    { publicKey: b.publicKey, endpoint: '192.168.100.3:51820', address: '198.18.0.3' },
    { publicKey: a.publicKey, endpoint: '192.168.100.2:51820', address: '198.18.0.2' },
  ] });
  const keys = [...text.matchAll(/^PublicKey = (.+)$/gm)].map((m) => m[1]);
  assert.equal(keys, [a.publicKey, b.publicKey].sort());
  assert.is([...text.matchAll(/^PresharedKey = /gm)].length, 2);
  assert.match(text, /AllowedIPs = 198\.18\.0\.2\/32/);
  assert.ok(text.startsWith(`[Interface]\nPrivateKey = ${me.privateKey}\nListenPort = 51820\n`));
});

test('config text refuses bad keys, endpoints and duplicates', () => {
  const me = generateKeyPair();
  const psk = Buffer.alloc(32, 1).toString('base64');
  const peer = { publicKey: generateKeyPair().publicKey, endpoint: '192.168.100.3:51820', address: '198.18.0.3' };
  assert.throws(() => renderConfig({ privateKey: 'nope', listenPort: 1, presharedKey: psk, peers: [] }), /invalid private key/);
  assert.throws(() => renderConfig({ privateKey: me.privateKey, listenPort: 1, presharedKey: 'x', peers: [] }), /invalid network key/);
  assert.throws(() => renderConfig({ privateKey: me.privateKey, listenPort: 1, presharedKey: psk, peers: [{ ...peer, endpoint: '192.168.100.3' }] }), /invalid peer endpoint/);
  assert.throws(() => renderConfig({ privateKey: me.privateKey, listenPort: 1, presharedKey: psk, peers: [peer, peer] }), /given twice/);
});

test('keys: the public key of a generated private key matches', () => {
  const p = generateKeyPair();
  assert.ok(isWgKey(p.privateKey) && isWgKey(p.publicKey));
  assert.is(publicKeyOf(p.privateKey), p.publicKey);
  assert.is(tunnelMtu(1500), 1420);
});

test('keys: a node keeps its key pair in one 0600 file until it leaves', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-wg-'));
  try {
    const file = join(dir, 'wireguard', 'private.key');
    const a = loadOrCreateKeyPair(file);
    assert.is(statSync(file).mode & 0o777, 0o600);
    assert.is(readFileSync(file, 'utf8').trim(), a.privateKey);
    assert.equal(loadOrCreateKeyPair(file), a, 'the same pair while the node stays');
    removeKeyPair(file);
    assert.not.ok(existsSync(file));
    const b = loadOrCreateKeyPair(file);
    assert.is.not(b.privateKey, a.privateKey, 'a new pair after leaving');
    assert.is(publicKeyOf(b.privateKey), b.publicKey);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
