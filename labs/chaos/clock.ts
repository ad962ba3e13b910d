// Clock jumps for the chaos nemesis: every lab daemon runs under libfaketime (Debian's
// libfaketime package), which reads a per-host offset file ("+0", "+120s", "-30s"); the
// nemesis rewrites that file to step the daemon's wall clock (CLOCK_REALTIME: Date.now,
// new Date(), OpenSSL's certificate time checks) forward or back while it runs, and back
// to "+0" at heal. Only the wall clock moves: CLOCK_MONOTONIC (Node's timers, setTimeout,
// performance.now, the Raft ticks) is left alone (FAKETIME_DONT_FAKE_MONOTONIC), as when
// NTP steps a machine's clock or a VM resumes — a step never moves the monotonic clock.
// Only the daemon is faked, not the containers or runc it starts: the LD_PRELOAD is
// removed from its environment at startup, so its children are plain processes.
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultDaemonCommand, type DaemonContext } from '../lib/daemon.ts';

/** Where Debian's libfaketime package puts the library (x86_64 and arm64). */
const LIBFAKETIME_PATHS = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
];

/** The libfaketime library, or an error naming the package to install. */
export function libfaketime(): string {
  const lib = LIBFAKETIME_PATHS.find((p) => existsSync(p));
  if (!lib) throw new Error(`chaos: clock jumps need libfaketime (apt-get install libfaketime); looked in ${LIBFAKETIME_PATHS.join(', ')}`);
  return lib;
}

/** The offset file of a host (in its host dir, which the lab's `down` removes). */
export function clockFile(hostDir: string): string {
  return join(hostDir, 'faketime');
}

/**
 * libfaketime's text for an offset: "+0" for none, else whole seconds with a sign
 * ("+120s", "-30s"). Offsets are rounded to the second (the schedule draws whole seconds).
 */
export function faketimeOffset(offsetMs: number): string {
  const s = Math.round(offsetMs / 1000);
  return s === 0 ? '+0' : `${s > 0 ? '+' : '-'}${Math.abs(s)}s`;
}

/**
 * Steps the clock of the daemon reading `file` to real time + `offsetMs`. Written to a
 * temporary file and renamed, so libfaketime never reads a half-written offset. Seen by
 * the daemon within {@link CACHE_S} seconds.
 */
export function setClock(file: string, offsetMs: number): void {
  writeFileSync(`${file}.tmp`, `${faketimeOffset(offsetMs)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** How long libfaketime keeps an offset it read before it reads the file again, s. */
export const CACHE_S = 1;

/**
 * Node `--import` that drops LD_PRELOAD from the daemon's own environment once it runs
 * (libfaketime is loaded by then), so runc, containers and helpers it spawns are not faked.
 */
const UNPRELOAD = 'data:text/javascript,delete process.env.LD_PRELOAD';

/**
 * The lab daemon command under libfaketime: the default daemon argv behind `env` with the
 * preload and its settings. Creates the host's offset file ("+0") when it does not exist;
 * a daemon restarted while its host's clock is off sees the same offset.
 */
export function fakeClockDaemonCommand(lib: string): (ctx: DaemonContext) => string[] {
  return (ctx) => {
    const file = clockFile(ctx.hostDir);
    if (!existsSync(file)) setClock(file, 0);
    const [node, ...rest] = defaultDaemonCommand(ctx);
    return [
      'env', `LD_PRELOAD=${lib}`, `FAKETIME_TIMESTAMP_FILE=${file}`, `FAKETIME_CACHE_DURATION=${CACHE_S}`,
      'FAKETIME_DONT_FAKE_MONOTONIC=1',
      node, '--import', UNPRELOAD, ...rest,
    ];
  };
}
