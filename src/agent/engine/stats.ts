/**
 * Docker's `/containers/{id}/stats` document, from raw cgroup v1 or v2 file contents.
 * Pure: the reader (`cgroup-sample.ts`) hands in the files' text; this turns them into
 * the numbers `docker stats` renders (CPU %, memory usage without page cache, network
 * and block I/O).
 */

/** One reading of a container's counters: file name → contents, per controller. */
export interface RawSample {
  /** `v1` (per-controller hierarchies) or `v2` (one unified hierarchy) for memory/cpu/io/pids. */
  version: 'v1' | 'v2';
  /** File contents by file name (`memory.stat`, `cpuacct.usage`, `cpu.stat`, `io.stat`, …); absent files missing. */
  files: Record<string, string>;
  /** `/proc/stat` of the host. */
  procStat: string;
  /** `/proc/<pid>/net/dev` of the container. */
  netDev: string;
  /** The host's memory, bytes (the limit Docker reports for a container without one). */
  hostMemory: number;
  /** When it was read. */
  read: Date;
}

const CLK_TCK = 100;
const UNLIMITED = 2n ** 62n;

function num(s: string | undefined): number {
  const n = Number((s ?? '').trim());
  return Number.isFinite(n) ? n : 0;
}

/**
 * `key value` lines into a map (memory.stat, cpu.stat, cpuacct.stat): a line's first two
 * words, when the second is all digits. One regular expression over the text, not a split
 * per line: a metrics scrape parses some 50 memory.stat files.
 */
export function keyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!text) return out;
  for (const m of text.matchAll(KEY_VALUE)) out[m[1]] = Number(m[2]);
  return out;
}

const KEY_VALUE = /^\s*?(\S+)[^\S\n]+(\d+)(?!\S)/gm;

/** Host CPU time in nanoseconds (the first line of /proc/stat, user…steal) and the CPU count. */
export function systemCpu(procStat: string): { usageNs: number; online: number } {
  const lines = procStat.split('\n');
  const f = (lines.find((l) => l.startsWith('cpu ')) ?? 'cpu').trim().split(/\s+/).slice(1, 8).map(Number);
  const ticks = f.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const online = lines.filter((l) => /^cpu\d+\s/.test(l)).length || 1;
  return { usageNs: ticks * (1e9 / CLK_TCK), online };
}

/** Per-interface counters from /proc/<pid>/net/dev, loopback left out (as Docker). */
export function netStats(netDev: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const l of netDev.split('\n').slice(2)) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const name = l.slice(0, i).trim();
    if (name === 'lo') continue;
    const f = l.slice(i + 1).trim().split(/\s+/).map(Number);
    out[name] = {
      rx_bytes: f[0], rx_packets: f[1], rx_errors: f[2], rx_dropped: f[3],
      tx_bytes: f[8], tx_packets: f[9], tx_errors: f[10], tx_dropped: f[11],
    };
  }
  return out;
}

function blkioV1(text: string | undefined): { major: number; minor: number; op: string; value: number }[] {
  const out: { major: number; minor: number; op: string; value: number }[] = [];
  for (const l of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+)\s+(\w+)\s+(\d+)$/.exec(l.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  return out;
}

function blkioV2(text: string | undefined): { major: number; minor: number; op: string; value: number }[] {
  const out: { major: number; minor: number; op: string; value: number }[] = [];
  for (const l of (text ?? '').split('\n')) {
    const [dev, ...kv] = l.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const vals = Object.fromEntries(kv.map((x) => x.split('=')).map(([k, v]) => [k, Number(v)]));
    out.push({ major: Number(m[1]), minor: Number(m[2]), op: 'read', value: vals.rbytes ?? 0 });
    out.push({ major: Number(m[1]), minor: Number(m[2]), op: 'write', value: vals.wbytes ?? 0 });
  }
  return out;
}

function limitOf(text: string | undefined, host: number): number {
  const t = (text ?? '').trim();
  if (!t || t === 'max') return host;
  try { if (BigInt(t) >= UNLIMITED) return host; } catch { return host; }
  return Math.min(Number(t), host);
}

/** The CPU part of a stats document (cpu_stats / precpu_stats). */
export function cpuStats(s: RawSample): Record<string, unknown> {
  const sys = systemCpu(s.procStat);
  const f = s.files;
  if (s.version === 'v2') {
    const c = keyValues(f['cpu.stat']);
    return {
      cpu_usage: { total_usage: (c.usage_usec ?? 0) * 1000, usage_in_kernelmode: (c.system_usec ?? 0) * 1000, usage_in_usermode: (c.user_usec ?? 0) * 1000 },
      system_cpu_usage: sys.usageNs, online_cpus: sys.online,
      throttling_data: { periods: c.nr_periods ?? 0, throttled_periods: c.nr_throttled ?? 0, throttled_time: (c.throttled_usec ?? 0) * 1000 },
    };
  }
  const acct = keyValues(f['cpuacct.stat']);
  const thr = keyValues(f['cpu.stat']);
  const percpu = (f['cpuacct.usage_percpu'] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  return {
    cpu_usage: {
      total_usage: num(f['cpuacct.usage']), ...(percpu.length ? { percpu_usage: percpu } : {}),
      usage_in_kernelmode: (acct.system ?? 0) * (1e9 / CLK_TCK), usage_in_usermode: (acct.user ?? 0) * (1e9 / CLK_TCK),
    },
    system_cpu_usage: sys.usageNs, online_cpus: sys.online,
    throttling_data: { periods: thr.nr_periods ?? 0, throttled_periods: thr.nr_throttled ?? 0, throttled_time: thr.throttled_time ?? 0 },
  };
}

/** The memory part: usage, limit (the host's when none) and the raw memory.stat keys. */
export function memoryStats(s: RawSample): Record<string, unknown> {
  const f = s.files;
  if (s.version === 'v2') {
    return { usage: num(f['memory.current']), stats: keyValues(f['memory.stat']), limit: limitOf(f['memory.max'], s.hostMemory) };
  }
  return {
    usage: num(f['memory.usage_in_bytes']), max_usage: num(f['memory.max_usage_in_bytes']), failcnt: num(f['memory.failcnt']),
    stats: keyValues(f['memory.stat']), limit: limitOf(f['memory.limit_in_bytes'], s.hostMemory),
  };
}

/** A whole stats document; `pre` is the previous sample (the CLI's CPU % is the delta between them). */
export function statsDocument(cur: RawSample, pre: RawSample | undefined, meta: { id: string; name: string }): Record<string, unknown> {
  const f = cur.files;
  const io = cur.version === 'v2' ? blkioV2(f['io.stat']) : blkioV1(f['blkio.throttle.io_service_bytes_recursive']);
  const pidsMax = (f['pids.max'] ?? '').trim();
  const zeroCpu = { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
  return {
    read: cur.read.toISOString(),
    preread: pre ? pre.read.toISOString() : '0001-01-01T00:00:00Z',
    pids_stats: { current: num(f['pids.current']), ...(pidsMax && pidsMax !== 'max' ? { limit: num(pidsMax) } : {}) },
    blkio_stats: {
      io_service_bytes_recursive: io, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
      io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(cur),
    precpu_stats: pre ? cpuStats(pre) : zeroCpu,
    memory_stats: memoryStats(cur),
    name: `/${meta.name}`,
    id: meta.id,
    networks: netStats(cur.netDev),
  };
}

/** The CPU percentage `docker stats` shows for two documents (the CLI's formula; for tests and tools). */
export function cpuPercent(doc: { cpu_stats: any; precpu_stats: any }): number {
  const cpuDelta = doc.cpu_stats.cpu_usage.total_usage - doc.precpu_stats.cpu_usage.total_usage;
  const sysDelta = (doc.cpu_stats.system_cpu_usage ?? 0) - (doc.precpu_stats.system_cpu_usage ?? 0);
  if (cpuDelta <= 0 || sysDelta <= 0) return 0;
  return (cpuDelta / sysDelta) * (doc.cpu_stats.online_cpus ?? 1) * 100;
}

/** Memory usage as the CLI shows it: usage minus inactive page cache (v1 `total_inactive_file`, v2 `inactive_file`). */
export function memoryUsage(mem: { usage: number; stats: Record<string, number> }): number {
  const cache = mem.stats.total_inactive_file ?? mem.stats.inactive_file ?? 0;
  return cache < mem.usage ? mem.usage - cache : mem.usage;
}
