import { Args, Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import { render } from '../../format.ts';
import { ServiceApi, filterArgs } from '../../service-api.ts';
import { taskRows, taskTable } from '../../service-format.ts';
import { describeError } from '../../swarm-api.ts';
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
    let filters: Record<string, string[]>;
    try {
      filters = filterArgs(flags.filter);
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
    const api = new ServiceApi(await this.client());
    const tasks: Task[] = [];
    const errors: string[] = [];
    for (const ref of argv as string[]) {
      try {
        const s = await api.service(ref);
        tasks.push(...(await api.tasks({ ...filters, service: [s.ID] })));
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
