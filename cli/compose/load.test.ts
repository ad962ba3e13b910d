import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCompose } from './load.ts';
import { mergeCompose } from './merge.ts';

const none = () => undefined;

test('a valid file loads with anchors and merge keys', () => {
  const f = loadCompose('a.yml', 'x-base: &b\n  image: nginx\nservices:\n  web:\n    <<: *b\n    ports: ["80:80"]\n', none);
  assert.equal(f.data.services?.web, { image: 'nginx', ports: ['80:80'] });
});
test('interpolated numbers are coerced to the schema type', () => {
  const f = loadCompose('a.yml', 'services:\n  web:\n    image: x\n    deploy:\n      replicas: ${N}\n', (n) => (n === 'N' ? '4' : undefined));
  assert.is((f.data.services?.web.deploy as { replicas: unknown }).replicas, 4);
});
test('a leading-zero integer is octal, as YAML 1.1 (secret modes)', () => {
  const f = loadCompose('a.yml', 'services:\n  web:\n    image: x\n    secrets:\n      - source: s\n        mode: 0440\nsecrets:\n  s:\n    file: ./s\n', none);
  assert.is(((f.data.services?.web.secrets as { mode: number }[])[0]).mode, 0o440);
});
test('an unknown key is refused naming file, line and key', () => {
  assert.throws(() => loadCompose('stack.yml', 'services:\n  web:\n    image: x\n\n    imgae: y\n', none), /stack\.yml:5: services\.web\.imgae: additional property imgae is not allowed/);
});
test('a wrong type is refused naming file, line and key', () => {
  assert.throws(() => loadCompose('s.yml', 'services:\n  web:\n    image: x\n    deploy:\n      replicas: many\n', none), /s\.yml:5: services\.web\.deploy\.replicas: must be an integer/);
});
test('a bad enum value names the allowed values', () => {
  assert.throws(() => loadCompose('s.yml', 'services:\n  web:\n    image: x\n    deploy:\n      update_config:\n        order: sideways\n', none), /s\.yml:6: .*order: must be one of: start-first, stop-first/);
});
test('YAML syntax errors name the line', () => {
  assert.throws(() => loadCompose('s.yml', 'services:\n  web:\n    image: [x\n', none), /s\.yml:\d+: invalid YAML/);
});
test('duplicate keys are refused', () => {
  assert.throws(() => loadCompose('s.yml', 'services:\n  web:\n    image: x\n    image: y\n', none), /invalid YAML/);
});
test('version 3.x or none is accepted; 2.x is refused naming the line', () => {
  for (const v of ['"3"', '"3.8"', '3.9']) loadCompose('v.yml', `version: ${v}\nservices: {}\n`, none);
  loadCompose('v.yml', 'services: {}\n', none);
  assert.throws(() => loadCompose('v.yml', '# old\nversion: "2.4"\nservices: {}\n', none), /v\.yml:2: unsupported Compose file version: 2\.4/);
});
test('an empty file is refused', () => {
  assert.throws(() => loadCompose('s.yml', '# nothing\n', none), /s\.yml: empty compose file/);
  assert.throws(() => loadCompose('s.yml', '- a\n', none), /must be a mapping/);
});
test('interpolation errors name file and line', () => {
  assert.throws(() => loadCompose('s.yml', 'services:\n  web:\n    image: ${IMG:?set IMG}\n', none), /s\.yml:3: services\.web\.image: required variable IMG is missing a value: set IMG/);
});
test('merging: later files override scalars and merge maps, env and labels by key', () => {
  const a = loadCompose('a.yml', 'services:\n  web:\n    image: x:1\n    environment: [A=1, B=2]\n    labels: {l: "1"}\n    deploy: {replicas: 2, labels: [d=1]}\n', none).data;
  const b = loadCompose('b.yml', 'services:\n  web:\n    image: x:2\n    environment: {B: "3", C: "4"}\n    deploy: {replicas: 5, labels: {e: "2"}}\n  api:\n    image: y\n', none).data;
  const m = mergeCompose([a, b]);
  assert.equal(m.services?.web, { image: 'x:2', environment: { A: '1', B: '3', C: '4' }, labels: { l: '1' }, deploy: { replicas: 5, labels: { d: '1', e: '2' } } });
  assert.equal(m.services?.api, { image: 'y' });
});
test('merging: volumes by target, secrets by source, ports as a union, networks by name', () => {
  const a = loadCompose('a.yml', 'services:\n  w:\n    image: x\n    volumes: ["d:/data", "/h:/h"]\n    secrets: [s1]\n    ports: ["80:80"]\n    networks: [front]\n', none).data;
  const b = loadCompose('b.yml', 'services:\n  w:\n    volumes: ["e:/data"]\n    secrets: [{source: s1, target: t}, s2]\n    ports: ["80:80", "443:443"]\n    networks: {back: {aliases: [b]}}\n', none).data;
  const w = mergeCompose([a, b]).services!.w;
  assert.equal(w.volumes, ['e:/data', '/h:/h']);
  assert.equal(w.secrets, [{ source: 's1', target: 't' }, 's2']);
  assert.equal(w.ports, ['80:80', '443:443']);
  assert.equal(w.networks, { front: null, back: { aliases: ['b'] } });
});
test('merging: top-level sections merge by name', () => {
  const a = loadCompose('a.yml', 'services: {}\nnetworks:\n  n1: {attachable: true}\n', none).data;
  const b = loadCompose('b.yml', 'networks:\n  n1: {internal: true}\n  n2: {}\n', none).data;
  assert.equal(mergeCompose([a, b]).networks, { n1: { attachable: true, internal: true }, n2: {} });
});

test.run();
