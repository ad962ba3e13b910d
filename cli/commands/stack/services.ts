import { Args, Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import { render } from '../../format.ts';
import { serviceRow, serviceTable } from '../../service-format.ts';
import { StackApi, stackFilters } from './stack-api.ts';

export default class StackServices extends ApiCommand {
  static override summary = 'List the services in the stack';
  static override examples = ['<%= config.bin %> stack services shop', '<%= config.bin %> stack services --filter name=shop_web shop'];
  static override args = { stack: Args.string({ required: true, description: 'Stack name' }) };
  static override flags = {
    quiet: Flags.boolean({ char: 'q', summary: 'Only display IDs.' }),
    filter: Flags.string({ char: 'f', summary: 'Filter output based on conditions provided (id, label, mode, name); repeatable.', multiple: true, multipleNonGreedy: true }),
    format: formatFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(StackServices);
    const api = new StackApi(await this.client());
    const services = (await api.services(stackFilters(args.stack, this.filters(flags.filter)), !flags.quiet)).sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name));
    if (!services.length && !flags.quiet) {
      process.stderr.write(`Nothing found in stack: ${args.stack}\n`);
      return;
    }
    if (flags.quiet) return services.forEach((s) => this.log(s.ID));
    process.stdout.write(render(flags.format, services.map(serviceRow), serviceTable));
  }
}
