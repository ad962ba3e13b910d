import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';

/** One line of stdin: typed without echo at a terminal, else read as piped (`echo KEY | shoal swarm unlock`). */
async function readKey(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) {
      chunks.push(c as Buffer);
      if (Buffer.concat(chunks).includes(0x0a)) break;
    }
    return Buffer.concat(chunks).toString('utf8').split('\n')[0].trim();
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  let line = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        for (const ch of d.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            return resolve();
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            return reject(new Error('interrupted'));
          }
          if (ch === '\u007f') line = line.slice(0, -1);
          else line += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
  return line.trim();
}

export default class SwarmUnlock extends ApiCommand {
  static override summary = 'Unlock swarm';
  static override description =
    'Gives a locked manager (autolock on, just restarted) its unlock key: the key opens its sealed keys, and only then does it start Raft and rejoin. ' +
    'The key is read from the terminal without echo, or from stdin when piped. A wrong key is refused and changes nothing.';
  static override examples = ['<%= config.bin %> swarm unlock', 'shoal swarm unlock-key -q > key  # before the restart, on any manager\ncat key | <%= config.bin %> swarm unlock'];

  async run(): Promise<void> {
    await this.parse(SwarmUnlock);
    const api = new SwarmApi(await this.client());
    // As docker: the node's state first, so an unlocked node never asks for a key.
    const state = (await api.info()).Swarm.LocalNodeState;
    if (state === 'inactive') this.error('This node is not part of a swarm', { exit: 1 });
    if (state !== 'locked') this.error('swarm is not locked', { exit: 1 });
    const key = await readKey('Please enter unlock key: ');
    await api.call('POST', '/swarm/unlock', { body: { UnlockKey: key } });
  }
}
