import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { readStack } from '../../compose/read.ts';
import { deployStack, type ResolveImage } from './deployer.ts';
import { StackApi } from './stack-api.ts';
import { ServiceApi } from '../../service-api.ts';
import { waitConverged } from '../service/create.ts';
import { waitUpdated } from '../service/update-progress.ts';

export default class StackDeploy extends ApiCommand {
  static override summary = 'Deploy a new stack or update an existing stack';
  static override description = 'Reads one or more compose files (merged in order), creates the networks, secrets and configs the stack needs, then creates its services or updates them (a rolling update, as service update).';
  static override aliases = ['stack:up'];
  static override examples = ['<%= config.bin %> stack deploy -c docker-compose.yml shop', '<%= config.bin %> stack deploy -c base.yml -c prod.yml --prune shop'];
  static override args = { stack: Args.string({ required: true, description: 'Stack name' }) };
  static override flags = {
    'compose-file': Flags.string({ char: 'c', summary: 'Path to a Compose file, or "-" to read from stdin; repeatable.', multiple: true, multipleNonGreedy: true, required: true }),
    prune: Flags.boolean({ summary: 'Prune services that are no longer referenced.' }),
    'resolve-image': Flags.string({ summary: 'Query the registry to resolve image digest and supported platforms ("always", "changed", "never").', default: 'always', options: ['always', 'changed', 'never'] }),
    'with-registry-auth': Flags.boolean({ summary: 'Send registry authentication details to Swarm agents (Shoal: images come from the nodes\' stores).' }),
    detach: Flags.boolean({ char: 'd', summary: 'Exit immediately instead of waiting for the stack services to converge (the default, as docker); --detach=false follows each service.', default: true, allowNo: true }),
    quiet: Flags.boolean({ char: 'q', summary: 'Suppress progress output.' }),
  };

  async run(): Promise<void> {
    // docker's boolean form `--detach=false|true`, which oclif reads as --no-detach / --detach.
    this.argv = this.argv.map((a) => (a === '--detach=false' || a === '-d=false' ? '--no-detach' : a === '--detach=true' || a === '-d=true' ? '--detach' : a));
    const { args, flags } = await this.parse(StackDeploy);
    if (flags['with-registry-auth']) this.error('--with-registry-auth is not supported by Shoal yet (nodes pull without credentials)', { exit: 1 });
    // A ComposeError reaches the base command's handler: one plain `compose: FILE:LINE: …` line (or block), exit 1.
    const plan = readStack(flags['compose-file'], args.stack);
    for (const w of plan.warnings) process.stderr.write(`${w}\n`);
    const api = new StackApi(await this.client());
    const done = await deployStack(api, plan, {
      prune: flags.prune,
      resolveImage: flags['resolve-image'] as ResolveImage,
      log: (line) => { if (!flags.quiet) this.log(line); },
      warn: (text) => process.stderr.write(text),
    });
    if (flags.detach) return;
    // --detach=false: follow each service until it converges, as docker does.
    const services = new ServiceApi(await this.client());
    const log = (line: string) => { if (!flags.quiet) this.log(line); };
    for (const s of done.created) {
      log(`Waiting for service ${s.name}`);
      await waitConverged(services, s.id, log);
    }
    for (const s of done.updated) {
      log(`Waiting for service ${s.name}`);
      await waitUpdated(services, s.id, log);
    }
  }
}
