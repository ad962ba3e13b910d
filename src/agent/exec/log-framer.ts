/**
 * Turns a byte stream into log lines and selects lines for `tail` / `since`. Pure.
 */

/** One captured line, Docker json-file shaped: `log` keeps its trailing newline when it had one. */
export interface LogEntry { time: string; stream: 'stdout' | 'stderr'; log: string }

/** Longest line kept whole; longer output is split (Docker splits at 16 KiB too). */
export const MAX_LINE = 16 * 1024;

/** Buffers partial lines of one stream; `push` returns the complete ones. */
export class LineFramer {
  private pending = '';

  /** Adds a chunk; returns complete lines (with `\n`) and over-long pieces. */
  push(chunk: string): string[] {
    const text = this.pending + chunk;
    const out: string[] = [];
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      let line = text.slice(start, nl + 1);
      while (line.length > MAX_LINE) { out.push(line.slice(0, MAX_LINE)); line = line.slice(MAX_LINE); }
      out.push(line);
      start = nl + 1;
    }
    let rest = text.slice(start);
    while (rest.length >= MAX_LINE) { out.push(rest.slice(0, MAX_LINE)); rest = rest.slice(MAX_LINE); }
    this.pending = rest;
    return out;
  }

  /** The partial last line, if any (at end of stream). */
  flush(): string[] {
    const p = this.pending;
    this.pending = '';
    return p ? [p] : [];
  }
}

/** Options of a log read: the last `tail` lines (all when undefined) at or after `since` (ms epoch). */
export interface LogSelect { tail?: number; since?: number; until?: number }

/** Filters entries (oldest first) by since/until, then keeps the last `tail`. */
export function selectEntries(entries: LogEntry[], sel: LogSelect): LogEntry[] {
  let out = entries;
  if (sel.since !== undefined || sel.until !== undefined) {
    out = out.filter((e) => {
      const t = Date.parse(e.time);
      return (sel.since === undefined || t >= sel.since) && (sel.until === undefined || t <= sel.until);
    });
  }
  if (sel.tail !== undefined && sel.tail >= 0) out = sel.tail === 0 ? [] : out.slice(-sel.tail);
  return out;
}

/** Parses json-file lines, skipping torn or foreign ones. */
export function parseEntries(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const l of text.split('\n')) {
    if (!l) continue;
    try { out.push(JSON.parse(l) as LogEntry); } catch { /* torn tail after a crash */ }
  }
  return out;
}

/** Which files to shift when the current file reached `maxSize`: rotate when size + next > max. */
export function shouldRotate(size: number, next: number, maxSize: number): boolean {
  return size > 0 && size + next > maxSize;
}
