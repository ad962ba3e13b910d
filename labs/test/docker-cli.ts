/**
 * The stock `docker` client against a test daemon: run a command, require it to
 * succeed, or wait until a condition holds (bounded).
 */
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import type { DaemonProcess } from './daemon-process.ts';

export function docker(d: DaemonProcess, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('docker', args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, DOCKER_HOST: d.host } }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut });
    });
  });
}

/** Runs `docker ARGS` and asserts it exits 0; resolves with its stdout. */
export async function ok(d: DaemonProcess, ...args: string[]): Promise<string> {
  const r = await docker(d, ...args);
  assert.is(r.code, 0, `docker ${args.join(' ')}: ${r.err}`);
  return r.out;
}

/** Polls `fn` every 250 ms until it is true; fails the test after `timeoutMs` (20 s) naming `what`. */
export async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) assert.unreachable(what);
    await new Promise((r) => setTimeout(r, 250));
  }
}
