import { Args } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { PayloadApi, readPayload } from '../secret/payload.ts';
import { rotate } from '../secret/rotate.ts';

export default class ConfigRotate extends ApiCommand {
  static override summary = 'Replace a config\'s data without renaming it';
  static override description =
    'Makes a new version of the config under the same name; every service that uses it rolls onto it through its rolling ' +
    'update, and the old version is removed once no task uses it. A Shoal extension: Docker has no equivalent.';
  static override examples = ['<%= config.bin %> config rotate app.conf ./app.conf'];
  static override args = {
    name: Args.string({ required: true, description: 'Config name or ID' }),
    file: Args.string({ required: true, description: 'File to read the new content from, or - for STDIN' }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(ConfigRotate);
    await rotate(this, new PayloadApi(await this.client(), 'config'), args.name, readPayload(args.file));
  }
}
