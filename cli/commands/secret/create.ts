import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { PayloadApi, labelMap, readPayload } from '../secret/payload.ts';

export default class SecretCreate extends ApiCommand {
  static override summary = 'Create a secret from a file or STDIN as content';
  static override description = 'The data is sent to the managers and, later, only to the nodes that run a task using it; it is never shown again.';
  static override examples = ['<%= config.bin %> secret create db_pass', 'printf pw | <%= config.bin %> secret create --label env=prod db_pass -'];
  static override args = {
    name: Args.string({ required: true, description: 'Secret name' }),
    file: Args.string({ required: true, description: 'File to read the content from, or - for STDIN' }),
  };
  static override flags = {
    label: Flags.string({ char: 'l', summary: 'Secret labels (key=value); repeatable.', multiple: true, multipleNonGreedy: true }),
    'template-driver': Flags.string({ summary: 'Template driver (golang): the content is rendered per task.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SecretCreate);
    const driver = flags['template-driver'];
    if (driver !== undefined && driver !== 'golang') this.error(`unsupported template driver "${driver}" (only golang)`, { exit: 1 });
    const api = new PayloadApi(await this.client(), 'secret');
    const data = readPayload(args.file);
    const id = await api.create({ Name: args.name, Labels: labelMap(flags.label), Data: data.toString('base64'), ...(driver ? { Templating: { Name: driver } } : {}) });
    this.log(id);
  }
}
