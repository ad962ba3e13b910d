/**
 * The fast path of the built CLI: `shoal version` and the `ls` commands run their own
 * oclif command class, without oclif. dist/shoal.js calls `runFast` first and starts
 * oclif only when it answers `false`.
 *
 * Why: loading oclif (its config, the plugin scan, the manifest and some 700 KB of
 * JavaScript) was most of the start-up time of a command that makes one API request.
 *
 * Same behaviour as oclif, by construction: the command's own `run` and `catch` do the
 * work, with its own flag definitions. The fast path only parses argv, and only the plain
 * forms (`--name value`, `--name=value`, `-c value`, booleans `--name` / `-c`); anything else
 * — help, an unknown or repeated flag, a positional argument, `--`, a value that starts
 * with `-`, a flag kind or rule it does not know — declines before the command runs, and
 * so does a command that calls `this.error` (oclif formats those) before printing anything.
 * cli/fast-path.test.ts checks the parser; labs/test/fast-cli.test.ts compares the built
 * fast path with oclif, output for output.
 */
import { inspect } from 'node:util';
import { FastDecline } from './oclif-lite.ts';
import Version from './commands/version.ts';
import ConfigLs from './commands/config/ls.ts';
import ImageLs from './commands/image/ls.ts';
import NetworkLs from './commands/network/ls.ts';
import NodeLs from './commands/node/ls.ts';
import SecretLs from './commands/secret/ls.ts';
import ServiceLs from './commands/service/ls.ts';
import StackLs from './commands/stack/ls.ts';

/** A flag definition as oclif's `Flags.*` builders make it (the fields read here). */
export interface FlagDef {
  type: string;
  char?: string;
  multiple?: boolean;
  default?: unknown;
  env?: string;
  options?: readonly string[];
  allowNo?: boolean;
  [key: string]: unknown;
}

/** Rules oclif applies that this parser does not: a command with any of them goes to oclif. */
const UNSUPPORTED = ['fastUnsupported', 'required', 'exclusive', 'dependsOn', 'exactlyOne', 'relationships', 'combinable', 'deprecated', 'delimiter', 'defaultHelp'];

/**
 * The flags oclif would give for `argv` under `defs`, or undefined when argv uses a form
 * this parser leaves to oclif (oclif then parses it, or prints its error). Flags absent
 * from argv take their env variable when it is set and non-empty, else their default.
 */
export function parseFastFlags(argv: readonly string[], defs: Record<string, FlagDef>, env: NodeJS.ProcessEnv): Record<string, unknown> | undefined {
  const byChar = new Map<string, string>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type !== 'boolean' && def.type !== 'option') return undefined;
    if (UNSUPPORTED.some((k) => def[k] !== undefined && def[k] !== false)) return undefined;
    if (def.char) byChar.set(def.char, name);
  }
  const given = new Map<string, unknown[]>();
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    let name: string | undefined;
    let inline: string | undefined;
    if (tok.startsWith('--') && tok.length > 2) {
      const eq = tok.indexOf('=');
      name = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
      if (eq >= 0) inline = tok.slice(eq + 1);
    } else if (/^-[A-Za-z]$/.test(tok)) {
      name = byChar.get(tok[1]);
    } else {
      return undefined; // a positional argument, `--`, `-`, `-abc`, `-fvalue`
    }
    const def = name === undefined ? undefined : defs[name];
    if (!name || !def || !Object.hasOwn(defs, name)) return undefined;
    let value: unknown;
    if (def.type === 'boolean') {
      if (inline !== undefined) return undefined;
      value = true;
    } else {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '' || v.startsWith('-')) return undefined;
      if (def.options && !def.options.includes(v)) return undefined;
      value = v;
    }
    const values = given.get(name) ?? [];
    if (values.length && !def.multiple) return undefined;
    values.push(value);
    given.set(name, values);
  }
  const flags: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(defs)) {
    const values = given.get(name);
    if (values) {
      flags[name] = def.multiple ? values : values[0];
    } else if (def.env && env[def.env]) {
      if (def.type !== 'option' || def.multiple) return undefined;
      flags[name] = env[def.env];
    } else if (def.default !== undefined) {
      if (typeof def.default === 'function') return undefined;
      flags[name] = def.default;
    }
  }
  return flags;
}

/** A command class as the fast path uses it: oclif's static fields, constructed with (argv, config). */
interface CommandClass {
  flags?: Record<string, FlagDef>;
  baseFlags?: Record<string, FlagDef>;
  args?: Record<string, unknown>;
  new (argv: string[], config: never): { run(): Promise<unknown>; catch(err: Error): Promise<unknown> };
}

/** The commands the fast path runs, by the words that name them. Each only reads (GETs): a declined one may run again under oclif. */
export const FAST_COMMANDS: Record<string, CommandClass> = {
  version: Version as unknown as CommandClass,
  'config ls': ConfigLs as unknown as CommandClass,
  'image ls': ImageLs as unknown as CommandClass,
  'network ls': NetworkLs as unknown as CommandClass,
  'node ls': NodeLs as unknown as CommandClass,
  'secret ls': SecretLs as unknown as CommandClass,
  'service ls': ServiceLs as unknown as CommandClass,
  'stack ls': StackLs as unknown as CommandClass,
};

/** `this.exit(code)` inside a fast command. */
class FastExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** The command argv names and the rest of argv, or undefined when it is not a fast one. */
export function matchFastCommand(argv: readonly string[]): { id: string; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const id = argv.slice(0, words).join(' ');
    if (argv.length >= words && Object.hasOwn(FAST_COMMANDS, id)) return { id, rest: argv.slice(words) };
  }
  return undefined;
}

/**
 * Runs `argv` on the fast path when it can. Resolves true when the command ran (its output
 * printed, `process.exitCode` set, or the process exited as oclif exits it); false when
 * nothing was done and oclif must run the command.
 */
export async function runFast(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const hit = matchFastCommand(argv);
  if (!hit) return false;
  const Cls = FAST_COMMANDS[hit.id];
  if (Cls.args && Object.keys(Cls.args).length) return false;
  const flags = parseFastFlags(hit.rest, { ...Cls.baseFlags, ...Cls.flags }, env);
  if (!flags) return false;
  // As oclif's command module does when loaded: stdout closing early (`| head`) is no error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  const cmd = new Cls(hit.rest, undefined as never);
  // Output written means the command cannot be handed to oclif any more.
  let wrote = false;
  const write = process.stdout.write;
  process.stdout.write = function (this: unknown, ...args: unknown[]) {
    wrote = true;
    return (write as (...a: unknown[]) => boolean).apply(process.stdout, args);
  } as typeof process.stdout.write;
  Object.assign(cmd, {
    parse: async () => ({ flags, args: {}, argv: [], raw: [], metadata: { flags: {} }, nonExistentFlags: [] }),
    log: (message: unknown = '', ...args: unknown[]) => {
      if (args.length) throw new FastDecline('log with format arguments');
      process.stdout.write(`${typeof message === 'string' ? message : inspect(message)}\n`);
    },
    error: (input: unknown) => {
      throw new FastDecline(`error: ${String(input)}`);
    },
    exit: (code = 0) => {
      throw new FastExit(code);
    },
  });
  try {
    try {
      await cmd.run();
    } catch (err) {
      if (err instanceof FastDecline || err instanceof FastExit) throw err;
      await cmd.catch(err as Error);
    }
    return true;
  } catch (err) {
    if (err instanceof FastExit) process.exit(err.code); // as oclif ends a command that exits
    if (err instanceof FastDecline && !wrote) return false;
    throw err;
  } finally {
    process.stdout.write = write;
  }
}
