/**
 * Serves the control API on TCP, as dockerd's `-H tcp://ADDR:2376 --tlsverify`: TLS with
 * client certificates required (a client without one signed by the CA never reaches a
 * route: the handshake fails). Plain TCP only when the operator asked for it with
 * `--insecure-tcp-host`, and then loudly.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../../common/logger.ts';
import { KEEP_ALIVE_TIMEOUT_MS } from './unix-server.ts';

/** Where and how a TCP host listens. */
export interface TcpHostOptions {
  host: string;
  port: number;
  /** PEM file paths; undefined only with `insecure`. */
  tls?: { caCert: string; cert: string; key: string };
  /** Serve plain HTTP without authentication. */
  insecure?: boolean;
  logger: Logger;
}

/** Thrown when a TCP host cannot be served (unreadable certificate, port taken). */
export class TcpHostError extends Error {
  override name = 'TcpHostError';
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new TcpHostError(`api: cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** Listens on `host:port`; resolves with the server once it accepts connections. */
export async function listenTcp(listener: http.RequestListener, opts: TcpHostOptions): Promise<http.Server> {
  let server: http.Server;
  if (opts.tls) {
    // One at a time, so that the error names the first missing file, always the same one.
    const ca = await readPem(opts.tls.caCert, '--tlscacert');
    const cert = await readPem(opts.tls.cert, '--tlscert');
    const key = await readPem(opts.tls.key, '--tlskey');
    try {
      // allowHalfOpen as node:http has it: docker closes its writing side of a hijacked
      // stream (exec without -i) and still reads the output; https.Server would end ours.
      server = https.createServer({ ca, cert, key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', allowHalfOpen: true }, listener);
    } catch (err) {
      throw new TcpHostError(`api: bad TLS material for tcp://${opts.host}:${opts.port}: ${(err as Error).message}`, { cause: err });
    }
    // A refused handshake (no client certificate, or one of another CA) is logged, not thrown.
    server.on('tlsClientError', (err: Error, socket: net.Socket) => {
      opts.logger.warn('api: tls client refused', { remote: socket.remoteAddress, error: err.message });
    });
  } else if (opts.insecure) {
    server = http.createServer(listener);
    opts.logger.warn(`api: SERVING THE CONTROL API ON tcp://${opts.host}:${opts.port} WITHOUT TLS OR AUTHENTICATION: anyone who reaches this port is root on this host (--insecure-tcp-host)`);
  } else {
    throw new TcpHostError(`api: tcp://${opts.host}:${opts.port} needs --tlsverify or --insecure-tcp-host`);
  }
  // As on the unix socket: idle keep-alive connections are the client's to close.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new TcpHostError(`api: cannot listen on tcp://${opts.host}:${opts.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err })));
    server.listen(opts.port, opts.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  opts.logger.info('api: listening', { 'api.host': `tcp://${opts.host}:${opts.port}`, tls: opts.tls ? 'verify-client' : 'off' });
  return server;
}
