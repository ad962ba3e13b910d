import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';
import { parseAvailability } from '../../swarm-options.ts';
import type { JoinRequest } from '../../../src/api/types/swarm.ts';

export default class SwarmJoin extends ApiCommand {
  static override summary = 'Join a swarm as a node and/or manager';
  static override description = 'The token decides the role: the worker token joins a worker, the manager token a manager.';
  static override examples = ['<%= config.bin %> swarm join --token SWMTKN-1-… 192.168.100.11:2377'];
  static override args = { 'host:port': Args.string({ required: true, description: 'Address of a manager of the swarm (HOST[:PORT], port 2377 by default).' }) };
  static override flags = {
    token: Flags.string({ summary: 'Token for entry into the swarm.', required: true }),
    'advertise-addr': Flags.string({ summary: 'Advertised address (format: "<ip>[:port]").' }),
    'listen-addr': Flags.string({ summary: 'Listen address (format: "<ip>[:port]") (default: the daemon\'s --listen-addr).' }),
    availability: Flags.string({ summary: 'Availability of the node ("active", "pause", "drain") (default "active").' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SwarmJoin);
    const req: JoinRequest = {
      JoinToken: flags.token,
      ListenAddr: flags['listen-addr'] ?? '',
      AdvertiseAddr: flags['advertise-addr'],
      RemoteAddrs: [args['host:port']],
    };
    if (flags.availability !== undefined) req.Availability = parseAvailability(flags.availability);
    const api = new SwarmApi(await this.client());
    await api.join(req);
    const info = await api.info();
    this.log(`This node joined a swarm as a ${info.Swarm.ControlAvailable ? 'manager' : 'worker'}.`);
  }
}
