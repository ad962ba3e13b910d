/**
 * `npm run build`: emits the JavaScript the installed `shoal` runs (dist/), then type-checks
 * the tree with tsc. Exits with tsc's status; dist/ is emitted either way (as tsc itself
 * emits despite type errors), and only when every file parses.
 *
 * Why esbuild and not `tsc` emit: start-up time is the point. tsc would write one file per
 * module (about 600), and Node's ESM loader pays for each one it resolves and reads; esbuild
 * (already here: tsx runs on it) bundles each command into one file in about a second,
 * with the code commands share in common chunks, and keeps `shoal daemon`'s server in a
 * chunk of its own that only that command loads. tsc stays the type-checker.
 *
 * What dist/ holds:
 *   shoal.js                       runs the CLI (bin/shoal.js imports it when dist is fresh)
 *   cli/main.js                    oclif's entry, reading dist/package.json
 *   commands/TOPIC/NAME.js         one entry per command, by its id
 *   chunk-*.js                     shared code, and the daemon
 *   package.json                   oclif's settings: the `pattern` strategy over commands/
 *   oclif.manifest.json            every command's flags and help, so that oclif loads
 *                                  only the command that runs (and `--help` loads none)
 *   build-info.json                the newest source time the build saw (freshness)
 *
 * Files the sources read beside themselves at run time (`new URL('./x.pl', import.meta.url)`:
 * helper scripts, the Docker API facts, the dashboard's static files) stay where they are:
 * in each module, `import.meta.url` is rewritten to the URL its source file has, found from
 * the dist/ folder at run time, so the tree can move (to /opt/shoal) with dist/ inside it.
 *
 * Usage: node --import tsx scripts/build.ts [--no-typecheck]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { newestSourceMtime } from '../bin/freshness.js';
import { loadCliManifest } from './cli-manifest.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = path.join(ROOT, 'dist');

/** The command ids and the files that define them, read from cli/commands/index.ts. */
export function commandFiles(indexSource: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const m of indexSource.matchAll(/^import (\w+) from '(\.\/[^']+\.ts)';$/gm)) files.set(m[1], m[2]);
  const out = new Map<string, string>();
  const list = indexSource.slice(indexSource.indexOf('export const COMMANDS'));
  for (const m of list.matchAll(/^\s*'?([a-z0-9:-]+)'?: (\w+),?$/gm)) {
    const file = files.get(m[2]);
    if (!file) throw new Error(`build: command ${m[1]} names ${m[2]}, which index.ts does not import`);
    out.set(m[1], path.join('cli/commands', file));
  }
  return out;
}

/** Rewrites `import.meta.url` to the URL of the module's source file, found from dist/ at run time. */
const sourceUrls: Plugin = {
  name: 'shoal-source-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (args.path.includes(`${path.sep}node_modules${path.sep}`) || !text.includes('import.meta.url')) return undefined;
      const rel = path.relative(ROOT, args.path).split(path.sep).join('/');
      const url = `(import.meta.url.slice(0, import.meta.url.lastIndexOf('/dist/') + 1) + ${JSON.stringify(rel)})`;
      return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

async function emit(): Promise<void> {
  const started = Date.now();
  const newest = newestSourceMtime(ROOT);
  const commands = commandFiles(readFileSync(path.join(ROOT, 'cli/commands/index.ts'), 'utf8'));
  // Built beside dist/ and swapped in whole: a CLI starting meanwhile sees the old or the new.
  const tmp = path.join(ROOT, `dist.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    await emitInto(tmp, newest, commands);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const old = path.join(ROOT, `dist.old-${process.pid}`);
  try {
    renameSync(DIST, old);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  renameSync(tmp, DIST);
  rmSync(old, { recursive: true, force: true });
  console.log(`build: dist/ emitted in ${Date.now() - started} ms (${commands.size} commands)`);
}

async function emitInto(tmp: string, newest: number, commands: Map<string, string>): Promise<void> {
  const entryPoints: Record<string, string> = { 'cli/main': 'cli/main.ts' };
  for (const [id, file] of commands) entryPoints[`commands/${id.split(':').join('/')}`] = file;
  await build({
    absWorkingDir: ROOT,
    entryPoints,
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Packages are bundled too: oclif alone is about a hundred CommonJS files, and
    // resolving and reading them was most of a command's start-up. CommonJS inside the
    // ESM output calls `require` through the banner's createRequire.
    external: ['bufferutil', 'utf-8-validate', 'esbuild', 'tsx', 'fsevents', 'typescript'],
    banner: { js: "import { createRequire as __shoalCreateRequire } from 'node:module'; const require = __shoalCreateRequire(import.meta.url);" },
    sourcemap: 'linked',
    plugins: [sourceUrls],
    logLevel: 'warning',
  });
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const oclif = { ...pkg.oclif, commands: { strategy: 'pattern', target: './commands' } };
  writeFileSync(path.join(tmp, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true, oclif }, null, 2)}\n`);
  writeFileSync(path.join(tmp, 'oclif.manifest.json'), `${JSON.stringify(await manifest(pkg.version, commands), null, 2)}\n`);
  writeFileSync(path.join(tmp, 'shoal.js'), [
    '// Runs the built CLI: `node dist/shoal.js ARGS` (bin/shoal.js comes here when dist is fresh).',
    "import module from 'node:module';",
    '// Node 22+ keeps V8\'s compiled code between runs (in the OS temp dir): a warm start skips compiling.',
    'module.enableCompileCache?.();',
    "const { run } = await import('./cli/main.js');",
    "await run(process.argv.slice(2), new URL('./package.json', import.meta.url).href);",
    '',
  ].join('\n'));
  writeFileSync(path.join(tmp, 'build-info.json'), `${JSON.stringify({ newestSourceMtimeMs: newest, builtAt: new Date().toISOString() }, null, 2)}\n`);
}

/**
 * oclif's manifest of the commands, as `oclif manifest` makes it: oclif reads the commands
 * from the sources (explicit strategy) and caches each; each entry then points at its
 * built file, so oclif imports that file alone when the command runs.
 */
async function manifest(version: string, commands: Map<string, string>): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, cached] of Object.entries(await loadCliManifest(ROOT))) {
    if (!commands.has(id)) throw new Error(`build: oclif knows command ${id}, which index.ts does not list`);
    out[id] = { ...cached, isESM: true, relativePath: ['commands', ...id.split(':').slice(0, -1), `${id.split(':').at(-1)}.js`] };
  }
  return { commands: out, version };
}

async function main(): Promise<void> {
  await emit();
  if (process.argv.includes('--no-typecheck')) return;
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
  process.exitCode = tsc.status ?? 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
