import { Args } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { NetworkApi } from '../../network-api.ts';

export default class NetworkRm extends ApiCommand {
  static override summary = 'Remove one or more networks';
  static override description = 'A network still used by a service or a task is refused; the others given are removed all the same.';
  static override aliases = ['network:remove'];
  static override strict = false;
  static override args = { network: Args.string({ required: true, description: 'NETWORK...' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(NetworkRm);
    const api = new NetworkApi(await this.client());
    await this.forEachRef(argv as string[], async (ref) => {
      await api.remove(ref);
      this.log(ref);
    });
  }
}
