/**
 * The HTTP side every raft-ts member process of the labs shares (the raft benchmark's
 * `raft-member.ts`, the linearizability run's `kv-member.ts`): JSON answers, and serving
 * until SIGTERM or SIGINT, then stopping the node and its storage before exiting.
 */
import type http from 'node:http';

/** Answers `body` as JSON with `status`. */
export function jsonReply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Listens on 127.0.0.1:`port`, says `member ready ID`, and on a signal closes, runs `stop`, exits 0. */
export async function serveMember(server: http.Server, port: number, id: string, stop: () => Promise<void>): Promise<void> {
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  console.log(new Date().toISOString(), 'member ready', id);
  const shutdown = () => {
    server.close();
    void stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
