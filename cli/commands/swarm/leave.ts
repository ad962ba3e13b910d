import { Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';

export default class SwarmLeave extends ApiCommand {
  static override summary = 'Leave the swarm';
  static override description = 'A manager refuses to leave without --force: its leaving may cost the swarm its quorum.';
  static override flags = {
    force: Flags.boolean({ char: 'f', summary: 'Force this node to leave the swarm, ignoring warnings.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SwarmLeave);
    await new SwarmApi(await this.client()).leave(flags.force);
    this.log('Node left the swarm.');
  }
}
