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
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
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
}

/** `conc` sequential clients putting `valueBytes`-byte values for `seconds`; latency per put. */
export async function runLoad(base: string, opts: { conc: number; seconds: number; valueBytes?: number }): Promise<LoadResult> {
  const value = Buffer.alloc(opts.valueBytes ?? 1024, 'x').toString('base64');
  for (let i = 0; i < 20; i++) await put(base, `warm/${i}`, value);
  const lat: number[] = [];
  let errs = 0;
  const t0 = performance.now();
  const end = t0 + opts.seconds * 1000;
  await Promise.all(Array.from({ length: opts.conc }, async (_, c) => {
    let i = 0;
    while (performance.now() < end) {
      const s = performance.now();
      try {
        await put(base, `bench/${c}/${i++ % 1000}`, value);
        lat.push(performance.now() - s);
      } catch {
        errs++;
      }
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => (lat.length ? +lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2) : NaN);
  return { conc: opts.conc, n: lat.length, errs, writesPerSec: Math.round(lat.length / elapsed), p50ms: q(0.5), p99ms: q(0.99), maxms: q(1) };
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

export function median(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : null;
}
