import { Args, Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import { ServiceApi } from '../../service-api.ts';
import { taskListing } from '../../service-format.ts';
import type { Task } from '../../../src/api/types/task.ts';

export default class ServicePs extends ApiCommand {
  static override summary = 'List the tasks of one or more services';
  static override strict = false;
  static override examples = ['<%= config.bin %> service ps web', '<%= config.bin %> service ps --filter desired-state=running web'];
  static override args = { service: Args.string({ required: true, description: 'SERVICE...' }) };
  static override flags = {
    quiet: Flags.boolean({ char: 'q', summary: 'Only display task IDs.' }),
    filter: Flags.string({ char: 'f', summary: 'Filter output based on conditions provided (desired-state, id, name, node); repeatable.', multiple: true, multipleNonGreedy: true }),
    'no-trunc': Flags.boolean({ summary: 'Do not truncate output.' }),
    format: formatFlag,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ServicePs);
    const filters = this.filters(flags.filter);
    const api = new ServiceApi(await this.client());
    const tasks: Task[] = [];
    await this.forEachRef(argv as string[], async (ref) => {
      const s = await api.service(ref);
      tasks.push(...(await api.tasks({ ...filters, service: [s.ID] })));
    }, async () => {
      process.stdout.write(await taskListing(tasks, () => api.nodeMap(), flags));
    });
  }
}
