/**
 * `GET /events` of the control API (Docker Engine API v1.41): the swarm's events
 * (services, nodes, secrets, configs, networks) and this node's task containers (start,
 * die) as one JSON object per line, with
 * `since` (replayed from the manager's ring of recent events), `until` (the stream ends
 * there) and `filters` (type, event, scope, label, and service/node/secret/config/
 * network by ID or name). Without `until` the stream follows until the client leaves.
 */
import type { Router } from '../../common/router.ts';
import type { Manager } from '../../manager/manager.ts';
import { filterValues, requireManager, type SwarmRef } from './lookup.ts';
import { EventRing } from './events-ring.ts';
import { eventMs, matchEvent, parseEventFilters, parseEventTime, type RetainedEvent } from './events-derive.ts';

/** How often the daemon looks for a manager that started (or changed) to follow its store. */
const ATTACH_POLL_MS = 200;

/**
 * One ring per manager, made as soon as the manager exists. The daemon has no hook for
 * "a manager started", so a short unref'd poll notices it; events of the first poll
 * period after a start are the replayed state, not news, which Docker does not show either.
 */
export class EventRings {
  private readonly rings = new WeakMap<Manager, EventRing>();
  private current?: Manager;
  private timer?: NodeJS.Timeout;

  constructor(private readonly swarm: SwarmRef) {}

  /** Starts noticing managers. */
  start(): void {
    this.timer ??= setInterval(() => this.poll(), ATTACH_POLL_MS);
    this.timer.unref();
    this.poll();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.current) this.rings.get(this.current)?.detach();
  }

  private poll(): void {
    let m: Manager | undefined;
    try { m = this.swarm()?.manager; } catch { m = undefined; /* locked */ }
    if (m === this.current) return;
    if (this.current) this.rings.get(this.current)?.detach();
    this.current = m;
    if (m) this.ring(m);
  }

  /** The ring of `manager`, made and attached on first use. */
  ring(manager: Manager): EventRing {
    let r = this.rings.get(manager);
    if (!r) {
      r = new EventRing({ localNodeId: () => { try { return this.swarm()?.nodeId; } catch { return undefined; } } });
      r.attach(manager.store);
      this.rings.set(manager, r);
    }
    return r;
  }
}

export function addEventRoutes(router: Router, swarm: SwarmRef): EventRings {
  const rings = new EventRings(swarm);
  rings.start();
  router.get('/events', (ctx) => {
    const filters = parseEventFilters(filterValues(ctx.query));
    const sinceQ = ctx.query.get('since');
    const untilQ = ctx.query.get('until');
    const since = sinceQ ? parseEventTime('since', sinceQ) : undefined;
    const until = untilQ ? parseEventTime('until', untilQ) : undefined;
    const manager = requireManager(swarm);
    const ring = rings.ring(manager);
    const { res } = ctx;
    const inRange = (r: RetainedEvent) => {
      const t = eventMs(r.event);
      return (since === undefined || t >= since) && (until === undefined || t <= until);
    };
    const write = (r: RetainedEvent) => {
      if (matchEvent(r, filters) && inRange(r)) res.write(JSON.stringify(r.event) + '\n');
    };
    res.writeHead(200, { 'Content-Type': 'application/json' });
    // Replay and listen in one tick: nothing is missed or repeated.
    if (since !== undefined) for (const r of ring.retained()) write(r);
    const now = Date.now();
    if (until !== undefined && until <= now) {
      res.end();
      return undefined;
    }
    res.flushHeaders();
    return new Promise<undefined>((resolve) => {
      const stop = ring.listen(write);
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        stop();
        clearTimeout(timer);
        if (!res.writableEnded) res.end();
        resolve(undefined);
      };
      if (until !== undefined) timer = setTimeout(finish, until - now);
      ctx.req.socket.once('close', finish);
      res.once('close', finish);
    });
  });
  return rings;
}
