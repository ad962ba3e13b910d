import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { NetworkApi, type NetworkResource } from '../../network-api.ts';
import { describeError } from '../../swarm-api.ts';
import { inspectOutput } from '../../swarm-format.ts';

export default class NetworkInspect extends ApiCommand {
  static override summary = 'Display detailed information on one or more networks';
  static override strict = false;
  static override examples = ['<%= config.bin %> network inspect front', "<%= config.bin %> network inspect --format '{{json .IPAM.Config}}' front"];
  static override args = { network: Args.string({ required: true, description: 'NETWORK...' }) };
  static override flags = {
    format: Flags.string({ char: 'f', summary: 'Format the output using the given template (or json).' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(NetworkInspect);
    const api = new NetworkApi(await this.client());
    const found: NetworkResource[] = [];
    const errors: string[] = [];
    for (const ref of argv as string[]) {
      try {
        found.push(await api.network(ref));
      } catch (err) {
        errors.push(describeError(err));
      }
    }
    process.stdout.write(inspectOutput(found, flags.format));
    if (errors.length) {
      process.stderr.write(errors.join('\n') + '\n');
      this.exit(1);
    }
  }
}
