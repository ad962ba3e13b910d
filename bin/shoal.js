#!/usr/bin/env node
// The `shoal` command. Shoal runs from its TypeScript sources through tsx
// (esbuild, with a compile cache), so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../cli/main.ts');
await run(process.argv.slice(2));
