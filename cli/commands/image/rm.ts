import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import type { ImageDeleteItem } from '../../../src/api/types/image.ts';
import { ApiError } from '../../../src/api/errors.ts';

export default class ImageRm extends ApiCommand {
  static override summary = 'Remove one or more images';
  static override aliases = ['rmi'];
  static override strict = false;
  static override args = { image: Args.string({ required: true, description: 'IMAGE...' }) };
  static override flags = { force: Flags.boolean({ char: 'f', summary: 'Force removal of the image.' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ImageRm);
    const client = await this.client();
    let failed = false;
    for (const name of argv as string[]) {
      try {
        const items = await client.delete<ImageDeleteItem[]>(`/images/${name}`, { query: { force: flags.force || undefined } });
        for (const i of items) this.log(i.Untagged ? `Untagged: ${i.Untagged}` : `Deleted: ${i.Deleted}`);
      } catch (e) {
        failed = true;
        process.stderr.write(`${e instanceof ApiError ? 'Error response from daemon: ' : ''}${(e as Error).message}\n`);
      }
    }
    if (failed) this.exit(1);
  }
}
