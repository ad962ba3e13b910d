import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allocatePort, createPortState, releasePorts } from './ports.ts';
import { InUseError, InvalidAddressError } from './errors.ts';

test('a requested port is taken once per protocol', () => {
  let s = createPortState();
  s = allocatePort(s, 'web', { protocol: 'tcp', published: 8080 }).state;
  s = allocatePort(s, 'dns', { protocol: 'udp', published: 8080 }).state;
  assert.throws(() => allocatePort(s, 'api', { protocol: 'tcp', published: 8080 }),
    (e: Error) => e instanceof InUseError && e.message.includes("port '8080/tcp' is already in use by service 'web'"));
  assert.is(allocatePort(s, 'web', { protocol: 'tcp', published: 8080 }).state, s, 'the owner asking again changes nothing');
});

test('a left-out port is the lowest free one from 30000', () => {
  let s = createPortState();
  s = allocatePort(s, 'a', { protocol: 'tcp', published: 30000 }).state;
  const r = allocatePort(s, 'b', { protocol: 'tcp' });
  assert.is(r.port, 30001);
  assert.is(allocatePort(r.state, 'c', { protocol: 'udp' }).port, 30000);
});

test('releasing a service frees its ports; bad ports are refused', () => {
  let s = createPortState();
  s = allocatePort(s, 'a', { protocol: 'tcp', published: 80 }).state;
  s = allocatePort(s, 'a', { protocol: 'tcp' }).state;
  s = releasePorts(s, 'a');
  assert.equal(s.ports, {});
  assert.is(releasePorts(s, 'a'), s);
  assert.throws(() => allocatePort(s, 'a', { protocol: 'tcp', published: 70000 }), (e: Error) => e instanceof InvalidAddressError && e.message.includes('"70000"'));
});

test.run();
