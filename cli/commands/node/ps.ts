import { Args, Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import { ServiceApi } from '../../service-api.ts';
import { taskListing } from '../../service-format.ts';
import type { Task } from '../../../src/api/types/task.ts';

export default class NodePs extends ApiCommand {
  static override summary = 'List tasks running on one or more nodes, defaults to current node';
  static override strict = false;
  static override examples = ['<%= config.bin %> node ps', '<%= config.bin %> node ps h2 h3'];
  static override args = { node: Args.string({ description: 'NODE... (default self)' }) };
  static override flags = {
    quiet: Flags.boolean({ char: 'q', summary: 'Only display task IDs.' }),
    filter: Flags.string({ char: 'f', summary: 'Filter output based on conditions provided (desired-state, id, label, name); repeatable.', multiple: true, multipleNonGreedy: true }),
    'no-trunc': Flags.boolean({ summary: 'Do not truncate output.' }),
    format: formatFlag,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(NodePs);
    const filters = this.filters(flags.filter);
    const api = new ServiceApi(await this.client());
    const refs = (argv as string[]).length ? (argv as string[]) : ['self'];
    const tasks: Task[] = [];
    await this.forEachRef(refs, async (ref) => {
      const node = await api.node(ref === 'self' ? (await api.info()).Swarm.NodeID : ref);
      tasks.push(...(await api.tasks({ ...filters, node: [node.ID] })));
    }, async () => {
      process.stdout.write(await taskListing(tasks, () => api.nodeMap(), flags));
    });
  }
}
