// A bench's flags are checked before it runs: a typo (`--round 5`) would otherwise run the
// defaults and report them as the figures asked for.

/**
 * Refuses an argument that is no flag of bench `bench` and a value flag without its value.
 * `valueFlags` take one value each (`--nodes 10`), `bareFlags` none (`--in-process`).
 */
export function checkArgs(bench: string, args: readonly string[], valueFlags: readonly string[], bareFlags: readonly string[] = []): void {
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith('--') ? args[i].slice(2) : '';
    if (bareFlags.includes(name)) continue;
    if (!valueFlags.includes(name)) throw new Error(`${bench}: unknown argument "${args[i]}"`);
    if (args[i + 1] === undefined || args[i + 1].startsWith('--')) throw new Error(`${bench}: --${name} wants a value`);
    i++;
  }
}
