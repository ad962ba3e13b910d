/**
 * For tests of a swarm node on loopback (no namespaces): a free port and the context a
 * `SwarmNode` needs, with a fixed node description.
 */
import net from 'node:net';
import { nullLogger } from '../common/logger.ts';
import type { SwarmContext } from './swarm-node.ts';

/** Ports this process handed out already. */
const given = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, and never one this process handed
 * out before: two calls in a row, before either port is bound, could otherwise get the same
 * port back from the kernel (a joining daemon then found its port taken by the manager's).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as net.AddressInfo;
    await new Promise((resolve) => srv.close(resolve));
    if (given.has(port)) continue;
    given.add(port);
    return port;
  }
}

/** A node context listening and advertising on 127.0.0.1:`port`, named `hostname`, logging nothing. */
export function loopbackContext(dataRoot: string, port: number, hostname: string): SwarmContext {
  return {
    dataRoot,
    listenAddr: `127.0.0.1:${port}`,
    advertiseAddr: `127.0.0.1:${port}`,
    description: () => ({
      Hostname: hostname, Platform: { Architecture: 'x86_64', OS: 'linux' }, Resources: { NanoCPUs: 1e9, MemoryBytes: 1 << 30 },
      Engine: { EngineVersion: 'test', Labels: {}, Plugins: [] },
    }),
    logger: nullLogger,
  };
}
