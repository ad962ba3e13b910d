import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { ServiceApi } from '../../service-api.ts';
import { rollbackService } from './update.ts';
import { waitUpdated } from './update-progress.ts';

export default class ServiceRollback extends ApiCommand {
  static override summary = "Revert changes to a service's configuration";
  static override examples = ['<%= config.bin %> service rollback web'];
  static override args = { service: Args.string({ required: true, description: 'SERVICE' }) };
  static override flags = {
    detach: Flags.boolean({ char: 'd', summary: 'Exit immediately instead of waiting for the service to converge.' }),
    quiet: Flags.boolean({ char: 'q', summary: 'Suppress progress output.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ServiceRollback);
    const api = new ServiceApi(await this.client());
    try {
      const service = await api.service(args.service);
      await rollbackService(api, service);
      this.log(args.service);
      if (flags.detach) return;
      await waitUpdated(api, service.ID, flags.quiet ? () => {} : (l) => this.log(l));
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
  }
}
