import { Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import { render, table } from '../../format.ts';
import { NetworkApi } from '../../network-api.ts';

/** One `network ls` row; field names are docker's `--format` fields. */
interface NetworkRow {
  ID: string;
  Name: string;
  Driver: string;
  Scope: string;
  Internal: string;
  Labels: string;
}

export default class NetworkLs extends ApiCommand {
  static override summary = 'List networks';
  static override aliases = ['network:list'];
  static override examples = ['<%= config.bin %> network ls', '<%= config.bin %> network ls --filter label=tier=db -q'];
  static override flags = {
    quiet: Flags.boolean({ char: 'q', summary: 'Only display network IDs.' }),
    filter: Flags.string({ char: 'f', summary: 'Filter output based on conditions provided (driver, id, label, name, scope, type, dangling); repeatable.', multiple: true, multipleNonGreedy: true }),
    'no-trunc': Flags.boolean({ summary: 'Do not truncate the output.' }),
    format: formatFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(NetworkLs);
    const filters = this.filters(flags.filter);
    const api = new NetworkApi(await this.client());
    const networks = (await api.list(filters)).sort((a, b) => a.Name.localeCompare(b.Name));
    const id = (x: string) => (flags['no-trunc'] ? x : x.slice(0, 12));
    if (flags.quiet) return networks.forEach((n) => this.log(id(n.Id)));
    const rows: NetworkRow[] = networks.map((n) => ({
      ID: id(n.Id),
      Name: n.Name,
      Driver: n.Driver,
      Scope: n.Scope,
      Internal: String(n.Internal),
      Labels: Object.entries(n.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
    }));
    process.stdout.write(render(flags.format, rows, (r) => table(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], r.map((x) => [x.ID, x.Name, x.Driver, x.Scope]))));
  }
}
