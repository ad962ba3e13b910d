import { Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import { render } from '../../format.ts';
import { ServiceApi } from '../../service-api.ts';
import { serviceRow, serviceTable } from '../../service-format.ts';

export default class ServiceLs extends ApiCommand {
  static override summary = 'List services';
  static override aliases = ['service:list'];
  static override examples = ['<%= config.bin %> service ls', '<%= config.bin %> service ls --filter mode=global'];
  static override flags = {
    quiet: Flags.boolean({ char: 'q', summary: 'Only display IDs.' }),
    filter: Flags.string({ char: 'f', summary: 'Filter output based on conditions provided (id, label, mode, name); repeatable.', multiple: true, multipleNonGreedy: true }),
    format: formatFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ServiceLs);
    const filters = this.filters(flags.filter);
    const api = new ServiceApi(await this.client());
    const services = (await api.services(filters, !flags.quiet)).sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name));
    if (flags.quiet) return services.forEach((s) => this.log(s.ID));
    process.stdout.write(render(flags.format, services.map(serviceRow), serviceTable));
  }
}
