import { Flags } from '@oclif/core';
import { ApiCommand } from '../base-command.ts';
import { applyTemplate } from '../format.ts';
import { apiTime, parseTimeArg } from '../time-arg.ts';
import { openStream, readLines } from '../../src/api/stream.ts';

/** One event as `GET /events` sends it. */
interface Event { Type: string; Action: string; Actor: { ID: string; Attributes?: Record<string, string> }; scope: string; time: number; timeNano: number }

/** Docker's line: `TIME TYPE ACTION ID (k=v, …)`, time in RFC 3339 with nanoseconds, attributes sorted. */
export function eventLine(e: Event): string {
  // timeNano is past 2^53: ms precision is what survives JSON numbers.
  const ms = e.timeNano ? Math.floor(e.timeNano / 1e6) : e.time * 1000;
  const time = new Date(ms).toISOString().replace(/Z$/, '000000Z');
  const attrs = Object.entries(e.Actor.Attributes ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
  return `${time} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs.length ? ` (${attrs.join(', ')})` : ''}`;
}

export default class Events extends ApiCommand {
  static override summary = 'Get real time events from the swarm';
  static override description = 'Streams service, node, secret, config and network events. With --since, the events the manager still retains are replayed first; with --until the stream ends there.';
  static override examples = [
    '<%= config.bin %> events --since 10m --until 0s',
    '<%= config.bin %> events --filter type=service --filter event=update',
    '<%= config.bin %> events --format "{{json .}}"',
  ];
  static override flags = {
    since: Flags.string({ summary: 'Show all events created since timestamp (duration such as 10m, date, or epoch seconds).' }),
    until: Flags.string({ summary: 'Stream events until this timestamp.' }),
    filter: Flags.string({ char: 'f', summary: 'Filter output based on conditions provided (type, event, scope, label, service, node, secret, config, network); repeatable.', multiple: true, multipleNonGreedy: true }),
    format: Flags.string({ summary: 'Format the output: json, or a template such as "{{.Type}} {{.Action}}".' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Events);
    const now = Date.now();
    let since: string | undefined;
    let until: string | undefined;
    try {
      if (flags.since) since = apiTime(parseTimeArg('since', flags.since, now));
      if (flags.until) until = apiTime(parseTimeArg('until', flags.until, now));
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
    const filters = this.filters(flags.filter);
    const res = await openStream(await this.client(), '/events', {
      query: { since, until, filters: Object.keys(filters).length ? JSON.stringify(filters) : undefined },
    });
    for await (const line of readLines(res)) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as Event;
      if (flags.format === 'json' || flags.format === '{{json .}}') this.log(JSON.stringify(e));
      else if (flags.format) this.log(applyTemplate(flags.format, e));
      else this.log(eventLine(e));
    }
  }
}
