/**
 * The daemon's logger: one line per event, `time level area: message key=value …`,
 * with dotted field names (`node.id`, `task.id`). Debug lines for an area are shown
 * when SHOAL_DEBUG lists it (`SHOAL_DEBUG=raft,dispatcher` or `SHOAL_DEBUG=*`).
 */
export type Fields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  debug(message: string, fields?: Fields): void;
  /** A logger for a sub-area (`daemon` → `daemon.http`). */
  child(area: string): Logger;
}

export interface LoggerOptions {
  /** Where lines go (default: stderr). */
  write?: (line: string) => void;
  /** Comma-separated areas whose debug lines are shown; `*` for all (default: env SHOAL_DEBUG). */
  debug?: string;
}

export function createLogger(area: string, options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const debugAreas = (options.debug ?? process.env.SHOAL_DEBUG ?? '').split(',').filter(Boolean);
  const debugOn = debugAreas.includes('*') || debugAreas.some((a) => area === a || area.startsWith(a + '.'));
  const emit = (level: string, message: string, fields?: Fields) => {
    let line = `${new Date().toISOString()} ${level} ${area}: ${message}`;
    if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${formatValue(v)}`;
    write(line);
  };
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    debug: (m, f) => {
      if (debugOn) emit('debug', m, f);
    },
    child: (sub) => createLogger(`${area}.${sub}`, options),
  };
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** A logger that drops everything, for tests that don't read logs. */
export const nullLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  child: () => nullLogger,
};
