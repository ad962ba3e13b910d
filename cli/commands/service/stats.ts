import { Args, Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import type { StatsReport } from '../../../src/api/types/stats.ts';
import { applyTemplate } from '../../format.ts';
import { serviceRows, serviceTable, showStats, taskRows } from '../../stats-view.ts';

/**
 * `shoal service stats [SERVICE…]`: CPU, memory, network and task counts per service,
 * gathered from every node by a manager (`GET /shoal/stats`); with services named, their
 * tasks too. A live table refreshed in place until Ctrl-C, or once with `--no-stream`.
 */
export default class ServiceStats extends ApiCommand {
  static override summary = 'Display a live stream of resource usage per service (and per task of the services named)';
  static override strict = false;
  static override examples = ['<%= config.bin %> service stats', '<%= config.bin %> service stats web --no-stream', '<%= config.bin %> service stats --no-stream --format json'];
  static override args = { service: Args.string({ description: 'SERVICE... (default: all)' }) };
  static override flags = {
    'no-stream': Flags.boolean({ summary: 'Print the figures once and exit.' }),
    format: formatFlag,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ServiceStats);
    const refs = argv as string[];
    const api = await this.client();
    const fetch = async (): Promise<StatsReport> => {
      const r = await api.get<StatsReport>('/shoal/stats');
      const missing = refs.filter((ref) => !serviceRows(r, [ref]).length);
      if (missing.length) this.error(`no such service: ${missing.join(', ')}`, { exit: 1 });
      return r;
    };
    const render = (r: StatsReport): string => {
      if (flags.format === 'table') return serviceTable(r, refs);
      const doc = { services: serviceRows(r, refs), tasks: refs.length ? taskRows(r, refs) : undefined, unreachable: r.unreachable };
      if (flags.format === 'json') return JSON.stringify(doc) + '\n';
      return serviceRows(r, refs).map((row) => applyTemplate(flags.format, row)).join('\n') + '\n';
    };
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    await showStats({ fetch, render, stream: !flags['no-stream'], write: (s) => process.stdout.write(s), signal: abort.signal, clear: flags.format === 'table' });
  }
}
