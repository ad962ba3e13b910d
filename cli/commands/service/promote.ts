import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { ServiceApi } from '../../service-api.ts';
import { waitUpdated } from './update-progress.ts';

/** `shoal service promote SERVICE`: `POST /services/{id}/promote` (Shoal extension), then the update's progress. */
export default class ServicePromote extends ApiCommand {
  static override summary = 'Promote the canary of a service update (Shoal)';
  static override description = 'The update goes on at once instead of holding for the rest of its canary window (or, with --canary-auto rollback, for good).';
  static override examples = ['<%= config.bin %> service promote web'];
  static override args = { service: Args.string({ required: true, description: 'SERVICE' }) };
  static override flags = {
    detach: Flags.boolean({ char: 'd', summary: 'Exit immediately instead of waiting for the service to converge.' }),
    quiet: Flags.boolean({ char: 'q', summary: 'Suppress progress output.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ServicePromote);
    const api = new ServiceApi(await this.client());
    try {
      const service = await api.service(args.service);
      await api.call('POST', `/services/${encodeURIComponent(service.ID)}/promote`);
      this.log(args.service);
      if (flags.detach) return;
      await waitUpdated(api, service.ID, flags.quiet ? () => {} : (l) => this.log(l));
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
  }
}
