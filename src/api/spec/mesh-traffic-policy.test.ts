import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkMeshTrafficPolicyLabel, meshTrafficPolicy, withMeshTrafficPolicyFlag } from './mesh-traffic-policy.ts';
import { validateServiceSpec } from './service-spec.ts';

const L = 'com.shoal.mesh.traffic-policy';

test('the label reads as its policy; absent is cluster', () => {
  assert.is(meshTrafficPolicy(undefined), 'cluster');
  assert.is(meshTrafficPolicy({ [L]: 'local' }), 'local');
  assert.is(meshTrafficPolicy({ [L]: 'local-or-forward' }), 'local-or-forward');
  assert.is(checkMeshTrafficPolicyLabel({ [L]: 'cluster' }), undefined);
  assert.is(checkMeshTrafficPolicyLabel({ [L]: 'Local' }), `label ${L} must be one of cluster, local, local-or-forward (got "Local")`);
});

test('a service spec with an invalid policy is refused, naming the label', () => {
  const spec = { Name: 'web', Labels: { [L]: 'nearest' }, TaskTemplate: { ContainerSpec: { Image: 'x' } } };
  assert.throws(() => validateServiceSpec(spec as never), /Labels: label com.shoal.mesh.traffic-policy must be one of cluster, local, local-or-forward \(got "nearest"\)/);
  validateServiceSpec({ ...spec, Labels: { [L]: 'local' } } as never);
});

test('the flag sets the label; cluster removes it; another value is refused', () => {
  assert.equal(withMeshTrafficPolicyFlag({ a: 'b' }, 'local'), { a: 'b', [L]: 'local' });
  assert.equal(withMeshTrafficPolicyFlag({ [L]: 'local' }, 'cluster'), {});
  assert.throws(() => withMeshTrafficPolicyFlag({}, 'nearest'), /invalid --mesh-traffic-policy "nearest": expected cluster, local, local-or-forward/);
});

test.run();
