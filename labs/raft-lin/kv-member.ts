/**
 * One member of the real-process linearizability run, as its own process: RaftNode +
 * DiskStorage (fsync on) + WsTransport (mutual TLS) + the deduplicating KV of kv-state.ts,
 * behind a small HTTP endpoint. Writes (put, append, cas) go through the log; reads wait
 * for a ReadIndex barrier and then read local state, so followers serve them too.
 *
 * `--bug stale-reads` answers reads from local state without the barrier: a deliberately
 * broken server the test uses to prove the whole pipeline catches a violation.
 *
 * usage: node --import tsx labs/raft-lin/kv-member.ts --id m0 --dir DIR --raft-port P
 *          --http-port P --peers m1=127.0.0.1:P,m2=... --pki DIR [--bug stale-reads]
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jsonReply, serveMember } from '../bench/member-http.ts';
import { DiskStorage, RaftNode, WsTransport, emptyConfState, type Entry, type StateMachine } from 'raft-ts';
import { KvState, decodeCommand, encodeCommand, type KvCommand } from './kv-state.ts';

class KvMachine implements StateMachine {
  readonly state = new KvState();
  apply(entry: Entry): unknown {
    return this.state.apply(decodeCommand(entry.data));
  }
  snapshot(): Uint8Array {
    return this.state.snapshot();
  }
  restore(data: Uint8Array): void {
    this.state.restore(data);
  }
}

/** Timing of the lab run: a 20 ms tick and 10 ticks to an election, so faults heal fast. */
const TICK_MS = 20;
const ELECTION_TICK = 10;
const MAX_BODY = 64 * 1024;

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      id: { type: 'string' }, dir: { type: 'string' }, 'raft-port': { type: 'string' }, 'http-port': { type: 'string' },
      peers: { type: 'string' }, pki: { type: 'string' }, bug: { type: 'string' },
    },
  });
  const id = a.id!;
  const peers = Object.fromEntries(a.peers!.split(',').map((p) => p.split('=') as [string, string]));
  const staleReads = a.bug === 'stale-reads';
  const pem = (f: string) => readFileSync(join(a.pki!, f), 'utf8');
  const storage = await DiskStorage.open(a.dir!, { fsync: true, confState: { ...emptyConfState(), voters: [id, ...Object.keys(peers)].sort() } });
  const transport = new WsTransport({
    id,
    listen: { host: '127.0.0.1', port: Number(a['raft-port']) },
    tls: { cert: pem(`${id}.pem`), key: pem(`${id}.key`), ca: pem('ca.pem') },
  });
  const machine = new KvMachine();
  const node = new RaftNode({
    id, storage, transport, stateMachine: machine, peers,
    tickMs: TICK_MS, electionTick: ELECTION_TICK,
    // Snapshot often, so restarts also exercise restore-from-snapshot.
    snapshotEvery: 200,
    logger: { info: (msg, f) => console.log(new Date().toISOString(), msg, JSON.stringify(f)), warn: (msg, f) => console.log(new Date().toISOString(), 'WARN', msg, JSON.stringify(f)) },
  });
  await node.start();

  const serve = async (cmd: KvCommand): Promise<unknown> => {
    if (cmd.input.op === 'get') {
      if (!staleReads) await node.readIndex();
      return { value: machine.state.read(cmd.input.key) };
    }
    return (await node.propose(encodeCommand(cmd))).result;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      if (req.url === '/status') {
        const s = node.status();
        return jsonReply(res, 200, { id, leader: s.leader, term: s.term, applied: s.applied });
      }
      if (req.url !== '/kv' || req.method !== 'POST') return jsonReply(res, 404, { message: 'not found' });
      let cmd: KvCommand;
      try {
        cmd = decodeCommand(Buffer.concat(chunks));
      } catch (err) {
        return jsonReply(res, 400, { message: String(err) });
      }
      serve(cmd).then(
        (output) => jsonReply(res, 200, { output }),
        // Any refusal may still take effect later (a forwarded proposal): the client keeps
        // the operation open and retries it, with the same seq, elsewhere.
        (err: Error) => jsonReply(res, 503, { message: err.message }),
      );
    });
  });
  await serveMember(server, Number(a['http-port']), id, () => node.stop().then(() => storage.close()));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
