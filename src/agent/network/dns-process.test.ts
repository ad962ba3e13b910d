// DnsProcess without a netns: the child it forks gets the nice value asked for (raising
// it needs no privilege, so this runs as any user; lowering it is in the lab test).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { nullLogger } from '../../common/logger.ts';
import { DnsProcess } from './dns-process.ts';


test('the child runs at the nice value given', async () => {
  const entry = fileURLToPath(new URL('./dns-process.test-child.mjs', import.meta.url));
  const dns = new DnsProcess({ logger: nullLogger, upstreams: [], entry, nice: 7 });
  try {
    dns.setTable({});
    const pid = dns.pid;
    assert.ok(pid, 'a child was started');
    assert.is(getPriority(pid), 7);
  } finally {
    dns.close();
  }
});

test.run();
