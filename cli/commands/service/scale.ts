import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { ServiceApi } from '../../service-api.ts';
import { describeError } from '../../swarm-api.ts';
import { waitConverged } from './create.ts';

export default class ServiceScale extends ApiCommand {
  static override summary = 'Scale one or multiple replicated services';
  static override strict = false;
  static override examples = ['<%= config.bin %> service scale web=6', '<%= config.bin %> service scale web=1 api=3'];
  static override args = { scale: Args.string({ required: true, description: 'SERVICE=REPLICAS...' }) };
  static override flags = {
    detach: Flags.boolean({ char: 'd', summary: 'Exit immediately instead of waiting for the service to converge.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ServiceScale);
    const api = new ServiceApi(await this.client());
    const errors: string[] = [];
    const scaled: string[] = [];
    for (const arg of argv as string[]) {
      const m = /^([^=]+)=(\d+)$/.exec(arg);
      if (!m) {
        errors.push(`invalid scale specifier '${arg}'.\nSee '--help'.\n\nUsage:  shoal service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]`);
        continue;
      }
      try {
        const s = await api.service(m[1]);
        const spec = structuredClone(s.Spec);
        if (spec.Mode?.Replicated) spec.Mode.Replicated.Replicas = Number(m[2]);
        else if (spec.Mode?.ReplicatedJob) spec.Mode.ReplicatedJob.TotalCompletions = Number(m[2]);
        else throw new Error(`scale can only be used with replicated or replicated-job mode`);
        await api.update(s, spec);
        this.log(`${m[1]} scaled to ${m[2]}`);
        scaled.push(s.ID);
      } catch (err) {
        errors.push(describeError(err));
      }
    }
    if (!flags.detach) for (const id of scaled) await waitConverged(api, id, (l) => this.log(l));
    if (errors.length) {
      process.stderr.write(errors.join('\n') + '\n');
      this.exit(1);
    }
  }
}
