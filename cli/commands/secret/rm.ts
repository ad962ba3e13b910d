import { Args } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { PayloadApi } from '../secret/payload.ts';

export default class SecretRm extends ApiCommand {
  static override summary = 'Remove one or more secrets';
  static override description = 'A secret referenced by a service is refused (the service is named); the others given are removed all the same.';
  static override aliases = ['secret:remove'];
  static override strict = false;
  static override args = { secret: Args.string({ required: true, description: 'Secret...' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(SecretRm);
    const api = new PayloadApi(await this.client(), 'secret');
    await this.forEachRef(argv as string[], async (ref) => {
      await api.remove(ref);
      this.log(ref);
    });
  }
}
