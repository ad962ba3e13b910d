// A client run INSIDE a namespace (the lab switch, a host) that opens new HTTP/1.0
// connections at a steady pace for a while and records, for each, when it was opened and
// what answered: the raw material of the update lab tests and the `update` benchmark
// (which version answered new connections when, how many failed).
//
//   node --import tsx conn-timeline.ts ADDR PORT DURATION_MS CONC [PACE_MS]
//   → {"samples":[[openedAtMs, body|""],…],"errors":n,"firstError":"…"}  (one JSON line)
//
// Each of CONC workers opens a connection, waits for its answer (2 s timeout), waits
// PACE_MS (default 0) and opens the next, until DURATION_MS passed; a failed connection
// records "" as its body. Bounded in time and count; talks only to ADDR (a lab address).
import { fileURLToPath } from 'node:url';
import { getOnce, probeArgv } from './netprobe.ts';
import { run } from './procs.ts';

/** The result of one run. */
export interface Timeline {
  /** [when the connection was opened (epoch ms), body's first line or '' on failure]. */
  samples: [number, string][];
  errors: number;
  firstError?: string;
}

/**
 * Runs the timeline client inside a namespace (`prefix` + `where` as netprobe's `probe`)
 * and parses its result.
 */
export async function connTimeline(prefix: string[], where: { netns?: string; pid?: number }, o: { addr: string; port: number; durationMs: number; conc?: number; paceMs?: number }): Promise<Timeline> {
  const base = probeArgv(prefix, where, []);
  // probeArgv runs netprobe.ts: swap in this file as the script.
  const argv = [...base.slice(0, -1), fileURLToPath(import.meta.url), o.addr, String(o.port), String(o.durationMs), String(o.conc ?? 4), String(o.paceMs ?? 0)];
  const r = await run(argv[0], argv.slice(1), { timeoutMs: o.durationMs + 60_000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Timeline;
  } catch {
    throw new Error(`conn-timeline: no result (code ${r.code}): ${r.stderr.trim().slice(-400)}`);
  }
}

/**
 * The window (ms) during which both `oldBody` and `newBody` answered NEW connections:
 * from the first connection answered by the new version to the last one answered by the
 * old version opened after it; 0 when they never overlapped.
 */
export function mixedWindowMs(samples: readonly [number, string][], oldBody: string, newBody: string): number {
  const firstNew = Math.min(...samples.filter(([, b]) => b === newBody).map(([t]) => t));
  if (!Number.isFinite(firstNew)) return 0;
  const lastOld = Math.max(...samples.filter(([t, b]) => b === oldBody && t >= firstNew).map(([t]) => t));
  return Number.isFinite(lastOld) ? lastOld - firstNew : 0;
}

async function main(a: string[]): Promise<Timeline> {
  const [addr, port, durationMs, conc, paceMs] = [a[0], Number(a[1]), Number(a[2]), Number(a[3] ?? 4), Number(a[4] ?? 0)];
  const end = Date.now() + durationMs;
  const samples: [number, string][] = [];
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (Date.now() < end && samples.length < 2_000_000) {
      const at = Date.now();
      try {
        samples.push([at, await getOnce(addr, port, 2000)]);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
        samples.push([at, '']);
      }
      if (paceMs > 0) await new Promise((r) => setTimeout(r, paceMs));
    }
  }));
  samples.sort((x, y) => x[0] - y[0]);
  return { samples, errors, ...(firstError ? { firstError } : {}) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((r) => {
    // A pipe is written asynchronously: exit only once the line is out.
    process.stdout.write(JSON.stringify(r) + '\n', () => process.exit(0));
  }, (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
