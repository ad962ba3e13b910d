/** `RaftNode.leaderSilent`: a follower that stopped hearing its leader says so before its election timer fires. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestCluster } from './test-cluster.ts';

test('a follower calls its leader silent after missed heartbeats, before it elects another; the leader never is', async () => {
  // Heartbeats every 2 ticks, elections after 40 to 80: silent after more than 3 periods (6 ticks).
  const c = new TestCluster(7, { electionTick: 40, heartbeatTick: 2 });
  try {
    await c.startAll(['a', 'b', 'c']);
    const l = await c.leader();
    await c.advance(10 * c.tickMs);
    const followers = [...c.members.values()].filter((m) => m !== l);
    assert.equal([l.node.leaderSilent(), ...followers.map((f) => f.node.leaderSilent())], [false, false, false], 'a leader heard');
    await c.stop(l.id);
    const f = followers[0];
    await c.waitFor(() => f.node.leaderSilent(), 'the follower to call its leader silent');
    assert.is(f.node.leaderId, l.id, 'it still names the old leader: no election yet');
    const next = await c.leader();
    assert.ok(next.id !== l.id);
    assert.equal([...c.members.values()].map((m) => m.node.leaderSilent()), [false, false], 'the new leader is heard');
  } finally {
    await c.stopAll();
  }
});

test.run();
