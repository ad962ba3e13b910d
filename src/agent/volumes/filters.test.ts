import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { selectVolumes, pruneCandidates } from './filters.ts';
import { VolumeInvalidError } from './errors.ts';
import type { VolumeRecord } from './volume-store.ts';

const vol = (name: string, labels: Record<string, string> = {}): VolumeRecord =>
  ({ name, driver: 'local', labels, options: {}, createdAt: '2026-01-01T00:00:00Z', mountpoint: `/v/${name}/_data` });
const vols = [vol('web-data', { app: 'web', tier: 'front' }), vol('db-data', { app: 'db' }), vol('scratch')];
const used = (n: string) => (n === 'db-data' ? ['c1'] : []);
const f = (o: Record<string, string[]>) => new Map(Object.entries(o));
const names = (v: VolumeRecord[]) => v.map((x) => x.name);

test('name matches a substring, any of the values', () => {
  assert.equal(names(selectVolumes(vols, f({ name: ['data'] }), used)), ['web-data', 'db-data']);
  assert.equal(names(selectVolumes(vols, f({ name: ['scr', 'db'] }), used)), ['db-data', 'scratch']);
});

test('label needs every key or key=value', () => {
  assert.equal(names(selectVolumes(vols, f({ label: ['app'] }), used)), ['web-data', 'db-data']);
  assert.equal(names(selectVolumes(vols, f({ label: ['app=web', 'tier'] }), used)), ['web-data']);
  assert.equal(names(selectVolumes(vols, f({ label: ['app=x'] }), used)), []);
});

test('dangling selects volumes no container uses, or used ones', () => {
  assert.equal(names(selectVolumes(vols, f({ dangling: ['true'] }), used)), ['web-data', 'scratch']);
  assert.equal(names(selectVolumes(vols, f({ dangling: ['0'] }), used)), ['db-data']);
  assert.throws(() => selectVolumes(vols, f({ dangling: ['maybe'] }), used), (e: Error) => e instanceof VolumeInvalidError && e.message === "invalid filter 'dangling=maybe'");
});

test('driver matches exactly', () => {
  assert.is(selectVolumes(vols, f({ driver: ['local'] }), used).length, 3);
  assert.is(selectVolumes(vols, f({ driver: ['loc'] }), used).length, 0);
});

test('an unknown filter is refused naming it', () => {
  assert.throws(() => selectVolumes(vols, f({ color: ['x'] }), used), (e: Error) => e.message === "invalid filter 'color'");
  assert.throws(() => pruneCandidates(vols, f({ name: ['x'] }), used), (e: Error) => e.message === "invalid filter 'name'");
});

test('prune takes unused volumes, narrowed by label and label!', () => {
  assert.equal(names(pruneCandidates(vols, f({}), used)), ['web-data', 'scratch']);
  assert.equal(names(pruneCandidates(vols, f({ label: ['app'] }), used)), ['web-data']);
  assert.equal(names(pruneCandidates(vols, f({ 'label!': ['app=web'] }), used)), ['scratch']);
});

test.run();
