import { Args, Flags } from '@oclif/core';
import { endFlagsAtFirstArg, flagShapes } from '../../positional-args.ts';
import { ApiCommand } from '../../base-command.ts';
import { ServiceApi, parseBytes } from '../../service-api.ts';
import { progressLines } from '../../service-format.ts';
import { labelsToMap } from '../../swarm-options.ts';
import { parseNetworkAttachment, parsePublishList } from '../../network-options.ts';
import type { ServiceMode, ServiceSpec } from '../../../src/api/types/service.ts';
import { applyPayloadCreateFlags, payloadCreateFlags } from './secret-flags.ts';
import { applySandboxFlags, sandboxCreateFlags } from './sandbox-flags.ts';
import { applyHostCreateFlags, hostCreateFlags } from './host-flags.ts';
import { applyMeshFlags, meshFlags } from './mesh-flags.ts';
import { restartStopFlags, spreadDescriptor } from './spec-flags.ts';

export default class ServiceCreate extends ApiCommand {
  static override summary = 'Create a new service';
  static override strict = false;
  static override examples = [
    '<%= config.bin %> service create --replicas 3 --name web 192.168.100.1:5000/shoal/bb:v1 sleep 3600',
    '<%= config.bin %> service create --mode global --name agent IMAGE',
    '<%= config.bin %> service create --name web --network front -p 8080:80 IMAGE',
    '<%= config.bin %> service create --name dns --network name=back,alias=resolver -p published=5353,target=53,protocol=udp,mode=host IMAGE',
  ];
  static override args = {
    image: Args.string({ required: true, description: 'IMAGE' }),
    command: Args.string({ description: 'COMMAND [ARG...]' }),
  };
  static override flags = {
    name: Flags.string({ summary: 'Service name.' }),
    replicas: Flags.integer({ summary: 'Number of tasks.', min: 0 }),
    mode: Flags.string({ summary: 'Service mode.', options: ['replicated', 'global', 'replicated-job', 'global-job'], default: 'replicated' }),
    'max-concurrent': Flags.integer({ summary: 'Number of job tasks to run concurrently (default equal to --replicas).', min: 1 }),
    env: Flags.string({ char: 'e', summary: 'Set environment variables.', multiple: true, multipleNonGreedy: true }),
    label: Flags.string({ char: 'l', summary: 'Service labels.', multiple: true, multipleNonGreedy: true }),
    'container-label': Flags.string({ summary: 'Container labels.', multiple: true, multipleNonGreedy: true }),
    constraint: Flags.string({ summary: 'Placement constraints.', multiple: true, multipleNonGreedy: true }),
    'placement-pref': Flags.string({ summary: 'Add a placement preference (spread=node.labels.X).', multiple: true, multipleNonGreedy: true }),
    'replicas-max-per-node': Flags.integer({ summary: 'Maximum number of tasks per node (default 0 = unlimited).', min: 0 }),
    hostname: Flags.string({ summary: 'Container hostname.' }),
    workdir: Flags.string({ char: 'w', summary: 'Working directory inside the container.' }),
    user: Flags.string({ char: 'u', summary: 'Username or UID (format: <name|uid>[:<group|gid>]).' }),
    'limit-cpu': Flags.string({ summary: 'Limit CPUs.' }),
    'limit-memory': Flags.string({ summary: 'Limit memory.' }),
    'reserve-cpu': Flags.string({ summary: 'Reserve CPUs.' }),
    'reserve-memory': Flags.string({ summary: 'Reserve memory.' }),
    ...restartStopFlags,
    network: Flags.string({ summary: 'Network attachments: a network name or ID, or name=N,alias=A[,alias=B][,driver-opt=k=v]; repeatable.', multiple: true, multipleNonGreedy: true }),
    'endpoint-mode': Flags.string({ summary: 'Endpoint mode (vip or dnsrr) (default vip).', options: ['vip', 'dnsrr'] }),
    publish: Flags.string({
      char: 'p',
      summary: 'Publish a port as a node port: PUBLISHED:TARGET[/PROTO], TARGET (a port is picked), or published=P,target=T,protocol=tcp|udp,mode=ingress|host; repeatable.',
      multiple: true,
      multipleNonGreedy: true,
    }),
    detach: Flags.boolean({ char: 'd', summary: 'Exit immediately instead of waiting for the service to converge.' }),
    quiet: Flags.boolean({ char: 'q', summary: 'Suppress progress output.' }),
    ...payloadCreateFlags,
    ...sandboxCreateFlags,
    ...hostCreateFlags,
    ...meshFlags,
  };

  async run(): Promise<void> {
    // As Docker's CLI: flags end at the image; what follows is the task's command line.
    this.argv = endFlagsAtFirstArg(this.argv, flagShapes({ ...ServiceCreate.baseFlags, ...ServiceCreate.flags }));
    const { argv, flags } = await this.parse(ServiceCreate);
    const [image, ...cmd] = argv as string[];
    let spec: ServiceSpec;
    try {
      spec = buildSpec(image, cmd, flags);
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
    const api = new ServiceApi(await this.client());
    const id = await api.create(spec);
    this.log(id);
    if (flags.detach) return;
    await waitConverged(api, id, flags.quiet ? () => {} : (l) => this.log(l));
  }
}

type CreateFlags = Awaited<ReturnType<ServiceCreate['parse']>>['flags'] & Record<string, unknown>;

export function buildSpec(image: string, cmd: string[], f: CreateFlags): ServiceSpec {
  const flags = f as Record<string, any>;
  const mode: ServiceMode = {};
  if (flags.mode === 'global') mode.Global = {};
  else if (flags.mode === 'global-job') mode.GlobalJob = {};
  else if (flags.mode === 'replicated-job') mode.ReplicatedJob = { TotalCompletions: flags.replicas ?? 1, MaxConcurrent: flags['max-concurrent'] ?? flags.replicas ?? 1 };
  else mode.Replicated = { Replicas: flags.replicas ?? 1 };
  if (flags.replicas !== undefined && (mode.Global || mode.GlobalJob)) throw new Error('replicas can only be used with replicated or replicated-job mode');
  const cpu = (s?: string) => (s === undefined ? undefined : Math.round(Number(s) * 1e9));
  const mem = (s?: string) => (s === undefined ? undefined : parseBytes(s));
  const spec: ServiceSpec = {
    // An empty name: the daemon picks one, as Docker's does.
    Name: flags.name ?? '',
    Labels: labelsToMap(flags.label ?? []),
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        ...(cmd.length ? { Command: cmd } : {}),
        ...(flags.env ? { Env: flags.env } : {}),
        ...(flags['container-label'] ? { Labels: labelsToMap(flags['container-label']) } : {}),
        ...(flags.hostname ? { Hostname: flags.hostname } : {}),
        ...(flags.workdir ? { Dir: flags.workdir } : {}),
        ...(flags.user ? { User: flags.user } : {}),
        ...(flags['stop-grace-period'] !== undefined ? { StopGracePeriod: flags['stop-grace-period'] } : {}),
        ...(flags['stop-signal'] ? { StopSignal: flags['stop-signal'] } : {}),
      },
      Resources: {
        Limits: { ...(cpu(flags['limit-cpu']) ? { NanoCPUs: cpu(flags['limit-cpu']) } : {}), ...(mem(flags['limit-memory']) ? { MemoryBytes: mem(flags['limit-memory']) } : {}) },
        Reservations: { ...(cpu(flags['reserve-cpu']) ? { NanoCPUs: cpu(flags['reserve-cpu']) } : {}), ...(mem(flags['reserve-memory']) ? { MemoryBytes: mem(flags['reserve-memory']) } : {}) },
      },
      RestartPolicy: {
        ...(flags['restart-condition'] ? { Condition: flags['restart-condition'] } : {}),
        ...(flags['restart-delay'] !== undefined ? { Delay: flags['restart-delay'] } : {}),
        ...(flags['restart-max-attempts'] !== undefined ? { MaxAttempts: flags['restart-max-attempts'] } : {}),
        ...(flags['restart-window'] !== undefined ? { Window: flags['restart-window'] } : {}),
      },
      Placement: {
        ...(flags.constraint ? { Constraints: flags.constraint } : {}),
        ...(flags['placement-pref'] ? { Preferences: (flags['placement-pref'] as string[]).map(prefOf) } : {}),
        ...(flags['replicas-max-per-node'] ? { MaxReplicas: flags['replicas-max-per-node'] } : {}),
      },
    },
    Mode: mode,
  };
  const networks = ((flags.network ?? []) as string[]).map(parseNetworkAttachment);
  if (networks.length) spec.TaskTemplate.Networks = networks;
  const ports = parsePublishList(flags.publish ?? []);
  if (ports.length || flags['endpoint-mode']) {
    spec.EndpointSpec = { ...(flags['endpoint-mode'] ? { Mode: flags['endpoint-mode'] } : {}), ...(ports.length ? { Ports: ports } : {}) };
  }
  applyPayloadCreateFlags(spec.TaskTemplate.ContainerSpec, flags);
  applySandboxFlags(spec.TaskTemplate.ContainerSpec, flags);
  applyHostCreateFlags(spec, flags);
  applyMeshFlags(spec, flags);
  return spec;
}

function prefOf(p: string): { Spread: { SpreadDescriptor: string } } {
  return { Spread: { SpreadDescriptor: spreadDescriptor(p) } };
}

/** Prints each task's progress until the service's wanted tasks all run (docker's `--detach=false`). */
export async function waitConverged(api: ServiceApi, id: string, log: (line: string) => void, timeoutMs = 5 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const service = await api.service(id);
    const tasks = await api.tasks({ service: [service.ID] });
    const { lines, converged } = progressLines(service, tasks);
    const text = lines.join('\n');
    if (text !== last) log(text);
    last = text;
    if (converged) {
      log('verify: Service converged');
      return;
    }
    if (Date.now() > deadline) throw new Error(`service ${id} did not converge in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
