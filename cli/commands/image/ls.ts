import { Flags } from '@oclif/core';
import { ApiCommand, formatFlag } from '../../base-command.ts';
import { render, table, timeAgo } from '../../format.ts';
import type { ImageSummary } from '../../../src/api/types/image.ts';
import { humanSize } from './util.ts';

interface Row { Repository: string; Tag: string; ID: string; CreatedSince: string; Size: string; Digest: string }

export default class ImageLs extends ApiCommand {
  static override summary = 'List images';
  static override aliases = ['images'];
  static override flags = {
    quiet: Flags.boolean({ char: 'q', summary: 'Only show image IDs.' }),
    all: Flags.boolean({ char: 'a', summary: 'Show all images.' }),
    digests: Flags.boolean({ summary: 'Show digests.' }),
    filter: Flags.string({ summary: 'Filter output (dangling=true, reference=PATTERN); repeatable.', multiple: true, multipleNonGreedy: true }),
    format: formatFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImageLs);
    const filters: Record<string, string[]> = {};
    for (const f of flags.filter ?? []) {
      const [k, v = ''] = f.split('=', 2);
      (filters[k] ??= []).push(v);
    }
    const list = await (await this.client()).get<ImageSummary[]>('/images/json', { query: { all: flags.all || undefined, filters: Object.keys(filters).length ? JSON.stringify(filters) : undefined } });
    if (flags.quiet) return this.log([...new Set(list.map((i) => i.Id.slice(7, 19)))].join('\n'));
    const rows: Row[] = list.flatMap((i) => {
      const tags = i.RepoTags.length ? i.RepoTags : ['<none>:<none>'];
      return tags.map((t) => {
        const at = t.lastIndexOf(':');
        const digest = i.RepoDigests.find((d) => d.startsWith(`${t.slice(0, at)}@`))?.split('@')[1] ?? '<none>';
        return { Repository: t.slice(0, at), Tag: t.slice(at + 1), ID: i.Id.slice(7, 19), CreatedSince: timeAgo(new Date(i.Created * 1000).toISOString()), Size: humanSize(i.Size), Digest: digest };
      });
    });
    process.stdout.write(render(flags.format, rows, (rs) => table(
      ['REPOSITORY', 'TAG', ...(flags.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'],
      rs.map((r) => [r.Repository, r.Tag, ...(flags.digests ? [r.Digest] : []), r.ID, r.CreatedSince, r.Size]),
    )));
  }
}
