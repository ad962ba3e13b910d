/**
 * rtnetlink in the daemon's own network namespace, in-process (no helper, no fork): one
 * socket of the `netlink` package. What it does here reaches into other namespaces by fd,
 * which the kernel allows from anywhere: a task veth is one RTM_NEWLINK made *into* the
 * sandbox (IFLA_NET_NS_FD) with its peer made into the task netns (the peer's
 * IFLA_NET_NS_FD), its master (IFLA_MASTER, an index in the sandbox) and IFF_UP set in the
 * same message. The kernel does the whole request inside `sendmsg`, so the answer waits
 * on no other process: unlike a sandbox relay (a pipe round trip, two wake-ups) or `ip`
 * (a fork and exec), it costs no scheduling delay on a loaded node.
 */
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RtNetlinkSocket } from 'netlink';
import { NETNS_RUN_DIR, NLM_F, vethLinkinfo, type VethSpec } from './messages.ts';

/** One in-process rtnetlink socket in the daemon's netns, opened on first use. */
export class OwnNetlink {
  private sock: RtNetlinkSocket | undefined;

  /** Makes `v` into `sandboxNetns` (near end, on master `masterIndex`, up) and its peer into `v.peerNetns`. */
  async newVeth(v: VethSpec, sandboxNetns: string, masterIndex: number): Promise<void> {
    const fds: number[] = [];
    try {
      const sbFd = openSync(`${NETNS_RUN_DIR}/${sandboxNetns}`, 'r');
      fds.push(sbFd);
      const taskFd = openSync(`${NETNS_RUN_DIR}/${v.peerNetns}`, 'r');
      fds.push(taskFd);
      const { linkinfo, fdAt } = vethLinkinfo(v.peer, v.peerMtu);
      linkinfo.writeUInt32LE(taskFd, fdAt);
      await this.socket().newLink(
        { flags: { up: true }, change: { up: true } },
        { ifname: v.name, mtu: v.mtu, master: masterIndex, netNsFd: sbFd, linkinfo },
        { flags: NLM_F.CREATE | NLM_F.EXCL },
      );
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  /** Closes the socket (a later call opens another). */
  close(): void {
    this.sock?.socket.close();
    this.sock = undefined;
  }

  private socket(): RtNetlinkSocket {
    // Loaded on first use: only a daemon with overlay tasks needs the native part.
    this.sock ??= (createRequire(import.meta.url)('netlink') as typeof import('netlink')).createRtNetlink();
    return this.sock;
  }
}
