import { ApiCommand, formatFlag } from '../../base-command.ts';
import { render, table } from '../../format.ts';
import { LABEL_NAMESPACE } from '../../compose/convert-service.ts';
import { StackApi } from './stack-api.ts';

/** One `stack ls` row; field names are docker's `--format` fields. */
interface StackRow { Name: string; Services: string }

export default class StackLs extends ApiCommand {
  static override summary = 'List stacks';
  static override aliases = ['stack:list'];
  static override examples = ['<%= config.bin %> stack ls', '<%= config.bin %> stack ls --format "{{.Name}}: {{.Services}}"'];
  static override flags = { format: formatFlag };

  async run(): Promise<void> {
    const { flags } = await this.parse(StackLs);
    const api = new StackApi(await this.client());
    const counts = new Map<string, number>();
    for (const s of await api.services({ label: [LABEL_NAMESPACE] })) {
      const ns = s.Spec.Labels?.[LABEL_NAMESPACE];
      if (ns) counts.set(ns, (counts.get(ns) ?? 0) + 1);
    }
    const rows: StackRow[] = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([Name, n]) => ({ Name, Services: String(n) }));
    process.stdout.write(render(flags.format, rows, (r) => table(['NAME', 'SERVICES'], r.map((x) => [x.Name, x.Services]))));
  }
}
