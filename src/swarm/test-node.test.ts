// freePort never hands out a port twice in one process, even when none was bound between calls.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from './test-node.ts';

test('ports asked for in a row, none bound, are all different', async () => {
  const ports: number[] = [];
  for (let i = 0; i < 200; i++) ports.push(await freePort());
  assert.is(new Set(ports).size, ports.length);
  assert.ok(ports.every((p) => p > 0 && p < 65536));
});

test.run();
