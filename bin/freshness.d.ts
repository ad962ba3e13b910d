/** The newest mtime (ms) of the sources under `root` that a build bundles, and package.json. */
export function newestSourceMtime(root: string): number;
