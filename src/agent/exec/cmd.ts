/** Spawning system tools (runc, mount, ip) and collecting their output. */
import { spawn } from 'node:child_process';

/** A system tool failed. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly retryable = false;
  constructor(readonly argv: string[], readonly code: number | null, readonly stderr: string) {
    super(`exec: ${argv[0]} ${argv.slice(1, 3).join(' ')}… failed (${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/** Output of a finished command. */
export interface CommandResult { code: number | null; stdout: string; stderr: string }

/** Runs `argv`; resolves with its output whatever the exit code. */
export function runCommand(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (e) => { stderr += String(e); });
    child.on('close', (code) => { if (timer) clearTimeout(timer); resolve({ code, stdout, stderr }); });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** Runs `argv` and throws CommandError unless it exits 0. */
export async function mustRun(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await runCommand(argv, opts);
  if (r.code !== 0) throw new CommandError(argv, r.code, r.stderr || r.stdout);
  return r.stdout;
}
