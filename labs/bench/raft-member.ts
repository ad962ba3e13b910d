/**
 * One member of the raft benchmark's cluster, run as its own process:
 * RaftNode + DiskStorage (fsync on) + WsTransport (mutual TLS on 127.0.0.1) + a tiny KV
 * state machine + an HTTP endpoint shaped like etcd's JSON gateway, which acknowledges a
 * put only after it is committed and applied (as etcd does).
 *
 * usage: node --import tsx labs/bench/raft-member.ts --id m0 --dir DIR --raft-port P --http-port P
 *          --peers m0=127.0.0.1:P,m1=...,m2=... --pki DIR [--tick-ms 50] [--election-tick 10]
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jsonReply, serveMember } from './member-http.ts';
import { DiskStorage, RaftNode, WsTransport, emptyConfState, type Entry, type StateMachine } from 'raft-ts';

/** KV commands: u16 key length, key bytes, value bytes. The result of a put is its revision (the entry index). */
class KvStateMachine implements StateMachine {
  readonly kv = new Map<string, Uint8Array>();

  apply(entry: Entry): unknown {
    const d = entry.data;
    const klen = (d[0] << 8) | d[1];
    const key = Buffer.from(d.buffer, d.byteOffset + 2, klen).toString('latin1');
    this.kv.set(key, d.slice(2 + klen));
    return entry.index;
  }

  snapshot(): Uint8Array {
    const parts: Buffer[] = [];
    for (const [k, v] of this.kv) {
      const kb = Buffer.from(k, 'latin1');
      const h = Buffer.alloc(8);
      h.writeUInt32BE(kb.length, 0);
      h.writeUInt32BE(v.length, 4);
      parts.push(h, kb, Buffer.from(v));
    }
    return Buffer.concat(parts);
  }

  restore(data: Uint8Array): void {
    this.kv.clear();
    const b = Buffer.from(data.buffer, data.byteOffset, data.length);
    for (let o = 0; o < b.length;) {
      const kl = b.readUInt32BE(o);
      const vl = b.readUInt32BE(o + 4);
      o += 8;
      const k = b.toString('latin1', o, o + kl);
      o += kl;
      this.kv.set(k, b.subarray(o, o + vl));
      o += vl;
    }
  }
}

function encodePut(key: Buffer, value: Buffer): Uint8Array {
  const out = Buffer.allocUnsafe(2 + key.length + value.length);
  out.writeUInt16BE(key.length, 0);
  key.copy(out, 2);
  value.copy(out, 2 + key.length);
  return out;
}

const saveTimes: number[] = [];

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      id: { type: 'string' }, dir: { type: 'string' }, 'raft-port': { type: 'string' }, 'http-port': { type: 'string' },
      peers: { type: 'string' }, pki: { type: 'string' }, 'tick-ms': { type: 'string' }, 'election-tick': { type: 'string' },
    },
  });
  const id = a.id!;
  const peers = Object.fromEntries(a.peers!.split(',').map((p) => p.split('=') as [string, string]));
  const pem = (f: string) => readFileSync(join(a.pki!, f), 'utf8');
  // A fresh directory is bootstrapped with the three members as voters; a restart ignores it.
  const storage = await DiskStorage.open(a.dir!, { fsync: process.env.RAFT_BENCH_FSYNC !== '0', confState: { ...emptyConfState(), voters: Object.keys(peers) } });
  if (process.env.RAFT_BENCH_TRACE) {
    const save = storage.save.bind(storage);
    storage.save = (batch) => {
      const t = performance.now();
      return save(batch).then(() => void (batch.sync && batch.entries.length ? saveTimes.push(performance.now() - t) : undefined));
    };
  }
  // RAFT_BENCH_DEBUG=1: log every message other than App/AppResp/Heartbeat(Resp) sent and received.
  const quiet = new Set(['App', 'AppResp', 'Heartbeat', 'HeartbeatResp']);
  const show = (dir: string, m: { type: string; from: string; to: string; term: number; reject: boolean }) => {
    if (process.env.RAFT_BENCH_DEBUG && !quiet.has(m.type)) console.log(new Date().toISOString(), dir, m.type, m.from, '->', m.to, 'term', m.term, m.reject ? 'reject' : '');
  };
  // RAFT_BENCH_TRACE=1: per-stage timings (leader: propose→App sent→first ack→applied;
  // follower: App received→AppResp sent), printed as medians every 2 s.
  const tracing = !!process.env.RAFT_BENCH_TRACE;
  const appSent = new Map<number, number>();
  const firstAck = new Map<number, number>();
  const appRecv = new Map<number, number>();
  const stages: Record<string, number[]> = { toSend: [], toAck: [], ackToApplied: [], followerTurn: [], save: [] };
  // Messages sent by type, and `send` calls, per trace period.
  const sends: Record<string, number> = { calls: 0 };
  class TracingTransport extends WsTransport {
    override send(ms: Parameters<WsTransport['send']>[0]): void {
      for (const m of ms) show('send', m);
      if (tracing) {
        sends.calls++;
        for (const m of ms) sends[m.type] = (sends[m.type] ?? 0) + 1;
      }
      if (tracing) {
        const now = performance.now();
        for (const m of ms) {
          if (m.type === 'App' && m.entries.length) { const i = m.entries[m.entries.length - 1].index; if (!appSent.has(i)) appSent.set(i, now); }
          if (m.type === 'AppResp' && !m.reject) {
            for (const [i, t] of appRecv) if (i <= m.index) { stages.followerTurn.push(now - t); appRecv.delete(i); }
          }
        }
      }
      super.send(ms);
    }
    override setHandler(h: Parameters<WsTransport['setHandler']>[0]): void {
      super.setHandler({
        onMessage: (m) => {
          if (tracing) {
            const now = performance.now();
            if (m.type === 'AppResp' && !m.reject) for (const i of appSent.keys()) if (i <= m.index && !firstAck.has(i)) firstAck.set(i, now);
            if (m.type === 'App' && m.entries.length) appRecv.set(m.entries[m.entries.length - 1].index, now);
          }
          show('recv', m);
          h.onMessage(m);
        },
        onUnreachable: (id) => h.onUnreachable(id),
        onSnapshotStatus: (id, ok) => h.onSnapshotStatus(id, ok),
        onPeerDown: (id) => h.onPeerDown?.(id),
      });
    }
  }
  const transport = new TracingTransport({
    id,
    listen: { host: '127.0.0.1', port: Number(a['raft-port']) },
    tls: { cert: pem(`${id}.pem`), key: pem(`${id}.key`), ca: pem('ca.pem') },
  });
  const sm = new KvStateMachine();
  const node = new RaftNode({
    id, storage, transport, stateMachine: sm,
    peers: Object.fromEntries(Object.entries(peers).filter(([p]) => p !== id)),
    // etcd 3.4's --snapshot-count default, so both systems snapshot equally rarely here.
    snapshotEvery: 100_000,
    // RAFT_BENCH_PEER_DOWN_SPEEDUP=1 measures failover by election timeout alone.
    ...(process.env.RAFT_BENCH_PEER_DOWN_SPEEDUP ? { peerDownSpeedup: Number(process.env.RAFT_BENCH_PEER_DOWN_SPEEDUP) } : {}),
    ...(a['tick-ms'] ? { tickMs: Number(a['tick-ms']) } : {}),
    ...(a['election-tick'] ? { electionTick: Number(a['election-tick']) } : {}),
    logger: { info: (msg, f) => console.log(new Date().toISOString(), msg, JSON.stringify(f)), warn: (msg, f) => console.log(new Date().toISOString(), 'WARN', msg, JSON.stringify(f)) },
  });
  await node.start();

  // RAFT_BENCH_TRACE=1: log propose→applied latency percentiles every 2 s (diagnostics).
  const lat: number[] = [];
  const trace = (ms: number): undefined => {
    if (process.env.RAFT_BENCH_TRACE) lat.push(ms);
    return undefined;
  };
  if (process.env.RAFT_BENCH_TRACE) {
    setInterval(() => {
      if (lat.length === 0) return;
      lat.sort((x, y) => x - y);
      console.log('trace propose→applied', JSON.stringify({ n: lat.length, p50: lat[lat.length >> 1].toFixed(3), p99: lat[Math.floor(lat.length * 0.99)].toFixed(3) }));
      lat.length = 0;
    }, 2000).unref();
  }
  const traceStages = (index: number, t0: number): undefined => {
    if (!tracing) return undefined;
    const now = performance.now();
    const sent = [...appSent].find(([i]) => i >= index);
    const ack = [...firstAck].find(([i]) => i >= index);
    if (sent) stages.toSend.push(sent[1] - t0);
    if (sent && ack) stages.toAck.push(ack[1] - sent[1]);
    if (ack) stages.ackToApplied.push(now - ack[1]);
    for (const i of appSent.keys()) if (i <= index) appSent.delete(i);
    for (const i of firstAck.keys()) if (i <= index) firstAck.delete(i);
    return undefined;
  };
  if (tracing) {
    setInterval(() => {
      // Median and p99 of each stage: the tail is read from here too.
      const med = (xs: number[]) => (xs.length ? [+xs.sort((x, y) => x - y)[xs.length >> 1].toFixed(3), +xs[Math.floor(xs.length * 0.99)].toFixed(3)] : null);
      stages.save.push(...saveTimes.splice(0));
      console.log('trace stages', JSON.stringify(Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, med(v)]))), 'sent', JSON.stringify(sends), 'wal', JSON.stringify(storage.stats()));
      for (const k of Object.keys(sends)) sends[k] = 0;
      for (const v of Object.values(stages)) v.length = 0;
    }, 2000).unref();
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v3/maintenance/status') {
        const s = node.status();
        return jsonReply(res, 200, { header: { member_id: id }, leader: s.leader || '0', raftTerm: s.term, raftAppliedIndex: s.applied });
      }
      if (req.url !== '/v3/kv/put') return jsonReply(res, 404, { message: 'not found' });
      let cmd: Uint8Array;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { key: string; value: string };
        cmd = encodePut(Buffer.from(body.key, 'base64'), Buffer.from(body.value ?? '', 'base64'));
      } catch {
        return jsonReply(res, 400, { message: 'bad request' });
      }
      const t0 = performance.now();
      node.propose(cmd).then(
        ({ index, result }) => traceStages(index, t0) ?? trace(performance.now() - t0) ?? jsonReply(res, 200, { header: { member_id: id, revision: String(result), raft_term: String(node.currentTerm) } }),
        (err: Error) => jsonReply(res, 503, { message: err.message, retryable: (err as { retryable?: boolean }).retryable ?? false }),
      );
    });
  });
  await serveMember(server, Number(a['http-port']), id, () => node.stop().then(() => storage.close()));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
