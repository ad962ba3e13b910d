import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { PayloadApi, printInspect } from '../secret/payload.ts';

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
    const ok = await printInspect(new PayloadApi(await this.client(), 'config'), argv as string[], flags);
    if (!ok) this.exit(1);
  }
}
