import { Args } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { NetworkApi } from '../../network-api.ts';
import { describeError } from '../../swarm-api.ts';

export default class NetworkRm extends ApiCommand {
  static override summary = 'Remove one or more networks';
  static override description = 'A network still used by a service or a task is refused; the others given are removed all the same.';
  static override aliases = ['network:remove'];
  static override strict = false;
  static override args = { network: Args.string({ required: true, description: 'NETWORK...' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(NetworkRm);
    const api = new NetworkApi(await this.client());
    const errors: string[] = [];
    for (const ref of argv as string[]) {
      try {
        await api.remove(ref);
        this.log(ref);
      } catch (err) {
        errors.push(describeError(err));
      }
    }
    if (errors.length) {
      process.stderr.write(errors.join('\n') + '\n');
      this.exit(1);
    }
  }
}
