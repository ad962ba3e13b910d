import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { ServiceApi } from '../../service-api.ts';
import { AUTOSCALE_PREFIX, AutoscalePolicyError, autoscaleLabels, autoscalePolicyOf, checkAutoscaleBasis } from '../../../src/api/spec/autoscale-policy.ts';
import { parsePolicyDuration } from '../../../src/api/spec/update-policy.ts';

/**
 * `shoal service autoscale SERVICE --min 2 --max 10 --cpu 70 [--memory 80] [--rps 50]`:
 * at least one target; with several, the largest replica count any asks for wins. Sets the service's
 * `com.shoal.autoscale.*` labels (Shoal's extension; `service inspect` shows them, and
 * `ShoalAutoscale` with the last change and its reason). The leader then keeps the
 * replicas between min and max. `--off` removes the labels; the replicas stay as they are.
 */
export default class ServiceAutoscale extends ApiCommand {
  static override summary = 'Scale a replicated service automatically on CPU, memory or connection rate';
  static override examples = [
    '<%= config.bin %> service autoscale web --min 2 --max 10 --cpu 70',
    '<%= config.bin %> service autoscale web --min 1 --max 4 --cpu 50 --window 10s --cooldown 20s',
    '<%= config.bin %> service autoscale web --min 2 --max 8 --memory 80 --rps 50',
    '<%= config.bin %> service autoscale web --off',
  ];
  static override args = { service: Args.string({ required: true, description: 'SERVICE' }) };
  static override flags = {
    min: Flags.integer({ summary: 'Fewest replicas.' }),
    max: Flags.integer({ summary: 'Most replicas.' }),
    cpu: Flags.integer({ summary: 'Target CPU use per task, percent of its CPU limit (else reservation, else one CPU).' }),
    memory: Flags.integer({ summary: 'Target memory working set per task, percent of its memory limit (else reservation; the service needs one).' }),
    rps: Flags.integer({ summary: 'Target new TCP connections per second per task (all its tasks accept: through the VIP, the mesh or directly).' }),
    window: Flags.string({ summary: 'Stabilisation window: scale only when use stayed past the target this long.', default: '30s' }),
    cooldown: Flags.string({ summary: 'No change for this long after any change.', default: '30s' }),
    off: Flags.boolean({ summary: 'Stop autoscaling this service.', exclusive: ['min', 'max', 'cpu', 'memory', 'rps'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ServiceAutoscale);
    const api = new ServiceApi(await this.client());
    const s = await api.service(args.service);
    const spec = structuredClone(s.Spec);
    const labels = Object.fromEntries(Object.entries(spec.Labels ?? {}).filter(([k]) => !k.startsWith(AUTOSCALE_PREFIX)));
    if (!flags.off) {
      if (flags.min === undefined || flags.max === undefined) this.error('--min and --max are required (or --off)', { exit: 1 });
      if (flags.cpu === undefined && flags.memory === undefined && flags.rps === undefined) this.error('a target is required: --cpu, --memory or --rps', { exit: 1 });
      const windowMs = parsePolicyDuration(flags.window);
      const cooldownMs = parsePolicyDuration(flags.cooldown);
      if (windowMs === undefined) this.error(`invalid --window "${flags.window}": expected a duration such as 30s`, { exit: 1 });
      if (cooldownMs === undefined) this.error(`invalid --cooldown "${flags.cooldown}": expected a duration such as 30s`, { exit: 1 });
      const policy = {
        min: flags.min, max: flags.max, windowMs, cooldownMs,
        ...(flags.cpu !== undefined ? { cpuPercent: flags.cpu } : {}),
        ...(flags.memory !== undefined ? { memoryPercent: flags.memory } : {}),
        ...(flags.rps !== undefined ? { rps: flags.rps } : {}),
      };
      Object.assign(labels, autoscaleLabels(policy));
      // The daemon checks again; this gives the message before a round trip.
      try {
        checkAutoscaleBasis(autoscalePolicyOf(labels)!, spec.TaskTemplate.Resources);
      } catch (err) {
        if (err instanceof AutoscalePolicyError) this.error(err.message, { exit: 1 });
        throw err;
      }
    }
    spec.Labels = labels;
    await api.update(s, spec);
    const targets = [flags.cpu !== undefined && `${flags.cpu}% CPU`, flags.memory !== undefined && `${flags.memory}% memory`, flags.rps !== undefined && `${flags.rps} connections/s per task`].filter(Boolean).join(', ');
    this.log(flags.off ? `${args.service}: autoscaling off` : `${args.service}: autoscaling ${flags.min}-${flags.max} replicas at ${targets}`);
  }
}
