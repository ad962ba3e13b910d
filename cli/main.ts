/** Entry of the `shoal` command line: oclif with an explicit command list (cli/commands/index.ts). */
import { execute } from '@oclif/core';

export async function run(argv: string[]): Promise<void> {
  await execute({ args: argv, dir: new URL('../package.json', import.meta.url).href });
}
