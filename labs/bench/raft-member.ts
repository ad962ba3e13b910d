/**
 * One member of the raft benchmark's cluster, run as its own process:
 * RaftNode + DiskStorage (fsync on) + WsTransport (mutual TLS on 127.0.0.1) + a tiny KV
 * state machine + an HTTP endpoint shaped like etcd's JSON gateway, which acknowledges a
 * put only after it is committed and applied (as etcd does).
 *
 * usage: node --import tsx labs/bench/raft-member.ts --id m0 --dir DIR --raft-port P --http-port P
 *          --peers m0=127.0.0.1:P,m1=...,m2=... --pki DIR [--tick-ms 50] [--election-tick 10]
 *          [--heartbeat-tick 5]
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jsonReply, serveMember } from './member-http.ts';
import { AllocSampler, StageTrace } from './raft-trace.ts';
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

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      id: { type: 'string' }, dir: { type: 'string' }, 'raft-port': { type: 'string' }, 'http-port': { type: 'string' },
      peers: { type: 'string' }, pki: { type: 'string' }, 'tick-ms': { type: 'string' }, 'election-tick': { type: 'string' },
      'heartbeat-tick': { type: 'string' },
    },
  });
  const id = a.id!;
  const peers = Object.fromEntries(a.peers!.split(',').map((p) => p.split('=') as [string, string]));
  const pem = (f: string) => readFileSync(join(a.pki!, f), 'utf8');
  // A fresh directory is bootstrapped with the three members as voters; a restart ignores it.
  const storage = await DiskStorage.open(a.dir!, { fsync: process.env.RAFT_BENCH_FSYNC !== '0', confState: { ...emptyConfState(), voters: Object.keys(peers) } });
  // RAFT_BENCH_TRACE=1: per-stage timings, GC pauses and event-loop delay (raft-trace.ts),
  // answered and reset by POST /debug/trace; off, no wrapper is installed.
  const trace = process.env.RAFT_BENCH_TRACE ? new StageTrace() : undefined;
  // RAFT_BENCH_ALLOC_PROF=1: sample every allocation, garbage included (raft-prof.ts --alloc).
  const alloc = process.env.RAFT_BENCH_ALLOC_PROF ? await AllocSampler.start() : undefined;
  if (trace) {
    const save = storage.save.bind(storage);
    storage.save = (batch) => {
      const t = performance.now();
      const es = batch.entries;
      return save(batch).then(() => {
        const now = performance.now();
        if (batch.sync) trace.saved(es.length ? es[0].index : 1, es.length ? es[es.length - 1].index : 0, now - t, now);
      });
    };
  }
  // RAFT_BENCH_DEBUG=1: log every message other than App/AppResp/Heartbeat(Resp) sent and received.
  const quiet = new Set(['App', 'AppResp', 'Heartbeat', 'HeartbeatResp']);
  const debug = !!process.env.RAFT_BENCH_DEBUG;
  const show = (dir: string, m: { type: string; from: string; to: string; term: number; reject: boolean }) => {
    if (!quiet.has(m.type)) console.log(new Date().toISOString(), dir, m.type, m.from, '->', m.to, 'term', m.term, m.reject ? 'reject' : '');
  };
  class TracingTransport extends WsTransport {
    override send(ms: Parameters<WsTransport['send']>[0]): void {
      if (debug) for (const m of ms) show('send', m);
      if (trace) {
        const now = performance.now();
        for (const m of ms) {
          if (m.type === 'App' && m.entries.length) trace.appendSent(m.entries[0].index, m.entries[m.entries.length - 1].index, now);
          if (m.type === 'AppResp' && !m.reject) trace.ackSent(m.index, now);
        }
      }
      super.send(ms);
    }
    override setHandler(h: Parameters<WsTransport['setHandler']>[0]): void {
      super.setHandler({
        onMessage: (m) => {
          if (trace) {
            const now = performance.now();
            if (m.type === 'AppResp' && !m.reject) trace.appendAcked(m.index, now);
            if (m.type === 'App' && m.entries.length) trace.appendReceived(m.entries[m.entries.length - 1].index, now);
          }
          if (debug) show('recv', m);
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
    ...(a['heartbeat-tick'] ? { heartbeatTick: Number(a['heartbeat-tick']) } : {}),
    logger: { info: (msg, f) => console.log(new Date().toISOString(), msg, JSON.stringify(f)), warn: (msg, f) => console.log(new Date().toISOString(), 'WARN', msg, JSON.stringify(f)) },
  });
  await node.start();

  const server = http.createServer((req, res) => {
    const start = trace ? performance.now() : 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/debug/alloc') {
        if (!alloc) return jsonReply(res, 404, { message: 'allocation sampling is off (RAFT_BENCH_ALLOC_PROF)' });
        void alloc.take().then((top) => jsonReply(res, 200, { member: id, role: node.status().role, applied: node.status().applied, top }), (err: Error) => jsonReply(res, 500, { message: err.message }));
        return;
      }
      if (req.url === '/debug/trace') {
        if (!trace) return jsonReply(res, 404, { message: 'tracing is off (RAFT_BENCH_TRACE)' });
        return jsonReply(res, 200, trace.take({ member: id, role: node.status().role, wal: storage.stats() }));
      }
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
      trace?.requested(start, t0, req.headers['x-sent-ms'] === undefined ? undefined : Number(req.headers['x-sent-ms']));
      node.propose(cmd).then(
        ({ index, result }) => trace?.applied(index, t0, performance.now()) ?? jsonReply(res, 200, { header: { member_id: id, revision: String(result), raft_term: String(node.currentTerm) } }),
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
