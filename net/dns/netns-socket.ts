/**
 * A UDP socket bound inside another network namespace, handed to this process: a short
 * helper is forked under `nsenter --net=/run/netns/NS`, binds the socket there and sends
 * it back over the IPC channel (DESIGN.md, plane 6; ≈ 70 ms per handoff). The socket then
 * receives the namespace's traffic in this process, so one daemon serves DNS in every
 * task's netns. Needs root (nsenter).
 */
import { fork } from 'node:child_process';
import type { Socket } from 'node:dgram';
import type { Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { NetnsBindError } from './errors.ts';

/** Where to bind and how. */
export interface NetnsBindOptions {
  /** Address inside the namespace, e.g. `127.0.0.11` (lo must be up). */
  address: string;
  /** UDP port, e.g. 53. */
  port: number;
  /** The nsenter binary. Default `nsenter`. */
  nsenter?: string;
  /** Give up (and kill the helper) after this many ms. Default 5000. */
  timeoutMs?: number;
}

const HELPER = fileURLToPath(new URL('./bind-helper.mjs', import.meta.url));

/**
 * A `udp4` socket and a TCP listener at `opts.address:opts.port` inside the named netns
 * (`/run/netns/NAME`), through one helper; the caller owns and closes them (the TCP one
 * for `DnsServer.serveTcp`). Rejects with `NetnsBindError` (bad name, bind refused,
 * helper failed or too slow); then neither is left open.
 */
export async function bindDnsInNetns(netns: string, opts: NetnsBindOptions): Promise<{ udp: Socket; tcp: Server }> {
  const [udp, tcp] = await handoff(netns, opts);
  return { udp: udp as Socket, tcp: tcp as Server };
}

type Handle = { close(): unknown };

function handoff(netns: string, opts: NetnsBindOptions): Promise<Handle[]> {
  if (!/^[A-Za-z0-9_.-]+$/.test(netns)) return Promise.reject(new NetnsBindError(`invalid netns name "${netns}"`));
  return new Promise((resolve, reject) => {
    const child = fork(HELPER, [opts.address, String(opts.port)], {
      execPath: opts.nsenter ?? 'nsenter',
      execArgv: [`--net=/run/netns/${netns}`, process.execPath],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => { if (stderr.length < 4096) stderr += d; });
    let settled = false;
    const got: Handle[] = [];
    const where = `udp+tcp ${opts.address}:${opts.port} in netns ${netns}`;
    const fail = (msg: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      for (const h of got) h.close();
      reject(new NetnsBindError(`cannot bind ${where}: ${msg}`, { cause }));
    };
    const timer = setTimeout(() => fail(`helper gave no socket within ${opts.timeoutMs ?? 5000} ms`), opts.timeoutMs ?? 5000);
    child.on('message', (msg: unknown, handle: unknown) => {
      if (msg === 'bound' && handle) {
        if (settled) { (handle as Handle).close(); return; }
        got.push(handle as Handle); // in the order bound: udp, then tcp
        if (got.length < 2) return;
        settled = true;
        clearTimeout(timer);
        child.disconnect(); // the helper exits once the channel is gone
        resolve(got);
      } else {
        fail((msg as { error?: string })?.error ?? 'unexpected message from helper');
      }
    });
    child.on('error', (err) => fail(err.message, err));
    child.on('exit', (code, signal) => { if (!settled) fail(`helper exited (${signal ?? code})${stderr ? `: ${stderr.trim()}` : ''}`); });
  });
}
