/**
 * The few parts of `@oclif/core` that the fast-path commands touch (cli/fast-path.ts),
 * for the bundle dist/fast.js only: scripts/build.ts maps `@oclif/core` to this file there,
 * so that `shoal version` and `shoal * ls` start without loading oclif (about 700 KB of
 * JavaScript and its config and plugin scan).
 *
 * The flag builders return the same definitions as oclif's (`type`, `char`, `multiple`,
 * `default`, `env`, …), which is all the fast path's parser reads. The `Command` here has no
 * behaviour of its own: the fast path gives every instance its `parse`, `log`, `error` and
 * `exit`; anything else a command would call is missing, and the fast path then hands the
 * command to oclif. Never imported by code that runs under oclif.
 */

/** A flag definition, in oclif's shape (the fields the fast path reads). */
export interface LiteFlag {
  type: 'boolean' | 'option';
  char?: string;
  multiple?: boolean;
  multipleNonGreedy?: boolean;
  default?: unknown;
  env?: string;
  options?: readonly string[];
  allowNo?: boolean;
  [key: string]: unknown;
}

function option(opts: Record<string, unknown> = {}): LiteFlag {
  return { parse: async (input: string) => input, ...opts, type: 'option' };
}

function boolean(opts: Record<string, unknown> = {}): LiteFlag {
  return { parse: async (b: boolean) => b, allowNo: false, ...opts, type: 'boolean' };
}

/** Kinds with a parse of their own: defined (shared modules build them at load), but a command using one goes to oclif. */
function integer(opts: Record<string, unknown> = {}): LiteFlag {
  return { ...option(opts), fastUnsupported: true };
}

function custom(defaults: Record<string, unknown> = {}): (opts?: Record<string, unknown>) => LiteFlag {
  return (opts = {}) => ({ ...option({ ...defaults, ...opts }), fastUnsupported: true });
}

/** `Flags.string` and `Flags.boolean` as oclif defines them; `integer` and `custom` only as markers (see above). */
export const Flags = { string: option, boolean, integer, custom };

/** Stands for oclif's `CLIError`, so `instanceof Errors.CLIError` checks in shared code still work. */
class CLIError extends Error {
  readonly oclif = { exit: 2 };
}

export const Errors = { CLIError };

/** Thrown where the fast path cannot do what oclif would: the command then runs under oclif. */
export class FastDecline extends Error {
  override readonly name = 'FastDecline';
}

/** A base class with oclif's constructor and static fields; the fast path supplies the methods. */
export abstract class Command {
  static id?: string;
  static summary?: string;
  static description?: string;
  static flags?: Record<string, LiteFlag>;
  static baseFlags?: Record<string, LiteFlag>;
  static args?: Record<string, unknown>;
  static aliases?: string[];
  static hiddenAliases?: string[];
  static examples?: unknown[];
  static strict = true;

  constructor(
    public argv: string[],
    public config: unknown,
  ) {}

  abstract run(): Promise<unknown>;

  /** oclif's default: rethrow (the fast path then lets oclif run the command). */
  async catch(err: Error): Promise<unknown> {
    throw err;
  }

  // oclif's other output methods: not done here, so the command goes to oclif.
  warn(): never {
    throw new FastDecline('warn');
  }

  logToStderr(): never {
    throw new FastDecline('logToStderr');
  }

  logJson(): never {
    throw new FastDecline('logJson');
  }
}
