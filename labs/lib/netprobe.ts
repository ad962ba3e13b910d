// Small network clients and servers run INSIDE a namespace (a task's netns, a lab host,
// the switch) for the network lab tests and the `network` benchmark. busybox in the test
// image has no UDP server and no timing, so these are plain Node programs started with
// `nsenter --net=… node --import tsx netprobe.ts MODE …`; each prints one JSON line.
//
//   http ADDR PORT N CONC          N HTTP/1.0 GETs (new connection each), CONC at a time
//                                  → {"ok":n,"errors":n,"ms":t,"rps":r,"answers":{"<body>":n},"firstError":"…"}
//   watch ADDR PORT WANT TIMEOUT   GETs in a loop (5 ms apart) until WANT distinct bodies were
//                                  seen or TIMEOUT ms → {"first":{"<body>":epochMs},"errors":n}
//   dns N NAME [SERVER]            N sequential A queries (default server 127.0.0.11:53) after
//                                  min(200, N/10) uncounted ones
//                                  → {"n":n,"p50_ms":…,"p99_ms":…,"answers":[…],"errors":n}
//   udp-echo PORT TAG              answers every datagram with TAG, until killed
//   udp-ask ADDR PORT N [fresh]    N datagrams one at a time (1 s timeout each), each from a new
//                                  socket with `fresh` → {"answers":[…]}
//
// From a lab test: `await probe(lab.enterCommand('h1'), { netns: 't-abc' }, ['dns', '100', 'web'])`.
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { run } from './procs.ts';

/** The argv that runs this file in a netns: prefix (e.g. `lab.enterCommand(h)`) + nsenter + node. */
export function probeArgv(prefix: string[], where: { netns?: string; pid?: number }, args: string[]): string[] {
  const into = where.netns ? ['nsenter', `--net=/run/netns/${where.netns}`] : where.pid ? ['nsenter', '-t', String(where.pid), '-n'] : [];
  return [...prefix, ...into, process.execPath, '--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url), ...args];
}

/**
 * Runs a probe mode and parses its JSON line. `prefix` enters a lab host
 * (`lab.enterCommand(h)`) or is empty for the root namespaces; `where` picks a netns by
 * name (under that mount namespace's /run/netns) or by a process's PID.
 */
export async function probe<T>(prefix: string[], where: { netns?: string; pid?: number }, args: string[], timeoutMs = 120_000): Promise<T> {
  const [cmd, ...rest] = probeArgv(prefix, where, args);
  const r = await run(cmd, rest, { timeoutMs });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`netprobe ${args.join(' ')} in ${where.netns ?? where.pid ?? 'the host'}: no result (code ${r.code}): ${r.stderr.trim().slice(-400)}`);
  }
}

const DNSQ = fileURLToPath(new URL('./dnsq.pl', import.meta.url));

/** DNS latency inside a netns, measured by `dnsq.pl` (N sequential A queries for `name` to 127.0.0.11). */
export async function dnsLatency(prefix: string[], where: { netns?: string; pid?: number }, n: number, name: string): Promise<Omit<DnsResult, 'answers'>> {
  const into = where.netns ? ['nsenter', `--net=/run/netns/${where.netns}`] : where.pid ? ['nsenter', '-t', String(where.pid), '-n'] : [];
  const [cmd, ...rest] = [...prefix, ...into, 'perl', DNSQ, String(n), name];
  const r = await run(cmd, rest, { timeoutMs: 120_000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Omit<DnsResult, 'answers'>;
  } catch {
    throw new Error(`dnsq ${n} ${name}: no result (code ${r.code}): ${r.stderr.trim().slice(-400)}`);
  }
}

/** Result of the `http` mode. */
export interface HttpResult { ok: number; errors: number; ms: number; rps: number; answers: Record<string, number>; firstError?: string }
/** Result of the `dns` mode. */
export interface DnsResult { n: number; p50_ms: number; p90_ms: number; p99_ms: number; max_ms: number; answers: string[]; errors: number }
/** Result of the `watch` mode. */
export interface WatchResult {
  first: Record<string, number>;
  answered: Record<string, number>;
  errors: number;
  /** When the first request that was refused (ECONNREFUSED) was sent; absent: none was. */
  firstRefused?: number;
  /** Errors by code (ECONNREFUSED, ETIMEDOUT, …). */
  errorCodes: Record<string, number>;
}

/** One HTTP/1.0 GET / on a new connection; resolves with the body's first line. */
export function getOnce(addr: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((ok, fail) => {
    const s = net.connect({ host: addr, port });
    let buf = '';
    const timer = setTimeout(() => s.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write('GET / HTTP/1.0\r\n\r\n'));
    s.on('data', (d: string) => (buf += d));
    s.on('error', (err) => { clearTimeout(timer); fail(err); });
    s.on('close', () => {
      clearTimeout(timer);
      const i = buf.indexOf('\r\n\r\n');
      if (!/^HTTP\/1\.\d 200/.test(buf) || i < 0) return fail(new Error(`bad answer: ${JSON.stringify(buf.slice(0, 80))}`));
      ok(buf.slice(i + 4).split('\n')[0].trim());
    });
  });
}

async function httpMode(addr: string, port: number, n: number, conc: number): Promise<HttpResult> {
  const answers: Record<string, number> = {};
  let ok = 0, errors = 0, next = 0, firstError: string | undefined;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) {
      next++;
      try {
        const body = await getOnce(addr, port);
        answers[body] = (answers[body] ?? 0) + 1;
        ok++;
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  }));
  const ms = performance.now() - t0;
  return { ok, errors, ms: +ms.toFixed(1), rps: +((ok / ms) * 1000).toFixed(1), answers, firstError };
}

/**
 * `conc` loops GET the address over and over (5 ms apart each) until `want` different
 * answers came or `timeoutMs` passed. `first[body]`: when the earliest request that `body`
 * answered was *sent* (its connect started: the address mapped to `body` by then, so
 * this bounds when it joined a VIP's rotation); `answered[body]`: when the first answer
 * from `body` arrived. Several loops at once sample the rotation more often than one
 * (each GET through busybox httpd takes ~10–20 ms, and with two backends a request
 * reaches the new one half the time). `firstRefused`: when the first refused request was
 * sent (a backend with nothing listening yet: a task that runs before its server does).
 */
export async function watchMode(addr: string, port: number, want: number, timeoutMs: number, conc = 1): Promise<WatchResult> {
  const first: Record<string, number> = {};
  const answered: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  let errors = 0;
  let firstRefused: number | undefined;
  const deadline = Date.now() + timeoutMs;
  const done = () => Object.keys(answered).length >= want || Date.now() >= deadline;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (!done()) {
      const sent = Date.now();
      try {
        const body = await getOnce(addr, port, 1000);
        first[body] = Math.min(first[body] ?? Infinity, sent);
        answered[body] ??= Date.now();
      } catch (err) {
        errors++;
        const code = (err as NodeJS.ErrnoException).code ?? 'other';
        errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        if (code === 'ECONNREFUSED') firstRefused = Math.min(firstRefused ?? Infinity, sent);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }));
  return { first, answered, errors, errorCodes, ...(firstRefused !== undefined ? { firstRefused } : {}) };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function dnsMode(n: number, name: string, server: string): Promise<DnsResult> {
  const [host, port] = server.includes(':') ? [server.split(':')[0], Number(server.split(':')[1])] : [server, 53];
  const c = dgram.createSocket('udp4');
  await new Promise<void>((ok) => c.bind(0, ok));
  const times: number[] = [];
  let errors = 0;
  let answers: string[] = [];
  const warmup = Math.min(200, Math.floor(n / 10)); // JIT and first-packet costs, not counted
  try {
    for (let i = -warmup; i < n; i++) {
      const msg = dnsPacket.encode({ id: i & 0xffff, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', class: 'IN', name }] });
      const t0 = performance.now();
      const reply = await new Promise<Buffer | undefined>((ok) => {
        const guard = setTimeout(() => { c.removeAllListeners('message'); ok(undefined); }, 1000);
        c.once('message', (m: Buffer) => { clearTimeout(guard); ok(m); });
        c.send(msg, port, host);
      });
      if (i < 0) continue;
      if (!reply) { errors++; continue; }
      times.push(performance.now() - t0);
      if (i === 0) {
        try {
          answers = (dnsPacket.decode(reply).answers ?? []).map((a) => String((a as { data: unknown }).data));
        } catch {
          answers = ['(undecodable reply)'];
        }
      }
    }
  } finally {
    c.close();
  }
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return { n: times.length, p50_ms: r3(pct(times, 50)), p90_ms: r3(pct(times, 90)), p99_ms: r3(pct(times, 99)), max_ms: r3(Math.max(...times)), answers, errors };
}

function udpEcho(port: number, tag: string): void {
  const s = dgram.createSocket('udp4');
  s.on('message', (_m, r) => s.send(tag, r.port, r.address));
  s.bind(port, () => process.stdout.write(JSON.stringify({ listening: port }) + '\n'));
}

async function udpAsk(addr: string, port: number, n: number, fresh: boolean): Promise<{ answers: string[] }> {
  const open = async () => {
    const c = dgram.createSocket('udp4');
    await new Promise<void>((ok) => c.bind(0, ok));
    return c;
  };
  let c = await open();
  const answers: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      // A new socket is a new flow: conntrack pins one flow to one backend.
      if (fresh && i > 0) { c.close(); c = await open(); }
      answers.push(await new Promise<string>((ok) => {
        const guard = setTimeout(() => { c.removeAllListeners('message'); ok(''); }, 1000);
        c.once('message', (m: Buffer) => { clearTimeout(guard); ok(m.toString()); });
        c.send(`ping ${i}`, port, addr);
      }));
    }
  } finally {
    c.close();
  }
  return { answers };
}

async function main(argv: string[]): Promise<unknown> {
  const [mode, ...a] = argv;
  switch (mode) {
    case 'http': return httpMode(a[0], Number(a[1]), Number(a[2]), Number(a[3] ?? 1));
    case 'watch': return watchMode(a[0], Number(a[1]), Number(a[2]), Number(a[3]), a[4] === undefined ? 1 : Number(a[4]));
    case 'dns': return dnsMode(Number(a[0]), a[1], a[2] ?? '127.0.0.11:53');
    case 'udp-ask': return udpAsk(a[0], Number(a[1]), Number(a[2]), a[3] === 'fresh');
    case 'udp-echo': udpEcho(Number(a[0]), a[1]); return undefined;
    default: throw new Error(`netprobe: unknown mode ${mode}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((r) => {
    if (r !== undefined) {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    }
  }, (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
