import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateFile, emptyState, type NetworkState } from './state.ts';

test('StateFile: saves atomically, loads back, removes; missing or corrupt files load empty', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-netstate-'));
  try {
    const f = new StateFile(dir);
    assert.equal(f.load(), emptyState());
    const s: NetworkState = {
      sandboxes: { n1: { networkId: 'n1', vni: 4096, subnet: '10.0.0.0/24', gateway: '10.0.0.1', mtu: 1450, netns: 'sb-n1', peers: [{ ip: '10.0.0.6', mac: '02:42:0a:00:00:06', vtep: '192.168.100.12' }], ready: true } },
      tasks: { t1: { taskId: 't1', name: 'web.1.t1', netns: 't-t1', attachments: [], hostPorts: [{ protocol: 'tcp', published: 8080, target: 80 }] } },
      ingress: { networkId: 'n1', address: '10.0.0.3/24' },
    };
    f.save(s);
    assert.ok(f.file.startsWith(join(dir, 'swarm', 'network')));
    assert.not.ok(existsSync(`${f.file}.tmp`));
    assert.equal(f.load(), s);
    writeFileSync(f.file, '{not json');
    const errors: unknown[] = [];
    assert.equal(f.load((e) => errors.push(e)), emptyState());
    assert.is(errors.length, 1);
    f.remove();
    assert.not.ok(existsSync(f.file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
