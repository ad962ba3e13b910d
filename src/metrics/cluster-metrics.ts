/**
 * What a manager's store and loops show: objects per table, nodes, tasks per state,
 * pending tasks and why (the scheduler's `no suitable node (…)`), scheduling latency,
 * dispatcher sessions and heartbeat lag, and VIP backends per service and network. Counts
 * are read at scrape time from one store view; scheduling latency comes from the store's
 * task events while this manager leads (so a cluster's sum counts each task once).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { KINDS, type MemoryStore } from '../store/index.ts';
import type { Task } from '../api/types/task.ts';
import type { HeldSessionOutcome } from '../manager/manager.ts';
import { LATENCY_BUCKETS } from './raft-metrics.ts';
import { serviceCounts } from './cluster-stats.ts';

/** The manager parts the series read (a narrow view of `Manager`). */
export interface ClusterSource {
  store: MemoryStore;
  /** This manager's node ID (a label, so a node that is no manager shows no sample). */
  readonly nodeId: string;
  readonly isLeader: boolean;
  /** ms since each node's last heartbeat to this manager. */
  heartbeatAges?(): Map<string, number>;
  /** The heartbeat period nodes use, ms. */
  readonly heartbeatMs?: number;
  /** Sessions held for an election, by how each ended (`Manager.heldSessions`). */
  readonly heldSessions?: Readonly<Record<HeldSessionOutcome, number>>;
}

/** A pending task's reason with counts taken out, so the label keeps few values. */
export function pendingReason(t: Pick<Task, 'Status'>): string {
  const err = t.Status.Err || t.Status.Message || 'unknown';
  return err.replace(/\d+/g, 'N');
}

const SCHEDULED = new Set(['assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']);

/** The store and scheduler series; `attach(source)` each scrape with the node's current manager. */
export class ClusterMetrics {
  private source?: ClusterSource;
  private unsubscribe?: () => void;
  private readonly scheduling: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    const view = <R>(fn: (s: ClusterSource) => R): R | undefined => (this.source ? fn(this.source) : undefined);
    const family = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: ClusterSource) => void): void => {
      const g: Gauge = new Gauge({ name, help, labelNames, registers, collect: () => { g.reset(); view((s) => fill(g, s)); } });
    };
    family('shoal_store_objects', 'Objects in the replicated store, per table.', ['table'], (g, s) => s.store.view((tx) => {
      for (const k of KINDS) g.set({ table: k }, tx.list(k).length);
    }));
    family('shoal_store_applied_index', 'Raft index of the last transaction applied to the store.', ['node_id'], (g, s) => g.set({ node_id: s.nodeId }, s.store.lastIndex));
    family('shoal_nodes', 'Nodes per role, state and availability.', ['role', 'state', 'availability'], (g, s) => s.store.view((tx) => {
      for (const n of tx.list('node')) g.inc({ role: n.Spec.Role, state: n.Status.State, availability: n.Spec.Availability });
    }));
    family('shoal_tasks', 'Tasks per observed state and desired state.', ['state', 'desired_state'], (g, s) => s.store.view((tx) => {
      for (const t of tx.list('task')) g.inc({ state: t.Status.State, desired_state: t.DesiredState });
    }));
    family('shoal_tasks_pending', 'Tasks the scheduler left pending, per reason.', ['reason'], (g, s) => s.store.view((tx) => {
      for (const t of tx.list('task', (t) => t.Status.State === 'pending' && t.DesiredState === 'running')) g.inc({ reason: pendingReason(t) });
    }));
    // The same counts `/shoal/stats` reports (cluster-stats.ts).
    family('shoal_service_tasks', 'Tasks per service: desired (replicas) and running.', ['service_name', 'kind'], (g, s) => {
      for (const c of serviceCounts(s.store)) {
        g.set({ service_name: c.name, kind: 'running' }, c.running);
        g.set({ service_name: c.name, kind: 'desired' }, c.desired);
      }
    });
    family('shoal_vip_backends', 'Running tasks behind each service VIP, per network.', ['service_name', 'network_id'], (g, s) => s.store.view((tx) => {
      for (const svc of tx.list('service')) {
        const vips = svc.Endpoint?.VirtualIPs ?? [];
        if (!vips.length || svc.Spec.EndpointSpec?.Mode === 'dnsrr') continue;
        const running = tx.find('task', { serviceId: svc.ID }).filter((t) => t.Status.State === 'running');
        for (const v of vips) {
          g.set({ service_name: svc.Spec.Name, network_id: v.NetworkID }, running.filter((t) => (t.NetworksAttachments ?? []).some((a) => a.Network?.ID === v.NetworkID)).length);
        }
      }
    }));
    family('shoal_dispatcher_sessions', 'Nodes heartbeating to this manager (last heartbeat within 3 periods).', ['node_id'], (g, s) => {
      const period = s.heartbeatMs ?? 5000;
      g.set({ node_id: s.nodeId }, [...(s.heartbeatAges?.() ?? new Map()).values()].filter((ms) => ms <= 3 * period).length);
    });
    family('shoal_dispatcher_heartbeat_age_seconds', 'Seconds since each node\'s last heartbeat to this manager.', ['node_id'], (g, s) => {
      for (const [id, ms] of s.heartbeatAges?.() ?? []) g.set({ node_id: id }, ms / 1000);
    });
    const held: Counter = new Counter({
      name: 'shoal_dispatcher_held_sessions_total',
      help: 'Sessions this manager held during an election, by how each ended: adopted (this manager was elected and kept it), redirected (to the elected leader), expired (no leader in time).',
      labelNames: ['outcome'], registers,
      collect: () => {
        held.reset();
        view((s) => { for (const [outcome, n] of Object.entries(s.heldSessions ?? {})) held.inc({ outcome }, n); });
      },
    });
    this.scheduling = new Histogram({
      name: 'shoal_scheduling_duration_seconds', help: 'From a task\'s creation to its assignment to a node (observed by the leader).', buckets: LATENCY_BUCKETS, registers,
    });
  }

  /** Follows the node's current manager (or none). */
  attach(source: ClusterSource | undefined): void {
    if (source?.store === this.source?.store) { this.source = source; return; }
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.source = source;
    if (!source) return;
    this.unsubscribe = source.store.subscribe((e) => {
      if (e.kind !== 'task.updated' || !this.source?.isLeader) return;
      const { object: task, old } = e;
      if ( !SCHEDULED.has(task.Status.State) || SCHEDULED.has(old.Status.State) || old.Status.State !== 'pending') return;
      const ms = Date.parse(task.Status.Timestamp) - Date.parse(task.CreatedAt);
      if (Number.isFinite(ms) && ms >= 0) this.scheduling.observe(ms / 1000);
    }, { kinds: ['task'] });
  }
}
