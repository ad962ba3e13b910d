import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { layerSizes } from './system-df.ts';
import type { ImageRecord } from '../../images/image-store.ts';

const layer = (diffId: string, size: number) => ({ digest: `d-${diffId}`, mediaType: 'x', size, diffId });
const image = (id: string, layers: ReturnType<typeof layer>[]): ImageRecord =>
  ({ id, repoTags: [], repoDigests: [], manifestDigest: '', layers, created: '', size: layers.reduce((s, l) => s + l.size, 0), os: 'linux', architecture: 'amd64' });

test('layers two images share count once in LayersSize and as SharedSize of each', () => {
  const base = layer('base', 100);
  const { layersSize, shared } = layerSizes([image('a', [base, layer('a1', 10)]), image('b', [base, layer('b1', 20)]), image('c', [layer('c1', 5)])]);
  assert.is(layersSize, 135);
  assert.equal([...shared], [['a', 100], ['b', 100], ['c', 0]]);
});

test('no images: nothing used', () => {
  assert.equal(layerSizes([]), { layersSize: 0, shared: new Map() });
});

test.run();
