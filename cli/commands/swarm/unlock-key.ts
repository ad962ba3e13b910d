import { Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';

/** Docker's words around an unlock key (`docker swarm init --autolock`, `unlock-key`, `update --autolock=true`). */
export function unlockKeyMessage(key: string): string {
  return 'To unlock a swarm manager after it restarts, run the `shoal swarm unlock`\n' +
    'command and provide the following key:\n\n' +
    `    ${key}\n\n` +
    'Please remember to store this key in a password manager, since without it you\n' +
    'will not be able to restart the manager.\n';
}

/** The cluster's unlock key ('' while autolock is off). */
export async function fetchUnlockKey(api: SwarmApi): Promise<string> {
  return (await api.call<{ UnlockKey: string }>('GET', '/swarm/unlockkey')).UnlockKey;
}

export default class SwarmUnlockKey extends ApiCommand {
  static override summary = 'Manage the unlock key';
  static override description =
    'Prints the key that unlocks a manager after it restarts while autolock is on; --rotate replaces it. ' +
    'Each manager re-seals its keys under the new one as soon as it learns of it; a manager that was down meanwhile still opens with the old key, then follows.';
  static override examples = ['<%= config.bin %> swarm unlock-key', '<%= config.bin %> swarm unlock-key -q', '<%= config.bin %> swarm unlock-key --rotate'];
  static override flags = {
    quiet: Flags.boolean({ char: 'q', summary: 'Only display the key.' }),
    rotate: Flags.boolean({ summary: 'Rotate the unlock key.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SwarmUnlockKey);
    const api = new SwarmApi(await this.client());
    if (flags.rotate) {
      const sw = await api.swarm();
      if (!sw.Spec.EncryptionConfig?.AutoLockManagers) this.error('cannot rotate because autolock is not turned on', { exit: 1 });
      await api.call('POST', '/swarm/update', { body: sw.Spec, query: { version: sw.Version.Index, rotateManagerUnlockKey: true } });
      if (!flags.quiet) this.log('Successfully rotated manager unlock key.\n');
    }
    const key = await fetchUnlockKey(api);
    if (key === '') this.error('no unlock key is set', { exit: 1 });
    if (flags.quiet) return this.log(key);
    process.stdout.write(unlockKeyMessage(key));
  }
}
