import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NodeDescription } from '../api/types/node.ts';
import type { JoinNodeRequest } from '../wire/types.ts';
import { cleanDescription, validateJoinRequest } from './join-request.ts';

const description = (generic: unknown): NodeDescription => ({
  Hostname: 'h2', Platform: { Architecture: 'x86_64', OS: 'linux' },
  Resources: { NanoCPUs: 2e9, MemoryBytes: 2 ** 30, GenericResources: generic as never },
  Engine: { EngineVersion: '1', Labels: {}, Plugins: [] },
});
const req = (generic: unknown) => ({ token: 't', csrPem: 'pem', advertiseAddr: '192.168.100.2:2377', description: description(generic) }) as unknown as JoinNodeRequest;

test('a joining node keeps the generic resources it advertises, and only their known fields', () => {
  const g = [{ DiscreteResourceSpec: { Kind: 'gpu', Value: 2, Extra: 1 } }, { DiscreteResourceSpec: { Kind: 'fpga', Value: 1 } }];
  validateJoinRequest(req(g));
  assert.equal(cleanDescription(description(g)).Resources.GenericResources, [
    { DiscreteResourceSpec: { Kind: 'gpu', Value: 2 } }, { DiscreteResourceSpec: { Kind: 'fpga', Value: 1 } },
  ]);
});

test('a named unit is refused: no task would be told which unit it got', () => {
  assert.throws(() => validateJoinRequest(req([{ NamedResourceSpec: { Kind: 'fpga', Value: 'F-1' } }])), /named units .*not supported yet/);
});

test('a malformed generic resource is refused naming the field', () => {
  assert.throws(() => validateJoinRequest(req([{ DiscreteResourceSpec: { Kind: 'gpu', Value: -1 } }])), /GenericResources\[\]\.Value/);
  assert.throws(() => validateJoinRequest(req([{ Other: {} }])), /must hold a DiscreteResourceSpec/);
  assert.throws(() => validateJoinRequest(req('gpu=2')), /must be a list/);
});

test.run();
