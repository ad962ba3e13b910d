/**
 * A tiny hand-driven harness for minimal reproductions of bugs the simulation found:
 * RawNodes over MemoryStorage, each Ready handled in full (persist, collect messages,
 * apply, advance), messages delivered only when the test says so.
 */
import { EntryType, MemoryStorage, RawNode } from '../../src/index.ts';
import type { ConfChange, Config, Message } from '../../src/index.ts';

export class Harness {
  readonly nodes = new Map<string, { raw: RawNode; storage: MemoryStorage }>();
  /** Messages sent and not yet delivered. */
  queue: Message[] = [];

  constructor(ids: string[], opts: Partial<Omit<Config, 'id' | 'storage'>> = {}) {
    for (const id of ids) {
      const storage = new MemoryStorage({ confState: { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } });
      const raw = new RawNode({ electionTick: 10, heartbeatTick: 1, rand: () => 0, preVote: false, checkQuorum: false, ...opts, id, storage });
      this.nodes.set(id, { raw, storage });
    }
  }

  raw(id: string): RawNode {
    return this.nodes.get(id)!.raw;
  }

  /** Handles every pending Ready of every node; their messages join the queue. */
  flush(): void {
    for (let again = true; again; ) {
      again = false;
      for (const { raw, storage } of this.nodes.values()) {
        if (!raw.hasReady()) continue;
        again = true;
        const rd = raw.ready();
        if (rd.snapshot) storage.applySnapshot(rd.snapshot);
        storage.append(rd.entries);
        if (rd.hardState) storage.setHardState(rd.hardState);
        this.queue.push(...rd.messages);
        for (const e of rd.committedEntries) {
          if (e.type === EntryType.ConfChange) raw.applyConfChange(JSON.parse(new TextDecoder().decode(e.data)) as ConfChange);
        }
        raw.advance(rd);
      }
    }
  }

  /** Delivers queued messages matching `pred` (all by default), then flushes; repeats until none match. */
  deliver(pred: (m: Message) => boolean = () => true): void {
    this.flush();
    for (;;) {
      const now = this.queue.filter(pred);
      if (now.length === 0) return;
      this.queue = this.queue.filter((m) => !pred(m));
      for (const m of now) this.raw(m.to).step(m);
      this.flush();
    }
  }

  /** Drops queued messages matching `pred`. */
  drop(pred: (m: Message) => boolean): void {
    this.queue = this.queue.filter((m) => !pred(m));
  }
}
