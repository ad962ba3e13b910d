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
 * Binds a `udp4` socket at `opts.address:opts.port` inside the named netns
 * (`/run/netns/NAME`) and resolves with it; the caller owns it and closes it. Rejects
 * with `NetnsBindError` (bad name, bind refused, helper failed or too slow).
 */
export function bindUdpInNetns(netns: string, opts: NetnsBindOptions): Promise<Socket> {
  return handoff<Socket>('udp', netns, opts);
}

/**
 * Listens on TCP at `opts.address:opts.port` inside the named netns and resolves with the
 * listening `net.Server` (for `DnsServer.serveTcp`); the caller owns it and closes it.
 * Rejects with `NetnsBindError`.
 */
export function listenTcpInNetns(netns: string, opts: NetnsBindOptions): Promise<Server> {
  return handoff<Server>('tcp', netns, opts);
}

function handoff<T extends { close(): unknown }>(proto: 'udp' | 'tcp', netns: string, opts: NetnsBindOptions): Promise<T> {
  if (!/^[A-Za-z0-9_.-]+$/.test(netns)) return Promise.reject(new NetnsBindError(`invalid netns name "${netns}"`));
  return new Promise((resolve, reject) => {
    const child = fork(HELPER, [proto, opts.address, String(opts.port)], {
      execPath: opts.nsenter ?? 'nsenter',
      execArgv: [`--net=/run/netns/${netns}`, process.execPath],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => { if (stderr.length < 4096) stderr += d; });
    let settled = false;
    const where = `${proto} ${opts.address}:${opts.port} in netns ${netns}`;
    const fail = (msg: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new NetnsBindError(`cannot bind ${where}: ${msg}`, { cause }));
    };
    const timer = setTimeout(() => fail(`helper gave no socket within ${opts.timeoutMs ?? 5000} ms`), opts.timeoutMs ?? 5000);
    child.on('message', (msg: unknown, handle: unknown) => {
      if (msg === 'bound' && handle) {
        if (settled) { (handle as T).close(); return; }
        settled = true;
        clearTimeout(timer);
        child.disconnect(); // the helper exits once the channel is gone
        resolve(handle as T);
      } else {
        fail((msg as { error?: string })?.error ?? 'unexpected message from helper');
      }
    });
    child.on('error', (err) => fail(err.message, err));
    child.on('exit', (code, signal) => { if (!settled) fail(`helper exited (${signal ?? code})${stderr ? `: ${stderr.trim()}` : ''}`); });
  });
}
