/**
 * An interactive shell in a real terminal: a detached tmux session that the test types
 * into and reads the screen of (`docker exec -it`, `docker run -it`). Needs tmux
 * (scripts/setup.sh installs it).
 */
import * as assert from 'uvu/assert';
import { run } from './procs.ts';
import { waitFor } from './swarm-services.ts';

const tmux = (args: string[]) => run('tmux', args);

/**
 * Runs `command` (which opens a busybox shell in a terminal) in tmux session `session`,
 * 100x30, and checks the terminal end to end: the prompt shows (within `promptMs`, default
 * 20 s), `stty size` says 30 100, input gets its answer, `tty` is a /dev/pts device, a
 * resize to 120x40 reaches the shell, and `exit 7` comes back as the command's exit
 * code. The session is killed at the end, pass or fail.
 */
export async function checkTerminalShell(session: string, command: string, opts: { promptMs?: number } = {}): Promise<void> {
  if ((await tmux(['-V'])).code !== 0) assert.unreachable('tmux is installed (scripts/setup.sh)');
  const cmd = `${command}; echo shell-exit-$?; sleep 60`;
  assert.is((await tmux(['new-session', '-d', '-s', session, '-x', '100', '-y', '30', cmd])).code, 0);
  try {
    let last = '';
    const screen = async () => (last = (await tmux(['capture-pane', '-p', '-t', session])).stdout);
    await waitFor(() => `a prompt; screen:\n${last}`, async () => /^\/ # *$/m.test(await screen()), opts.promptMs ?? 20_000, 100);
    await tmux(['send-keys', '-t', session, 'stty size; echo tty-$((40+2)); tty', 'Enter']);
    await waitFor(() => `the size and answer; screen:\n${last}`, async () => { const s = await screen(); return /^30 100$/m.test(s) && /^tty-42$/m.test(s) && /^\/dev\/pts\/\d+$/m.test(s); }, 20_000, 100);
    await tmux(['resize-window', '-t', session, '-x', '120', '-y', '40']);
    await waitFor(() => `the resized terminal; screen:\n${last}`, async () => {
      await tmux(['send-keys', '-t', session, 'clear; stty size', 'Enter']);
      return /^40 120$/m.test(await screen());
    }, 20_000, 300);
    // The shell's exit code comes back through the CLI.
    await tmux(['send-keys', '-t', session, 'exit 7', 'Enter']);
    await waitFor(() => `the exit code; screen:\n${last}`, async () => /^shell-exit-7$/m.test(await screen()), 20_000, 100);
  } finally {
    await tmux(['kill-session', '-t', session]);
  }
}
