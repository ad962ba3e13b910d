import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { describeError, SwarmApi } from '../../swarm-api.ts';
import { inspectOutput, prettyNode } from '../../swarm-format.ts';
import type { Node } from '../../../src/api/types/node.ts';

export default class NodeInspect extends ApiCommand {
  static override summary = 'Display detailed information on one or more nodes';
  static override description = '`self` names the node the daemon runs on.';
  static override strict = false;
  static override examples = ['<%= config.bin %> node inspect self', '<%= config.bin %> node inspect --pretty w1', "<%= config.bin %> node inspect --format '{{.Spec.Labels}}' w1"];
  static override args = { node: Args.string({ required: true, description: 'self|NODE...' }) };
  static override flags = {
    format: Flags.string({ char: 'f', summary: 'Format the output using the given template (or json).' }),
    pretty: Flags.boolean({ summary: 'Print the information in a human friendly format.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(NodeInspect);
    if (flags.pretty && flags.format) this.error('--format is incompatible with human friendly format', { exit: 1 });
    const api = new SwarmApi(await this.client());
    const found: Node[] = [];
    const errors: string[] = [];
    for (const ref of argv as string[]) {
      try {
        found.push(await api.node(ref === 'self' ? (await api.info()).Swarm.NodeID : ref));
      } catch (err) {
        errors.push(describeError(err));
      }
    }
    if (flags.pretty) process.stdout.write(found.map((n) => prettyNode(n) + '\n').join('\n'));
    else process.stdout.write(inspectOutput(found, flags.format));
    if (errors.length) {
      process.stderr.write(errors.join('\n') + '\n');
      this.exit(1);
    }
  }
}
