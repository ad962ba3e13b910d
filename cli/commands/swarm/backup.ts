import { Args } from '@oclif/core';
import { writeFile, rename } from 'node:fs/promises';
import { ApiCommand } from '../../base-command.ts';

export default class SwarmBackup extends ApiCommand {
  static override summary = 'Back up the swarm to a file';
  static override description =
    'On a running manager, writes a consistent copy of the cluster state — cluster settings, root CA and join tokens, nodes, services, networks, secrets and configs — ' +
    'without stopping anything (a Shoal extension). While autolock is on the file is encrypted with the unlock key, which the restore then needs; otherwise it holds the CA key ' +
    'and the secrets in clear: keep it as private as the data root. The file is written with mode 0600.';
  static override examples = ['<%= config.bin %> swarm backup /root/swarm-$(date +%F).json'];
  static override args = { file: Args.string({ description: 'File to write the backup to', required: true }) };

  async run(): Promise<void> {
    const { args } = await this.parse(SwarmBackup);
    const client = await this.client();
    const backup = await client.get<{ clusterId: string; index: number; sealed?: string; contents?: { services: unknown[] } }>('/shoal/swarm/backup', { timeoutMs: 120_000 });
    // Written whole, then renamed: a crash never leaves half a backup under the name.
    const tmp = `${args.file}.tmp-${process.pid}`;
    await writeFile(tmp, `${JSON.stringify(backup)}\n`, { mode: 0o600 });
    await rename(tmp, args.file);
    const what = backup.sealed ? 'encrypted with the unlock key' : `${backup.contents?.services.length ?? 0} services`;
    this.log(`Backed up swarm ${backup.clusterId} at Raft index ${backup.index} to ${args.file} (${what}).`);
  }
}
