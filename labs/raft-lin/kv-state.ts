/**
 * The replicated key-value state of the real-process linearizability run (issue 19 item
 * 2): values per key plus a per-client deduplication table, so that a request retried on
 * another member (after a timeout or "leader changed") is executed at most once even when
 * both the original and the retry end up in the log. Pure: no I/O, no clock.
 */
import type { KvInput, KvOutput } from '../../raft/test/linearizability/kv-model.ts';

/** A write as it travels through the log; `seq` numbers one client's requests, retries reuse it. */
export interface KvCommand {
  clientId: number;
  seq: number;
  input: KvInput;
}

interface Session {
  seq: number;
  output: KvOutput;
}

export class KvState {
  private readonly values = new Map<string, string>();
  private readonly sessions = new Map<number, Session>();

  /**
   * Executes a logged write once. A retry of the client's latest request gets the stored
   * answer; a request older than the latest (a copy delivered late, whose client has
   * moved on) changes nothing and gets an empty answer nobody waits for.
   */
  apply(cmd: KvCommand): KvOutput {
    const last = this.sessions.get(cmd.clientId);
    if (last && last.seq === cmd.seq) return last.output;
    if (last && last.seq > cmd.seq) return {};
    const output = this.execute(cmd.input);
    this.sessions.set(cmd.clientId, { seq: cmd.seq, output });
    return output;
  }

  /** The current value of `key` ('' when missing), for reads behind a read barrier. */
  read(key: string): string {
    return this.values.get(key) ?? '';
  }

  private execute(input: KvInput): KvOutput {
    const now = this.values.get(input.key) ?? '';
    switch (input.op) {
      case 'get':
        return { value: now };
      case 'put':
        this.values.set(input.key, input.value);
        return {};
      case 'append':
        this.values.set(input.key, now + input.value);
        return {};
      case 'cas': {
        const ok = now === input.expected;
        if (ok) this.values.set(input.key, input.value);
        return { ok };
      }
    }
  }

  /** Values and sessions as JSON bytes (a Raft snapshot). */
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ values: [...this.values], sessions: [...this.sessions] }));
  }

  /** Replaces everything with a snapshot made by `snapshot`. */
  restore(data: Uint8Array): void {
    const s = JSON.parse(new TextDecoder().decode(data)) as { values: [string, string][]; sessions: [number, Session][] };
    this.values.clear();
    this.sessions.clear();
    for (const [k, v] of s.values) this.values.set(k, v);
    for (const [c, v] of s.sessions) this.sessions.set(c, v);
  }
}

/** Parses a command from log bytes, refusing anything that is not one. */
export function decodeCommand(data: Uint8Array): KvCommand {
  const cmd = JSON.parse(new TextDecoder().decode(data)) as KvCommand;
  if (!Number.isInteger(cmd?.clientId) || !Number.isInteger(cmd.seq) || typeof cmd.input?.key !== 'string') {
    throw new Error('raft-lin: not a kv command');
  }
  return cmd;
}

export function encodeCommand(cmd: KvCommand): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(cmd));
}
