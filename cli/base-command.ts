/**
 * The base of every `shoal` command that talks to a daemon: the global `--host` flag
 * (env SHOAL_HOST, default unix:///run/shoal/shoal.sock), a ready API client, and
 * errors printed as one clear line instead of a stack trace.
 */
import { Command, Flags, Errors } from '@oclif/core';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, DEFAULT_HOST, type ClientTls } from '../src/api/client.ts';
import { ApiError } from '../src/api/errors.ts';
import { describeError } from './swarm-api.ts';
import { filterArgs } from './service-api.ts';

interface TlsFlags {
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/** The PEM files of --tlsverify (docker's defaults: ca.pem, cert.pem, key.pem in the cert dir); undefined without it. */
function clientTls(flags: TlsFlags): ClientTls | undefined {
  const given = (['tlscacert', 'tlscert', 'tlskey'] as const).filter((k) => flags[k] !== undefined);
  if (!flags.tlsverify) {
    if (given.length) throw new Error(`--${given.join(', --')} need --tlsverify`);
    return undefined;
  }
  const dir = process.env.SHOAL_CERT_PATH || join(homedir(), '.shoal');
  const read = (path: string, flag: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read ${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return {
    ca: read(flags.tlscacert ?? join(dir, 'ca.pem'), '--tlscacert'),
    cert: read(flags.tlscert ?? join(dir, 'cert.pem'), '--tlscert'),
    key: read(flags.tlskey ?? join(dir, 'key.pem'), '--tlskey'),
  };
}

export abstract class ApiCommand extends Command {
  static override baseFlags = {
    host: Flags.string({
      char: 'H',
      summary: 'Daemon socket to connect to (unix:///path or tcp://host:port).',
      env: 'SHOAL_HOST',
      default: DEFAULT_HOST,
      helpGroup: 'GLOBAL',
    }),
    // A daemon serving tcp:// with --tlsverify wants a client certificate, as docker's.
    tlsverify: Flags.boolean({ summary: 'Use TLS and verify the daemon; present a client certificate.', env: 'SHOAL_TLS_VERIFY', helpGroup: 'GLOBAL' }),
    tlscacert: Flags.string({ summary: 'Trust certs signed only by this CA (default $SHOAL_CERT_PATH/ca.pem, else ~/.shoal/ca.pem).', helpGroup: 'GLOBAL' }),
    tlscert: Flags.string({ summary: 'Path to the TLS certificate file (default …/cert.pem).', helpGroup: 'GLOBAL' }),
    tlskey: Flags.string({ summary: 'Path to the TLS key file (default …/key.pem).', helpGroup: 'GLOBAL' }),
  };

  private clientInstance?: ApiClient;

  /** The client for the daemon named by --host; parsed on first use. */
  protected async client(): Promise<ApiClient> {
    if (!this.clientInstance) {
      const { flags } = await this.parse(this.constructor as typeof ApiCommand);
      try {
        this.clientInstance = new ApiClient((flags as { host: string }).host, { tls: clientTls(flags as TlsFlags) });
      } catch (err) {
        this.error((err as Error).message, { exit: 2 });
      }
    }
    return this.clientInstance;
  }

  /**
   * Runs `fn` for each of the objects named on the command line, as Docker's `rm`-style
   * commands do: one failing does not stop the others; `after` runs (the output of those
   * that worked), then each failure is printed as one line on stderr and the command
   * exits with 1.
   */
  protected async forEachRef(refs: readonly string[], fn: (ref: string) => Promise<void>, after?: () => Promise<void>): Promise<void> {
    const errors: string[] = [];
    for (const ref of refs) {
      try {
        await fn(ref);
      } catch (err) {
        errors.push(describeError(err));
      }
    }
    await after?.();
    if (errors.length) {
      process.stderr.write(errors.join('\n') + '\n');
      this.exit(1);
    }
  }

  /** `--filter k=v` flags as the API's filters; a malformed one ends the command with a clear error. */
  protected filters(values: string[] | undefined): Record<string, string[]> {
    try {
      return filterArgs(values);
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
  }

  /** Prints API and connection errors as `Error: message` with exit code 1; oclif's own errors pass through. */
  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (err instanceof Errors.CLIError || (err as { oclif?: unknown }).oclif) return super.catch(err);
    const message = err instanceof ApiError ? `Error response from daemon: ${err.message}` : err.message;
    process.stderr.write(`${message}\n`);
    this.exit(1);
  }
}

/** A `--format` flag: `table` (default, for people), `json` (one JSON document), or a Go-template-like `{{.Field}}` string. */
export const formatFlag = Flags.string({
  summary: 'Output format: table, json, or a template such as "{{.ID}} {{.Name}}".',
  default: 'table',
});
