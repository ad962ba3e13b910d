/**
 * Docker's CLI stops reading flags at the first positional argument: in
 * `service create --name web IMAGE sh -c 'cmd'`, `-c` belongs to the command, not to
 * `service create`. oclif reads flags anywhere, so commands that take a command line
 * after their image mark where it starts with `--` before parsing. Pure.
 */

/** What the splitter needs to know of a command's flags. */
export interface FlagShapes {
  /** Long names and one-letter aliases of flags that take no value. */
  booleans: ReadonlySet<string>;
}

/**
 * `argv` with `--` inserted before its first positional argument (unless a `--` comes
 * first). A flag that takes a value consumes the next token unless it is written
 * `--flag=value`, `-fvalue` or `-f=value`.
 */
export function endFlagsAtFirstArg(argv: readonly string[], shapes: FlagShapes): string[] {
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    if (t === '--') return [...argv];
    if (!t.startsWith('-') || t === '-') return [...argv.slice(0, i), '--', ...argv.slice(i)];
    if (t.startsWith('--')) {
      if (!t.includes('=') && !shapes.booleans.has(t.slice(2))) i++;
      continue;
    }
    // Short: `-d`, `-dq` (booleans together), `-e` VALUE, `-eA=1`.
    const letters = t.slice(1);
    const firstValued = [...letters].findIndex((c) => !shapes.booleans.has(c));
    if (firstValued === letters.length - 1 && !letters.includes('=')) i++;
  }
  return [...argv];
}

/** The flag shapes of an oclif command's static `flags`. */
export function flagShapes(flags: Record<string, { type?: string; char?: string }>): FlagShapes {
  const booleans = new Set<string>();
  for (const [name, f] of Object.entries(flags)) {
    if (f.type !== 'boolean') continue;
    booleans.add(name);
    booleans.add(`no-${name}`);
    if (f.char) booleans.add(f.char);
  }
  return { booleans };
}
