// A systemd unit file read as systemd reads it (sections, keys, repeated keys, an empty
// value resetting the list) and its Restart= rule, so the install lab test can start and
// restart the daemon "by the unit's rules" on hosts that have no systemd (lab hosts).

/** Section → key → values in order (a key may repeat: After=, Environment=). */
export type Unit = Map<string, Map<string, string[]>>;

/** Parses unit file text: `[Section]`, `Key=Value`, `#`/`;` comments, `\` continuations. */
export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[([^\]]+)\]$/.exec(line);
    if (s) {
      section = unit.get(s[1]!) ?? new Map();
      unit.set(s[1]!, section);
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq < 0) throw new Error(`unit: bad line "${line}"`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    // An empty assignment resets a list setting, as systemd does.
    section.set(key, value === '' ? [] : [...(section.get(key) ?? []), value]);
  }
  return unit;
}

/** The last value of `section.key` (what systemd uses for single-valued settings). */
export function unitValue(unit: Unit, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}

/** How the main process ended. */
export type ServiceExit = { code: number } | { signal: NodeJS.Signals };

/** Signals systemd counts as a clean exit. */
const CLEAN_SIGNALS = new Set(['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE']);

/** Whether systemd restarts a service with `Restart=rule` after `exit` (systemd.service(5) table). */
export function restartsAfter(rule: string, exit: ServiceExit): boolean {
  const clean = 'code' in exit ? exit.code === 0 : CLEAN_SIGNALS.has(exit.signal);
  const uncleanSignal = 'signal' in exit && !clean;
  switch (rule) {
    case 'no': return false;
    case 'always': return true;
    case 'on-success': return clean;
    case 'on-failure': return !clean;
    case 'on-abnormal':
    case 'on-abort': return uncleanSignal;
    case 'on-watchdog': return false;
    default: throw new Error(`unit: unknown Restart=${rule}`);
  }
}
