/**
 * One daemon per data root, held by the kernel: the daemon listens on an abstract unix
 * socket named after the data root's real path (`\0shoal-lock:<sha256 of realpath>`) for
 * as long as it runs. The kernel closes the socket when the process dies, however it dies
 * (kill -9, OOM, power cut), before it is even reaped, so a stale lock cannot exist and a
 * restart never waits for one. A second daemon on the same root gets EADDRINUSE and refuses
 * to start, naming the holder's PID (the holder answers a connection with it).
 *
 * Why not a PID file: a PID outlives its process (a zombie still "exists", and after a
 * reboot the number may name any other process). Why not flock: Node has no flock.
 * Limits: abstract sockets belong to a network namespace, so the lock covers daemons in the
 * same one (a daemon always runs in its host's); libuv opens sockets close-on-exec, so no
 * child process (runc, a shim) inherits the lock and keeps it past the daemon's death.
 */
import { createHash } from 'node:crypto';
import { mkdir, realpath, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';

/** Another live daemon holds the data root. Not retryable while it runs. */
export class DataRootInUseError extends Error {
  override name = 'DataRootInUseError';
  readonly retryable = false;
  constructor(
    readonly dataRoot: string,
    /** The holder's PID, or undefined when it did not say. */
    readonly pid: number | undefined,
    options?: { cause?: unknown },
  ) {
    const who = pid === undefined ? 'another shoal daemon' : `another shoal daemon (pid ${pid})`;
    super(`daemon: data root ${dataRoot} is in use by ${who}; stop it first or pick another --data-root`, options);
  }
}

/** A held data-root lock. */
export interface DataRootLock {
  /** The abstract socket name (without the leading NUL), for diagnostics. */
  readonly name: string;
  /** Stops listening, so another daemon may take the root. Idempotent. */
  release(): Promise<void>;
}

/** The abstract socket name for a data root's real path. */
export function lockName(realRoot: string): string {
  return `shoal-lock:${createHash('sha256').update(realRoot).digest('hex')}`;
}

/**
 * Creates the data root (0700) if needed and takes its lock for this process's life.
 * Throws `DataRootInUseError` when a live daemon holds it.
 */
export async function lockDataRoot(dataRoot: string): Promise<DataRootLock> {
  await mkdir(dataRoot, { recursive: true, mode: 0o700 });
  const name = lockName(await realpath(dataRoot));
  const server = createServer((sock) => {
    sock.on('error', () => {});
    sock.end(`${process.pid}\n`);
  });
  // A holder that was just killed may still be tearing down (its socket closes when its last
  // thread exits): while the holder does not answer, try again for a little while.
  for (let attempt = 0; ; attempt++) {
    try {
      await listen(server, name);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      const pid = await holderPid(name);
      if (pid !== undefined || attempt >= 40) throw new DataRootInUseError(dataRoot, pid, { cause: err });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  // The lock must never keep the process alive on its own.
  server.unref();
  // A PID file of the lock this one replaces would only mislead.
  await rm(join(dataRoot, 'shoal.pid'), { force: true });
  return { name, release: () => close(server) };
}

function listen(server: Server, name: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: `\0${name}`, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

/** Asks the holder for its PID; undefined if it does not answer within a second. */
function holderPid(name: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const sock = createConnection({ path: `\0${name}` });
    const done = (pid: number | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => done(undefined), 1000);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (text += d));
    sock.on('end', () => {
      const pid = Number(text.trim());
      done(Number.isInteger(pid) && pid > 0 ? pid : undefined);
    });
    sock.on('error', () => done(undefined));
  });
}
