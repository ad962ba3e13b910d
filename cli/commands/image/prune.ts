import { Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import type { ImagePruneResponse } from '../../../src/api/types/image.ts';
import { humanSize } from './util.ts';

export default class ImagePrune extends ApiCommand {
  static override summary = 'Remove unused images';
  static override flags = {
    all: Flags.boolean({ char: 'a', summary: 'Remove all unused images, not just dangling ones.' }),
    force: Flags.boolean({ char: 'f', summary: 'Do not prompt for confirmation (there is no prompt).' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImagePrune);
    const filters = JSON.stringify({ dangling: [flags.all ? 'false' : 'true'] });
    const r = await (await this.client()).post<ImagePruneResponse>('/images/prune', undefined, { query: { filters } });
    if (r.ImagesDeleted?.length) {
      this.log('Deleted Images:');
      for (const i of r.ImagesDeleted) this.log(i.Untagged ? `untagged: ${i.Untagged}` : `deleted: ${i.Deleted}`);
      this.log('');
    }
    this.log(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}`);
  }
}
