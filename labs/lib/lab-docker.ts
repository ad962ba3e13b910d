/**
 * The stock docker CLI against one host of a lab (`DOCKER_HOST` = the host's daemon
 * socket, CLI hints off so stderr holds only what the daemon said).
 */
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import type { Lab } from './lab.ts';

/** What a docker command did; `code` is null when it was killed (timeout). */
export interface DockerResult { code: number | null; stdout: string; stderr: string }

/**
 * Runs `docker ARGS` against `host` and resolves when it exits, whatever its code. `input`
 * is its stdin (none when absent); it is SIGKILLed after `timeoutMs` (default 90000).
 */
export function dockerRaw(lab: Lab, host: string, args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<DockerResult> {
  return new Promise((resolve) => {
    const child = spawn('docker', args, { env: { ...process.env, DOCKER_HOST: lab.dockerHost(host), DOCKER_CLI_HINTS: 'false' }, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout: out, stderr: err }); });
  });
}

/** Runs `docker ARGS` against `host`, asserts it exits 0, and resolves with its stdout. */
export async function docker(lab: Lab, host: string, args: string[]): Promise<string> {
  const r = await dockerRaw(lab, host, args);
  assert.is(r.code, 0, `docker ${args.join(' ')} on ${host}: ${r.stderr}`);
  return r.stdout;
}
