import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuPercent, memoryUsage, netStats, statsDocument, systemCpu, type RawSample } from './stats.ts';
import { parseProcCgroup } from './cgroup-sample.ts';
import { filterPsOutput } from './top.ts';
import { Demuxer, frame } from './stdcopy.ts';

const NETDEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    5000      10    0    1    0     0          0         0     7000      20    0    0    0     0       0          0
`;
const stat = (ticks: number) => `cpu  ${ticks} 0 0 0 0 0 0 0 0 0\ncpu0 1 0 0 0\ncpu1 1 0 0 0\n`;

function v1(usage: number, sysTicks: number): RawSample {
  return {
    version: 'v1', procStat: stat(sysTicks), netDev: NETDEV, hostMemory: 8 * 2 ** 30, read: new Date(0),
    files: {
      'cpuacct.usage': String(usage), 'cpuacct.stat': 'user 30\nsystem 10\n', 'memory.usage_in_bytes': '10485760\n',
      'memory.limit_in_bytes': '9223372036854771712\n', 'memory.stat': 'cache 100\ntotal_inactive_file 2097152\n',
      'blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\nTotal 12288\n', 'pids.current': '3\n', 'pids.max': 'max\n',
    },
  };
}

test('cpu percent follows the CLI formula over two samples (v1)', () => {
  // 1 s of host time on 2 CPUs = 200 ticks; the container used 0.5 s of CPU → 50 % of two CPUs → 50 %.
  const pre = v1(1e9, 1000);
  const cur = v1(1.5e9, 1200);
  const doc = statsDocument(cur, pre, { id: 'c', name: 'web.1.x' }) as any;
  assert.is(doc.cpu_stats.online_cpus, 2);
  assert.is(doc.cpu_stats.system_cpu_usage, 12e9);
  assert.is(Math.round(cpuPercent(doc)), 50);
  assert.is(doc.name, '/web.1.x');
});

test('memory without a limit reports the host memory, usage without inactive page cache', () => {
  const doc = statsDocument(v1(1, 1), undefined, { id: 'c', name: 'n' }) as any;
  assert.is(doc.memory_stats.limit, 8 * 2 ** 30);
  assert.is(memoryUsage(doc.memory_stats), 8 << 20);
  assert.equal(doc.blkio_stats.io_service_bytes_recursive.map((e: any) => e.op), ['Read', 'Write', 'Total']);
  assert.is(doc.pids_stats.current, 3);
  assert.is(doc.pids_stats.limit, undefined);
});

test('v2 counters map onto the same document', () => {
  const s: RawSample = {
    version: 'v2', procStat: stat(100), netDev: NETDEV, hostMemory: 8 * 2 ** 30, read: new Date(0),
    files: { 'cpu.stat': 'usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 4\n', 'memory.current': '4096\n', 'memory.max': '65536\n', 'memory.stat': 'inactive_file 1024\n', 'io.stat': '8:0 rbytes=10 wbytes=20 rios=1 wios=2\n', 'pids.max': '50\n' },
  };
  const doc = statsDocument(s, undefined, { id: 'c', name: 'n' }) as any;
  assert.is(doc.cpu_stats.cpu_usage.total_usage, 2_000_000);
  assert.is(doc.cpu_stats.throttling_data.periods, 4);
  assert.is(doc.memory_stats.limit, 65536);
  assert.is(memoryUsage(doc.memory_stats), 3072);
  assert.equal(doc.blkio_stats.io_service_bytes_recursive, [{ major: 8, minor: 0, op: 'read', value: 10 }, { major: 8, minor: 0, op: 'write', value: 20 }]);
  assert.is(doc.pids_stats.limit, 50);
});

test('network counters leave loopback out', () => {
  assert.equal(Object.keys(netStats(NETDEV)), ['eth0']);
  assert.is(netStats(NETDEV).eth0.tx_bytes, 7000);
  assert.is(systemCpu('cpu  1 2 3 4 5 6 7 8\ncpu0 x\n').usageNs, 28 * 1e7);
});

test('proc cgroup lines give each controller its path, joined controllers split', () => {
  const m = parseProcCgroup('4:memory:/shoal-n/t1\n2:cpu,cpuacct:/shoal-n/t1\n0::/\n');
  assert.is(m.get('memory'), '/shoal-n/t1');
  assert.is(m.get('cpuacct'), '/shoal-n/t1');
  assert.is(m.get(''), '/');
});

test('top keeps the container\'s rows and the command with its spaces', () => {
  const out = 'UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 /sbin/init\nroot 42 1 0 10:01 ? 00:00:00 sleep 1000\n';
  assert.equal(filterPsOutput(out, [42]), { Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], Processes: [['root', '42', '1', '0', '10:01', '?', '00:00:00', 'sleep 1000']] });
  assert.throws(() => filterPsOutput('USER COMMAND\nroot x\n', [1]), /PID field/);
});

test('multiplexed frames carry stream and length, and split back whatever the chunking', () => {
  const payload = Buffer.from([0, 255, 10, 13, 0x80, 0x7f]);
  const bytes = Buffer.concat([frame(1, payload), frame(2, 'err\n')]);
  assert.equal([...bytes.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 6]);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const d = new Demuxer();
    const got = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
    assert.is(got.length, 2);
    assert.ok(got[0].payload.equals(payload));
    assert.is(got[1].stream, 2);
    assert.is(got[1].payload.toString(), 'err\n');
  }
});

test.run();
