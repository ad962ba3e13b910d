import { Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import { render } from '../../format.ts';
import { PayloadApi, payloadRow, payloadTable } from '../secret/payload.ts';

export default class SecretLs extends ApiCommand {
  static override summary = 'List secrets';
  static override aliases = ['secret:list'];
  static override examples = ['<%= config.bin %> secret ls', '<%= config.bin %> secret ls --filter label=env=prod -q'];
  static override flags = {
    quiet: Flags.boolean({ char: 'q', summary: 'Only display IDs.' }),
    filter: Flags.string({ char: 'f', summary: 'Filter output based on conditions provided (id, name, label); repeatable.', multiple: true, multipleNonGreedy: true }),
    format: formatFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SecretLs);
    const api = new PayloadApi(await this.client(), 'secret');
    const items = (await api.list(this.filters(flags.filter))).sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name));
    if (flags.quiet) return items.forEach((o) => this.log(o.ID));
    const now = Date.now();
    process.stdout.write(render(flags.format, items.map((o) => payloadRow(o, now)), (rows) => payloadTable('secret', rows)));
  }
}
