// A steady-rate HTTP client for the zero-downtime lab tests, run INSIDE a namespace (a
// task's netns for the VIP, the switch for the routing mesh) like netprobe.ts: it opens
// one new TCP connection every 1000/RATE ms on a fixed schedule (a slow answer never
// delays the next connection), sends `GET PATH HTTP/1.0`, and counts a request as good
// only on a complete `200` answer. It stops after COUNT requests, or once STOPFILE exists
// (checked every tick; optional) and at least MIN requests went out, and prints one JSON
// line. With READYFILE, that file is created at the first good answer, so a test can wait
// for the load to be flowing before it starts what the load watches:
//
//   node --import tsx steady-load.ts ADDR PORT RATE COUNT PATH [TIMEOUT_MS] [STOPFILE] [MIN] [READYFILE]
//   → {"sent":n,"ok":n,"errors":n,"answers":{"v1":n,"v2":n},"failures":[{"at":ms,"error":"…"}],
//      "startedAt":ms,"endedAt":ms}
//
// `failures` lists at most the first 20 (epoch ms of the attempt and why).
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** What one run of the client reports. */
export interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  /** First line of each good answer's body → count. */
  answers: Record<string, number>;
  failures: { at: number; error: string }[];
  startedAt: number;
  endedAt: number;
}

/** The argv that runs this file: prefix (e.g. `lab.enterCommand(h)` + `nsenter …`) + node + args. */
export function loadArgv(prefix: string[], args: (string | number)[]): string[] {
  return [...prefix, process.execPath, '--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url), ...args.map(String)];
}

/** One request on a new connection; resolves with the body's first line, rejects with why it failed. */
function request(addr: string, port: number, path: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: addr, port });
    let buf = '';
    const timer = setTimeout(() => s.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    s.on('data', (d: string) => (buf += d));
    s.on('error', (err) => { clearTimeout(timer); reject(err); });
    s.on('close', () => {
      clearTimeout(timer);
      const i = buf.indexOf('\r\n\r\n');
      if (!/^HTTP\/1\.\d 200/.test(buf) || i < 0) return reject(new Error(`bad answer: ${JSON.stringify(buf.slice(0, 60))}`));
      resolve(buf.slice(i + 4).split('\n')[0].trim());
    });
  });
}

async function main(argv: string[]): Promise<LoadResult> {
  const [addr, portS, rateS, countS, path, timeoutS, stopFile, minS, readyFile] = argv;
  const port = Number(portS), rate = Number(rateS), count = Number(countS), timeoutMs = Number(timeoutS || 3000), min = Number(minS || 0);
  if (!addr || !port || !rate || !count || !path) throw new Error('usage: steady-load ADDR PORT RATE COUNT PATH [TIMEOUT_MS] [STOPFILE] [MIN] [READYFILE]');
  const period = 1000 / rate;
  const r: LoadResult = { sent: 0, ok: 0, errors: 0, answers: {}, failures: [], startedAt: Date.now(), endedAt: 0 };
  const inflight = new Set<Promise<void>>();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    if (stopFile && i >= min && existsSync(stopFile)) break;
    // On a fixed schedule: connection i goes at t0 + i·period, whatever the answers.
    const wait = t0 + i * period - performance.now();
    if (wait > 0) await new Promise((ok) => setTimeout(ok, wait));
    const at = Date.now();
    r.sent++;
    const p = request(addr, port, path, timeoutMs).then((body) => {
      if (r.ok === 0 && readyFile) writeFileSync(readyFile, '');
      r.ok++;
      r.answers[body] = (r.answers[body] ?? 0) + 1;
    }, (err: Error) => {
      r.errors++;
      if (r.failures.length < 20) r.failures.push({ at, error: err.message });
    }).finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all([...inflight]);
  r.endedAt = Date.now();
  return r;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((r) => {
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(0);
  }, (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
