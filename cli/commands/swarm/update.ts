import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';
import { Flags } from '@oclif/core';
import { applySpecFlags, hasSpecFlags, swarmSpecFlags } from '../../swarm-options.ts';
import { fetchUnlockKey, unlockKeyMessage } from './unlock-key.ts';
import { withRebalanceFlag } from '../../../src/api/spec/rebalance-policy.ts';

export default class SwarmUpdate extends ApiCommand {
  static override summary = 'Update the swarm';
  static override examples = ['<%= config.bin %> swarm update --cert-expiry 720h --task-history-limit 10'];
  static override flags = {
    ...swarmSpecFlags,
    autolock: Flags.string({ summary: 'Change manager autolocking setting (true|false).', options: ['true', 'false'] }),
    rebalance: Flags.string({ summary: 'Whether tasks move to nodes that join or come back, swarm-wide (Shoal; true|false).', options: ['true', 'false'] }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SwarmUpdate);
    if (!hasSpecFlags(flags) && flags.autolock === undefined && flags.rebalance === undefined) this.error(`nothing to update: give at least one of ${Object.keys(swarmSpecFlags).map((f) => `--${f}`).join(', ')}`, { exit: 1 });
    const api = new SwarmApi(await this.client());
    const sw = await api.swarm();
    const spec = applySpecFlags(sw.Spec, flags);
    const wasLocked = sw.Spec.EncryptionConfig?.AutoLockManagers === true;
    if (flags.autolock !== undefined) spec.EncryptionConfig = { AutoLockManagers: flags.autolock === 'true' };
    if (flags.rebalance !== undefined) spec.Labels = withRebalanceFlag(spec.Labels, flags.rebalance);
    await api.updateSwarm(sw.Version.Index, spec);
    this.log('Swarm updated.');
    // As docker: turning autolock on prints the key the managers now need to restart.
    if (flags.autolock === 'true' && !wasLocked) process.stdout.write(unlockKeyMessage(await fetchUnlockKey(api)));
  }
}
