import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { PayloadApi, printInspect } from '../secret/payload.ts';

export default class SecretInspect extends ApiCommand {
  static override summary = 'Display detailed information on one or more secrets';
  static override description = 'The data of a secret is never shown.';
  static override strict = false;
  static override examples = ['<%= config.bin %> secret inspect db_pass', '<%= config.bin %> secret inspect --pretty db_pass'];
  static override args = { secret: Args.string({ required: true, description: 'Secret...' }) };
  static override flags = {
    format: Flags.string({ char: 'f', summary: 'Format the output using the given template (or json).' }),
    pretty: Flags.boolean({ summary: 'Print the information in a human friendly format.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(SecretInspect);
    if (flags.pretty && flags.format) this.error('--format is incompatible with human friendly format', { exit: 1 });
    const ok = await printInspect(new PayloadApi(await this.client(), 'secret'), argv as string[], flags);
    if (!ok) this.exit(1);
  }
}
