import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';
import { labelsToMap } from '../../swarm-options.ts';
import type { NodeRole } from '../../../src/api/types/node.ts';
import type { NodeAvailability } from '../../../src/api/types/swarm.ts';

export default class NodeUpdate extends ApiCommand {
  static override summary = 'Update a node';
  static override description = 'Reads the node, changes its spec as the flags say and writes it back at the version read, so a concurrent change is not lost.';
  static override examples = ['<%= config.bin %> node update --availability drain w1', '<%= config.bin %> node update --label-add zone=a --label-add ssd w1'];
  static override args = { node: Args.string({ required: true, description: 'NODE' }) };
  static override flags = {
    availability: Flags.string({ summary: 'Availability of the node.', options: ['active', 'pause', 'drain'] }),
    role: Flags.string({ summary: 'Role of the node.', options: ['worker', 'manager'] }),
    'label-add': Flags.string({ summary: 'Add or update a node label (key=value); repeatable.', multiple: true, multipleNonGreedy: true }),
    'label-rm': Flags.string({ summary: 'Remove a node label if exists; repeatable.', multiple: true, multipleNonGreedy: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodeUpdate);
    let added: Record<string, string>;
    try {
      added = labelsToMap(flags['label-add'] ?? []);
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
    const api = new SwarmApi(await this.client());
    const node = await api.node(args.node);
    const spec = structuredClone(node.Spec);
    if (flags.role) spec.Role = flags.role as NodeRole;
    if (flags.availability) spec.Availability = flags.availability as NodeAvailability;
    spec.Labels = { ...spec.Labels, ...added };
    for (const k of flags['label-rm'] ?? []) {
      if (!(k in spec.Labels)) this.error(`key ${k} doesn't exist in node's labels`, { exit: 1 });
      delete spec.Labels[k];
    }
    await api.updateNode(node, spec);
    this.log(args.node);
  }
}
