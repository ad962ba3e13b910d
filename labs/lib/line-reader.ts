/**
 * A child process whose stdout is read line by line as it comes: `next` resolves with the
 * next line (parsed when it is JSON, else `{ line }`), waiting at most `timeoutMs`; the
 * lab tests' idle clients, captures and streams report their progress this way.
 */
import { spawn } from 'node:child_process';

export interface LineReader {
  next(timeoutMs: number): Promise<Record<string, unknown>>;
  /** Writes to the process's stdin. */
  write(s: string): void;
  /** SIGKILLs the process (by its PID) unless it has ended. */
  kill(): void;
  pid?: number;
}

export function lineReader(argv: string[]): LineReader {
  const p = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let buf = '';
  let err = '';
  p.stdin.on('error', () => undefined);
  p.stderr.on('data', (d) => (err += d));
  p.stdout.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(l);
      else queue.push(l);
    }
  });
  const parse = (l: string): Record<string, unknown> => (l.startsWith('{') ? JSON.parse(l) : { line: l });
  return {
    next: (timeoutMs) => new Promise((res, rej) => {
      const l = queue.shift();
      if (l !== undefined) return res(parse(l));
      const t = setTimeout(() => rej(new Error(`${argv[0]}: no line in ${timeoutMs} ms: ${err.slice(-300)}`)), timeoutMs);
      waiters.push((x) => { clearTimeout(t); res(parse(x)); });
    }),
    write: (s) => void p.stdin.write(s),
    kill: () => { if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); },
    pid: p.pid,
  };
}
