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
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { newestSourceMtime } from '../bin/freshness.js';
import { loadCliManifest } from './cli-manifest.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = path.join(ROOT, 'dist');

/**
 * What both bundles (the oclif commands, and the fast path) are built with. Packages are
 * bundled too: oclif alone is about a hundred CommonJS files, and resolving and reading
 * them was most of a command's start-up. CommonJS inside the ESM output calls `require`
 * through the banner's createRequire.
 */
const BUNDLE = {
  absWorkingDir: ROOT,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['bufferutil', 'utf-8-validate', 'esbuild', 'tsx', 'fsevents', 'typescript'],
  banner: { js: "import { createRequire as __shoalCreateRequire } from 'node:module'; const require = __shoalCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
} satisfies BuildOptions;

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

/**
 * Node's built-in modules, imported from ESM, go through a facade that reads every
 * enumerable export once, lazy getters included: `import http from 'node:http'` thus loads
 * undici (for `http.WebSocket`), and `node:fs` loads fs/promises and readline, about 40 ms
 * of CPU on every start. This plugin serves each import of a builtin as a small module over
 * `process.getBuiltinModule()` (Node >= 20.16): the default export is the module object, as
 * before, and the named exports are the names that import statement asks for, read once at
 * load; a namespace import (`* as`) gets every enumerable export, as the facade gave.
 */
export function builtinFacade(name: string, names: readonly string[] | '*'): string {
  const bare = name.replace(/^node:/, '');
  const all = names === '*' ? Object.keys(createRequire(import.meta.url)(`node:${bare}`) as object) : names;
  const valid = all.filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
  return [
    `const m = process.getBuiltinModule(${JSON.stringify(`node:${bare}`)});`,
    'export default m;',
    // The build's Node may differ from the one that runs: read what the running one enumerates.
    'const g = (k) => (Object.prototype.propertyIsEnumerable.call(m, k) ? m[k] : undefined);',
    ...valid.map((k) => `export const ${k} = g(${JSON.stringify(k)});`),
    '',
  ].join('\n');
}

/** The names `source` imports from module `spec` (`import a, { b, c as d } from 'spec'`), or '*' for a namespace import or a form not read here. */
export function importedNames(source: string, spec: string): string[] | '*' {
  const quoted = spec.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const names = new Set<string>();
  let found = false;
  for (const m of source.matchAll(new RegExp(`import\\s+([\\w$\\s{},*]*?)\\s*from\\s*['"]${quoted}['"]`, 'g'))) {
    found = true;
    const clause = m[1];
    if (clause.includes('*')) return '*';
    const braces = /\{([^}]*)\}/.exec(clause);
    for (const part of braces ? braces[1].split(',') : []) {
      const n = /^\s*(?:type\s+)?([\w$]+)/.exec(part);
      if (n) names.add(n[1]);
    }
  }
  return found ? [...names].sort() : '*';
}

const builtins: Plugin = {
  name: 'shoal-builtins',
  setup(b) {
    const known = new Set(builtinModules.filter((n) => !n.startsWith('_')));
    const sources = new Map<string, string>();
    b.onResolve({ filter: /^(node:)?[a-z_/0-9]+$/ }, (args) => {
      if (args.kind !== 'import-statement') return undefined;
      const bare = args.path.replace(/^node:/, '');
      if (!known.has(bare) || bare === 'test' || bare.startsWith('test/')) return undefined;
      if (!sources.has(args.importer)) sources.set(args.importer, readFileSync(args.importer, 'utf8'));
      const names = importedNames(sources.get(args.importer)!, args.path);
      return { path: `${bare}|${names === '*' ? '*' : names.join(',')}`, namespace: 'shoal-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'shoal-builtin' }, (args) => {
      const [bare, list] = args.path.split('|');
      return { contents: builtinFacade(bare, list === '*' ? '*' : list.split(',').filter(Boolean)), loader: 'js' };
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
    ...BUNDLE,
    entryPoints,
    outdir: tmp,
    splitting: true,
    plugins: [builtins, sourceUrls],
    logLevel: 'warning',
  });
  await emitFastPath(tmp);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const oclif = { ...pkg.oclif, commands: { strategy: 'pattern', target: './commands' } };
  writeFileSync(path.join(tmp, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true, oclif }, null, 2)}\n`);
  writeFileSync(path.join(tmp, 'oclif.manifest.json'), `${JSON.stringify(await manifest(pkg.version, commands), null, 2)}\n`);
  writeFileSync(path.join(tmp, 'shoal.js'), [
    '// Runs the built CLI: `node dist/shoal.js ARGS` (bin/shoal.js comes here when dist is fresh).',
    "import { lstatSync } from 'node:fs';",
    "import module from 'node:module';",
    "import { tmpdir } from 'node:os';",
    '// Node 22+ keeps V8\'s compiled code between runs: a warm start skips compiling. The cache',
    '// lives in the temp dir, one per user, so that it works for root, for other users and for',
    '// a read-only install (/opt/shoal); NODE_COMPILE_CACHE, when set, chooses the folder.',
    '// A folder someone else made there (or a link) is not used: its code would run as us.',
    "const uid = process.getuid?.();",
    "const cacheDir = process.env.NODE_COMPILE_CACHE || `${tmpdir()}/shoal-compile-cache-${uid ?? 'user'}`;",
    "let ours = true;",
    "try {",
    "  const st = lstatSync(cacheDir);",
    "  ours = !!process.env.NODE_COMPILE_CACHE || (st.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0);",
    "} catch {",
    "  // not there yet: Node makes it",
    "}",
    "if (ours) module.enableCompileCache?.(cacheDir);",
    '// `version` and the `ls` commands run without oclif when they can (cli/fast-path.ts);',
    '// SHOAL_CLI_FAST=0 turns that off, =require makes a declined or broken fast path an error.',
    "const argv = process.argv.slice(2);",
    "const mode = process.env.SHOAL_CLI_FAST;",
    "let done = false;",
    "if (mode !== '0' && (argv[0] === 'version' || argv[1] === 'ls')) {",
    "  let fast;",
    "  try {",
    "    fast = await import('./fast.js');",
    "  } catch (err) {",
    "    if (mode === 'require') throw err;",
    "  }",
    "  if (fast) done = await fast.runFast(argv);",
    "  if (!done && mode === 'require') {",
    "    process.stderr.write('shoal: the fast path declined this command (SHOAL_CLI_FAST=require)\\n');",
    "    process.exit(97);",
    "  }",
    "}",
    "if (!done) {",
    "  const { run } = await import('./cli/main.js');",
    "  await run(argv, new URL('./package.json', import.meta.url).href);",
    "}",
    '',
  ].join('\n'));
  writeFileSync(path.join(tmp, 'build-info.json'), `${JSON.stringify({ newestSourceMtimeMs: newest, builtAt: new Date().toISOString() }, null, 2)}\n`);
}

/**
 * dist/fast.js: cli/fast-path.ts and the commands it runs, in one file with no oclif in it
 * (`@oclif/core` is cli/oclif-lite.ts there). One file, since each module Node's ESM loader
 * resolves and links costs start-up time.
 */
async function emitFastPath(tmp: string): Promise<void> {
  const lite: Plugin = {
    name: 'shoal-oclif-lite',
    setup(b) {
      b.onResolve({ filter: /^@oclif\/core$/ }, () => ({ path: path.join(ROOT, 'cli/oclif-lite.ts') }));
    },
  };
  const out = path.join(tmp, 'fast.js');
  const result = await build({
    ...BUNDLE,
    entryPoints: ['cli/fast-path.ts'],
    outfile: out,
    plugins: [lite, builtins, sourceUrls],
    metafile: true,
    logLevel: 'warning',
  });
  const heavy = Object.keys(result.metafile.inputs).filter((f) => f.includes('node_modules/@oclif/'));
  if (heavy.length) throw new Error(`build: the fast path pulls in oclif (${heavy[0]})`);
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
