// The scale-control bench over rounds: the report's medians with min/max/runs and failed
// rounds kept (pure), and a smoke run at a tiny size whose rounds each run in their own
// process, which is gone when its round ends (also when the round is aborted).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { childrenOf } from '../lib/procs.ts';
import { controlReport, controlRounds, roundInChild, run, type ControlRound } from './scale-control.ts';

const SETTINGS = { nodes: 5, tasks: 20, rounds: 3, round_timeout_s: 600 };

const result = (cpu: number, failoverCpu: number): Record<string, unknown> => ({
  bench: 'scale-control', nodes: 5, tasks: 20, cpu_ms: cpu, wall_ms: cpu * 2, loop_block_max_ms: 10, apply_max_ms: 5, entries: 9,
  pass_sync_max_ms: { Orchestrator: cpu / 10, Scheduler: 1 }, failover: { cpu_ms: failoverCpu, wall_ms: 200, loop_block_max_ms: 3, entries: 0 }, load: [1, 2],
});

test('report: medians with min/max/runs, the failover under failover, a failed round listed and counted', () => {
  const rounds: ControlRound[] = [{ round: 1, result: result(100, 30) }, { round: 2, error: 'scale-control: round process ended with 1: boom' }, { round: 3, result: result(300, 50) }];
  const out = controlReport(rounds, SETTINGS);
  assert.equal([out.cpu_ms, out.cpu_ms_min, out.cpu_ms_max, out.cpu_ms_runs], [200, 100, 300, 2]);
  assert.equal(out.cpu_ms_failed, ['round 2: scale-control: round process ended with 1: boom']);
  const f = out.failover as Record<string, unknown>;
  assert.equal([f.cpu_ms, f.cpu_ms_min, f.cpu_ms_max, f.cpu_ms_runs], [40, 30, 50, 2]);
  assert.equal(out.pass_sync_max_ms, { Orchestrator: 20, Scheduler: 1 });
  assert.is(out.rounds_failed, 1);
  assert.equal(out.errors, ['round 2: scale-control: round process ended with 1: boom']);
  assert.equal((out.settings as Record<string, unknown>).rounds, 3);
  assert.is((out.per_round as ControlRound[]).length, 3);
});

test('smoke: two rounds at a tiny size, each in its own process, every figure from both', async () => {
  const before = childrenOf();
  const lines: string[] = [];
  const out = await controlRounds({ nodes: 5, tasks: 20, rounds: 2, roundTimeoutS: 120, log: (l) => lines.push(l) });
  assert.is(out.rounds_failed, 0, JSON.stringify(out.errors));
  for (const k of ['cpu_ms', 'wall_ms', 'loop_block_max_ms', 'apply_max_ms', 'entries']) assert.is(out[`${k}_runs`], 2, k);
  assert.is((out.failover as Record<string, unknown>).cpu_ms_runs, 2);
  assert.is(lines.length, 2);
  assert.equal(childrenOf().filter((p) => !before.includes(p)), [], 'no round process is left');
});

test('an unknown flag or a flag without its value is refused before any round runs', async () => {
  const refused = (args: string[]) => run(args).then(() => 'ran', (e: Error) => e.message);
  assert.match(await refused(['--nodes', '5', '--round', '2']), /scale-control: unknown argument "--round"/);
  assert.match(await refused(['--tasks']), /scale-control: --tasks wants a value/);
  assert.match(await refused(['--in-process', '--nodes']), /--nodes wants a value/);
});

test('--in-process, one round in this process, refuses the round flags it would ignore, naming them', async () => {
  const refused = (args: string[]) => run(args).then(() => 'ran', (e: Error) => e.message);
  // A tiny size, so that a run which ignored the flag ends quickly and fails the test.
  const tiny = ['--nodes', '1', '--tasks', '1'];
  assert.match(await refused(['--in-process', ...tiny, '--rounds', '2']), /^scale-control: --rounds cannot go with --in-process/);
  assert.match(await refused(['--round-timeout-s', '60', '--in-process', ...tiny]), /^scale-control: --round-timeout-s cannot go with --in-process/);
});

test('an aborted round kills its process and fails, naming why', async () => {
  const before = childrenOf();
  const ctl = new AbortController();
  ctl.abort(new Error('bench: aborted by SIGTERM'));
  const err = await roundInChild(5, 20, 120_000, ctl.signal).then(() => null, (e: Error) => e);
  assert.ok(err, 'the round did not finish');
  assert.match(err!.message, /round process ended with SIGKILL/);
  assert.equal(childrenOf().filter((p) => !before.includes(p)), [], 'its process is gone');
});

test.run();
