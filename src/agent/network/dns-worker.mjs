// The DNS child process's entry: Shoal runs from its TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
await import('./dns-worker-main.ts');
