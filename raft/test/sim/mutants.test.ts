/**
 * Tests of the test: the simulation must catch a core with a deliberately broken rule.
 * The mutant is patched into the core's prototype for the duration of one test only.
 * (This reaches into the core's internals — `RaftLog` — and must follow them if renamed.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RaftLog } from '../../src/core/raft-log.ts';
import { runSimulation } from './simulation.ts';

/** Runs seeds until one fails; returns that seed and its message. */
function firstFailure(maxSeeds: number): { seed: number; message: string } | undefined {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    try {
      runSimulation(seed, { rounds: 2, chaosSteps: 700, livenessTicks: 300, proposeRate: 0.15 });
    } catch (err) {
      return { seed, message: (err as Error).message };
    }
  }
  return undefined;
}

test('a core that grants votes regardless of log up-to-dateness (no election restriction) is caught', () => {
  const original = RaftLog.prototype.isUpToDate;
  RaftLog.prototype.isUpToDate = () => true;
  try {
    const failure = firstFailure(40);
    assert.ok(failure, 'no seed caught the mutant');
    assert.match(failure.message, /leader completeness|state machine safety|log matching/);
  } finally {
    RaftLog.prototype.isUpToDate = original;
  }
});

test.run();
