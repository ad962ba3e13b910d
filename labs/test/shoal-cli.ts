/**
 * The built `shoal` CLI run as a user runs it, against a test daemon (SHOAL_HOST names
 * its socket): for the CLI tests that drive `shoal …` commands end to end.
 */
import { execFile } from 'node:child_process';
import * as assert from 'uvu/assert';
import { SHOAL_BIN, type DaemonProcess } from './daemon-process.ts';

/** What one `shoal` run ended with. */
export interface Run { code: number; out: string; err: string }

/**
 * `shoal` (runs it, exit code and output; never rejects) and `ok` (runs it, asserts exit 0
 * and returns stdout), each killed after `timeoutMs`. `input` is the CLI's stdin.
 */
export function shoalCli(opts: { timeoutMs?: number } = {}) {
  const timeout = opts.timeoutMs ?? 30_000;
  const shoal = (d: DaemonProcess, args: string[], input?: string): Promise<Run> =>
    new Promise((resolve) => {
      const c = execFile(process.execPath, [SHOAL_BIN, ...args], { encoding: 'utf8', timeout, env: { ...process.env, SHOAL_HOST: d.host } }, (err, out, errOut) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut });
      });
      c.stdin!.end(input ?? '');
    });
  const ok = async (d: DaemonProcess, args: string[], input?: string): Promise<string> => {
    const r = await shoal(d, args, input);
    assert.is(r.code, 0, `shoal ${args.join(' ')} failed: ${r.err}`);
    return r.out;
  };
  return { shoal, ok };
}
