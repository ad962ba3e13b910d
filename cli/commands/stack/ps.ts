import { Args, Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import { taskListing } from '../../service-format.ts';
import { ServiceApi } from '../../service-api.ts';
import { StackApi, stackFilters } from './stack-api.ts';

export default class StackPs extends ApiCommand {
  static override summary = 'List the tasks in the stack';
  static override examples = ['<%= config.bin %> stack ps shop', '<%= config.bin %> stack ps --filter desired-state=running shop'];
  static override args = { stack: Args.string({ required: true, description: 'Stack name' }) };
  static override flags = {
    quiet: Flags.boolean({ char: 'q', summary: 'Only display task IDs.' }),
    filter: Flags.string({ char: 'f', summary: 'Filter output based on conditions provided (desired-state, id, name, node, service); repeatable.', multiple: true, multipleNonGreedy: true }),
    'no-trunc': Flags.boolean({ summary: 'Do not truncate output.' }),
    format: formatFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(StackPs);
    const client = await this.client();
    const tasks = await new StackApi(client).tasks(stackFilters(args.stack, this.filters(flags.filter)));
    if (!tasks.length) throw new Error(`nothing found in stack: ${args.stack}`); // printed plainly, exit 1, as docker
    const api = new ServiceApi(client);
    process.stdout.write(await taskListing(tasks, () => api.nodeMap(), flags));
  }
}
