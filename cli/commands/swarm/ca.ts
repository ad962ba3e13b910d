import { readFile } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.ts';
import { SwarmApi } from '../../swarm-api.ts';
import { durationFlag } from '../../swarm-options.ts';
import { progressLines, rootRotationProgress } from '../../ca-progress.ts';
import type { Swarm } from '../../../src/api/types/swarm.ts';

/** Docker's `--external-ca` value: `protocol=cfssl,url=https://…[,cacert=FILE][,KEY=VALUE…]`. */
export interface ExternalCASpec {
  Protocol: 'cfssl';
  URL: string;
  CACert?: string;
  Options?: Record<string, string>;
}

/** Parses one `--external-ca` value as docker does (cacert is read by the caller). Throws docker's messages. */
export function parseExternalCA(value: string): ExternalCASpec & { cacertFile?: string } {
  const out: Partial<ExternalCASpec> & { cacertFile?: string } = { Options: {} };
  let hasProtocol = false;
  for (const field of value.split(',')) {
    const i = field.indexOf('=');
    if (i < 0) throw new Error(`invalid field '${field}' must be a key=value pair`);
    const key = field.slice(0, i).toLowerCase();
    const v = field.slice(i + 1);
    if (key === 'protocol') {
      if (v.toLowerCase() !== 'cfssl') throw new Error(`unrecognized external CA protocol ${v}`);
      out.Protocol = 'cfssl';
      hasProtocol = true;
    } else if (key === 'url') out.URL = v;
    else if (key === 'cacert') out.cacertFile = v;
    else out.Options![field.slice(0, i)] = v;
  }
  if (!hasProtocol) throw new Error('the external-ca option needs a protocol= parameter');
  if (!out.URL) throw new Error('the external-ca option needs a url= parameter');
  return out as ExternalCASpec & { cacertFile?: string };
}

export default class SwarmCa extends ApiCommand {
  static override summary = 'Display and rotate the root CA';
  static override description = 'Without --rotate, prints the swarm\'s root CA certificate. With --rotate, a new root (made by the swarm, or given with --ca-cert and --ca-key) replaces it: every node renews its certificate onto the new root, then trusts it alone. Progress is shown until the rotation converges, unless --detach.';
  static override examples = ['<%= config.bin %> swarm ca', '<%= config.bin %> swarm ca --rotate', '<%= config.bin %> swarm ca --rotate --ca-cert root.pem --ca-key root-key.pem'];
  static override flags = {
    'ca-cert': Flags.string({ summary: 'Path to the PEM-formatted root CA certificate to use for the new cluster.', helpValue: 'pem-file' }),
    'ca-key': Flags.string({ summary: 'Path to the PEM-formatted root CA key to use for the new cluster.', helpValue: 'pem-file' }),
    'cert-expiry': durationFlag('Validity period for node certificates (ns|us|ms|s|m|h) (default 2160h0m0s).'),
    detach: Flags.boolean({ char: 'd', summary: 'Exit immediately instead of waiting for the root rotation to converge.' }),
    'external-ca': Flags.string({ summary: 'Specifications of one or more certificate signing endpoints (protocol=cfssl,url=…).', multiple: true }),
    quiet: Flags.boolean({ char: 'q', summary: 'Suppress progress output.' }),
    rotate: Flags.boolean({ summary: 'Rotate the swarm CA - if no certificate or key are provided, new ones will be generated.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SwarmCa);
    const api = new SwarmApi(await this.client());
    if (!flags.rotate) {
      for (const f of ['ca-cert', 'ca-key', 'cert-expiry', 'external-ca'] as const) {
        if (flags[f] !== undefined) this.error(`\`--${f}\` flag requires the \`--rotate\` flag to update the CA`, { exit: 1 });
      }
      return this.printRoot(await api.swarm());
    }
    const external = (flags['external-ca'] ?? []).map((v) => {
      try {
        return parseExternalCA(v);
      } catch (err) {
        return this.error(`invalid argument "${v}" for "--external-ca" flag: ${(err as Error).message}`, { exit: 1 });
      }
    });
    if (external.length && !flags['ca-cert']) {
      this.error('rotating to an external CA requires the `--ca-cert` flag to specify the external CA\'s cert - to add an external CA with the current root CA certificate, use the `update` command instead', { exit: 1 });
    }
    if (flags['ca-cert'] && !external.length && !flags['ca-key']) {
      this.error('the --ca-cert flag requires that a --ca-key flag and/or --external-ca flag be provided as well', { exit: 1 });
    }
    const read = (path: string | undefined) => (path ? readFile(path, 'utf8').catch((err) => this.error(`cannot read ${path}: ${(err as Error).message}`, { exit: 1 })) : Promise.resolve(''));
    const caCert = await read(flags['ca-cert']);
    const caKey = await read(flags['ca-key']);
    const sw = await api.swarm();
    const spec = structuredClone(sw.Spec);
    const ca = { ...spec.CAConfig };
    if (flags['cert-expiry'] !== undefined) ca.NodeCertExpiry = flags['cert-expiry'];
    if (external.length) {
      ca.ExternalCAs = await Promise.all(external.map(async ({ cacertFile, ...e }) => ({ ...e, CACert: cacertFile ? await read(cacertFile) : caCert })));
    }
    ca.SigningCACert = caCert;
    ca.SigningCAKey = caKey;
    if (!caCert && !caKey) ca.ForceRotate = (ca.ForceRotate ?? 0) + 1;
    spec.CAConfig = ca;
    await api.updateSwarm(sw.Version.Index, spec);
    if (flags.detach) return;
    await this.follow(api, flags.quiet);
    this.printRoot(await api.swarm());
  }

  /** Polls until the rotation converges, printing docker's progress lines when they change. */
  private async follow(api: SwarmApi, quiet: boolean): Promise<void> {
    let last = '';
    for (;;) {
      const [sw, nodes] = await Promise.all([api.swarm(), api.nodes()]);
      const p = rootRotationProgress(sw, nodes);
      const text = progressLines(p).join('\n');
      if (!quiet && text !== last) this.log(text);
      last = text;
      if (p.done) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private printRoot(sw: Swarm): void {
    const root = sw.TLSInfo?.TrustRoot ?? '';
    process.stdout.write(root.endsWith('\n') ? root : `${root}\n`);
  }
}
