import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { describeError } from '../../swarm-api.ts';
import { StackApi, stackFilters } from './stack-api.ts';

export default class StackRm extends ApiCommand {
  static override summary = 'Remove one or more stacks';
  static override description = 'Removes the services, secrets, configs and networks labelled with the stack\'s name, and nothing else; volumes stay on the nodes, as with docker.';
  static override aliases = ['stack:remove', 'stack:down'];
  static override strict = false;
  static override examples = ['<%= config.bin %> stack rm shop'];
  static override args = { stack: Args.string({ required: true, description: 'STACK...' }) };
  static override flags = {
    detach: Flags.boolean({ char: 'd', summary: 'Do not wait for the stack\'s tasks to be gone before removing its networks.', default: false, allowNo: true }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(StackRm);
    const api = new StackApi(await this.client());
    let failed = false;
    for (const stack of argv as string[]) {
      const f = stackFilters(stack);
      const [services, networks, secrets, configs] = await Promise.all([api.services(f), api.networks(f), api.secrets(f), api.configs(f)]);
      if (!services.length && !networks.length && !secrets.length && !configs.length) {
        this.log(`Nothing found in stack: ${stack}`);
        continue;
      }
      const steps: [string, 'service' | 'secret' | 'config' | 'network', { ID?: string; Id?: string; Name?: string; Spec?: { Name?: string } }[]][] = [
        ['service', 'service', services], ['secret', 'secret', secrets], ['config', 'config', configs],
      ];
      const errors: string[] = [];
      for (const [label, kind, list] of steps) {
        for (const o of [...list].sort((a, b) => (a.Spec?.Name ?? '').localeCompare(b.Spec?.Name ?? ''))) {
          this.log(`Removing ${label} ${o.Spec?.Name}`);
          try { await api.remove(kind, o.ID!); } catch (err) { errors.push(`Failed to remove ${label} ${o.ID}: ${describeError(err)}`); }
        }
      }
      // Networks go last: the tasks attached to them must be gone first (docker waits too).
      if (!flags.detach && services.length) await this.waitForTasksGone(api, services.map((s) => s.ID));
      for (const n of [...networks].sort((a, b) => a.Name.localeCompare(b.Name))) {
        this.log(`Removing network ${n.Name}`);
        try { await api.remove('network', n.Id); } catch (err) { errors.push(`Failed to remove network ${n.Id}: ${describeError(err)}`); }
      }
      if (errors.length) {
        process.stderr.write(errors.join('\n') + '\n');
        failed = true;
      }
    }
    if (failed) this.exit(1);
  }

  /** Polls until no task of the removed services is left (bounded: 60 s). */
  private async waitForTasksGone(api: StackApi, serviceIds: string[]): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const left = await api.tasks({ service: serviceIds });
      if (!left.length) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    process.stderr.write('WARNING: tasks of the removed services are still shutting down; removing the networks anyway\n');
  }
}
