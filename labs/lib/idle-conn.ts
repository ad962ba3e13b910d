// A TCP client for the lab test of connections that stay up, run INSIDE a task's netns:
// it connects to ADDR PORT (an echo server), checks an echo, stays idle IDLE_MS, checks
// an echo again, prints {"idleOk":true}; once SENDFILE.ping exists it checks one more
// echo and prints {"pingOk":true}; then it waits for the file SENDFILE and sends once
// more, printing how that ended: {"echo":true} | {"error":"ECONNRESET","ms":N} |
// {"timeout":true,"ms":N} after TIMEOUT_MS. Exits 0 in every case.
//
//   node --import tsx idle-conn.ts ADDR PORT IDLE_MS SENDFILE TIMEOUT_MS
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** The argv that runs this file after `prefix` (nsenter …). */
export function idleConnArgv(prefix: string[], args: (string | number)[]): string[] {
  return [...prefix, process.execPath, '--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url), ...args.map(String)];
}

async function main(): Promise<void> {
  const [addr, port, idleMs, sendFile, timeoutMs] = process.argv.slice(2);
  const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
  const s = net.connect({ host: addr, port: Number(port) });
  let buf = '';
  let waiter: ((line: string) => void) | undefined;
  let failed: ((e: Error) => void) | undefined;
  s.setEncoding('utf8');
  s.on('data', (d: string) => { buf += d; const i = buf.indexOf('\n'); if (i >= 0 && waiter) { const l = buf.slice(0, i); buf = buf.slice(i + 1); waiter(l); } });
  let ended = false;
  s.on('error', (e) => failed?.(e));
  s.on('end', () => { ended = true; failed?.(Object.assign(new Error('closed by the server'), { code: 'EOF' })); });
  await new Promise<void>((res, rej) => { s.once('connect', () => res()); s.once('error', rej); });
  const echo = (text: string, ms: number) => new Promise<string>((res, rej) => {
    if (ended) return rej(Object.assign(new Error('closed by the server'), { code: 'EOF' }));
    const t = setTimeout(() => rej(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })), ms);
    waiter = (l) => { clearTimeout(t); res(l); };
    failed = (e) => { clearTimeout(t); rej(e); };
    s.write(`${text}\n`);
  });
  if ((await echo('one', 5000)) !== 'one') throw new Error('no first echo');
  await new Promise((r) => setTimeout(r, Number(idleMs)));
  if ((await echo('two', 5000)) !== 'two') throw new Error('no echo after idle');
  out({ idleOk: true });
  while (!existsSync(`${sendFile}.ping`)) await new Promise((r) => setTimeout(r, 50));
  if ((await echo('ping', 5000)) !== 'ping') throw new Error('no echo of ping');
  out({ pingOk: true });
  while (!existsSync(sendFile)) await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  try {
    await echo('three', Number(timeoutMs));
    out({ echo: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    out(code === 'TIMEOUT' ? { timeout: true, ms: Date.now() - t0 } : { error: code ?? String(e), ms: Date.now() - t0 });
  }
  s.destroy();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main().catch((e) => { process.stdout.write(JSON.stringify({ fatal: String(e) }) + '\n'); });
