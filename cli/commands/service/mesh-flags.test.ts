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

test.run();
