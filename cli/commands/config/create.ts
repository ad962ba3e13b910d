import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { PayloadApi, labelMap, readPayload } from '../secret/payload.ts';

export default class ConfigCreate extends ApiCommand {
  static override summary = 'Create a config from a file or STDIN as content';
  static override description = 'Configs are not secret: inspect shows their data.';
  static override examples = ['<%= config.bin %> config create app.conf', 'printf pw | <%= config.bin %> config create --label env=prod app.conf -'];
  static override args = {
    name: Args.string({ required: true, description: 'Config name' }),
    file: Args.string({ required: true, description: 'File to read the content from, or - for STDIN' }),
  };
  static override flags = {
    label: Flags.string({ char: 'l', summary: 'Config labels (key=value); repeatable.', multiple: true, multipleNonGreedy: true }),
    'template-driver': Flags.string({ summary: 'Template driver (golang): the content is rendered per task.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ConfigCreate);
    const driver = flags['template-driver'];
    if (driver !== undefined && driver !== 'golang') this.error(`unsupported template driver "${driver}" (only golang)`, { exit: 1 });
    const api = new PayloadApi(await this.client(), 'config');
    const data = readPayload(args.file);
    const id = await api.create({ Name: args.name, Labels: labelMap(flags.label), Data: data.toString('base64'), ...(driver ? { Templating: { Name: driver } } : {}) });
    this.log(id);
  }
}
