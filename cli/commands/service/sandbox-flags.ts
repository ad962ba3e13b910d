/**
 * The sandbox flags of `service create`: `--cap-add`, `--cap-drop`,
 * `--security-opt seccomp=unconfined|default|PROFILE.json`, `--security-opt
 * no-new-privileges[=true|false]`, `--security-opt apparmor=unconfined`, and Shoal's
 * `--privileged`, mapped onto `ContainerSpec.CapabilityAdd/Drop` and `Privileges`.
 * A profile file is read and checked here, then sent base64-encoded as Docker's API
 * carries it.
 */
import { Flags } from '@oclif/core';
import { readFileSync } from 'node:fs';
import type { ContainerSpec, Privileges } from '../../../src/api/types/service.ts';
import { SeccompProfileError, parseSeccompProfile } from '../../../src/api/spec/seccomp-format.ts';

const many = { multiple: true, multipleNonGreedy: true } as const;

/** `service create` flags. */
export const sandboxCreateFlags = {
  'cap-add': Flags.string({ summary: 'Add Linux capabilities (NET_ADMIN, CAP_SYS_TIME, ALL); repeatable.', ...many }),
  'cap-drop': Flags.string({ summary: 'Drop Linux capabilities (CHOWN, ALL); repeatable.', ...many }),
  'security-opt': Flags.string({
    summary: 'Security options: seccomp=unconfined|default|PROFILE.json, no-new-privileges[=true|false], apparmor=unconfined; repeatable.',
    ...many,
  }),
  privileged: Flags.boolean({ summary: 'Give the tasks extended privileges (Shoal extension: all capabilities, no seccomp, AppArmor or masked paths).' }),
};

/** Reads a profile file; replaceable in tests. */
export type ReadProfile = (path: string) => string;

function bool(opt: string, v: string | undefined): boolean {
  if (v === undefined || v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Error(`invalid --security-opt ${opt}: expected true or false`);
}

/** Privileges from `--security-opt` values; throws a plain Error naming a bad option. */
export function parseSecurityOpts(opts: string[], readProfile: ReadProfile = (p) => readFileSync(p, 'utf8')): Privileges {
  const out: Privileges = {};
  for (const raw of opts) {
    const eq = raw.search(/[=:]/);
    const key = (eq < 0 ? raw : raw.slice(0, eq)).trim();
    const value = eq < 0 ? undefined : raw.slice(eq + 1);
    switch (key) {
      case 'seccomp': {
        if (!value) throw new Error('invalid --security-opt seccomp: expected seccomp=unconfined, seccomp=default or seccomp=PROFILE.json');
        if (value === 'unconfined') out.Seccomp = { Mode: 'unconfined' };
        else if (value === 'default' || value === 'builtin') out.Seccomp = { Mode: 'default' };
        else {
          let text: string;
          try { text = readProfile(value); } catch (e) { throw new Error(`opening seccomp profile (${value}) failed: ${(e as Error).message}`); }
          try { parseSeccompProfile(text); } catch (e) {
            if (e instanceof SeccompProfileError) throw new Error(`seccomp profile ${value}: ${e.message}`);
            throw e;
          }
          out.Seccomp = { Mode: 'custom', Profile: Buffer.from(text).toString('base64') };
        }
        break;
      }
      case 'no-new-privileges':
        out.NoNewPrivileges = bool(key, value);
        break;
      case 'apparmor':
        if (value !== 'unconfined') throw new Error('invalid --security-opt apparmor: only apparmor=unconfined is supported (Shoal uses the host\'s docker-default profile when loaded)');
        out.AppArmor = { Mode: 'disabled' };
        break;
      default:
        throw new Error(`invalid --security-opt ${JSON.stringify(raw)}: Shoal supports seccomp=…, no-new-privileges and apparmor=unconfined`);
    }
  }
  return out;
}

/** Sets the sandbox fields of `c` from the parsed flags (absent flags leave it as is). */
export function applySandboxFlags(c: ContainerSpec, flags: Record<string, unknown>, readProfile?: ReadProfile): void {
  const add = flags['cap-add'] as string[] | undefined;
  const drop = flags['cap-drop'] as string[] | undefined;
  if (add?.length) c.CapabilityAdd = [...add];
  if (drop?.length) c.CapabilityDrop = [...drop];
  const p = parseSecurityOpts((flags['security-opt'] as string[] | undefined) ?? [], readProfile);
  if (flags.privileged) p.Privileged = true;
  if (Object.keys(p).length) c.Privileges = { ...c.Privileges, ...p };
}
