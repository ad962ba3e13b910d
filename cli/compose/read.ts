/**
 * The I/O edge of the compose module: reads the `-c` files (or stdin for `-`), loads,
 * merges and converts them, and turns a conversion error's document path into
 * `FILE:LINE` of the last file that sets that key.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ComposeError, ComposePathError, formatPath, type ComposePath } from './errors.ts';
import { loadCompose, type ComposeFile } from './load.ts';
import { mergeCompose } from './merge.ts';
import { convertStack, type StackPlan } from './convert.ts';

/** What `stack deploy` reads. */
export interface ReadOptions {
  /** The environment for interpolation (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Reads a file (default fs.readFileSync); `-` means stdin. */
  readFile?: (path: string) => Buffer;
}

/** Reads, merges in order and converts the compose `files` for the stack `stack`. */
export function readStack(files: readonly string[], stack: string, opts: ReadOptions = {}): StackPlan {
  if (!files.length) throw new ComposeError('please specify a compose file (--compose-file)');
  const env = opts.env ?? process.env;
  const lookup = (n: string) => env[n];
  const read = opts.readFile ?? ((p: string) => readFileSync(p === '-' ? 0 : p));
  const loaded: ComposeFile[] = files.map((f) => {
    let text: string;
    try { text = read(f).toString('utf8'); } catch (err) { throw new ComposeError(`cannot read ${f}: ${(err as Error).message}`, { cause: err }); }
    return loadCompose(f === '-' ? '<stdin>' : f, text, lookup);
  });
  const workingDir = files[0] === '-' ? process.cwd() : dirname(resolve(files[0]));
  try {
    return convertStack(mergeCompose(loaded.map((l) => l.data)), stack, { workingDir, env: lookup, readFile: read });
  } catch (err) {
    if (err instanceof ComposePathError) throw new ComposeError(`${where(loaded, err.path)}${formatPath(err.path)}: ${err.reason}`, { cause: err });
    throw err;
  }
}

/** `FILE:LINE: ` of the deepest prefix of `path` set in the last file that sets it. */
function where(files: readonly ComposeFile[], path: ComposePath): string {
  for (let n = path.length; n > 0; n--) {
    for (let i = files.length - 1; i >= 0; i--) {
      const at = files[i].locate(path.slice(0, n));
      if (at) return `${at}: `;
    }
  }
  return files.length === 1 ? `${files[0].file}: ` : '';
}
