import { Args } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';

export default class NodePromote extends ApiCommand {
  static override summary = 'Promote one or more nodes to manager in the swarm';
  static override strict = false;
  static override args = { node: Args.string({ required: true, description: 'NODE...' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(NodePromote);
    const api = new SwarmApi(await this.client());
    for (const ref of argv as string[]) {
      const node = await api.node(ref);
      if (node.Spec.Role === 'manager') {
        this.log(`Node ${node.ID} is already a manager.`);
        continue;
      }
      await api.updateNode(node, { ...node.Spec, Role: 'manager' });
      this.log(`Node ${ref} promoted to a manager in the swarm.`);
    }
  }
}
