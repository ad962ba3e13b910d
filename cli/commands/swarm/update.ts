import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';
import { applySpecFlags, hasSpecFlags, swarmSpecFlags } from '../../swarm-options.ts';

export default class SwarmUpdate extends ApiCommand {
  static override summary = 'Update the swarm';
  static override examples = ['<%= config.bin %> swarm update --cert-expiry 720h --task-history-limit 10'];
  static override flags = { ...swarmSpecFlags };

  async run(): Promise<void> {
    const { flags } = await this.parse(SwarmUpdate);
    if (!hasSpecFlags(flags)) this.error(`nothing to update: give at least one of ${Object.keys(swarmSpecFlags).map((f) => `--${f}`).join(', ')}`, { exit: 1 });
    const api = new SwarmApi(await this.client());
    const sw = await api.swarm();
    await api.updateSwarm(sw.Version.Index, applySpecFlags(sw.Spec, flags));
    this.log('Swarm updated.');
  }
}
