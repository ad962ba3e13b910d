/** Entry of the `shoal` command line: oclif with an explicit command list (cli/commands/index.ts). */
import { execute } from '@oclif/core';

/**
 * Runs the CLI. `pjson`: the package.json whose `oclif` settings apply — the sources' by
 * default; the built CLI passes dist/package.json (commands from dist/, see scripts/build.ts).
 */
export async function run(argv: string[], pjson = new URL('../package.json', import.meta.url).href): Promise<void> {
  await execute({ args: argv, dir: pjson });
}
