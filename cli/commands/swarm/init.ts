import { Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';
import { applySpecFlags, parseAvailability, swarmSpecFlags } from '../../swarm-options.ts';
import type { InitRequest, SwarmSpec } from '../../../src/api/types/swarm.ts';
import { fetchUnlockKey, unlockKeyMessage } from './unlock-key.ts';

export default class SwarmInit extends ApiCommand {
  static override summary = 'Initialize a swarm';
  static override description = 'Makes this node the first manager of a new swarm and prints the command that joins a worker to it.';
  static override examples = [
    '<%= config.bin %> swarm init --advertise-addr 192.168.100.11',
    '<%= config.bin %> swarm init --listen-addr 0.0.0.0:2377 --default-addr-pool 10.20.0.0/16 --cert-expiry 720h',
  ];
  static override flags = {
    'advertise-addr': Flags.string({ summary: 'Advertised address (format: "<ip>[:port]").' }),
    'listen-addr': Flags.string({ summary: 'Listen address (format: "<ip>[:port]") (default: the daemon\'s --listen-addr).' }),
    availability: Flags.string({ summary: 'Availability of the node ("active", "pause", "drain") (default "active").' }),
    'default-addr-pool': Flags.string({ summary: 'Default address pool in CIDR format; repeatable, or comma-separated.', multiple: true, multipleNonGreedy: true, delimiter: ',' }),
    'default-addr-pool-mask-length': Flags.integer({ summary: 'Default address pool subnet mask length (default 24).', min: 1, max: 32 }),
    'data-path-port': Flags.integer({ summary: 'Port number to use for data path traffic (1024 - 49151) (default 4789).', min: 1024, max: 49151 }),
    'force-new-cluster': Flags.boolean({ summary: 'Force create a new cluster from current state.' }),
    autolock: Flags.boolean({ summary: 'Enable manager autolocking (requiring an unlock key to start a stopped manager).' }),
    ...swarmSpecFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SwarmInit);
    const req: InitRequest = {
      ListenAddr: flags['listen-addr'] ?? '',
      AdvertiseAddr: flags['advertise-addr'],
      DefaultAddrPool: flags['default-addr-pool'],
      SubnetSize: flags['default-addr-pool-mask-length'],
      DataPathPort: flags['data-path-port'],
      ForceNewCluster: flags['force-new-cluster'] || undefined,
      AutoLockManagers: flags.autolock || undefined,
      Spec: applySpecFlags<Partial<SwarmSpec>>({}, flags),
    };
    if (flags.availability !== undefined) req.Availability = parseAvailability(flags.availability);
    const api = new SwarmApi(await this.client());
    const nodeId = await api.init(req);
    process.stdout.write(`Swarm initialized: current node (${nodeId}) is now a manager.\n\n`);
    process.stdout.write(await api.joinCommand({ worker: true }));
    this.log("To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.");
    if (flags.autolock) process.stdout.write(`\n${unlockKeyMessage(await fetchUnlockKey(api))}`);
  }
}
