import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '../../common/logger.ts';
import { generateKeyPair } from '../../../net/wireguard/keys.ts';
import type { NodeNetworkView } from '../../wire/network-view-types.ts';
import { ENCRYPTED_OVERLAY_MTU, WireGuardPlane, viewForDisk, wireguardKeyFile, type TunnelDevice } from './wireguard-plane.ts';

/** An in-memory device recording what it was told. */
class MemoryDevice implements TunnelDevice {
  path: 'wireguard-go' | undefined;
  configs: string[] = [];
  downs = 0;
  constructor(readonly address: string) {}
  async up() { this.path = 'wireguard-go'; return this.path; }
  async configure(text: string) { this.configs.push(text); }
  async down() { this.path = undefined; this.downs++; }
}

const KEY1 = Buffer.alloc(32, 1).toString('base64');
const KEY2 = Buffer.alloc(32, 2).toString('base64');
const peer = { node: 'n2', publicKey: generateKeyPair().publicKey, endpoint: '192.168.100.12:51820', address: '198.18.0.9' };
const sec = { id: 'sec', name: 'sec', ingress: false, subnet: '10.0.1.0/24', gateway: '10.0.1.1', vni: 4097, mtu: 1450, peers: [], services: [], encrypted: true as const };
const view = (key: string, gen: number, peers = [peer]): NodeNetworkView => ({ vtep: '192.168.100.11', networks: [sec], wireguard: { address: '198.18.0.7', key, keyGeneration: gen, peers } });

function setup() {
  const dataRoot = mkdtempSync(join(tmpdir(), 'shoal-wgplane-'));
  const made: MemoryDevice[] = [];
  const plane = new WireGuardPlane({ dataRoot, logger: nullLogger, device: (o) => { const d = new MemoryDevice(o.address); made.push(d); return d; } });
  return { dataRoot, plane, made, done: () => rmSync(dataRoot, { recursive: true, force: true }) };
}

test('a view with a key brings the device up with the peers and the key as preshared key', async () => {
  const { plane, made, dataRoot, done } = setup();
  try {
    const ready = plane.ready(1000);
    await plane.apply(view(KEY1, 1));
    assert.is(await ready, '198.18.0.7');
    assert.is(made.length, 1);
    assert.match(made[0].configs[0], `PublicKey = ${peer.publicKey}`);
    assert.match(made[0].configs[0], `PresharedKey = ${KEY1}`);
    assert.match(made[0].configs[0], 'AllowedIPs = 198.18.0.9/32');
    assert.is(statSync(wireguardKeyFile(dataRoot)).mode & 0o777, 0o600, 'the private key is owner-only');
    assert.equal(plane.status(), { interface: plane.interfaceName, path: 'wireguard-go', address: '198.18.0.7', keyGeneration: 1, peers: 1 });
  } finally { done(); }
});

test('a rotated key is one more configure of the same device; an equal view none', async () => {
  const { plane, made, done } = setup();
  try {
    await plane.apply(view(KEY1, 1));
    await plane.apply(view(KEY1, 1));
    await plane.apply(view(KEY2, 2));
    assert.is(made.length, 1, 'the device is kept');
    assert.is(made[0].configs.length, 2);
    assert.match(made[0].configs[1], `PresharedKey = ${KEY2}`);
  } finally { done(); }
});

test('a saved view (key blanked) changes nothing; no encrypted network takes the device down', async () => {
  const { plane, made, done } = setup();
  try {
    await plane.apply(viewForDisk(view(KEY1, 1)));
    assert.is(made.length, 0, 'no device without the key');
    await plane.apply(view(KEY1, 1));
    await plane.apply({ vtep: '192.168.100.11', networks: [] });
    assert.is(made[0].downs, 1);
    assert.is(plane.address(), undefined);
  } finally { done(); }
});

test('the saved view never holds the key; encrypted networks leave room for the tunnel', () => {
  assert.is(viewForDisk(view(KEY1, 1)).wireguard!.key, '');
  assert.not.match(JSON.stringify(viewForDisk(view(KEY1, 1))), KEY1);
  assert.is(ENCRYPTED_OVERLAY_MTU, 1370);
});

test('ready() rejects when no tunnel comes', async () => {
  const { plane, done } = setup();
  try {
    let err: unknown;
    try { await plane.ready(10); } catch (e) { err = e; }
    assert.match(String(err), /no WireGuard tunnel/);
  } finally { done(); }
});

test.run();
