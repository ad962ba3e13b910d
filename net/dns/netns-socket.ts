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
  return handoff('udp', netns, opts).then((h) => h[0] as Socket);
}

/**
 * Listens on TCP at `opts.address:opts.port` inside the named netns and resolves with the
 * listening `net.Server` (for `DnsServer.serveTcp`); the caller owns it and closes it.
 * Rejects with `NetnsBindError`.
 */
export function listenTcpInNetns(netns: string, opts: NetnsBindOptions): Promise<Server> {
  return handoff('tcp', netns, opts).then((h) => h[0] as Server);
}

/**
 * Both at once, through one helper (half the cost of the two calls above, which matters
 * when many tasks start together): the UDP socket and the TCP listener at the same
 * address and port. Rejects with `NetnsBindError`; then neither is left open.
 */
export async function bindDnsInNetns(netns: string, opts: NetnsBindOptions): Promise<{ udp: Socket; tcp: Server }> {
  const [udp, tcp] = await handoff('both', netns, opts);
  return { udp: udp as Socket, tcp: tcp as Server };
}

type Handle = { close(): unknown };

function handoff(proto: 'udp' | 'tcp' | 'both', netns: string, opts: NetnsBindOptions): Promise<Handle[]> {
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
    const want = proto === 'both' ? 2 : 1;
    const got: Handle[] = [];
    const where = `${proto === 'both' ? 'udp+tcp' : proto} ${opts.address}:${opts.port} in netns ${netns}`;
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
        if (got.length < want) return;
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
