import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../store/index.ts';
import { aNode } from '../store/testing.ts';
import { DescriptionRecorder } from './description-recorder.ts';

test('a restarted node\'s new version replaces the stored one, and the leader\'s TLSInfo stays', async () => {
  const store = new MemoryStore();
  const { value: node } = await store.update((tx) => {
    const n = aNode('h1');
    return tx.create('node', { ...n, Description: { ...n.Description, TLSInfo: { TrustRoot: 'root', CertIssuerSubject: 's', CertIssuerPublicKey: 'k' } } });
  });
  const stated = DescriptionRecorder.check({ ...structuredClone(node.Description), TLSInfo: undefined, Engine: { ...node.Description.Engine, EngineVersion: '0.2.0' }, ShoalStoreSchema: 2 });
  assert.is(await new DescriptionRecorder(store).record(node.ID, stated), true, 'stored');
  const after = store.view((tx) => tx.get('node', node.ID))!;
  assert.is(after.Description.Engine.EngineVersion, '0.2.0');
  assert.is(after.Description.ShoalStoreSchema, 2);
  assert.is(after.Description.TLSInfo?.TrustRoot, 'root');
  const index = store.lastIndex;
  assert.is(await new DescriptionRecorder(store).record(node.ID, stated), true, 'already stored');
  assert.is(store.lastIndex, index, 'the same description writes nothing');
  assert.is(await new DescriptionRecorder(store).record('no-such-node', stated), false, 'a node not yet stored: try again');
});

test('a description with a bad field is refused, naming it', () => {
  const n = aNode('h1');
  assert.throws(() => DescriptionRecorder.check({ ...n.Description, Hostname: '' }), /description\.Hostname/);
  assert.throws(() => DescriptionRecorder.check({ ...n.Description, ShoalStoreSchema: 1.5 }), /ShoalStoreSchema/);
  assert.throws(() => DescriptionRecorder.check('x'), /description must be an object/);
});

test.run();
