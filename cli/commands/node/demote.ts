import { Args } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';

export default class NodeDemote extends ApiCommand {
  static override summary = 'Demote one or more nodes from manager in the swarm';
  static override strict = false;
  static override args = { node: Args.string({ required: true, description: 'NODE...' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(NodeDemote);
    const api = new SwarmApi(await this.client());
    for (const ref of argv as string[]) {
      const node = await api.node(ref);
      if (node.Spec.Role === 'worker') {
        this.log(`Node ${node.ID} is already a worker.`);
        continue;
      }
      await api.updateNode(node, { ...node.Spec, Role: 'worker' });
      this.log(`Manager ${ref} demoted in the swarm.`);
    }
  }
}
