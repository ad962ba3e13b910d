import { Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';
import { inspectOutput } from '../../swarm-format.ts';

export default class SwarmInspect extends ApiCommand {
  static override summary = 'Display detailed information on the swarm';
  static override examples = ["<%= config.bin %> swarm inspect --format '{{.Spec.Orchestration.TaskHistoryRetentionLimit}}'"];
  static override flags = {
    format: Flags.string({ char: 'f', summary: 'Format the output using the given template (or json).' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SwarmInspect);
    const sw = await new SwarmApi(await this.client()).swarm();
    process.stdout.write(inspectOutput([sw], flags.format));
  }
}
