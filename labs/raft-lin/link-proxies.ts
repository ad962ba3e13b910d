/**
 * Real partitions between real Raft processes on loopback: every ordered pair of members
 * (from → to) talks through its own TCP proxy, because raft-ts's WebSocket transport
 * carries messages one way per connection (the connection `from` opened to `to`). Cutting
 * one proxy is a one-way partition; cutting both of a pair, or all of a member's, isolates.
 *
 * A cut link is a black hole, as a failed switch is: open connections stay up but carry
 * nothing, and new ones are accepted and never reach the peer. Healing closes what was
 * black-holed (bytes were lost mid-stream, so the TLS session cannot go on) and the
 * transport reconnects.
 */
import net from 'node:net';

interface Link {
  server: net.Server;
  port: number;
  cut: boolean;
  /** Client-side sockets and their upstream halves, while the link carries traffic. */
  live: Set<net.Socket>;
  /** Sockets accepted or frozen while cut: never forwarded, closed on heal. */
  held: Set<net.Socket>;
}

const key = (from: string, to: string) => `${from}>${to}`;

export class LinkProxies {
  private readonly links = new Map<string, Link>();

  /** Starts one proxy per ordered pair of `ids`; `target(to)` is `to`'s real Raft port. */
  async start(ids: string[], target: (to: string) => number): Promise<void> {
    for (const from of ids) {
      for (const to of ids) {
        if (from === to) continue;
        const link: Link = { server: net.createServer(), port: 0, cut: false, live: new Set(), held: new Set() };
        link.server.on('connection', (client) => this.accept(link, client, target(to)));
        await new Promise<void>((r) => link.server.listen(0, '127.0.0.1', r));
        link.port = (link.server.address() as net.AddressInfo).port;
        this.links.set(key(from, to), link);
      }
    }
  }

  /** The address `from` must dial to reach `to`. */
  address(from: string, to: string): string {
    return `127.0.0.1:${this.link(from, to).port}`;
  }

  /** Stops carrying `from` → `to`. */
  cut(from: string, to: string): void {
    const link = this.link(from, to);
    link.cut = true;
    for (const s of link.live) {
      s.pause();
      s.removeAllListeners('data');
      s.on('data', () => undefined);
      s.resume();
      link.held.add(s);
    }
    link.live.clear();
  }

  /** Cuts every link into and out of `id`. */
  isolate(id: string): void {
    for (const k of this.links.keys()) {
      const [from, to] = k.split('>');
      if (from === id || to === id) this.cut(from, to);
    }
  }

  /** Restores every link. */
  healAll(): void {
    for (const link of this.links.values()) {
      link.cut = false;
      for (const s of link.held) s.destroy();
      link.held.clear();
    }
  }

  async stop(): Promise<void> {
    for (const link of this.links.values()) {
      for (const s of [...link.live, ...link.held]) s.destroy();
      await new Promise<void>((r) => link.server.close(() => r()));
    }
    this.links.clear();
  }

  private link(from: string, to: string): Link {
    const link = this.links.get(key(from, to));
    if (!link) throw new Error(`raft-lin: no link ${from} -> ${to}`);
    return link;
  }

  private accept(link: Link, client: net.Socket, port: number): void {
    client.on('error', () => undefined);
    if (link.cut) {
      link.held.add(client);
      client.on('data', () => undefined);
      return;
    }
    const upstream = net.connect(port, '127.0.0.1');
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => {
      upstream.destroy();
      link.live.delete(client);
      link.live.delete(upstream);
    });
    upstream.on('close', () => client.destroy());
    client.on('data', (b) => upstream.write(b));
    upstream.on('data', (b) => client.write(b));
    link.live.add(client);
    link.live.add(upstream);
  }
}
