import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServiceSpec } from '../../../src/api/types/service.ts';
import { applyMeshFlags } from './mesh-flags.ts';

const spec = (): ServiceSpec => ({ Name: 'web', Labels: { team: 'a' }, TaskTemplate: { ContainerSpec: { Image: 'x' } } } as ServiceSpec);

test('--mesh-traffic-policy sets the service label; cluster removes it; absent leaves it', () => {
  const s = spec();
  applyMeshFlags(s, { 'mesh-traffic-policy': 'local-or-forward' });
  assert.equal(s.Labels, { team: 'a', 'com.shoal.mesh.traffic-policy': 'local-or-forward' });
  applyMeshFlags(s, {});
  assert.equal(s.Labels, { team: 'a', 'com.shoal.mesh.traffic-policy': 'local-or-forward' });
  applyMeshFlags(s, { 'mesh-traffic-policy': 'cluster' });
  assert.equal(s.Labels, { team: 'a' });
  assert.throws(() => applyMeshFlags(s, { 'mesh-traffic-policy': 'nearest' }), /invalid --mesh-traffic-policy "nearest"/);
});

test('--publish published=P,target=T,traffic-policy=local sets it too; conflicts and host mode are refused', () => {
  const s = spec();
  applyMeshFlags(s, { publish: ['8080:80', 'published=8081,target=81,traffic-policy=local', 'published=8082,target=82'] });
  assert.equal(s.Labels, { team: 'a', 'com.shoal.mesh.traffic-policy': 'local' });
  applyMeshFlags(s, { 'publish-add': ['published=8083,target=83,traffic-policy=cluster'] });
  assert.equal(s.Labels, { team: 'a' });
  applyMeshFlags(s, { 'mesh-traffic-policy': 'local', publish: ['published=8081,target=81,traffic-policy=local'] });
  assert.throws(() => applyMeshFlags(s, { publish: ['published=1,target=1,traffic-policy=local', 'published=2,target=2,traffic-policy=cluster'] }), /conflicting traffic-policy values "local" and "cluster"/);
  assert.throws(() => applyMeshFlags(s, { 'mesh-traffic-policy': 'cluster', publish: ['published=1,target=1,traffic-policy=local'] }), /disagree/);
  assert.throws(() => applyMeshFlags(s, { publish: ['published=1,target=1,mode=host,traffic-policy=local'] }), /traffic-policy is for mode=ingress ports/);
  assert.throws(() => applyMeshFlags(s, { publish: ['published=1,target=1,traffic-policy=near'] }), /invalid traffic-policy "near" in --publish "published=1,target=1,traffic-policy=near": expected cluster, local, local-or-forward/);
});

test.run();
