import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { streamJson } from './util.ts';

export default class ImagePull extends ApiCommand {
  static override summary = 'Download an image from a registry';
  static override examples = ['<%= config.bin %> image pull 127.0.0.1:5000/shoal/bb:v1'];
  static override args = { name: Args.string({ required: true, description: 'NAME[:TAG|@DIGEST]' }) };
  static override flags = { quiet: Flags.boolean({ char: 'q', summary: 'Suppress verbose output.' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImagePull);
    const query = new URLSearchParams({ fromImage: args.name });
    await streamJson(await this.client(), 'POST', `/images/create?${query}`, undefined, (m) => {
      if (flags.quiet || !m.status || m.status === 'Downloading' || m.status === 'Extracting') return;
      this.log(m.id && !m.status.startsWith('Pulling from') ? `${m.id}: ${m.status}` : m.id ? `${m.id}: ${m.status}` : m.status);
    });
    this.log(args.name);
  }
}
