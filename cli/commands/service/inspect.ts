import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { ServiceApi } from '../../service-api.ts';
import { describeError } from '../../swarm-api.ts';
import { inspectOutput } from '../../swarm-format.ts';
import { prettyService } from '../../service-format.ts';
import { NetworkApi } from '../../network-api.ts';
import type { Service } from '../../../src/api/types/service.ts';

export default class ServiceInspect extends ApiCommand {
  static override summary = 'Display detailed information on one or more services';
  static override strict = false;
  static override examples = ['<%= config.bin %> service inspect web', "<%= config.bin %> service inspect --format '{{.Spec.Mode}}' web", '<%= config.bin %> service inspect --pretty web'];
  static override args = { service: Args.string({ required: true, description: 'SERVICE...' }) };
  static override flags = {
    format: Flags.string({ char: 'f', summary: 'Format the output using the given template (or json).' }),
    pretty: Flags.boolean({ summary: 'Print the information in a human friendly format (ports, networks, virtual IPs).', exclusive: ['format'] }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ServiceInspect);
    const api = new ServiceApi(await this.client());
    const found: Service[] = [];
    const errors: string[] = [];
    for (const ref of argv as string[]) {
      try {
        found.push(await api.service(ref));
      } catch (err) {
        errors.push(describeError(err));
      }
    }
    if (flags.pretty) {
      const names = found.some((s) => s.Endpoint?.VirtualIPs?.length || s.Spec.TaskTemplate.Networks?.length || s.Spec.Networks?.length)
        ? new Map((await new NetworkApi(await this.client()).list()).map((n) => [n.Id, n.Name] as const))
        : new Map<string, string>();
      process.stdout.write(found.map((s) => prettyService(s, names)).join('\n'));
    } else process.stdout.write(inspectOutput(found, flags.format));
    if (errors.length) {
      process.stderr.write(errors.join('\n') + '\n');
      this.exit(1);
    }
  }
}
