/**
 * The `shoal` commands as oclif itself describes them: oclif loads the command list from
 * the sources (cli/commands/index.ts, explicit strategy) and caches each command's
 * summary, description, flags, args and examples — what `oclif manifest` writes. Used by
 * scripts/build.ts (dist/oclif.manifest.json) and scripts/gen-reference.ts (docs/reference.md).
 */
import { fileURLToPath } from 'node:url';

/** One command as oclif caches it (the fields the build and the reference read). */
export interface CachedCommand {
  id: string;
  summary?: string;
  description?: string;
  aliases?: string[];
  hidden?: boolean;
  examples?: (string | { command: string; description: string })[];
  args: Record<string, { name: string; description?: string; required?: boolean }>;
  flags: Record<string, {
    name: string; type: 'boolean' | 'option'; char?: string; summary?: string; description?: string; helpGroup?: string;
    multiple?: boolean; options?: string[]; default?: unknown; env?: string; hidden?: boolean; allowNo?: boolean; required?: boolean;
  }>;
}

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every command of the CLI in the tree at `root`, by id. */
export async function loadCliManifest(root = REPO_ROOT): Promise<Record<string, CachedCommand>> {
  const { Config } = await import('@oclif/core');
  const config = await Config.load({ root });
  const plugin = config.getPluginsList().find((p) => p.root.replace(/\/$/, '') === root.replace(/\/$/, ''));
  if (!plugin) throw new Error('cli manifest: oclif did not load the shoal plugin');
  return (plugin as unknown as { manifest: { commands: Record<string, CachedCommand> } }).manifest.commands;
}
