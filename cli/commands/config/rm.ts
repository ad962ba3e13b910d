import { Args } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { PayloadApi } from '../secret/payload.ts';

export default class ConfigRm extends ApiCommand {
  static override summary = 'Remove one or more configs';
  static override description = 'A config referenced by a service is refused (the service is named); the others given are removed all the same.';
  static override aliases = ['config:remove'];
  static override strict = false;
  static override args = { config: Args.string({ required: true, description: 'Config...' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(ConfigRm);
    const api = new PayloadApi(await this.client(), 'config');
    await this.forEachRef(argv as string[], async (ref) => {
      await api.remove(ref);
      this.log(ref);
    });
  }
}
