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

/**
 * Tells systemd this daemon is ready (no-op outside systemd). A failure is logged, not
 * thrown: systemd then times the start out and says so in the journal.
 */
export function notifyReady(logger: Logger, status: string): Promise<void> {
  const argv = sdNotifyArgv(process.env, process.pid, { ready: true, status });
  if (!argv) return Promise.resolve();
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 10_000 }, (err, _out, errOut) => {
      if (err) logger.warn('systemd-notify failed: the unit will time out waiting for READY=1', { error: errOut.trim() || err.message });
      resolve();
    });
  });
}
