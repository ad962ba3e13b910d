/**
 * Readiness for systemd's `Type=notify`: once the API answers, the daemon tells the
 * service manager `READY=1` on `$NOTIFY_SOCKET`, so `systemctl start shoal` returns when
 * Shoal is usable and units ordered after it start then.
 *
 * Node has no unix datagram sockets, so the message is sent by `systemd-notify` (a
 * systemd binary every systemd host has) as a child process, with `--pid` set to ours:
 * as root it sends our PID in the socket credentials, so systemd attributes the message
 * to the service's main process (`NotifyAccess=main` holds, and there is no race with
 * the short-lived child exiting before systemd looks it up). No native addon needed.
 *
 * `$NOTIFY_SOCKET` is taken out of the environment at start ({@link takeNotifySocket}):
 * runc, finding it inherited, would proxy it into every container and `runc run -d` would
 * wait for the container's own READY=1, so tasks would hang in "starting" (as dockerd
 * also unsets it).
 */
import { execFile } from 'node:child_process';
import type { Logger } from '../common/logger.ts';

/** The `systemd-notify` argv that reports `state`, or undefined when not run by systemd. */
export function sdNotifyArgv(env: NodeJS.ProcessEnv, pid: number, state: { ready?: boolean; status?: string }): string[] | undefined {
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return undefined;
  const argv = ['systemd-notify', `--pid=${pid}`];
  if (state.ready) argv.push('--ready');
  if (state.status) argv.push(`--status=${state.status}`);
  return argv;
}

/** Removes `NOTIFY_SOCKET` from `env` (so no child inherits it) and returns it. */
export function takeNotifySocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const socket = env.NOTIFY_SOCKET;
  delete env.NOTIFY_SOCKET;
  return socket || undefined;
}

/**
 * Tells systemd this daemon is ready on `socket` (from {@link takeNotifySocket}; no-op
 * when undefined). A failure is logged, not thrown: systemd then times the start out and
 * says so in the journal.
 */
export function notifyReady(logger: Logger, socket: string | undefined, status: string): Promise<void> {
  const argv = sdNotifyArgv({ NOTIFY_SOCKET: socket }, process.pid, { ready: true, status });
  if (!argv) return Promise.resolve();
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 10_000, env: { ...process.env, NOTIFY_SOCKET: socket } }, (err, _out, errOut) => {
      if (err) logger.warn('systemd-notify failed: the unit will time out waiting for READY=1', { error: errOut.trim() || err.message });
      resolve();
    });
  });
}
