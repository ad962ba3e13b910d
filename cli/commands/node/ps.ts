import { Args, Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import { render } from '../../format.ts';
import { ServiceApi, filterArgs } from '../../service-api.ts';
import { taskRows, taskTable } from '../../service-format.ts';
import { describeError } from '../../swarm-api.ts';
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
    let filters: Record<string, string[]>;
    try {
      filters = filterArgs(flags.filter);
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
    const api = new ServiceApi(await this.client());
    const refs = (argv as string[]).length ? (argv as string[]) : ['self'];
    const tasks: Task[] = [];
    const errors: string[] = [];
    for (const ref of refs) {
      try {
        const node = await api.node(ref === 'self' ? (await api.info()).Swarm.NodeID : ref);
        tasks.push(...(await api.tasks({ ...filters, node: [node.ID] })));
      } catch (err) {
        errors.push(describeError(err));
      }
    }
    if (flags.quiet) tasks.forEach((t) => this.log(t.ID));
    else process.stdout.write(render(flags.format, taskRows(tasks, await api.nodeMap(), { noTrunc: flags['no-trunc'] }), taskTable));
    if (errors.length) {
      process.stderr.write(errors.join('\n') + '\n');
      this.exit(1);
    }
  }
}
