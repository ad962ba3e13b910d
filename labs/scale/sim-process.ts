/**
 * A process of simulated nodes, forked by `labs/bench/scale.ts` with an IPC channel: it
 * joins the nodes it is told to (a few at a time), keeps their sessions and answers the
 * parent's questions. Many nodes per process: a node costs one TLS WebSocket and a few
 * timers. Messages (`SimRequest` in, `SimReply` out) are plain JSON, each wrapped with
 * the question's `id` (`Asked`): a reply carries the id of the question it answers, so
 * the parent never takes a late answer to one question for the answer to the next.
 */
import { nullLogger } from '../../src/common/logger.ts';
import { SimNode } from './sim-node.ts';

/** What the parent asks. */
export type SimRequest =
  | { type: 'join'; from: number; count: number; joinAddr: string; token: string; heartbeatMs?: number; concurrency?: number }
  | { type: 'stats' }
  /** Each node starts watching for its session to move off manager `addr` (failover). */
  | { type: 'mark'; addr: string };

/** What this process answers. */
export type SimReply =
  | { type: 'joined'; nodes: number; failed: string[]; nodeIds: string[] }
  | { type: 'marked' }
  | {
    type: 'stats';
    nodes: number;
    /** Tasks this process's nodes reported running, and hold in any state. */
    running: number;
    tasks: number;
    /** Heartbeat round trips since the last stats, ms. */
    rtts: number[];
    /** Each node's last ack (ms since the epoch, 0 before the first). */
    lastAcks: number[];
    /** Each node's first ack from another manager since the last mark (ms since the epoch, 0 before). */
    movedAt: number[];
  }
  | { type: 'error'; message: string };

/** A message on the IPC channel: the question's id beside a request or its reply. */
export type Asked<T> = T & { id: number };

const nodes: SimNode[] = [];

function reply(id: number, r: SimReply): void {
  process.send?.({ ...r, id });
}

async function join(req: Asked<Extract<SimRequest, { type: 'join' }>>): Promise<void> {
  const rootPem = await SimNode.rootCA(req.joinAddr);
  const failed: string[] = [];
  let next = req.from;
  const end = req.from + req.count;
  const worker = async () => {
    while (next < end) {
      const index = next++;
      // A join refused under load is tried again a few times, as `swarm join` would be.
      for (let attempt = 1; ; attempt++) {
        try {
          const node = await SimNode.join({ index, joinAddr: req.joinAddr, token: req.token, heartbeatMs: req.heartbeatMs, logger: nullLogger }, rootPem);
          nodes.push(node);
          node.start();
          break;
        } catch (err) {
          if (attempt >= 5) {
            failed.push(`sim-${index}: ${(err as Error).message}`);
            break;
          }
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: req.concurrency ?? 8 }, worker));
  reply(req.id, { type: 'joined', nodes: nodes.length, failed, nodeIds: nodes.map((n) => n.nodeId) });
}

function stats(id: number): void {
  let running = 0;
  let tasks = 0;
  const rtts: number[] = [];
  for (const n of nodes) {
    running += n.agent.running;
    tasks += n.agent.size;
    for (const r of n.takeRtts()) rtts.push(r);
  }
  reply(id, { type: 'stats', nodes: nodes.length, running, tasks, rtts, lastAcks: nodes.map((n) => n.lastAck), movedAt: nodes.map((n) => n.movedAt) });
}

process.on('message', (m: Asked<SimRequest>) => {
  if (m.type === 'join') join(m).catch((err: unknown) => reply(m.id, { type: 'error', message: String((err as Error)?.message ?? err) }));
  else if (m.type === 'stats') stats(m.id);
  else if (m.type === 'mark') {
    for (const n of nodes) n.mark(m.addr);
    reply(m.id, { type: 'marked' });
  }
  // Not a question this process knows: refused at once rather than left to time out.
  else reply((m as { id: number }).id, { type: 'error', message: `unknown request ${JSON.stringify((m as { type: unknown }).type)}` });
});
// The parent gone (killed): nothing here outlives it.
process.on('disconnect', () => process.exit(0));
