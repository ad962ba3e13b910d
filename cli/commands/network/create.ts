import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { NetworkApi, type NetworkCreateBody } from '../../network-api.ts';
import { ipamConfig, optionsToMap } from '../../network-options.ts';
import { labelsToMap } from '../../swarm-options.ts';

export default class NetworkCreate extends ApiCommand {
  static override summary = 'Create a network';
  static override description = 'Creates a swarm-scoped overlay network that services attach to with `service create --network`. Prints its ID.';
  static override examples = [
    '<%= config.bin %> network create -d overlay front',
    '<%= config.bin %> network create --subnet 10.20.0.0/24 --gateway 10.20.0.1 --label tier=db back',
    '<%= config.bin %> network create --ingress --subnet 10.11.0.0/24 my-ingress',
  ];
  static override args = { name: Args.string({ required: true, description: 'NETWORK' }) };
  static override flags = {
    driver: Flags.string({ char: 'd', summary: 'Driver to manage the network (only overlay).', default: 'overlay' }),
    subnet: Flags.string({ summary: 'Subnet in CIDR format that represents a network segment (default: one from the swarm\'s address pool).' }),
    gateway: Flags.string({ summary: 'IPv4 gateway for the subnet.' }),
    'ip-range': Flags.string({ summary: 'Allocate container IPs from a sub-range (CIDR inside the subnet).' }),
    attachable: Flags.boolean({ summary: 'Enable manual container attachment.' }),
    ingress: Flags.boolean({ summary: 'Create the swarm routing-mesh network (only one may exist).' }),
    internal: Flags.boolean({ summary: 'Restrict external access to the network.' }),
    label: Flags.string({ summary: 'Set metadata on a network (key=value); repeatable.', multiple: true, multipleNonGreedy: true }),
    opt: Flags.string({ char: 'o', summary: 'Set driver specific options (key=value), e.g. com.docker.network.driver.mtu=1400; repeatable.', multiple: true, multipleNonGreedy: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NetworkCreate);
    let body: NetworkCreateBody;
    try {
      body = {
        Name: args.name,
        CheckDuplicate: true,
        Driver: flags.driver,
        Internal: flags.internal,
        Attachable: flags.attachable,
        Ingress: flags.ingress,
        IPAM: { Driver: 'default', Config: ipamConfig(flags), Options: {} },
        EnableIPv6: false,
        Options: optionsToMap(flags.opt ?? []),
        Labels: labelsToMap(flags.label ?? []),
      };
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
    const api = new NetworkApi(await this.client());
    this.log(await api.create(body));
  }
}
