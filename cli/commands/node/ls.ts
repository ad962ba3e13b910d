import { Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import { render } from '../../format.ts';
import { SwarmApi } from '../../swarm-api.ts';
import { byHostname, nodeRow, nodeTable } from '../../swarm-format.ts';
import { NODE_FILTER_KEYS, nodeFilters } from '../../swarm-options.ts';

export default class NodeLs extends ApiCommand {
  static override summary = 'List nodes in the swarm';
  static override hiddenAliases = ['node:list'];
  static override examples = [
    '<%= config.bin %> node ls',
    '<%= config.bin %> node ls --filter role=manager',
    "<%= config.bin %> node ls --format '{{.Hostname}} {{.ManagerStatus}}'",
  ];
  static override flags = {
    quiet: Flags.boolean({ char: 'q', summary: 'Only display IDs.' }),
    filter: Flags.string({ char: 'f', summary: `Filter output based on conditions provided (${NODE_FILTER_KEYS.join(', ')}); repeatable.`, multiple: true, multipleNonGreedy: true }),
    format: formatFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(NodeLs);
    let filters: string | undefined;
    try {
      filters = nodeFilters(flags.filter);
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
    const api = new SwarmApi(await this.client());
    const nodes = (await api.nodes(filters)).sort(byHostname);
    if (flags.quiet) return nodes.forEach((n) => this.log(n.ID));
    const info = nodes.length ? (await api.info()).Swarm : undefined;
    process.stdout.write(render(flags.format, nodes.map((n) => nodeRow(n, info)), nodeTable));
  }
}
