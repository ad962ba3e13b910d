/**
 * Child processes of the raft benchmark: started with their output in a log file, killed
 * by PID (never by name), and all killed in `killAll` (called from `finally`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export class Procs {
  private readonly live = new Set<ChildProcess>();

  /** Spawns `cmd args`, stdout and stderr appended to `logFile`; `env` adds to this process's environment. */
  spawn(cmd: string, args: string[], logFile: string, env?: Record<string, string>): ChildProcess {
    const fd = openSync(logFile, 'a');
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], ...(env ? { env: { ...process.env, ...env } } : {}) });
    closeSync(fd);
    this.live.add(child);
    child.once('exit', () => this.live.delete(child));
    return child;
  }

  /** SIGKILLs one child by PID and resolves when it has exited. */
  async kill(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited;
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.live].map((c) => this.kill(c)));
  }
}

export { freePort } from '../../src/swarm/test-node.ts';
