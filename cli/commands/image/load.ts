import { createReadStream } from 'node:fs';
import { Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { streamJson } from './util.ts';

export default class ImageLoad extends ApiCommand {
  static override summary = 'Load images from a tar archive (OCI layout or docker save) or STDIN';
  static override examples = ['<%= config.bin %> image load -i bb.tar', '<%= config.bin %> image load < bb.tar'];
  static override flags = {
    input: Flags.string({ char: 'i', summary: 'Read from tar archive file, instead of STDIN.' }),
    quiet: Flags.boolean({ char: 'q', summary: 'Suppress the load output.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImageLoad);
    if (!flags.input && process.stdin.isTTY) this.error('requested load from stdin, but stdin is empty', { exit: 1 });
    const body = flags.input ? createReadStream(flags.input) : process.stdin;
    await streamJson(await this.client(), 'POST', `/images/load${flags.quiet ? '?quiet=1' : ''}`, body, (m) => {
      if (!flags.quiet && m.stream) process.stdout.write(m.stream);
    });
  }
}
