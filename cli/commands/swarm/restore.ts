import { Args, Flags } from '@oclif/core';
import { readFile } from 'node:fs/promises';
import { ApiCommand } from '../../base-command.ts';

export default class SwarmRestore extends ApiCommand {
  static override summary = 'Restore a swarm from a backup onto this node';
  static override description =
    'On a node in no swarm (a fresh host), makes a new cluster from a file of `swarm backup` with this node as its only manager, as Docker\'s restore with ' +
    '--force-new-cluster: the cluster ID, root CA and join tokens, services, networks, secrets and configs come back, the old nodes are listed as down workers, ' +
    'and services start again as nodes join with the old tokens (a Shoal extension). An encrypted backup needs the unlock key of when it was taken.';
  static override examples = [
    '<%= config.bin %> swarm restore /root/swarm-2026-12-06.json --advertise-addr 192.168.56.11',
    '<%= config.bin %> swarm restore backup.json --unlock-key SWMKEY-1-…',
  ];
  static override args = { file: Args.string({ description: 'Backup file written by swarm backup', required: true }) };
  static override flags = {
    'unlock-key': Flags.string({ summary: 'Unlock key that opens an encrypted backup.' }),
    'listen-addr': Flags.string({ summary: 'Listen address for node-to-node traffic (default: the daemon\'s --listen-addr).' }),
    'advertise-addr': Flags.string({ summary: 'Advertised address (default: the daemon\'s, else the listen address).' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SwarmRestore);
    const text = await readFile(args.file, 'utf8');
    const client = await this.client();
    const res = await client.post<{ NodeID: string; ClusterID: string; Services: number }>('/shoal/swarm/restore', {
      Backup: text, UnlockKey: flags['unlock-key'], ListenAddr: flags['listen-addr'], AdvertiseAddr: flags['advertise-addr'],
    }, { timeoutMs: 120_000 });
    this.log(`Swarm ${res.ClusterID} restored: this node (${res.NodeID}) is its only manager; ${res.Services} services.`);
    this.log('Join nodes again with the swarm\'s join tokens (shoal swarm join-token worker|manager).');
  }
}
