/**
 * Docker's seccomp profile format (the JSON of `--security-opt seccomp=PROFILE.json`
 * and of moby's `profiles/seccomp/default.json`): rules carry `includes`/`excludes`
 * (capabilities, architectures, minimum kernel) that are resolved per container into
 * the OCI runtime's `linux.seccomp`. This module only parses and checks the shape;
 * the agent converts (`src/agent/exec/seccomp.ts`). Pure.
 */

/** One argument comparison of a rule. */
export interface SeccompArg {
  /** Argument index, 0–5. */
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

/** When a rule applies: all listed capabilities present, native arch listed, kernel at least `minKernel`. */
export interface SeccompFilter {
  caps?: string[];
  arches?: string[];
  /** `MAJOR.MINOR`. */
  minKernel?: string;
}

/** One rule of a Docker profile. */
export interface SeccompRule {
  /** Deprecated single name (Docker still reads it). */
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
  comment?: string;
}

/** A Docker seccomp profile. */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  /** Explicit architecture list (the alternative to `archMap`). */
  architectures?: string[];
  /** Native architecture → the sub-architectures allowed with it. */
  archMap?: { architecture: string; subArchitectures?: string[] | null }[];
  syscalls?: SeccompRule[];
  flags?: string[];
}

/** A profile that cannot be used; the message says where. */
export class SeccompProfileError extends Error {
  override readonly name = 'SeccompProfileError';
  readonly retryable = false;
  constructor(message: string) { super(`seccomp: ${message}`); }
}

/** Actions runc 1.1 applies (SCMP_ACT_NOTIFY needs a listener Shoal does not run). */
export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG',
];
const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];
const FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'];
/** A profile larger than this is refused (Docker's default is 13 KB). */
export const MAX_PROFILE_BYTES = 1024 * 1024;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string' && s !== '');
const isU64 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER;
const isErrno = (v: unknown): boolean => v === undefined || (Number.isInteger(v) && (v as number) >= 0 && (v as number) < 4096);

function checkFilter(where: string, f: unknown): void {
  if (f === undefined || f === null) return;
  if (!isObj(f)) throw new SeccompProfileError(`${where}: must be an object`);
  for (const k of Object.keys(f)) if (!['caps', 'arches', 'minKernel'].includes(k)) throw new SeccompProfileError(`${where}.${k}: unknown field`);
  if (f.caps !== undefined && f.caps !== null && !isStrings(f.caps)) throw new SeccompProfileError(`${where}.caps: must be a list of capability names`);
  if (f.arches !== undefined && f.arches !== null && !isStrings(f.arches)) throw new SeccompProfileError(`${where}.arches: must be a list of architectures`);
  if (f.minKernel !== undefined && f.minKernel !== '' && (typeof f.minKernel !== 'string' || !/^\d+\.\d+$/.test(f.minKernel))) {
    throw new SeccompProfileError(`${where}.minKernel: must be MAJOR.MINOR (got ${JSON.stringify(f.minKernel)})`);
  }
}

function checkRule(i: number, r: unknown): void {
  const w = `syscalls[${i}]`;
  if (!isObj(r)) throw new SeccompProfileError(`${w}: must be an object`);
  const names = [...(typeof r.name === 'string' && r.name ? [r.name] : []), ...(isStrings(r.names) ? r.names : [])];
  if (r.names !== undefined && r.names !== null && !isStrings(r.names)) throw new SeccompProfileError(`${w}.names: must be a list of syscall names`);
  if (r.name !== undefined && typeof r.name !== 'string') throw new SeccompProfileError(`${w}.name: must be a string`);
  if (names.length === 0) throw new SeccompProfileError(`${w}: names must not be empty`);
  if (r.name && r.names) throw new SeccompProfileError(`${w}: use either name or names, not both`);
  if (typeof r.action !== 'string' || !SECCOMP_ACTIONS.includes(r.action)) throw new SeccompProfileError(`${w}.action: unknown action ${JSON.stringify(r.action)}`);
  if (!isErrno(r.errnoRet)) throw new SeccompProfileError(`${w}.errnoRet: must be an errno number (0-4095)`);
  if (r.args !== undefined && r.args !== null) {
    if (!Array.isArray(r.args) || r.args.length > 6) throw new SeccompProfileError(`${w}.args: must be a list of at most 6 comparisons`);
    for (const [j, a] of r.args.entries()) {
      if (!isObj(a) || !Number.isInteger(a.index) || (a.index as number) < 0 || (a.index as number) > 5) throw new SeccompProfileError(`${w}.args[${j}].index: must be 0-5`);
      if (!isU64(a.value)) throw new SeccompProfileError(`${w}.args[${j}].value: must be a non-negative integer`);
      if (a.valueTwo !== undefined && !isU64(a.valueTwo)) throw new SeccompProfileError(`${w}.args[${j}].valueTwo: must be a non-negative integer`);
      if (typeof a.op !== 'string' || !OPS.includes(a.op)) throw new SeccompProfileError(`${w}.args[${j}].op: unknown operator ${JSON.stringify(a.op)}`);
    }
  }
  checkFilter(`${w}.includes`, r.includes);
  checkFilter(`${w}.excludes`, r.excludes);
}

/**
 * Parses the JSON text of a Docker seccomp profile and checks its shape; throws
 * {@link SeccompProfileError} naming the first bad field. Refuses what Shoal would
 * not apply (a notify listener, unknown actions, operators or flags).
 */
export function parseSeccompProfile(text: string): SeccompProfile {
  if (Buffer.byteLength(text) > MAX_PROFILE_BYTES) throw new SeccompProfileError(`profile is larger than ${MAX_PROFILE_BYTES} bytes`);
  let p: unknown;
  try { p = JSON.parse(text); } catch (e) { throw new SeccompProfileError(`profile is not valid JSON: ${(e as Error).message}`); }
  if (!isObj(p)) throw new SeccompProfileError('profile must be a JSON object');
  if (typeof p.defaultAction !== 'string' || !SECCOMP_ACTIONS.includes(p.defaultAction)) {
    throw new SeccompProfileError(`defaultAction: unknown action ${JSON.stringify(p.defaultAction)}`);
  }
  if (!isErrno(p.defaultErrnoRet)) throw new SeccompProfileError('defaultErrnoRet: must be an errno number (0-4095)');
  if (p.listenerPath) throw new SeccompProfileError('listenerPath: seccomp notify listeners are not supported');
  if (p.architectures !== undefined && p.architectures !== null && !isStrings(p.architectures)) throw new SeccompProfileError('architectures: must be a list of SCMP_ARCH_* names');
  if (p.archMap !== undefined && p.archMap !== null) {
    if ((p.architectures as unknown[] | undefined)?.length) throw new SeccompProfileError("use either 'architectures' or 'archMap', not both");
    if (!Array.isArray(p.archMap)) throw new SeccompProfileError('archMap: must be a list');
    for (const [i, a] of p.archMap.entries()) {
      if (!isObj(a) || typeof a.architecture !== 'string' || !a.architecture) throw new SeccompProfileError(`archMap[${i}].architecture: must be a SCMP_ARCH_* name`);
      if (a.subArchitectures !== undefined && a.subArchitectures !== null && !isStrings(a.subArchitectures)) throw new SeccompProfileError(`archMap[${i}].subArchitectures: must be a list`);
    }
  }
  if (p.flags !== undefined && p.flags !== null) {
    if (!isStrings(p.flags)) throw new SeccompProfileError('flags: must be a list');
    for (const f of p.flags) if (!FLAGS.includes(f)) throw new SeccompProfileError(`flags: unknown flag ${f}`);
  }
  if (p.syscalls !== undefined && p.syscalls !== null) {
    if (!Array.isArray(p.syscalls)) throw new SeccompProfileError('syscalls: must be a list');
    p.syscalls.forEach((r, i) => checkRule(i, r));
  }
  return p as unknown as SeccompProfile;
}

/**
 * The profile text carried in `Privileges.Seccomp.Profile`: Docker's API sends Go
 * `[]byte`, i.e. base64; the JSON text itself is accepted too (base64 never starts
 * with `{`). Throws {@link SeccompProfileError}.
 */
export function decodeProfileField(field: string): string {
  const t = field.trim();
  if (t.startsWith('{')) return t;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t.replace(/\s+/g, ''))) throw new SeccompProfileError('Profile must be base64 of a JSON seccomp profile');
  return Buffer.from(t, 'base64').toString('utf8');
}
