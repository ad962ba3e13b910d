import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { describeError } from '../../swarm-api.ts';
import { inspectOutput } from '../../swarm-format.ts';
import { PayloadApi, prettyPayload, type Payload } from '../secret/payload.ts';

export default class ConfigInspect extends ApiCommand {
  static override summary = 'Display detailed information on one or more configs';
  static override description = 'Shows the data of the config (base64 in JSON, as text with --pretty).';
  static override strict = false;
  static override examples = ['<%= config.bin %> config inspect app.conf', '<%= config.bin %> config inspect --pretty app.conf'];
  static override args = { config: Args.string({ required: true, description: 'Config...' }) };
  static override flags = {
    format: Flags.string({ char: 'f', summary: 'Format the output using the given template (or json).' }),
    pretty: Flags.boolean({ summary: 'Print the information in a human friendly format.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ConfigInspect);
    if (flags.pretty && flags.format) this.error('--format is incompatible with human friendly format', { exit: 1 });
    const api = new PayloadApi(await this.client(), 'config');
    const found: Payload[] = [];
    const errors: string[] = [];
    for (const ref of argv as string[]) {
      try {
        found.push(await api.get(ref));
      } catch (err) {
        errors.push(describeError(err));
      }
    }
    if (flags.pretty) process.stdout.write(found.map((o) => prettyPayload('config', o)).join('\n'));
    else process.stdout.write(inspectOutput(found, flags.format));
    if (errors.length) {
      process.stderr.write(errors.join('\n') + '\n');
      this.exit(1);
    }
  }
}
