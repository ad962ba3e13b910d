import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';

export default class NodeRm extends ApiCommand {
  static override summary = 'Remove one or more nodes from the swarm';
  static override description = 'A node that is still up is refused without --force; a manager must be demoted first.';
  static override hiddenAliases = ['node:remove'];
  static override strict = false;
  static override args = { node: Args.string({ required: true, description: 'NODE...' }) };
  static override flags = {
    force: Flags.boolean({ char: 'f', summary: 'Force remove a node from the swarm.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(NodeRm);
    const api = new SwarmApi(await this.client());
    await this.forEachRef(argv as string[], async (ref) => {
      await api.removeNode(ref, flags.force);
      this.log(ref);
    });
  }
}
