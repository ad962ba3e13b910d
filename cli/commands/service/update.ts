import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { ServiceApi } from '../../service-api.ts';
import { NetworkApi } from '../../network-api.ts';
import type { Service } from '../../../src/api/types/service.ts';
import { applyUpdateFlags, updateSpecFlags } from './spec-flags.ts';
import { applyPayloadUpdateFlags, payloadUpdateFlags } from './secret-flags.ts';
import { applyStrategyFlags, strategyFlags } from './strategy-flags.ts';
import { applyHostUpdateFlags, hostUpdateFlags } from './host-flags.ts';
import { applyMeshFlags, meshFlags } from './mesh-flags.ts';
import { waitUpdated } from './update-progress.ts';

/** `POST /services/{id}/update?rollback=previous`: back to PreviousSpec (docker's `service rollback`). */
export function rollbackService(api: ServiceApi, service: Service): Promise<void> {
  return api.call('POST', `/services/${encodeURIComponent(service.ID)}/update`, { body: service.Spec, query: { version: service.Version.Index, rollback: 'previous' } });
}

export default class ServiceUpdate extends ApiCommand {
  static override summary = 'Update a service';
  static override examples = [
    '<%= config.bin %> service update --image 192.168.100.1:5000/shoal/bb:v2 web',
    '<%= config.bin %> service update --update-parallelism 2 --update-delay 10s --update-order start-first --image IMAGE web',
    '<%= config.bin %> service update --env-add MODE=fast --publish-add 8080:80 --force web',
    '<%= config.bin %> service update --rollback web',
    '<%= config.bin %> service update --canary-weight 10 --canary-monitor 1m --image IMAGE web',
    '<%= config.bin %> service update --strategy blue-green --image IMAGE web',
  ];
  static override args = { service: Args.string({ required: true, description: 'SERVICE' }) };
  static override flags = {
    ...updateSpecFlags,
    ...payloadUpdateFlags,
    ...strategyFlags,
    ...hostUpdateFlags,
    ...meshFlags,
    rollback: Flags.boolean({ summary: 'Rollback to previous specification.' }),
    detach: Flags.boolean({ char: 'd', summary: 'Exit immediately instead of waiting for the service to converge.' }),
    quiet: Flags.boolean({ char: 'q', summary: 'Suppress progress output.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ServiceUpdate);
    const client = await this.client();
    const api = new ServiceApi(client);
    try {
      const service = await api.service(args.service);
      if (flags.rollback) {
        await rollbackService(api, service);
      } else {
        const networks = flags['network-rm']?.length || flags['network-add']?.length ? await new NetworkApi(client).list() : [];
        const resolve = (ref: string) => networks.find((n) => n.Id === ref || n.Name === ref)?.Id ?? networks.find((n) => n.Id.startsWith(ref))?.Id ?? ref;
        const spec = applyUpdateFlags(service.Spec, flags as Record<string, unknown>, resolve);
        applyPayloadUpdateFlags(spec.TaskTemplate.ContainerSpec, flags as Record<string, unknown>);
        applyStrategyFlags(spec, flags as Record<string, unknown>);
        applyHostUpdateFlags(spec, flags as Record<string, unknown>);
        applyMeshFlags(spec, flags as Record<string, unknown>);
        await api.update(service, spec);
      }
      this.log(args.service);
      if (flags.detach) return;
      await waitUpdated(api, service.ID, flags.quiet ? () => {} : (l) => this.log(l));
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
  }
}
