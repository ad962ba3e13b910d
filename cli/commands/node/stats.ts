import { Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import type { StatsReport } from '../../../src/api/types/stats.ts';
import { applyTemplate } from '../../format.ts';
import { nodeRows, nodeTable, showStats } from '../../stats-view.ts';

/**
 * `shoal node stats`: per node, the host's CPU and memory use and its tasks' share, task
 * count and network I/O, gathered by a manager from every node (`GET /shoal/stats`).
 */
export default class NodeStats extends ApiCommand {
  static override summary = 'Display a live stream of resource usage per node';
  static override examples = ['<%= config.bin %> node stats', '<%= config.bin %> node stats --no-stream --format json'];
  static override flags = {
    'no-stream': Flags.boolean({ summary: 'Print the figures once and exit.' }),
    format: formatFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(NodeStats);
    const api = await this.client();
    const render = (r: StatsReport): string => {
      if (flags.format === 'table') return nodeTable(r);
      if (flags.format === 'json') return JSON.stringify({ nodes: nodeRows(r), unreachable: r.unreachable }) + '\n';
      return nodeRows(r).map((row) => applyTemplate(flags.format, row)).join('\n') + '\n';
    };
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    await showStats({ fetch: () => api.get<StatsReport>('/shoal/stats'), render, stream: !flags['no-stream'], write: (s) => process.stdout.write(s), signal: abort.signal, clear: flags.format === 'table' });
  }
}
