import { Args } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { ServiceApi } from '../../service-api.ts';

export default class ServiceRm extends ApiCommand {
  static override summary = 'Remove one or more services';
  static override aliases = ['service:remove'];
  static override strict = false;
  static override examples = ['<%= config.bin %> service rm web'];
  static override args = { service: Args.string({ required: true, description: 'SERVICE...' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(ServiceRm);
    const api = new ServiceApi(await this.client());
    await this.forEachRef(argv as string[], async (ref) => {
      const s = await api.service(ref);
      await api.remove(s.ID);
      this.log(ref);
    });
  }
}
