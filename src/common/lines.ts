/**
 * A child's output as lines: the helpers the agent keeps (the netns helper, the pooled
 * shells, the exec monitor's socket) answer one line per request or event, and a read
 * may end anywhere in a line.
 *
 *   child.stdout.setEncoding('utf8').on('data', lineSplitter((line) => { … }));
 */

/**
 * Calls `onLine` with each complete line (without its `\n`), in order; a partial line
 * waits for the next chunk. `onLine` returning `false` stops it for good: the rest of the
 * stream is dropped (the caller is ending a child that went out of protocol).
 */
export function lineSplitter(onLine: (line: string) => boolean | void): (chunk: string) => void {
  let buf = '';
  let stopped = false;
  return (chunk) => {
    if (stopped) return;
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (onLine(line) === false) {
        stopped = true;
        buf = '';
        return;
      }
    }
  };
}
