/**
 * The load generator the raft benchmark uses for both systems, so the ratio is fair:
 * etcd's v3 HTTP/JSON gateway shape (`POST /v3/kv/put` with base64 key and value,
 * `POST /v3/maintenance/status`), which `raft-member.ts` serves too. Each client is a
 * sequential loop (one put in flight) over a keep-alive agent, as in
 * /work/shared/anchors/etcd/bench.js.
 */
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(readonly status: number, body: string) {
    super(`bench: http ${status}: ${body.slice(0, 200)}`);
  }
}

/** POSTs JSON, resolves with the parsed 200 response. */
export function post(base: string, path: string, body: unknown, timeoutMs = 2000): Promise<any> {
  const u = new URL(base);
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, path, method: 'POST', agent,
      // x-sent-ms: when the put left (epoch ms, sub-ms); a traced member times its wait to be read.
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-sent-ms': String(performance.timeOrigin + performance.now()) },
    }, (res) => {
      let d = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (d += c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new HttpStatusError(res.statusCode ?? 0, d));
        try {
          resolve(JSON.parse(d));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(text);
  });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** One put of `value` (base64) under `key`. */
export function put(base: string, key: string, value: string, timeoutMs = 2000): Promise<unknown> {
  return post(base, '/v3/kv/put', { key: b64(key), value }, timeoutMs);
}

export interface LoadResult {
  conc: number;
  n: number;
  errs: number;
  writesPerSec: number;
  p50ms: number;
  p99ms: number;
  maxms: number;
  /** Every put's latency in ms, ascending (kept so rounds can be pooled; not for the JSON). */
  lat?: number[];
}

/** The puts of one side over a round, gathered slice by slice (`loadSlice`). */
export interface LoadTally {
  lat: number[];
  errs: number;
  /** Time spent loading, in ms, summed over the slices. */
  ms: number;
}

export const newTally = (): LoadTally => ({ lat: [], errs: 0, ms: 0 });

/** A 1 KiB (by default) value, base64, as both systems receive it. */
export const benchValue = (bytes = 1024) => Buffer.alloc(bytes, 'x').toString('base64');

/** 20 puts, not counted: the connection and both sides' first-write paths are warm after. */
export async function warmUp(base: string, value = benchValue()): Promise<void> {
  for (let i = 0; i < 20; i++) await put(base, `warm/${i}`, value);
}

/**
 * `conc` sequential clients putting `value` for `ms` ms, their latencies and errors added to
 * `tally`. Key `i` of client `c` is `bench/c/i % 1000`, continuing from `tally`'s count so
 * the slices of a round walk the same 1000 keys per client as one long run would.
 */
export async function loadSlice(base: string, opts: { conc: number; ms: number; value: string }, tally: LoadTally): Promise<void> {
  const t0 = performance.now();
  const end = t0 + opts.ms;
  const from = Math.ceil(tally.lat.length / opts.conc);
  await Promise.all(Array.from({ length: opts.conc }, async (_, c) => {
    let i = from;
    while (performance.now() < end) {
      const s = performance.now();
      try {
        await put(base, `bench/${c}/${i++ % 1000}`, opts.value);
        tally.lat.push(performance.now() - s);
      } catch {
        tally.errs++;
      }
    }
  }));
  tally.ms += performance.now() - t0;
}

/** `q`-quantile of ascending `lat`, rounded to 0.01 ms (NaN when empty). */
export function quantile(lat: readonly number[], q: number): number {
  return lat.length ? +lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(2) : NaN;
}

/** A tally's figures: writes/s over the time spent loading, latency quantiles. Sorts `tally.lat`. */
export function loadResult(conc: number, tally: LoadTally): LoadResult {
  const lat = tally.lat.sort((a, b) => a - b);
  const q = (p: number) => quantile(lat, p);
  return { conc, n: lat.length, errs: tally.errs, writesPerSec: Math.round(lat.length / (tally.ms / 1000)), p50ms: q(0.5), p99ms: q(0.99), maxms: q(1), lat };
}

/** `conc` sequential clients putting `valueBytes`-byte values for `seconds`; latency per put. */
export async function runLoad(base: string, opts: { conc: number; seconds: number; valueBytes?: number }): Promise<LoadResult> {
  const value = benchValue(opts.valueBytes);
  await warmUp(base, value);
  const tally = newTally();
  await loadSlice(base, { conc: opts.conc, ms: opts.seconds * 1000, value }, tally);
  return loadResult(opts.conc, tally);
}

/** A cluster of three members the benchmark can load, kill and restart. */
export interface BenchCluster {
  readonly name: string;
  /** Client URL of member i (0-based). */
  clientUrl(i: number): string;
  start(): Promise<void>;
  /** SIGKILL member i. */
  kill(i: number): void;
  /** Starts member i again on its data. Resolves when it answers. */
  restart(i: number): Promise<void>;
  /** Kills everything it started (by PID) and waits for the exits. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The member index all three agree leads (by `/v3/maintenance/status`), waiting up to `timeoutMs`. */
export async function findLeader(c: BenchCluster, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const st = await Promise.all([0, 1, 2].map((i) => post(c.clientUrl(i), '/v3/maintenance/status', {}, 500).catch(() => undefined)));
    if (st.every((s) => s && String(s.leader) !== '0' && s.leader)) {
      const lead = String(st[0].leader);
      const i = st.findIndex((s) => String(s.header.member_id) === lead);
      if (i >= 0 && st.every((s) => String(s.leader) === lead)) return i;
    }
    await sleep(50);
  }
  throw new Error(`bench: ${c.name}: no stable leader`);
}

/**
 * Kills the leader with SIGKILL while every survivor receives a new put every 5 ms, and
 * returns the ms from the kill to the completion of the first put sent after it
 * (the method of /work/shared/anchors/etcd/failover.js). Restarts the killed member.
 */
export async function measureFailover(c: BenchCluster, run: number): Promise<{ ms: number | null; killed: number }> {
  const leader = await findLeader(c);
  const others = [0, 1, 2].filter((i) => i !== leader);
  const value = Buffer.alloc(1024, 'y').toString('base64');
  for (const i of others) await put(c.clientUrl(i), 'fo/pre', value, 5000);
  let tKill: number | undefined = undefined;
  let firstOk: number | undefined;
  let stop = false;
  let k = 0;
  const inflight = new Set<Promise<unknown>>();
  const prober = (async () => {
    while (!stop) {
      for (const i of others) {
        const sent = performance.now();
        const p = put(c.clientUrl(i), `fo/${run}/${k++}`, value).then(() => {
          const done = performance.now();
          if (tKill !== undefined && sent >= tKill && (firstOk === undefined || done < firstOk)) firstOk = done;
        }, () => {});
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      await sleep(5);
    }
  })();
  await sleep(300);
  tKill = performance.now();
  c.kill(leader);
  while (firstOk === undefined && performance.now() - tKill < 20_000) await sleep(2);
  stop = true;
  await prober;
  await Promise.allSettled([...inflight]);
  await c.restart(leader);
  return { ms: firstOk === undefined ? null : +(firstOk - tKill).toFixed(1), killed: leader };
}
