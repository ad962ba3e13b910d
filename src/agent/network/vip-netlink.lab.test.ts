// A VIP table sent as nf_tables batches through the netns helper (net/lb/vip-netlink.ts,
// netns-maker.pl `nf`) against the same services through `nft -f` (root, real kernel): the
// kernel holds the same table (`nft list table` the same text), whole and after in-place
// updates, for chosen services and for generated ones; `nft` updates the netlink-made
// table as its own; a refused batch changes nothing and says which message. Every netns starts with `shoalvn` and is deleted
// in `after`; the helper is ours and ends with `close`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { NetnsMaker } from './netns-maker.ts';
import { NetlinkRequestError } from '../../../net/netlink/index.ts';
import { encodeVipReplace, encodeVipUpdate, renderReplace, renderUpdate, type VipService } from '../../../net/lb/index.ts';

const P = `shoalvn${process.pid % 100000}`;
const A = `${P}-a`; // through netlink
const B = `${P}-b`; // through nft -f
const t = suite('vip-netlink');
const maker = new NetnsMaker({ fallback: async () => { throw new Error('the helper must do this'); } });

function sh(argv: string[], input?: string): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const nftIn = (ns: string, text: string) => sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], text);
const listed = (ns: string) => sh(['ip', 'netns', 'exec', ns, 'nft', 'list', 'table', 'ip', 'shoal-lb']);
const ours = () => sh(['ip', 'netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(P));

async function bothWays(services: VipService[]): Promise<void> {
  await maker.nftables(A, encodeVipReplace(services));
  nftIn(B, renderReplace(services));
  assert.fixture(listed(A), listed(B), JSON.stringify(services));
}

const CHOSEN: VipService[][] = [
  [],
  [{ name: 'web', vip: '10.97.0.2', backends: ['10.97.0.12'] }],
  [{ name: 'web', vip: '10.97.0.2', backends: ['10.97.0.12', '10.97.0.13', '10.97.0.14'] }],
  [
    { name: 'web', vip: '10.97.0.2', backends: ['10.97.0.12', '10.97.0.13', '10.97.0.14'], weights: { '10.97.0.12': 3, '10.97.0.13': 1 }, gone: ['10.97.0.20'] },
    { name: 'api', vip: '10.97.0.3', backends: ['10.97.0.15'], ports: [{ protocol: 'tcp', port: 80, targetPort: 8080 }, { protocol: 'udp', port: 53 }] },
    { name: 'dns', vip: '10.97.0.5', backends: ['10.97.0.15', '10.97.0.16'], ports: [{ protocol: 'udp', port: 53, targetPort: 5353 }], weights: { '10.97.0.15': 2, '10.97.0.16': 4 } },
    { name: 'none', vip: '10.97.0.4', backends: [], gone: ['10.97.0.21', '10.97.0.22'] },
  ],
];

t.before(() => {
  for (const ns of [A, B]) sh(['ip', 'netns', 'add', ns]);
});

t.after(() => {
  maker.close();
  for (const n of ours()) spawnSync('ip', ['netns', 'del', n]);
  assert.equal(ours(), [], 'netns removed');
});

t('chosen services: the same table through netlink and through nft -f', async () => {
  for (const services of CHOSEN) await bothWays(services);
  assert.match(listed(A), /numgen random mod 5 map \{ 0-2 : 10\.97\.0\.12, 3 : 10\.97\.0\.13, 4 : 10\.97\.0\.14 \}/, 'weights as ranges');
  assert.match(listed(A), /10\.97\.0\.3 \. tcp \. 80 : goto s1_api_tcp_80/);
});

/** Generated service lists (VIPs by position, so a later list keeps, adds and drops services). */
function servicesArb() {
  const addr = fc.integer({ min: 2, max: 250 }).map((n) => `10.97.1.${n}`);
  const service = fc.record({
    name: fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
    backends: fc.uniqueArray(addr, { maxLength: 6 }),
    ports: fc.option(fc.uniqueArray(fc.record({ protocol: fc.constantFrom('tcp' as const, 'udp' as const), port: fc.integer({ min: 1, max: 65535 }), targetPort: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 3, selector: (p) => `${p.protocol}/${p.port}` }), { nil: undefined }),
    weights: fc.option(fc.dictionary(addr, fc.integer({ min: 0, max: 5 }), { maxKeys: 4 }), { nil: undefined }),
    gone: fc.option(fc.uniqueArray(addr, { maxLength: 3 }), { nil: undefined }),
  });
  return fc.uniqueArray(service, { maxLength: 5, selector: (s) => s.name }).map((list) => list.map((s, i) => ({ ...s, vip: `10.97.0.${i + 2}` })) as VipService[]);
}

t('generated services: the same table both ways', async () => {
  await fc.assert(fc.asyncProperty(servicesArb(), async (services) => { await bothWays(services); }), { numRuns: 25 });
});

t('in-place updates: the same table after a netlink update as after nft\'s update text', async () => {
  await fc.assert(fc.asyncProperty(servicesArb(), servicesArb(), async (before, after) => {
    await bothWays(before);
    await maker.nftables(A, encodeVipUpdate(before, after));
    nftIn(B, renderUpdate(before, after));
    assert.fixture(listed(A), listed(B), `${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
  }), { numRuns: 25 });
});

t('nft updates a netlink-made table as its own, and netlink one that nft made', async () => {
  const before = CHOSEN[3];
  const after: VipService[] = [{ ...before[0], backends: ['10.97.0.13', '10.97.0.40'], weights: undefined }, before[1], { name: 'new', vip: '10.97.0.9', backends: ['10.97.0.41'], ports: [{ protocol: 'tcp', port: 443 }] }];
  await bothWays(before);
  for (const ns of [A, B]) nftIn(ns, renderUpdate(before, after));
  assert.fixture(listed(A), listed(B));
  assert.match(listed(A), /10\.97\.0\.9 \. tcp \. 443 : goto s2_new_tcp_443/);
  for (const ns of [A, B]) await maker.nftables(ns, encodeVipUpdate(after, before));
  assert.fixture(listed(A), listed(B));
  assert.not.match(listed(A), /s2_new_tcp_443/, 'the chain of the dropped service deleted');
});

t('a big table (1,200 services, one of them with 600 backends) goes as one batch, the same both ways', async () => {
  const backend = (n: number) => `10.99.${n >> 8}.${n & 255}`;
  const big: VipService[] = Array.from({ length: 1200 }, (_, i) => ({
    name: `svc${i}`, vip: `10.98.${i >> 8}.${i & 255}`,
    backends: Array.from({ length: i === 0 ? 600 : 2 }, (_, k) => backend(i === 0 ? k : 600 + i * 2 + k)),
    ...(i % 3 ? {} : { ports: [{ protocol: 'tcp' as const, port: 80, targetPort: 8080 }] }),
  }));
  const batch = encodeVipReplace(big);
  // Beyond a netlink socket's default buffer, and beyond one attribute's 64 KB: elements split over messages.
  assert.ok(batch.bytes.length > 256 * 1024, `${batch.bytes.length} bytes`);
  await bothWays(big);
});

t('a refused batch changes nothing and names the message', async () => {
  const good = CHOSEN[2];
  await maker.nftables(A, encodeVipReplace(good));
  const was = listed(A);
  const batch = encodeVipReplace(CHOSEN[3]);
  // An expression the kernel does not know, at the same length: the whole batch is refused.
  const at = batch.bytes.indexOf('immediate\0');
  assert.ok(at > 0);
  const bad = Buffer.from(batch.bytes);
  bad.write('immediatx', at, 'latin1');
  let err: unknown;
  await maker.nftables(A, { bytes: bad, lastSeq: batch.lastSeq }).catch((e) => { err = e; });
  assert.instance(err, NetlinkRequestError);
  assert.match((err as Error).message, /refused message \d+ of the batch: E[A-Z]+ \(nothing applied\)/);
  assert.fixture(listed(A), was, 'the old table, whole');
  await maker.nftables(A, batch);
  nftIn(B, renderReplace(CHOSEN[3]));
  assert.fixture(listed(A), listed(B), 'the helper goes on');
});

t('a netns that is not there is refused before anything is sent', async () => {
  let err: unknown;
  await maker.nftables(`${P}-none`, encodeVipReplace([])).catch((e) => { err = e; });
  assert.match((err as Error)?.message ?? '', /cannot open netns/);
});

t.run();
