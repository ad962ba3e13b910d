import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';

export default class SwarmJoinToken extends ApiCommand {
  static override summary = 'Manage join tokens';
  static override description = 'Prints the command that joins a worker or a manager; --rotate replaces the token, so the old one no longer admits anyone.';
  static override examples = ['<%= config.bin %> swarm join-token worker', '<%= config.bin %> swarm join-token -q manager', '<%= config.bin %> swarm join-token --rotate worker'];
  static override args = { role: Args.string({ required: true, description: 'worker|manager' }) };
  static override flags = {
    quiet: Flags.boolean({ char: 'q', summary: 'Only display token.' }),
    rotate: Flags.boolean({ summary: 'Rotate join token.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SwarmJoinToken);
    const role = args.role;
    if (role !== 'worker' && role !== 'manager') this.error(`unknown role ${role}`, { exit: 1 });
    const api = new SwarmApi(await this.client());
    if (flags.rotate) {
      const sw = await api.swarm();
      await api.updateSwarm(sw.Version.Index, sw.Spec, { [role]: true });
      if (!flags.quiet) this.log(`Successfully rotated ${role} join token.\n`);
    }
    if (flags.quiet) {
      const sw = await api.swarm();
      return this.log(role === 'worker' ? sw.JoinTokens.Worker : sw.JoinTokens.Manager);
    }
    process.stdout.write(await api.joinCommand({ [role]: true }));
  }
}
