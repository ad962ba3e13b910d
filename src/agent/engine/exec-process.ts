/**
 * The OCI process of a `docker exec`: the task's own process spec (capabilities,
 * AppArmor profile, no_new_privs, rlimits; runc applies the container's seccomp
 * filter to every exec'd process) with the exec's command, environment, user, working
 * directory and terminal. Pure.
 */
import type { BundleProcess } from './view.ts';

/** Docker's ExecConfig (the fields `docker exec` sends). */
export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  Cmd?: string[];
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Privileged?: boolean;
  DetachKeys?: string;
  /** `[height, width]` of the terminal. */
  ConsoleSize?: [number, number] | null;
}

/** The exec request cannot be honoured (the API answers 400). */
export class ExecConfigError extends Error {
  override readonly name = 'ExecConfigError';
  readonly retryable = false;
  constructor(message: string) { super(message); }
}

const KNOWN = new Set(['AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'Cmd', 'Env', 'User', 'WorkingDir', 'Privileged', 'DetachKeys', 'ConsoleSize', 'Detach', 'Container']);

/** Checks an ExecConfig body; unknown fields with a non-empty value are refused by name. */
export function checkExecConfig(body: Record<string, unknown> | undefined): ExecConfig {
  if (!body || typeof body !== 'object') throw new ExecConfigError('exec: a JSON body (ExecConfig) is required');
  for (const [k, v] of Object.entries(body)) {
    const empty = v === null || v === undefined || v === false || v === '' || (Array.isArray(v) && v.length === 0);
    if (!KNOWN.has(k) && !empty) throw new ExecConfigError(`exec: field ${k} is not supported by shoal`);
  }
  const c = body as ExecConfig;
  if (!Array.isArray(c.Cmd) || c.Cmd.length === 0 || c.Cmd.some((a) => typeof a !== 'string')) throw new ExecConfigError('No exec command specified');
  if (c.DetachKeys) throw new ExecConfigError('exec: DetachKeys is not supported by shoal');
  if (c.WorkingDir && !c.WorkingDir.startsWith('/')) throw new ExecConfigError(`the working directory '${c.WorkingDir}' is invalid, it needs to be an absolute path`);
  for (const e of c.Env ?? []) if (typeof e !== 'string' || e.startsWith('=')) throw new ExecConfigError(`invalid environment variable: ${e}`);
  return c;
}

/** The container's environment with the exec's variables over it (same key overrides). */
export function execEnv(base: string[], extra: string[] | null | undefined): string[] {
  const m = new Map<string, string>();
  for (const kv of [...base, ...(extra ?? [])]) {
    const eq = kv.indexOf('=');
    m.set(eq < 0 ? kv : kv.slice(0, eq), kv);
  }
  return [...m.values()];
}

/**
 * The process.json of one exec. `user`: the resolved exec user (undefined: the task's);
 * `allCaps`: what a privileged exec gets (the daemon's own bounding set).
 */
export function execProcess(task: BundleProcess, c: ExecConfig, opts: { user?: BundleProcess['user']; allCaps: string[]; consoleSize?: { height: number; width: number } }): Record<string, unknown> {
  const caps = c.Privileged
    ? { bounding: opts.allCaps, effective: opts.allCaps, permitted: opts.allCaps, inheritable: [], ambient: [] }
    : task.capabilities;
  return {
    terminal: !!c.Tty,
    ...(c.Tty && opts.consoleSize ? { consoleSize: opts.consoleSize } : {}),
    user: opts.user ?? task.user,
    args: c.Cmd,
    env: execEnv(task.env, c.Env),
    cwd: c.WorkingDir || task.cwd || '/',
    ...(caps ? { capabilities: caps } : {}),
    ...(task.rlimits?.length ? { rlimits: task.rlimits } : {}),
    noNewPrivileges: !!task.noNewPrivileges,
    // Docker: a privileged exec runs outside the task's AppArmor profile.
    ...(task.apparmorProfile && !c.Privileged ? { apparmorProfile: task.apparmorProfile } : {}),
  };
}
