import { Flags } from '@oclif/core';
import { ApiCommand } from '../base-command.ts';
import { applyTemplate } from '../format.ts';
import { API_VERSION, type VersionResponse } from '../../src/api/types/system.ts';
import pkg from '../../package.json' with { type: 'json' };

export default class Version extends ApiCommand {
  static override summary = 'Show the Shoal version information';
  static override description = 'Prints the client version and, when a daemon answers on --host, the server version. Exits non-zero when the server cannot be reached.';
  static override flags = {
    format: Flags.string({ char: 'f', summary: 'Format the output: json, or a template such as "{{.Server.Version}}".' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Version);
    const clientInfo = {
      Version: pkg.version,
      ApiVersion: API_VERSION,
      NodeVersion: process.versions.node,
      Os: process.platform,
      Arch: process.arch,
    };
    let server: VersionResponse | undefined;
    let serverError: Error | undefined;
    try {
      server = await (await this.client()).get<VersionResponse>('/version');
    } catch (err) {
      serverError = err as Error;
    }
    const doc = { Client: clientInfo, Server: server ?? null };
    if (flags.format === 'json') this.log(JSON.stringify(doc, null, 2));
    else if (flags.format) this.log(applyTemplate(flags.format, doc));
    else {
      this.log('Client: Shoal');
      this.log(` Version:       ${clientInfo.Version}`);
      this.log(` API version:   ${clientInfo.ApiVersion}`);
      this.log(` Node version:  ${clientInfo.NodeVersion}`);
      this.log(` OS/Arch:       ${clientInfo.Os}/${clientInfo.Arch}`);
      if (server) {
        this.log('');
        this.log(`Server: ${server.Platform.Name}`);
        this.log(` Version:       ${server.Version}`);
        this.log(` API version:   ${server.ApiVersion} (minimum version ${server.MinAPIVersion})`);
        this.log(` OS/Arch:       ${server.Os}/${server.Arch}`);
        this.log(` Kernel:        ${server.KernelVersion}`);
      }
    }
    if (serverError) throw serverError;
  }
}
