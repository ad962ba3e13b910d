// Makes uvu report an error thrown in a `before` or `after` hook. uvu 0.5 runs the hooks
// in a try whose `finally` returns, so a failing `before` hook ended as "Total N, Passed 0"
// with no text at all (and a failing `after` hook lost the summary). run-all.mjs preloads
// this file (`--import`); it registers a load hook that rewrites uvu's runner so a hook's
// error is printed like a failed test, named "before hook"/"after hook", and fails the file.
// If uvu's source ever changes shape, loading uvu throws instead of silently not patching.
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) register(import.meta.url);

const asError = "(e instanceof Error ? e : new Error(String(e)))";
const PATCHES = [
  [
    'for (hook of before) await hook(state);',
    `try { for (hook of before) await hook(state); } catch (e) { errors += format('before hook', ${asError}, name); throw e; }`,
  ],
  [
    'for (hook of after) await hook(state);',
    `try { for (hook of after) await hook(state); } catch (e) { errors += (errors.length ? '\\n' : '') + format('after hook', ${asError}, name); }`,
  ],
];

/** Node's module load hook: patches uvu's runner, passes everything else through. */
export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!/\/node_modules\/uvu\/dist\/index\.mjs$/.test(url)) return result;
  let source = String(result.source);
  for (const [from, to] of PATCHES) {
    if (!source.includes(from)) throw new Error(`uvu-hooks: cannot find "${from}" in ${url}: uvu changed, update labs/test/uvu-hooks.mjs`);
    source = source.replace(from, to);
  }
  return { ...result, source, shortCircuit: true };
}
