import { Args } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { PayloadApi, readPayload, type PayloadKind } from './payload.ts';

/** What `POST /KINDs/{id}/rotate` answers. */
interface RotateResponse {
  ID: string;
  Version: number;
  Services: string[];
}

/** Sends the rotation of `ref` to `data`; prints the new ID and the services that roll onto it. */
export async function rotate(cmd: ApiCommand & { log(s: string): void }, api: PayloadApi, ref: string, data: Buffer): Promise<void> {
  const kind: PayloadKind = api.kind;
  const r = await api.call<RotateResponse>('POST', `/${kind}s/${encodeURIComponent(ref)}/rotate`, { body: { Data: data.toString('base64') } });
  cmd.log(r.ID);
  const services = r.Services.length ? `; rolling ${r.Services.join(', ')} onto it` : '; no service uses it';
  process.stderr.write(`${kind} ${ref}: version ${r.Version}${services}\n`);
}

export default class SecretRotate extends ApiCommand {
  static override summary = 'Replace a secret\'s data without renaming it';
  static override description =
    'Makes a new version of the secret under the same name. Every service that uses it rolls onto the new version through ' +
    'its rolling update (its --update-* settings: order, parallelism, health gate, rollback on failure); the old version ' +
    'is removed once no task uses it. `secret inspect` lists the versions. A Shoal extension: Docker has no equivalent.';
  static override examples = ['<%= config.bin %> secret rotate db_pass ./new-pass.txt', 'printf new-pw | <%= config.bin %> secret rotate db_pass -'];
  static override args = {
    name: Args.string({ required: true, description: 'Secret name or ID' }),
    file: Args.string({ required: true, description: 'File to read the new content from, or - for STDIN' }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(SecretRotate);
    await rotate(this, new PayloadApi(await this.client(), 'secret'), args.name, readPayload(args.file));
  }
}
