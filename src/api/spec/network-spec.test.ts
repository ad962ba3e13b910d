// NetworkCreateRequest → NetworkSpec: Docker's defaults, and clear refusals.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { InvalidArgumentError } from '../errors.ts';
import { NETWORK_CREATE_FIELDS, networkSpecFromRequest } from './network-spec.ts';

test('a bare request gets an overlay, swarm-scoped spec with Docker\'s defaults', () => {
  assert.equal(networkSpecFromRequest({ Name: 'web' }), {
    Name: 'web', Labels: {}, Driver: 'overlay', Options: {}, IPAM: { Driver: 'default', Config: [] },
    Attachable: false, Ingress: false, Internal: false, EnableIPv6: false, Scope: 'swarm',
  });
});

test('IPAM config, options and flags are kept; empty strings are dropped', () => {
  const body = {
    Name: 'db', Driver: 'overlay', Attachable: true, Internal: true,
    Options: { 'com.docker.network.driver.mtu': '1400', 'com.docker.network.driver.overlay.vxlanid_list': '4100' },
    IPAM: { Driver: 'default', Config: [{ Subnet: '10.9.0.0/16', Gateway: '10.9.0.1', IPRange: '10.9.1.0/24', AuxiliaryAddresses: {} }], Options: {} },
    Labels: { x: '' },
  };
  const copy = structuredClone(body);
  const s = networkSpecFromRequest(body);
  assert.equal(body, copy, 'the request is not modified');
  assert.equal(s.IPAM, { Driver: 'default', Config: [{ Subnet: '10.9.0.0/16', Gateway: '10.9.0.1', IPRange: '10.9.1.0/24' }] });
  assert.equal(s.Options, { 'com.docker.network.driver.mtu': '1400', 'com.docker.network.driver.overlay.vxlanid_list': '4100' });
  assert.is(s.Attachable, true);
  assert.is(s.Internal, true);
  assert.equal(s.Labels, { x: '' });
  assert.equal(networkSpecFromRequest({ Name: 'n', IPAM: { Config: [{ Subnet: '10.1.0.0/24', Gateway: '' }] } }).IPAM.Config, [{ Subnet: '10.1.0.0/24' }]);
});

test('refusals name the field and the reason', () => {
  const cases: [unknown, RegExp][] = [
    [undefined, /body must be a NetworkCreateRequest/],
    [{ Name: 'x', Driver: 'macvlan' }, /network driver "macvlan" is not supported/],
    [{ Name: 'x', Scope: 'local' }, /only swarm is supported/],
    [{ Name: 'x', ConfigOnly: true }, /config-only networks are not supported/],
    [{ Name: 'x', IPAM: { Config: [{ Subnet: '10.0.0.0/24' }, { Subnet: '10.1.0.0/24' }] } }, /only one IPv4 subnet/],
    [{ Name: 'x', IPAM: { Config: [{ Subnet: '300.0.0.0/24' }] } }, /must be an IPv4 CIDR/],
    [{ Name: 'x', IPAM: { Config: [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1/24' }] } }, /Gateway "10.0.0.1\/24": must be an IPv4 address/],
    [{ Name: 'x', IPAM: { Config: [{ Subnet: 'fd00::/64' }] } }, /IPv4 CIDR/],
    [{ Name: 'x', Ingress: true, Attachable: true }, /ingress network cannot be attachable/],
    [{ Name: 'x', Options: ['a'] }, /Options: must map names to strings/],
    [{ Name: 'x'.repeat(64) }, /at most 63 characters/],
    [{ Name: 'none' }, /pre-defined network/],
    [{ Name: 'x', Ingress: true, Internal: true }, /ingress network cannot be internal/],
  ];
  for (const [body, re] of cases) assert.throws(() => networkSpecFromRequest(body), re, JSON.stringify(body));
});

test('--opt encrypted is applied, whatever its value (WireGuard between nodes, net/wireguard)', () => {
  for (const value of ['', 'true', '1']) {
    assert.equal(networkSpecFromRequest({ Name: 'x', Options: { encrypted: value } }).Options, { encrypted: value });
  }
});

test('a driver option Shoal does not apply is refused by name', () => {
  assert.throws(() => networkSpecFromRequest({ Name: 'x', Options: { 'com.docker.network.bridge.enable_icc': 'false' } }),
    /network option "com\.docker\.network\.bridge\.enable_icc" is not supported \(Options\.com\.docker\.network\.bridge\.enable_icc\)/);
});

// Docker's specification, walked: every field of NetworkCreateRequest is in the table,
// and every refused one is refused with a 400 naming it when it carries a value.
interface Schema { $ref?: string; type?: string; properties?: Record<string, Schema>; items?: Schema }
const SPEC_FILE = fileURLToPath(new URL('./docker-engine-api-v1.41.yaml', import.meta.url));
const doc = parse(readFileSync(SPEC_FILE, 'utf8')) as {
  definitions: Record<string, Schema>;
  paths: Record<string, { post: { parameters: { in: string; schema?: Schema }[] } }>;
};
const deref = (s: Schema): Schema => (s.$ref ? deref(doc.definitions[s.$ref.split('/').pop()!]) : s);
function fieldsOf(schema: Schema, prefix: string, out: string[] = []): string[] {
  const s = deref(schema);
  if (s.items) fieldsOf(s.items, `${prefix}[]`, out);
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    out.push(path);
    fieldsOf(v, path, out);
  }
  return out;
}
const createBody = doc.paths['/networks/create'].post.parameters.find((p) => p.in === 'body')!.schema!;

/** A non-default value for each refused field, as a request body. */
const REFUSED_SAMPLES: Record<string, Record<string, unknown>> = {
  ConfigOnly: { ConfigOnly: true },
  ConfigFrom: { ConfigFrom: { Network: 'base' } },
  'ConfigFrom.Network': { ConfigFrom: { Network: 'base' } },
  'IPAM.Config[].AuxiliaryAddresses': { IPAM: { Config: [{ Subnet: '10.5.0.0/24', AuxiliaryAddresses: { host1: '10.5.0.9' } }] } },
  'IPAM.Options': { IPAM: { Options: { foo: 'bar' } } },
  EnableIPv6: { EnableIPv6: true },
};
const MENTIONS: Record<string, RegExp> = { ConfigOnly: /config-only/, ConfigFrom: /config-from/, 'ConfigFrom.Network': /config-from/, EnableIPv6: /EnableIPv6/ };

test('every field of Docker\'s NetworkCreateRequest is applied or refused, and no row is stale', () => {
  const fields = fieldsOf(createBody, '');
  assert.ok(fields.length >= 20, `the walk found the fields (${fields.length})`);
  for (const f of fields) assert.ok(f in NETWORK_CREATE_FIELDS, `${f} is neither applied nor refused`);
  for (const row of Object.keys(NETWORK_CREATE_FIELDS)) assert.ok(fields.includes(row), `row ${row} is not a field of Docker's spec`);
});

test('each refused field, given a value, gets a 400 naming it; its default passes', () => {
  for (const [path, how] of Object.entries(NETWORK_CREATE_FIELDS)) {
    if (how !== 'refused') continue;
    const sample = REFUSED_SAMPLES[path];
    assert.ok(sample, `a sample value for ${path}`);
    const err = (() => { try { networkSpecFromRequest({ Name: 'x', ...sample }); } catch (e) { return e; } })();
    assert.instance(err, InvalidArgumentError, `${path} is refused`);
    assert.is((err as InvalidArgumentError).status, 400);
    const last = path.split('.').pop()!.replace('[]', '');
    assert.match((err as Error).message, MENTIONS[path] ?? new RegExp(last.replace(/[.[\]]/g, '\\$&')), `the refusal of ${path} names it`);
  }
  // What stock docker clients send by default passes.
  networkSpecFromRequest({ Name: 'x', CheckDuplicate: true, Driver: 'overlay', Scope: 'swarm', Internal: false, Attachable: false, Ingress: false,
    ConfigOnly: false, ConfigFrom: null, IPAM: { Driver: 'default', Config: [], Options: {} }, EnableIPv6: false, Options: {}, Labels: {} });
});

test.run();
